//! `sessions`: rows behind the session cookie, keyed by the SHA-256 of its id.

use sqlx::{any::AnyRow, Any, Executor, Row};

pub struct SessionRow {
    pub public_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub sign_in_method: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

fn from_row(r: AnyRow) -> sqlx::Result<SessionRow> {
    Ok(SessionRow {
        public_id: r.try_get("public_id")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        sign_in_method: r.try_get("sign_in_method")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
    })
}

/// A user's live sessions, newest first, after the cursor `(created_at, public_id)`.
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
    idle_secs: i64,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<SessionRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(
        "select public_id, ip, user_agent, sign_in_method, created_at, last_seen_at from sessions
         where user_id = $1 and last_seen_at > $2 and expires_at > $6
           and (created_at < $3 or (created_at = $3 and public_id < $4))
         order by created_at desc, public_id desc limit $5",
    )
    .bind(user_id)
    .bind(now - idle_secs)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .bind(now)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// How many of the user's sessions are live.
pub async fn count_live<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
    idle_secs: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from sessions where user_id = $1 and last_seen_at > $2 and expires_at > $3",
    )
    .bind(user_id)
    .bind(now - idle_secs)
    .bind(now)
    .fetch_one(e)
    .await
}

pub async fn exists<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    public_id: &str,
) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("select count(*) from sessions where user_id = $1 and public_id = $2")
            .bind(user_id)
            .bind(public_id)
            .fetch_one(e)
            .await?;
    Ok(n > 0)
}

/// Ends one of the user's sessions; false if there was none with that id for this user.
pub async fn delete_one<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    public_id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from sessions where user_id = $1 and public_id = $2")
        .bind(user_id)
        .bind(public_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session of the user except `keep` (a public id), if given.
pub async fn delete_all<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    keep: Option<&str>,
) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from sessions where user_id = $1 and public_id <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

/// Housekeeping: rows past their absolute expiry or idle for longer than `idle_secs`.
pub async fn delete_expired<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    idle_secs: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from sessions where expires_at <= $1 or last_seen_at <= $2")
        .bind(now)
        .bind(now - idle_secs)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

/// What the session store writes for a new session (tower-sessions' record, with who it is for).
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub public_id: &'a str,
    pub user_id: &'a str,
    /// The record's data, as JSON.
    pub data: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub sign_in_method: Option<&'a str>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// Inserts the session; false when its `id_hash` is taken (then draw another id).
pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    s: NewSession<'_>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into sessions (id_hash, public_id, user_id, data, ip, user_agent,
                               created_at, last_seen_at, expires_at, sign_in_method)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (id_hash) do nothing",
    )
    .bind(s.id_hash)
    .bind(s.public_id)
    .bind(s.user_id)
    .bind(s.data)
    .bind(s.ip)
    .bind(s.user_agent)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(s.sign_in_method)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Saves a live session's data, last sight and expiry. UPDATE only: a session revoked while a
/// request ran stays revoked.
pub async fn save<'c>(
    e: impl Executor<'c, Database = Any>,
    id_hash: &str,
    data: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    last_seen_at: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update sessions set data = $2, ip = $3, user_agent = $4, last_seen_at = $5, expires_at = $6
         where id_hash = $1",
    )
    .bind(id_hash)
    .bind(data)
    .bind(ip)
    .bind(user_agent)
    .bind(last_seen_at)
    .bind(expires_at)
    .execute(e)
    .await?;
    Ok(())
}

/// A live session's stored record: (data as JSON, expires at, user id).
pub async fn load<'c>(
    e: impl Executor<'c, Database = Any>,
    id_hash: &str,
    now: i64,
) -> sqlx::Result<Option<(String, i64, String)>> {
    let row = sqlx::query(
        "select data, expires_at, user_id from sessions where id_hash = $1 and expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(e)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("data")?,
            r.try_get("expires_at")?,
            r.try_get("user_id")?,
        ))
    })
    .transpose()
}

/// Deletes the session with this `id_hash` (signing out).
pub async fn delete_by_hash<'c>(
    e: impl Executor<'c, Database = Any>,
    id_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("delete from sessions where id_hash = $1")
        .bind(id_hash)
        .execute(e)
        .await?;
    Ok(())
}

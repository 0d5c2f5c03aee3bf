//! `api_keys`.

use sqlx::{any::AnyRow, Any, Executor, Row};

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub name: String,
    pub key_hash: String,
    pub hint: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub expiry_days: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    /// The owner's account is disabled: the key is suspended.
    pub owner_disabled: bool,
    pub owner_email: String,
    /// The maker's role in the key's workspace (`owner` or `member`): the key acts with it.
    pub role: String,
}

const COLUMNS: &str = "k.id, k.workspace_id, k.user_id, k.name, k.key_hash, k.hint, k.scopes, k.created_at,
    k.expires_at, k.expiry_days, k.revoked_at, k.last_used_at, k.last_used_ip, k.last_used_user_agent,
    u.disabled_at, u.email as owner_email,
    coalesce((select m.role from workspace_members m where m.workspace_id = k.workspace_id and m.user_id = k.user_id),
             'member') as member_role";

/// Keys visible to user `$1`: those of the workspaces they own.
const MANAGED_BY: &str = "from api_keys k join users u on u.id = k.user_id
    join workspace_members m on m.workspace_id = k.workspace_id and m.user_id = $1 and m.role = 'owner'";

fn from_row(r: AnyRow) -> sqlx::Result<KeyRow> {
    let scopes: String = r.try_get("scopes")?;
    Ok(KeyRow {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        key_hash: r.try_get("key_hash")?,
        hint: r.try_get("hint")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        expiry_days: r.try_get("expiry_days")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
        last_used_ip: r.try_get("last_used_ip")?,
        last_used_user_agent: r.try_get("last_used_user_agent")?,
        owner_disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        owner_email: r.try_get("owner_email")?,
        role: r.try_get("member_role")?,
    })
}

pub struct NewKey<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub hint: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<i64>,
    pub expiry_days: Option<i64>,
    pub rotated_from: Option<&'a str>,
    pub now: i64,
}

pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, k: NewKey<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into api_keys (id, workspace_id, user_id, name, key_hash, hint, scopes, created_at,
                               expires_at, expiry_days, rotated_from)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(k.id)
    .bind(k.workspace_id)
    .bind(k.user_id)
    .bind(k.name)
    .bind(k.key_hash)
    .bind(k.hint)
    .bind(k.scopes.join(" "))
    .bind(k.now)
    .bind(k.expires_at)
    .bind(k.expiry_days)
    .bind(k.rotated_from)
    .execute(e)
    .await?;
    Ok(())
}

/// The key behind a hash, with its owner's state: the Bearer lookup.
pub async fn by_hash<'c>(
    e: impl Executor<'c, Database = Any>,
    key_hash: &str,
) -> sqlx::Result<Option<KeyRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from api_keys k join users u on u.id = k.user_id where k.key_hash = $1"
    ))
    .bind(key_hash)
    .fetch_optional(e)
    .await?
    .map(from_row)
    .transpose()
}

/// A key in a workspace that `user_id` owns (the only keys a user may see or manage).
pub async fn get_managed<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    key_id: &str,
) -> sqlx::Result<Option<KeyRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} {MANAGED_BY}
         where k.id = $2"
    ))
    .bind(user_id)
    .bind(key_id)
    .fetch_optional(e)
    .await?
    .map(from_row)
    .transpose()
}

/// Keys in workspaces `user_id` owns, newest first, after the cursor.
pub async fn list_managed<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<KeyRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(&format!(
        "select {COLUMNS} {MANAGED_BY}
         where k.created_at < $2 or (k.created_at = $2 and k.id < $3)
         order by k.created_at desc, k.id desc limit $4"
    ))
    .bind(user_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Revokes; false if it already was (revocation is idempotent).
/// How many of the user's keys still work (not revoked, not expired), in any workspace.
pub async fn count_active<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from api_keys
         where user_id = $1 and revoked_at is null and (expires_at is null or expires_at > $2)",
    )
    .bind(user_id)
    .bind(now)
    .fetch_one(e)
    .await
}

/// Revokes every working key of the user in every workspace; returns their hashes (to drop
/// them from key caches).
pub async fn revoke_all_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "update api_keys set revoked_at = $2 where user_id = $1 and revoked_at is null
         returning key_hash",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(e)
    .await
}

/// The user's working keys, `(name, hint)`, for telling them what can reach their account.
pub async fn active_names<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "select name, hint from api_keys
         where user_id = $1 and revoked_at is null and (expires_at is null or expires_at > $2)
         order by created_at",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(e)
    .await
}

pub async fn revoke<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query("update api_keys set revoked_at = $2 where id = $1 and revoked_at is null")
        .bind(key_id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn rename<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query("update api_keys set name = $2 where id = $1")
        .bind(key_id)
        .bind(name)
        .execute(e)
        .await?;
    Ok(())
}

/// Ends a rotated key's life at `until` (never extends it).
pub async fn expire_by<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    until: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update api_keys set expires_at = case when expires_at is null or expires_at > $2 then $2 else expires_at end
         where id = $1",
    )
    .bind(key_id)
    .bind(until)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn record_use<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    at: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("update api_keys set last_used_at = $2, last_used_ip = $3, last_used_user_agent = $4 where id = $1")
        .bind(key_id)
        .bind(at)
        .bind(ip)
        .bind(user_agent)
        .execute(e)
        .await?;
    Ok(())
}

//! `idempotency_keys`: a retried request gets the first one's answer.

use sqlx::{Any, Executor, Row};

pub enum Idempotency {
    /// Ours: go ahead, then [`finish_idempotent`].
    Started,
    /// Same key and body, already answered: replay this.
    Replay(u16, String),
    /// Same key, another body.
    Mismatch,
    /// Same key, still being processed.
    InProgress,
}

/// Claims `(workspace, owner, key)` for a request whose body hashes to `request_hash`.
pub async fn begin_idempotent(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    owner: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    ttl: i64,
) -> sqlx::Result<Idempotency> {
    sqlx::query("delete from idempotency_keys where workspace_id = $1 and owner = $2 and idem_key = $3 and expires_at <= $4")
        .bind(workspace_id)
        .bind(owner)
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let claimed = sqlx::query(
        "insert into idempotency_keys (workspace_id, owner, idem_key, request_hash, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6) on conflict (workspace_id, owner, idem_key) do nothing",
    )
    .bind(workspace_id)
    .bind(owner)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(now + ttl)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        return Ok(Idempotency::Started);
    }
    let row = sqlx::query(
        "select request_hash, status_code, response_body from idempotency_keys
         where workspace_id = $1 and owner = $2 and idem_key = $3",
    )
    .bind(workspace_id)
    .bind(owner)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let hash: String = row.try_get("request_hash")?;
    let status: Option<i64> = row.try_get("status_code")?;
    let body: Option<String> = row.try_get("response_body")?;
    Ok(match (hash == request_hash, status, body) {
        (false, _, _) => Idempotency::Mismatch,
        (true, Some(s), Some(b)) => Idempotency::Replay(s as u16, b),
        _ => Idempotency::InProgress,
    })
}

pub async fn finish_idempotent<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    owner: &str,
    key: &str,
    status: u16,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update idempotency_keys set status_code = $4, response_body = $5
         where workspace_id = $1 and owner = $2 and idem_key = $3",
    )
    .bind(workspace_id)
    .bind(owner)
    .bind(key)
    .bind(i64::from(status))
    .bind(body)
    .execute(e)
    .await?;
    Ok(())
}

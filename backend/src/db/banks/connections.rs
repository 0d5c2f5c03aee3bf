//! `bank_connections`: one per consent, with the sync lease and schedule.

use shared::banks::{ConnectionStatus, SyncStatus};
use sqlx::{any::AnyRow, Any, AnyConnection, Executor, Row};

use super::status;

/// Takes the connection's row lock until the transaction ends (PostgreSQL; on SQLite the
/// write transaction already holds the database's), so decisions about it are serialised.
pub async fn lock_connection(
    conn: &mut AnyConnection,
    backend: crate::db::Backend,
    id: &str,
) -> sqlx::Result<()> {
    if backend == crate::db::Backend::Postgres {
        sqlx::query("select id from bank_connections where id = $1 for update")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub customer_user_id: String,
    pub provider_id: String,
    pub consent_id: String,
    /// Never `syncing`: that is read off the open sync when the connection is shown.
    pub status: ConnectionStatus,
    pub consent_expires_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_sync_status: Option<SyncStatus>,
    pub last_sync_error: Option<String>,
    pub created_at: i64,
}

const CONNECTION_COLUMNS: &str =
    "id, workspace_id, user_id, customer_user_id, provider_id, consent_id, status,
    consent_expires_at, last_sync_at, last_sync_status, last_sync_error, created_at";

fn connection(r: AnyRow) -> sqlx::Result<ConnectionRow> {
    Ok(ConnectionRow {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        user_id: r.try_get("user_id")?,
        customer_user_id: r.try_get("customer_user_id")?,
        provider_id: r.try_get("provider_id")?,
        consent_id: r.try_get("consent_id")?,
        status: status("status", r.try_get("status")?, ConnectionStatus::parse)?,
        consent_expires_at: r.try_get("consent_expires_at")?,
        last_sync_at: r.try_get("last_sync_at")?,
        last_sync_status: r
            .try_get::<Option<String>, _>("last_sync_status")?
            .map(|name| status("last_sync_status", name, SyncStatus::parse))
            .transpose()?,
        last_sync_error: r.try_get("last_sync_error")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Inserts a connection for a consent, or returns the existing one for that consent (a replayed
/// callback must not create a second connection). Returns (row, created).
pub async fn upsert_connection(
    conn: &mut AnyConnection,
    c: &ConnectionRow,
    next_sync_at: i64,
) -> sqlx::Result<(ConnectionRow, bool)> {
    let inserted = sqlx::query(
        "insert into bank_connections (id, workspace_id, user_id, customer_user_id, provider_id, consent_id,
             status, consent_expires_at, next_sync_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         on conflict (workspace_id, consent_id) do nothing",
    )
    .bind(&c.id)
    .bind(&c.workspace_id)
    .bind(&c.user_id)
    .bind(&c.customer_user_id)
    .bind(&c.provider_id)
    .bind(&c.consent_id)
    .bind(c.status.as_str())
    .bind(c.consent_expires_at)
    .bind(next_sync_at)
    .bind(c.created_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let row = sqlx::query(&format!(
        "select {CONNECTION_COLUMNS} from bank_connections where workspace_id = $1 and consent_id = $2"
    ))
    .bind(&c.workspace_id)
    .bind(&c.consent_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((connection(row)?, inserted))
}

pub async fn connection_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<ConnectionRow>> {
    sqlx::query(&format!(
        "select {CONNECTION_COLUMNS} from bank_connections where workspace_id = $1 and id = $2"
    ))
    .bind(workspace_id)
    .bind(id)
    .fetch_optional(e)
    .await?
    .map(connection)
    .transpose()
}

pub async fn connection_by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<Option<ConnectionRow>> {
    sqlx::query(&format!(
        "select {CONNECTION_COLUMNS} from bank_connections where id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?
    .map(connection)
    .transpose()
}

pub async fn connections_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<Vec<ConnectionRow>> {
    sqlx::query(&format!(
        "select {CONNECTION_COLUMNS} from bank_connections where workspace_id = $1 order by created_at desc, id desc"
    ))
    .bind(workspace_id)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(connection)
    .collect()
}

/// Active connections whose consent the workspace still holds (insights read Tarabut per customer).
pub async fn active_connections_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<Vec<ConnectionRow>> {
    Ok(connections_in(e, workspace_id)
        .await?
        .into_iter()
        .filter(|c| c.status == ConnectionStatus::Active)
        .collect())
}

pub async fn set_status<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    status: ConnectionStatus,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update bank_connections set status = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete_connection<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<()> {
    sqlx::query("delete from bank_connections where id = $1")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

/// Records a sync's outcome on its connection and schedules the next one.
pub async fn record_sync_outcome<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    status: SyncStatus,
    error: Option<&str>,
    now: i64,
    next_sync_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bank_connections set last_sync_at = $2, last_sync_status = $3, last_sync_error = $4,
             next_sync_at = $5, updated_at = $2
         where id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(status.as_str())
    .bind(error)
    .bind(next_sync_at)
    .execute(e)
    .await?;
    Ok(())
}

/// Active connections due for a scheduled sync.
pub async fn due_connections<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select id from bank_connections where status in ('active', 'reauth_required') and next_sync_at <= $1
         order by next_sync_at limit $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await
}

/// Pushes a connection's next scheduled sync out (so other replicas skip it).
pub async fn defer_next_sync<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
    next_sync_at: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update bank_connections set next_sync_at = $3 where id = $1 and next_sync_at <= $2",
    )
    .bind(id)
    .bind(now)
    .bind(next_sync_at)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Consent housekeeping: past its expiry → `expired`; ending within `warn_secs` →
/// `reauth_required` (still synced; the user should connect again). Returns the connections
/// that expired and those warned, as `(id, workspace, consent end)`.
pub async fn check_consents(
    conn: &mut AnyConnection,
    now: i64,
    warn_secs: i64,
) -> sqlx::Result<(Vec<ConsentChange>, Vec<ConsentChange>)> {
    let expired = sqlx::query_as(
        "update bank_connections set status = 'expired', updated_at = $1
         where status in ('active', 'reauth_required') and consent_expires_at is not null and consent_expires_at <= $1
         returning id, workspace_id, consent_expires_at",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let warned = sqlx::query_as(
        "update bank_connections set status = 'reauth_required', updated_at = $1
         where status = 'active' and consent_expires_at is not null and consent_expires_at <= $2
         returning id, workspace_id, consent_expires_at",
    )
    .bind(now)
    .bind(now + warn_secs)
    .fetch_all(&mut *conn)
    .await?;
    Ok((expired, warned))
}

/// A connection whose consent state the housekeeping changed: id, workspace, consent end.
pub type ConsentChange = (String, String, i64);

/// Takes the connection's sync lease for `owner` until `until`, unless another owner holds an
/// unexpired one. One statement, so two replicas cannot both win.
pub async fn claim_lease<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update bank_connections set sync_lease_owner = $2, sync_lease_until = $4
         where id = $1 and (sync_lease_until is null or sync_lease_until < $3 or sync_lease_owner = $2)",
    )
    .bind(connection_id)
    .bind(owner)
    .bind(now)
    .bind(until)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn release_lease<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
    owner: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bank_connections set sync_lease_owner = null, sync_lease_until = null
         where id = $1 and sync_lease_owner = $2",
    )
    .bind(connection_id)
    .bind(owner)
    .execute(e)
    .await?;
    Ok(())
}

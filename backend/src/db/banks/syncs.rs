//! `bank_syncs`: each sync and its progress.

use shared::banks::SyncStatus;
use sqlx::{any::AnyRow, Any, Executor, Row};

use super::status;

/// When the connection's latest sync asked for by a person (`manual`) was created.
pub async fn last_manual_sync_at<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "select max(created_at) from bank_syncs where connection_id = $1 and reason = 'manual'",
    )
    .bind(connection_id)
    .fetch_one(e)
    .await
}

#[derive(Debug, Clone)]
pub struct SyncRow {
    pub id: String,
    pub connection_id: String,
    pub status: SyncStatus,
    pub reason: String,
    pub account_index: i64,
    pub next_page: i64,
    pub pages_fetched: i64,
    pub rows_added: i64,
    pub rows_updated: i64,
    pub rows_removed: i64,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const SYNC_COLUMNS: &str = "s.id, s.connection_id, s.status, s.reason, s.account_index, s.next_page,
    s.pages_fetched, s.rows_added, s.rows_updated, s.rows_removed, s.attempts, s.error, s.created_at,
    s.started_at, s.finished_at";

fn sync(r: AnyRow) -> sqlx::Result<SyncRow> {
    Ok(SyncRow {
        id: r.try_get("id")?,
        connection_id: r.try_get("connection_id")?,
        status: status("status", r.try_get("status")?, SyncStatus::parse)?,
        reason: r.try_get("reason")?,
        account_index: r.try_get("account_index")?,
        next_page: r.try_get("next_page")?,
        pages_fetched: r.try_get("pages_fetched")?,
        rows_added: r.try_get("rows_added")?,
        rows_updated: r.try_get("rows_updated")?,
        rows_removed: r.try_get("rows_removed")?,
        attempts: r.try_get("attempts")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub async fn insert_sync<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    connection_id: &str,
    reason: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into bank_syncs (id, connection_id, status, reason, created_at) values ($1, $2, 'queued', $3, $4)",
    )
    .bind(id)
    .bind(connection_id)
    .bind(reason)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// The connection's queued or running sync, if any.
pub async fn open_sync<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
) -> sqlx::Result<Option<SyncRow>> {
    sqlx::query(&format!(
        "select {SYNC_COLUMNS} from bank_syncs s where s.connection_id = $1 and s.status in ('queued', 'running')
         order by s.created_at limit 1"
    ))
    .bind(connection_id)
    .fetch_optional(e)
    .await?
    .map(sync)
    .transpose()
}

pub async fn sync_by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<Option<SyncRow>> {
    sqlx::query(&format!(
        "select {SYNC_COLUMNS} from bank_syncs s where s.id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?
    .map(sync)
    .transpose()
}

/// A sync, only if its connection belongs to `workspace_id`.
pub async fn sync_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<SyncRow>> {
    sqlx::query(&format!(
        "select {SYNC_COLUMNS} from bank_syncs s join bank_connections c on c.id = s.connection_id
         where s.id = $1 and c.workspace_id = $2"
    ))
    .bind(id)
    .bind(workspace_id)
    .fetch_optional(e)
    .await?
    .map(sync)
    .transpose()
}

/// Syncs left queued or running (a crash, a restart, a lost lease) that should be resumed.
pub async fn unfinished_syncs<'c>(
    e: impl Executor<'c, Database = Any>,
) -> sqlx::Result<Vec<SyncRow>> {
    sqlx::query(&format!(
        "select {SYNC_COLUMNS} from bank_syncs s where s.status in ('queued', 'running') order by s.created_at limit 100"
    ))
    .fetch_all(e)
    .await?
    .into_iter()
    .map(sync)
    .collect()
}

pub async fn start_sync<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bank_syncs set status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, $2)
         where id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Progress after a batch: written in the batch's transaction.
pub struct Progress {
    pub account_index: i64,
    pub next_page: i64,
    pub pages: i64,
    pub added: i64,
    pub updated: i64,
    pub removed: i64,
}

pub async fn advance_sync<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    p: &Progress,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bank_syncs set account_index = $2, next_page = $3, pages_fetched = pages_fetched + $4,
             rows_added = rows_added + $5, rows_updated = rows_updated + $6, rows_removed = rows_removed + $7
         where id = $1",
    )
    .bind(id)
    .bind(p.account_index)
    .bind(p.next_page)
    .bind(p.pages)
    .bind(p.added)
    .bind(p.updated)
    .bind(p.removed)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn finish_sync<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    status: SyncStatus,
    error: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update bank_syncs set status = $2, error = $3, finished_at = $4 where id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

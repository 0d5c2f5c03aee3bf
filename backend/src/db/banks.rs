//! `bank_intents`, `bank_connections`, `bank_accounts`, `bank_syncs`, `balance_history`, and
//! the batched transaction writes of a sync.

use std::collections::HashMap;

use sqlx::{any::AnyRow, Any, AnyConnection, Executor, Row};

// ---- intents ----

pub struct IntentRow {
    pub intent_id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub customer_user_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The connection the flow produced, once completed.
    pub connection_id: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_intent<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
    workspace_id: &str,
    user_id: &str,
    customer: &str,
    provider_id: Option<&str>,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into bank_intents (intent_id, workspace_id, user_id, customer_user_id, provider_id, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(intent_id)
    .bind(workspace_id)
    .bind(user_id)
    .bind(customer)
    .bind(provider_id)
    .bind(now)
    .bind(expires_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn intent<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
) -> sqlx::Result<Option<IntentRow>> {
    sqlx::query(
        "select intent_id, workspace_id, user_id, customer_user_id, expires_at, used_at, connection_id
         from bank_intents where intent_id = $1",
    )
    .bind(intent_id)
    .fetch_optional(e)
    .await?
    .map(|r| {
        Ok(IntentRow {
            intent_id: r.try_get("intent_id")?,
            workspace_id: r.try_get("workspace_id")?,
            user_id: r.try_get("user_id")?,
            customer_user_id: r.try_get("customer_user_id")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
            connection_id: r.try_get("connection_id")?,
        })
    })
    .transpose()
}

/// Marks the intent used; false when another callback got there first.
pub async fn use_intent<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update bank_intents set used_at = $2 where intent_id = $1 and used_at is null",
    )
    .bind(intent_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records the connection a completed intent produced.
pub async fn set_intent_connection<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
    connection_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("update bank_intents set connection_id = $2 where intent_id = $1")
        .bind(intent_id)
        .bind(connection_id)
        .execute(e)
        .await?;
    Ok(())
}

/// The workspace's Tarabut customer id: the stored one, or a new random one stored now (the
/// first Connect of a workspace; concurrent first Connects agree on one).
pub async fn customer_of(conn: &mut AnyConnection, workspace_id: &str) -> sqlx::Result<String> {
    let fresh = format!("pfn{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "update workspaces set tarabut_customer_id = $2
         where id = $1 and tarabut_customer_id is null",
    )
    .bind(workspace_id)
    .bind(&fresh)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("select tarabut_customer_id from workspaces where id = $1")
        .bind(workspace_id)
        .fetch_one(&mut *conn)
        .await
}

/// Takes the connection's row lock until the transaction ends (PostgreSQL; on SQLite the
/// write transaction already holds the database's), so decisions about it are serialised.
pub async fn lock_connection(
    conn: &mut AnyConnection,
    backend: super::Backend,
    id: &str,
) -> sqlx::Result<()> {
    if backend == super::Backend::Postgres {
        sqlx::query("select id from bank_connections where id = $1 for update")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

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

// ---- connections ----

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub customer_user_id: String,
    pub provider_id: String,
    pub consent_id: String,
    pub status: String,
    pub consent_expires_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_sync_status: Option<String>,
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
        status: r.try_get("status")?,
        consent_expires_at: r.try_get("consent_expires_at")?,
        last_sync_at: r.try_get("last_sync_at")?,
        last_sync_status: r.try_get("last_sync_status")?,
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
    .bind(&c.status)
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
        .filter(|c| c.status == "active")
        .collect())
}

pub async fn set_status<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    status: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update bank_connections set status = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(status)
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
    status: &str,
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
    .bind(status)
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
/// `reauth_required` (still synced; the user should connect again). Returns (expired, warned).
pub async fn check_consents(
    conn: &mut AnyConnection,
    now: i64,
    warn_secs: i64,
) -> sqlx::Result<(u64, u64)> {
    let expired = sqlx::query(
        "update bank_connections set status = 'expired', updated_at = $1
         where status in ('active', 'reauth_required') and consent_expires_at is not null and consent_expires_at <= $1",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let warned = sqlx::query(
        "update bank_connections set status = 'reauth_required', updated_at = $1
         where status = 'active' and consent_expires_at is not null and consent_expires_at <= $2",
    )
    .bind(now)
    .bind(now + warn_secs)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((expired, warned))
}

// ---- the sync lease ----

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

// ---- syncs ----

#[derive(Debug, Clone)]
pub struct SyncRow {
    pub id: String,
    pub connection_id: String,
    pub status: String,
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
        status: r.try_get("status")?,
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
    status: &str,
    error: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update bank_syncs set status = $2, error = $3, finished_at = $4 where id = $1")
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

// ---- bank accounts ----

#[derive(Debug, Clone)]
pub struct BankAccountRow {
    pub account_id: String,
    pub tarabut_account_id: String,
    pub name: String,
    pub kind: String,
    pub currency: String,
    pub identifier_hint: Option<String>,
    pub balance_minor: Option<i64>,
    pub balance_at: Option<i64>,
}

pub async fn accounts_of<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
) -> sqlx::Result<Vec<BankAccountRow>> {
    sqlx::query(
        "select b.account_id, b.tarabut_account_id, a.name, a.kind, a.currency, b.identifier_hint,
                b.balance_minor, b.balance_at
         from bank_accounts b join accounts a on a.id = b.account_id
         where b.connection_id = $1 order by b.tarabut_account_id",
    )
    .bind(connection_id)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(|r| {
        Ok(BankAccountRow {
            account_id: r.try_get("account_id")?,
            tarabut_account_id: r.try_get("tarabut_account_id")?,
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            currency: r.try_get("currency")?,
            identifier_hint: r.try_get("identifier_hint")?,
            balance_minor: r.try_get("balance_minor")?,
            balance_at: r.try_get("balance_at")?,
        })
    })
    .collect()
}

pub struct NewBankAccount<'a> {
    pub workspace_id: &'a str,
    pub connection_id: &'a str,
    pub tarabut_account_id: &'a str,
    pub provider_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub currency: &'a str,
    pub identifier_hint: Option<&'a str>,
    pub now: i64,
}

/// Our account for a Tarabut account: created on first sight, re-linked to this connection when
/// the bank was connected before (history kept, nothing duplicated). Returns our account id.
pub async fn link_account(
    conn: &mut AnyConnection,
    a: &NewBankAccount<'_>,
) -> sqlx::Result<String> {
    let existing: Option<String> = sqlx::query_scalar(
        "select account_id from bank_accounts where workspace_id = $1 and tarabut_account_id = $2",
    )
    .bind(a.workspace_id)
    .bind(a.tarabut_account_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = existing {
        sqlx::query("update bank_accounts set connection_id = $2, identifier_hint = $3 where account_id = $1")
            .bind(&id)
            .bind(a.connection_id)
            .bind(a.identifier_hint)
            .execute(&mut *conn)
            .await?;
        sqlx::query("update accounts set name = $2, updated_at = $3 where id = $1")
            .bind(&id)
            .bind(a.name)
            .bind(a.now)
            .execute(&mut *conn)
            .await?;
        return Ok(id);
    }
    let id = super::new_id();
    sqlx::query(
        "insert into accounts (id, workspace_id, name, currency, kind, source, created_at, updated_at)
         values ($1, $2, $3, $4, $5, 'bank', $6, $6)",
    )
    .bind(&id)
    .bind(a.workspace_id)
    .bind(a.name)
    .bind(a.currency)
    .bind(a.kind)
    .bind(a.now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into bank_accounts (account_id, workspace_id, connection_id, tarabut_account_id, provider_id, identifier_hint)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(a.workspace_id)
    .bind(a.connection_id)
    .bind(a.tarabut_account_id)
    .bind(a.provider_id)
    .bind(a.identifier_hint)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The latest balance, and the day's point in the history (the last reading of a day wins).
pub async fn record_balance(
    conn: &mut AnyConnection,
    account_id: &str,
    balance_minor: i64,
    currency: &str,
    day: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bank_accounts set balance_minor = $2, balance_at = $3 where account_id = $1",
    )
    .bind(account_id)
    .bind(balance_minor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into balance_history (account_id, day, balance_minor, currency, recorded_at)
         values ($1, $2, $3, $4, $5)
         on conflict (account_id, day) do update set balance_minor = excluded.balance_minor,
             currency = excluded.currency, recorded_at = excluded.recorded_at",
    )
    .bind(account_id)
    .bind(day)
    .bind(balance_minor)
    .bind(currency)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Balance history of the workspace's bank accounts in `[from_day, to_day)`.
pub async fn balance_history<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    account_id: Option<&str>,
    from_day: &str,
    to_day: &str,
) -> sqlx::Result<Vec<(String, String, String, i64)>> {
    sqlx::query(
        "select h.account_id, h.day, h.currency, h.balance_minor from balance_history h
         join accounts a on a.id = h.account_id
         where a.workspace_id = $1 and ($2 = '' or h.account_id = $2) and h.day >= $3 and h.day < $4
         order by h.account_id, h.day",
    )
    .bind(workspace_id)
    .bind(account_id.unwrap_or_default())
    .bind(from_day)
    .bind(to_day)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
    .collect()
}

// ---- synced transactions ----

/// One upstream transaction, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedTx {
    pub external_id: String,
    pub amount_minor: i64,
    pub description: String,
    pub booked_at: i64,
    pub category: Option<String>,
    pub merchant: Option<String>,
}

/// What an account holds now, keyed by Tarabut's transaction id: the sync compares upstream
/// rows with this in memory and writes only what differs.
pub struct Stored {
    pub row: SyncedTx,
    pub removed: bool,
}

/// Every stored transaction of an account (one indexed range read).
pub async fn stored_rows<'c>(
    e: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> sqlx::Result<HashMap<String, Stored>> {
    let rows = sqlx::query(
        "select external_id, amount_minor, description, booked_at, category, merchant, removed_at
         from transactions where account_id = $1",
    )
    .bind(account_id)
    .fetch_all(e)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let row = SyncedTx {
            external_id: r.try_get("external_id")?,
            amount_minor: r.try_get("amount_minor")?,
            description: r.try_get("description")?,
            booked_at: r.try_get("booked_at")?,
            category: r.try_get("category")?,
            merchant: r.try_get("merchant")?,
        };
        let removed = r.try_get::<Option<i64>, _>("removed_at")?.is_some();
        out.insert(row.external_id.clone(), Stored { row, removed });
    }
    Ok(out)
}

/// Inserts new upstream rows, 20 a statement: few statements, while binding stays cheap
/// (SQLite looks parameter names up linearly, so a statement's binding cost grows with the
/// square of its parameter count). A row that already exists is left alone.
pub async fn insert_synced(
    conn: &mut AnyConnection,
    workspace_id: &str,
    account_id: &str,
    currency: &str,
    rows: &[&SyncedTx],
    now: i64,
) -> sqlx::Result<()> {
    for group in rows.chunks(20) {
        let mut sql = String::from(
            "insert into transactions (id, workspace_id, account_id, external_id, amount_minor, currency,
                 description, booked_at, category, merchant, created_at, updated_at) values ",
        );
        for i in 0..group.len() {
            let b = i * 11;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11,
                b + 11
            ));
        }
        sql.push_str(" on conflict (account_id, external_id) do nothing");
        let mut q = sqlx::query(&sql);
        for r in group {
            q = q
                .bind(super::new_id())
                .bind(workspace_id)
                .bind(account_id)
                .bind(&r.external_id)
                .bind(r.amount_minor)
                .bind(currency)
                .bind(&r.description)
                .bind(r.booked_at)
                .bind(&r.category)
                .bind(&r.merchant)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rewrites a row's source fields after the bank changed it (the user's category, note, tags
/// and exclusion are separate columns and stay), and restores it if it had been removed.
pub async fn update_synced(
    conn: &mut AnyConnection,
    account_id: &str,
    r: &SyncedTx,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update transactions set amount_minor = $3, description = $4, booked_at = $5,
             category = $6, merchant = $7, removed_at = null, updated_at = $8
         where account_id = $1 and external_id = $2",
    )
    .bind(account_id)
    .bind(&r.external_id)
    .bind(r.amount_minor)
    .bind(&r.description)
    .bind(r.booked_at)
    .bind(&r.category)
    .bind(&r.merchant)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Hides rows the bank no longer shows (kept, not deleted, so the user's notes and categories
/// come back if the bank shows the row again).
pub async fn mark_removed(
    conn: &mut AnyConnection,
    account_id: &str,
    external_ids: &[&str],
    now: i64,
) -> sqlx::Result<()> {
    for chunk in external_ids.chunks(50) {
        let placeholders = (0..chunk.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "update transactions set removed_at = $2, updated_at = $2
             where account_id = $1 and removed_at is null and external_id in ({placeholders})"
        );
        let mut q = sqlx::query(&sql).bind(account_id).bind(now);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes the accounts (and so their transactions and history) linked to a connection.
pub async fn delete_accounts_of<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "delete from accounts where id in (select account_id from bank_accounts where connection_id = $1)",
    )
    .bind(connection_id)
    .execute(e)
    .await?;
    Ok(r.rows_affected())
}

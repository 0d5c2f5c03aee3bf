//! Bank sync: accounts, balances (kept as a daily history) and transactions from Tarabut into
//! our finance tables, keyed by Tarabut's transaction id.
//!
//! - One sync per connection at a time, across replicas: a lease on the connection row.
//! - Resumable: progress (account, page, counts) is written in the same database transaction
//!   as each batch of rows; a sync that dies resumes at the account it was in, reading its pages
//!   again (rows already written compare equal and are not written twice).
//! - Exact: amounts become integer minor units at the currency's precision, or the row is
//!   refused (logged), never rounded.
//! - Faithful: each account's stored rows are read once and compared with the upstream rows in
//!   memory: new rows are inserted, changed ones updated (the user's overlays are separate
//!   columns and never touched), rows that disappeared are hidden; unchanged rows cost no
//!   write, so a re-sync that finds nothing new writes nothing.
//! - No database transaction is held across a Tarabut call.

mod mapping;
mod pass;

use std::time::Duration;

use rand::Rng;
use shared::banks::{ConnectionStatus, SyncStatus};

use crate::tarabut::TarabutError;
use crate::{db, state::AppState};
use mapping::pick_balance;
use pass::pass;

/// How long a sync may go without renewing its lease before another replica may take over.
pub const LEASE_SECS: i64 = 120;
/// Rows written per database transaction (with the sync's progress): pages are fetched
/// concurrently until a batch holds about this many.
const ROWS_PER_BATCH: u32 = 1000;
/// At most this many page requests in flight per sync.
const MAX_PAGES_IN_FLIGHT: usize = 16;
/// At most this many pages per batch.
const MAX_PAGES_PER_BATCH: u32 = 100;
/// Whole-sync retries of transient failures (each call also retries on its own).
const SYNC_ATTEMPTS: u32 = 3;
/// Transactions booked up to this far ahead of our clock are read too (pending card
/// transactions, bank clocks ahead of ours).
const FUTURE_SLACK_SECS: i64 = 7 * 86_400;

/// A person may start at most one sync of a connection per this many seconds.
pub const MANUAL_SYNC_EVERY_SECS: i64 = 60;

/// Starts a sync of `connection_id`, or returns the one already queued or running. A `manual`
/// request (a person's "sync now") that would start one within [`MANUAL_SYNC_EVERY_SECS`] of
/// the previous manual one is 429 `rate_limited`.
pub async fn request(
    state: &AppState,
    connection_id: &str,
    reason: &str,
) -> crate::error::Result<String> {
    let mut tx = state.db.begin().await?;
    db::banks::lock_connection(&mut tx, state.db.backend, connection_id).await?;
    if let Some(open) = db::banks::open_sync(&mut *tx, connection_id).await? {
        tx.commit().await?;
        spawn(state, &open.id);
        return Ok(open.id);
    }
    if reason == "manual" {
        let now = state.clock.now();
        if let Some(last) = db::banks::last_manual_sync_at(&mut *tx, connection_id).await? {
            let wait = last + MANUAL_SYNC_EVERY_SECS - now;
            if wait > 0 {
                return Err(crate::error::AppError::too_many(
                    "rate_limited",
                    wait as u64,
                ));
            }
        }
    }
    let id = db::new_id();
    db::banks::insert_sync(&mut *tx, &id, connection_id, reason, state.clock.now()).await?;
    tx.commit().await?;
    spawn(state, &id);
    Ok(id)
}

/// Runs the sync in the background unless this process already runs it.
pub fn spawn(state: &AppState, sync_id: &str) {
    if !state
        .banks
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(sync_id.to_string())
    {
        return;
    }
    let state = state.clone();
    let sync_id = sync_id.to_string();
    tokio::spawn(async move {
        if let Err(e) = run(&state, &sync_id, None).await {
            tracing::warn!(sync_id, error = %e, "sync stopped on a database error; it resumes later");
        }
        state
            .banks
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&sync_id);
    });
}

/// How a call to [`run`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    Finished,
    /// Another replica holds the lease, or the sync was already finished.
    Skipped,
    /// Stopped after the batch budget (tests use this to stand in for a crash).
    Interrupted,
}

/// Runs (or resumes) a sync. `batch_budget` stops it after that many batches, leaving it
/// exactly as a crash would: running, its lease held until it expires.
pub async fn run(
    state: &AppState,
    sync_id: &str,
    batch_budget: Option<usize>,
) -> anyhow::Result<Ran> {
    let Some(sync) = db::banks::sync_by_id(&state.db.pool, sync_id).await? else {
        return Ok(Ran::Skipped);
    };
    if !sync.status.is_open() {
        return Ok(Ran::Skipped);
    }
    let Some(conn) = db::banks::connection_by_id(&state.db.pool, &sync.connection_id).await? else {
        return Ok(Ran::Skipped);
    };
    let owner = &state.banks.instance;
    let now = state.clock.now();
    if !db::banks::claim_lease(&state.db.pool, &conn.id, owner, now, now + LEASE_SECS).await? {
        return Ok(Ran::Skipped);
    }
    db::banks::start_sync(&state.db.pool, sync_id, now).await?;
    let mut budget = batch_budget;
    let mut attempt = 0;
    let outcome = loop {
        match pass(state, &conn, sync_id, &mut budget).await {
            Ok(r) => break Ok(r),
            Err(Failure::Upstream(e)) if e.is_transient() && attempt + 1 < SYNC_ATTEMPTS => {
                attempt += 1;
                let wait = rand::thread_rng().gen_range(500..1500) * u64::from(attempt);
                tracing::info!(sync_id, attempt, error = %e, "sync retrying after a transient failure");
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(e) => break Err(e),
        }
    };
    let now = state.clock.now();
    let next = next_run(state, now);
    let (status, code) = match &outcome {
        Ok(Ran::Interrupted) => return Ok(Ran::Interrupted),
        Ok(_) => (SyncStatus::Succeeded, None),
        Err(Failure::Db(_)) => {
            // Leave it running: the lease expires and the scheduler resumes it.
            let Err(Failure::Db(e)) = outcome else {
                unreachable!()
            };
            return Err(e.into());
        }
        Err(Failure::Upstream(e)) => {
            tracing::warn!(sync_id, connection_id = %conn.id, error = %e, "sync failed");
            (SyncStatus::Failed, Some(error_code(e)))
        }
    };
    // The sync's end, the connection's state, their events and the lease's release commit
    // together: whoever sees the sync finished can take the lease at once.
    let mut tx = state.db.begin().await?;
    let mut events = false;
    if let Err(Failure::Upstream(e)) = &outcome {
        events |= consent_loss(&mut tx, state, &conn.id, &conn.workspace_id, e).await?;
    }
    db::banks::finish_sync(&mut *tx, sync_id, status, code, now).await?;
    db::banks::record_sync_outcome(&mut *tx, &conn.id, status, code, now, next).await?;
    let (event, detail) = match code {
        None => ("sync.completed", serde_json::json!({ "syncId": sync_id })),
        Some(c) => (
            "sync.failed",
            serde_json::json!({ "syncId": sync_id, "error": c }),
        ),
    };
    events |= db::webhooks::events::record_one(
        &mut tx,
        &conn.workspace_id,
        event,
        &conn.id,
        Some(&detail),
        state.clock.now_ms(),
    )
    .await?;
    db::banks::release_lease(&mut *tx, &conn.id, owner).await?;
    tx.commit().await?;
    if events {
        state.outbound.wake();
    }
    Ok(Ran::Finished)
}

/// A lost consent shows on its connection: `revoked` or `expired`, with a
/// `connection.reauth_required` event. Other errors change nothing.
pub async fn record_consent_loss(
    state: &AppState,
    connection_id: &str,
    workspace_id: &str,
    e: &TarabutError,
) -> sqlx::Result<()> {
    let mut tx = state.db.begin().await?;
    let events = consent_loss(&mut tx, state, connection_id, workspace_id, e).await?;
    tx.commit().await?;
    if events {
        state.outbound.wake();
    }
    Ok(())
}

/// [`record_consent_loss`] in the caller's transaction; whether it wrote an event.
async fn consent_loss(
    tx: &mut db::Tx,
    state: &AppState,
    connection_id: &str,
    workspace_id: &str,
    e: &TarabutError,
) -> sqlx::Result<bool> {
    let status = match e {
        TarabutError::ConsentRevoked => ConnectionStatus::Revoked,
        TarabutError::ConsentExpired => ConnectionStatus::Expired,
        _ => return Ok(false),
    };
    db::banks::set_status(&mut **tx, connection_id, status, state.clock.now()).await?;
    db::webhooks::events::record_one(
        tx,
        workspace_id,
        "connection.reauth_required",
        connection_id,
        None,
        state.clock.now_ms(),
    )
    .await
}

/// The short code a failed sync shows (the same codes our API uses for upstream errors).
pub fn error_code(e: &TarabutError) -> &'static str {
    match e {
        TarabutError::Timeout => "upstream_timeout",
        TarabutError::Unavailable(_) => "upstream_unavailable",
        TarabutError::ConsentRevoked => "consent_revoked",
        TarabutError::ConsentExpired => "consent_expired",
        TarabutError::NotFound | TarabutError::Rejected { .. } | TarabutError::Decode(_) => {
            "upstream_error"
        }
    }
}

/// The next scheduled sync: the interval, ±10 % jitter so connections spread out.
fn next_run(state: &AppState, now: i64) -> i64 {
    let interval = state.banks.sync_interval_secs.max(60) as i64;
    let jitter = interval / 10;
    now + interval + rand::thread_rng().gen_range(-jitter..=jitter)
}

pub enum Failure {
    Upstream(TarabutError),
    Db(sqlx::Error),
}

impl From<TarabutError> for Failure {
    fn from(e: TarabutError) -> Self {
        Self::Upstream(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Reads an account's balance from Tarabut (optionally asking the bank first) and records it.
pub async fn refresh_balance(
    state: &AppState,
    customer: &str,
    tarabut_id: &str,
    account_id: &str,
    currency: &str,
    from_bank: bool,
) -> Result<(), Failure> {
    let balances = state
        .banks
        .client
        .balances(customer, tarabut_id, from_bank)
        .await?;
    let Some(minor) = pick_balance(&balances.balances, currency) else {
        return Ok(());
    };
    let now = state.clock.now();
    let day = crate::clock::utc_day(now);
    let mut tx = state.db.begin().await?;
    db::banks::record_balance(&mut tx, account_id, minor, currency, &day, now).await?;
    tx.commit().await?;
    Ok(())
}

impl From<Failure> for crate::error::AppError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Upstream(e) => e.into(),
            Failure::Db(e) => e.into(),
        }
    }
}

/// The scheduler: every `tick`, marks expired and expiring consents, resumes syncs that lost their runner,
/// and starts the syncs that are due. Safe on every replica at once: the claims are atomic.
pub async fn run_scheduler(
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
    tick: Duration,
) {
    loop {
        if let Err(e) = schedule_once(&state).await {
            tracing::warn!(error = %e, "sync scheduler pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One scheduler pass (tests call it directly).
pub async fn schedule_once(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (expired, warned) =
        db::banks::check_consents(&mut tx, now, crate::tarabut::EXPIRING_SOON_SECS).await?;
    let mut events = false;
    let now_ms = state.clock.now_ms();
    for (id, ws, _) in &expired {
        events |= db::webhooks::events::record_one(
            &mut tx,
            ws,
            "connection.reauth_required",
            id,
            None,
            now_ms,
        )
        .await?;
    }
    for (id, ws, ends) in &warned {
        let detail = serde_json::json!({ "expiresAt": crate::clock::rfc3339(*ends) });
        events |= db::webhooks::events::record_one(
            &mut tx,
            ws,
            "connection.consent_expiring",
            id,
            Some(&detail),
            now_ms,
        )
        .await?;
    }
    tx.commit().await?;
    if events {
        state.outbound.wake();
    }
    if !expired.is_empty() || !warned.is_empty() {
        tracing::info!(
            expired = expired.len(),
            reauth_required = warned.len(),
            "consent statuses updated"
        );
    }
    for sync in db::banks::unfinished_syncs(&state.db.pool).await? {
        spawn(state, &sync.id);
    }
    if state.banks.sync_interval_secs == 0 {
        return Ok(());
    }
    for id in db::banks::due_connections(&state.db.pool, now, 50).await? {
        // Whoever moves `next_sync_at` first owns this round; other replicas see it moved.
        if db::banks::defer_next_sync(&state.db.pool, &id, now, next_run(state, now)).await? {
            request(state, &id, "scheduled")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(())
}

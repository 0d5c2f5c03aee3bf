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

use std::{collections::HashSet, time::Duration};

use rand::Rng;
use tokio::task::JoinSet;

use super::{wire, TarabutError};
use crate::{
    db::{self, banks::SyncedTx},
    state::AppState,
};

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
    if !matches!(sync.status.as_str(), "queued" | "running") {
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
    match outcome {
        Ok(Ran::Interrupted) => return Ok(Ran::Interrupted),
        Ok(_) => {
            db::banks::finish_sync(&state.db.pool, sync_id, "succeeded", None, now).await?;
            db::banks::record_sync_outcome(&state.db.pool, &conn.id, "succeeded", None, now, next)
                .await?;
        }
        Err(Failure::Db(e)) => {
            // Leave it running: the lease expires and the scheduler resumes it.
            return Err(e.into());
        }
        Err(Failure::Upstream(e)) => {
            let code = error_code(&e);
            record_consent_loss(state, &conn.id, &e).await?;
            tracing::warn!(sync_id, connection_id = %conn.id, error = %e, "sync failed");
            db::banks::finish_sync(&state.db.pool, sync_id, "failed", Some(code), now).await?;
            db::banks::record_sync_outcome(
                &state.db.pool,
                &conn.id,
                "failed",
                Some(code),
                now,
                next,
            )
            .await?;
        }
    }
    db::banks::release_lease(&state.db.pool, &conn.id, owner).await?;
    Ok(Ran::Finished)
}

/// A lost consent shows on its connection: `revoked` or `expired`. Other errors change nothing.
pub async fn record_consent_loss(
    state: &AppState,
    connection_id: &str,
    e: &TarabutError,
) -> sqlx::Result<()> {
    let status = match e {
        TarabutError::ConsentRevoked => "revoked",
        TarabutError::ConsentExpired => "expired",
        _ => return Ok(()),
    };
    db::banks::set_status(&state.db.pool, connection_id, status, state.clock.now()).await
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

/// One pass from the sync's recorded position to the end.
async fn pass(
    state: &AppState,
    conn: &db::banks::ConnectionRow,
    sync_id: &str,
    budget: &mut Option<usize>,
) -> Result<Ran, Failure> {
    let client = &state.banks.client;
    let customer = &conn.customer_user_id;
    let accounts = client.accounts(customer).await?;
    let mut mine: Vec<wire::Account> = accounts
        .accounts
        .into_iter()
        .filter(|a| a.consents.iter().any(|c| c.id == conn.consent_id))
        .collect();
    if let Some(status) = mine
        .iter()
        .flat_map(|a| a.consents.iter())
        .find(|c| c.id == conn.consent_id)
        .and_then(|c| c.status.as_deref())
    {
        match status.to_ascii_uppercase().as_str() {
            "REVOKED" => return Err(TarabutError::ConsentRevoked.into()),
            "EXPIRED" => return Err(TarabutError::ConsentExpired.into()),
            _ => {}
        }
    }
    if mine.is_empty() {
        // No account lists our consent: ask about the consent itself. Gone (a sandbox that
        // restarted, a consent deleted at the bank) reads as revoked.
        match client.consent(customer, &conn.consent_id).await {
            Err(TarabutError::NotFound) => return Err(TarabutError::ConsentRevoked.into()),
            Err(e) => return Err(e.into()),
            Ok(c) => match c.status.as_deref().map(str::to_ascii_uppercase).as_deref() {
                Some("REVOKED") => return Err(TarabutError::ConsentRevoked.into()),
                Some("EXPIRED") => return Err(TarabutError::ConsentExpired.into()),
                _ => {}
            },
        }
    }
    // A stable order, so the recorded account index means the same account on resume.
    mine.sort_by(|a, b| a.account_id.cmp(&b.account_id));

    let now = state.clock.now();
    let mut linked = Vec::with_capacity(mine.len());
    {
        let mut tx = state.db.begin().await?;
        for a in &mine {
            let currency = account_currency(a);
            let Some(currency) = currency.filter(|c| shared::money::exponent(c).is_some()) else {
                tracing::warn!(account = %a.account_id, "skipping a bank account without a known currency");
                continue;
            };
            let name = a
                .account_description
                .clone()
                .or_else(|| a.account_holder_name.clone())
                .unwrap_or_else(|| format!("{} account", conn.provider_id));
            let id = db::banks::link_account(
                &mut tx,
                &db::banks::NewBankAccount {
                    workspace_id: &conn.workspace_id,
                    connection_id: &conn.id,
                    tarabut_account_id: &a.account_id,
                    provider_id: &conn.provider_id,
                    name: &name,
                    kind: kind_of(a.account_product_type.as_deref()),
                    currency: &currency,
                    identifier_hint: hint_of(a).as_deref(),
                    now,
                },
            )
            .await?;
            linked.push((a.account_id.clone(), id, currency));
        }
        tx.commit().await?;
    }
    for (tarabut_id, account_id, currency) in &linked {
        refresh_balance(state, customer, tarabut_id, account_id, currency, false).await?;
    }

    let Some(sync) = db::banks::sync_by_id(&state.db.pool, sync_id).await? else {
        return Ok(Ran::Skipped);
    };
    let to = now + FUTURE_SLACK_SECS;
    let from = now - i64::from(state.banks.history_days) * 86_400;
    let start_index = usize::try_from(sync.account_index).unwrap_or(0);
    for (index, (tarabut_id, account_id, currency)) in linked.iter().enumerate().skip(start_index) {
        // An account is read from its first page, also when resuming into it: removals are
        // found by comparing every upstream row with what is stored, and that needs them all.
        // Rows a dead sync already wrote compare equal and are not written again.
        let mut page = 1u32;
        let mut stored = db::banks::stored_rows(&state.db.pool, account_id).await?;
        let mut seen: HashSet<String> = HashSet::with_capacity(stored.len());
        let mut total_pages: Option<u32> = None;
        let mut pages_per_batch = 1u32;
        let mut prefetched: Option<(u32, PageFetches)> = None;
        loop {
            if let Some(b) = budget {
                if *b == 0 {
                    return Ok(Ran::Interrupted);
                }
                *b -= 1;
            }
            // A batch of pages, fetched concurrently (Tarabut's pages are small); the next
            // batch is already in flight while this one is written.
            let (last, mut set) = match prefetched.take() {
                Some(p) => p,
                None => {
                    let last = batch_end(page, pages_per_batch, total_pages);
                    (
                        last,
                        fetch(client, customer, tarabut_id, from, to, page..=last),
                    )
                }
            };
            let mut pages = Vec::with_capacity(set.len());
            while let Some(joined) = set.join_next().await {
                let (p, result) =
                    joined.map_err(|e| TarabutError::Unavailable(format!("fetch task: {e}")))?;
                pages.push((p, result?));
            }
            pages.sort_by_key(|(p, _)| *p);
            let mut rows = Vec::new();
            let mut reached_end = false;
            for (_, body) in &pages {
                if let Some(t) = body.meta.as_ref().and_then(|m| m.total_count_of_pages) {
                    total_pages = Some(t);
                }
                // Tarabut's page size is its own (10 in its examples): size batches from it.
                let per_page = body.transactions.len() as u32;
                if per_page > 0 {
                    pages_per_batch = ROWS_PER_BATCH
                        .div_ceil(per_page)
                        .clamp(1, MAX_PAGES_PER_BATCH);
                }
                if body.transactions.is_empty() {
                    reached_end = true;
                }
                rows.extend(body.transactions.iter().filter_map(|t| synced(t, currency)));
            }
            let fetched = (last - page + 1) as i64;
            let next_page = last + 1;
            reached_end |= total_pages.is_none_or(|t| last >= t);
            if !reached_end {
                let next_last = batch_end(next_page, pages_per_batch, total_pages);
                prefetched = Some((
                    next_last,
                    fetch(
                        client,
                        customer,
                        tarabut_id,
                        from,
                        to,
                        next_page..=next_last,
                    ),
                ));
            }

            // Compare with what is stored; only differences are written.
            let mut fresh = Vec::new();
            let mut changed = Vec::new();
            for r in &rows {
                // the same id twice (a page boundary shifting mid-sync) counts once
                if !seen.insert(r.external_id.clone()) {
                    continue;
                }
                match stored.get(&r.external_id) {
                    None => fresh.push(r),
                    Some(s) if s.row == *r && !s.removed => {}
                    Some(_) => changed.push(r),
                }
            }
            let gone: Vec<&str> = if reached_end {
                stored
                    .values()
                    .filter(|s| !s.removed && (from..=to).contains(&s.row.booked_at))
                    .filter(|s| !seen.contains(&s.row.external_id))
                    .map(|s| s.row.external_id.as_str())
                    .collect()
            } else {
                Vec::new()
            };
            let now = state.clock.now();
            let mut tx = state.db.begin().await?;
            db::banks::insert_synced(
                &mut tx,
                &conn.workspace_id,
                account_id,
                currency,
                &fresh,
                now,
            )
            .await?;
            for r in &changed {
                db::banks::update_synced(&mut tx, account_id, r, now).await?;
            }
            db::banks::mark_removed(&mut tx, account_id, &gone, now).await?;
            db::banks::advance_sync(
                &mut *tx,
                sync_id,
                &db::banks::Progress {
                    account_index: if reached_end {
                        index as i64 + 1
                    } else {
                        index as i64
                    },
                    next_page: if reached_end { 1 } else { i64::from(next_page) },
                    pages: fetched,
                    added: fresh.len() as i64,
                    updated: changed.len() as i64,
                    removed: gone.len() as i64,
                },
            )
            .await?;
            tx.commit().await?;
            for r in fresh.into_iter().chain(changed) {
                stored.insert(
                    r.external_id.clone(),
                    db::banks::Stored {
                        row: r.clone(),
                        removed: false,
                    },
                );
            }
            db::banks::claim_lease(
                &state.db.pool,
                &conn.id,
                &state.banks.instance,
                now,
                now + LEASE_SECS,
            )
            .await?;
            if reached_end {
                break;
            }
            page = next_page;
        }
    }
    Ok(Ran::Finished)
}

/// Page fetches in flight: (page number, its result).
type PageFetches = JoinSet<(u32, Result<wire::Transactions, TarabutError>)>;

/// The last page of a batch starting at `first`.
fn batch_end(first: u32, pages_per_batch: u32, total_pages: Option<u32>) -> u32 {
    match total_pages {
        Some(t) => (first + pages_per_batch - 1).min(t.max(first)),
        None => first,
    }
}

/// Fetches `pages` of an account's transactions, at most [`MAX_PAGES_IN_FLIGHT`] at a time.
fn fetch(
    client: &super::Client,
    customer: &str,
    tarabut_id: &str,
    from: i64,
    to: i64,
    pages: std::ops::RangeInclusive<u32>,
) -> PageFetches {
    let mut set = JoinSet::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_PAGES_IN_FLIGHT));
    for p in pages {
        let client = client.clone();
        let permits = permits.clone();
        let (customer, tarabut_id) = (customer.to_string(), tarabut_id.to_string());
        set.spawn(async move {
            let _permit = permits.acquire().await;
            (
                p,
                client
                    .transactions(&customer, &tarabut_id, from, to, p)
                    .await,
            )
        });
    }
    set
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
    let day = crate::http::rfc3339(now)
        .get(..10)
        .unwrap_or_default()
        .to_string();
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

/// Available before booked, closing before interim; in the account's currency.
fn pick_balance(balances: &[wire::Balance], currency: &str) -> Option<i64> {
    const ORDER: [&str; 6] = [
        "ClosingAvailable",
        "InterimAvailable",
        "ClosingBooked",
        "InterimBooked",
        "Expected",
        "Unknown",
    ];
    let usable = |b: &&wire::Balance| b.amount.currency == currency;
    ORDER
        .iter()
        .find_map(|kind| balances.iter().filter(usable).find(|b| b.kind == *kind))
        .or_else(|| balances.iter().find(usable))
        .and_then(|b| b.amount.minor())
}

fn account_currency(a: &wire::Account) -> Option<String> {
    a.balances.first().map(|b| b.amount.currency.clone())
}

fn kind_of(product: Option<&str>) -> &'static str {
    match product.map(str::to_ascii_lowercase).as_deref() {
        Some("currentaccount") | Some("current") | Some("account") => "checking",
        Some("savings") | Some("savingsaccount") => "savings",
        Some("creditcard") => "credit_card",
        Some("loan") | Some("mortgage") => "loan",
        _ => "other",
    }
}

/// `•••• 4621` from an IBAN or masked PAN; the full identifier is not stored.
fn hint_of(a: &wire::Account) -> Option<String> {
    let value = a.identifiers.iter().find_map(|i| i.value.as_deref())?;
    let digits: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
    let tail = digits.get(digits.len().saturating_sub(4)..)?;
    Some(format!("•••• {tail}"))
}

/// An upstream transaction as we store it; `None` (logged) when it cannot be stored exactly.
fn synced(t: &wire::Transaction, currency: &str) -> Option<SyncedTx> {
    let refuse = |why: &str| {
        tracing::warn!(transaction_id = %t.transaction_id, why, "skipping an unreadable bank transaction");
        None
    };
    if t.transaction_id.is_empty() || t.transaction_id.len() > 200 {
        return refuse("bad id");
    }
    if t.amount.currency != currency {
        return refuse("currency differs from the account's");
    }
    let Some(amount_minor) = t.signed_minor() else {
        return refuse("amount or direction");
    };
    let Some(booked_at) = wire::parse_time(&t.booking_date_time) else {
        return refuse("booking time");
    };
    let merchant = t.merchant.as_ref().and_then(|m| m.name.clone());
    Some(SyncedTx {
        external_id: t.transaction_id.clone(),
        amount_minor,
        description: t
            .transaction_description
            .clone()
            .or_else(|| merchant.clone())
            .unwrap_or_default(),
        booked_at,
        category: t
            .category
            .as_ref()
            .and_then(|c| c.name.as_deref())
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty()),
        merchant,
    })
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
    let mut conn = state.db.pool.acquire().await?;
    let (expired, warned) =
        db::banks::check_consents(&mut conn, now, crate::tarabut::routes::EXPIRING_SOON_SECS)
            .await?;
    drop(conn);
    if expired + warned > 0 {
        tracing::info!(
            expired,
            reauth_required = warned,
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

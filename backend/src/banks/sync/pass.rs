//! One pass of a sync, from its recorded position to the end: which accounts the consent
//! covers, linking them and their balances, then each account's pages in batches, compared with
//! what is stored and written with the sync's progress.

use std::collections::HashSet;

use tokio::task::JoinSet;

use super::{
    mapping::{account_currency, hint_of, kind_of, synced},
    refresh_balance, Failure, Ran, FUTURE_SLACK_SECS, LEASE_SECS, MAX_PAGES_IN_FLIGHT,
    MAX_PAGES_PER_BATCH, ROWS_PER_BATCH,
};
use crate::{
    db::{self, banks::ConnectionRow},
    state::AppState,
    tarabut::{wire, Client, TarabutError},
};

/// One pass from the sync's recorded position to the end.
pub(super) async fn pass(
    state: &AppState,
    conn: &ConnectionRow,
    sync_id: &str,
    budget: &mut Option<usize>,
) -> Result<Ran, Failure> {
    let accounts = consented_accounts(&state.banks.client, conn).await?;
    let now = state.clock.now();
    let linked = link_accounts(state, conn, &accounts, now).await?;
    for account in &linked {
        refresh_balance(
            state,
            &conn.customer_user_id,
            &account.tarabut_id,
            &account.id,
            &account.currency,
            false,
        )
        .await?;
    }
    let Some(sync) = db::banks::sync_by_id(&state.db.pool, sync_id).await? else {
        return Ok(Ran::Skipped);
    };
    let window = Window {
        from: now - i64::from(state.banks.history_days) * 86_400,
        to: now + FUTURE_SLACK_SECS,
    };
    let start_index = usize::try_from(sync.account_index).unwrap_or(0);
    for (index, account) in linked.iter().enumerate().skip(start_index) {
        let ran = sync_account(state, conn, sync_id, index, account, window, budget).await?;
        if ran == Ran::Interrupted {
            return Ok(ran);
        }
    }
    Ok(Ran::Finished)
}

/// The accounts the connection's consent covers, in a stable order (so the recorded account
/// index means the same account on resume); a revoked or expired consent is an error.
async fn consented_accounts(
    client: &Client,
    conn: &ConnectionRow,
) -> Result<Vec<wire::Account>, Failure> {
    let customer = &conn.customer_user_id;
    let accounts = client.accounts(customer).await?;
    let mut mine: Vec<wire::Account> = accounts
        .accounts
        .into_iter()
        .filter(|a| a.consents.iter().any(|c| c.id == conn.consent_id))
        .collect();
    let status = if mine.is_empty() {
        // No account lists our consent: ask about the consent itself. Gone (a sandbox that
        // restarted, a consent deleted at the bank) reads as revoked.
        match client.consent(customer, &conn.consent_id).await {
            Err(TarabutError::NotFound) => return Err(TarabutError::ConsentRevoked.into()),
            Err(e) => return Err(e.into()),
            Ok(c) => c.status,
        }
    } else {
        mine.iter()
            .flat_map(|a| a.consents.iter())
            .find(|c| c.id == conn.consent_id)
            .and_then(|c| c.status.clone())
    };
    match status.map(|s| s.to_ascii_uppercase()).as_deref() {
        Some("REVOKED") => return Err(TarabutError::ConsentRevoked.into()),
        Some("EXPIRED") => return Err(TarabutError::ConsentExpired.into()),
        _ => {}
    }
    mine.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(mine)
}

/// An upstream account linked to ours.
struct Linked {
    tarabut_id: String,
    /// Our account id.
    id: String,
    currency: String,
}

/// Links each upstream account with a known currency to an account of ours (in one database
/// transaction); accounts without one are skipped (logged).
async fn link_accounts(
    state: &AppState,
    conn: &ConnectionRow,
    accounts: &[wire::Account],
    now: i64,
) -> Result<Vec<Linked>, Failure> {
    let mut linked = Vec::with_capacity(accounts.len());
    let mut db_tx = state.db.begin().await?;
    for a in accounts {
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
            &mut db_tx,
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
        linked.push(Linked {
            tarabut_id: a.account_id.clone(),
            id,
            currency,
        });
    }
    db_tx.commit().await?;
    Ok(linked)
}

/// The booking times a sync reads.
#[derive(Clone, Copy)]
struct Window {
    from: i64,
    to: i64,
}

/// Reads one account's pages from the first, in batches fetched concurrently (the next batch
/// already in flight while one is written), and writes each batch's differences with the sync's
/// progress. An account is read from its first page also when resuming into it: removals are
/// found by comparing every upstream row with what is stored, and that needs them all; rows a
/// dead sync already wrote compare equal and are not written again.
async fn sync_account(
    state: &AppState,
    conn: &ConnectionRow,
    sync_id: &str,
    index: usize,
    account: &Linked,
    window: Window,
    budget: &mut Option<usize>,
) -> Result<Ran, Failure> {
    let client = &state.banks.client;
    let customer = &conn.customer_user_id;
    let fetch_pages = |pages: std::ops::RangeInclusive<u32>| {
        fetch(client, customer, &account.tarabut_id, window, pages)
    };
    let mut page = 1u32;
    let mut stored = db::banks::stored_rows(&state.db.pool, &account.id).await?;
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
        let (last, mut set) = match prefetched.take() {
            Some(p) => p,
            None => {
                let last = batch_end(page, pages_per_batch, total_pages);
                (last, fetch_pages(page..=last))
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
            rows.extend(
                body.transactions
                    .iter()
                    .filter_map(|t| synced(t, &account.currency)),
            );
        }
        let next_page = last + 1;
        reached_end |= total_pages.is_none_or(|t| last >= t);
        if !reached_end {
            let next_last = batch_end(next_page, pages_per_batch, total_pages);
            prefetched = Some((next_last, fetch_pages(next_page..=next_last)));
        }
        let batch = Batch {
            rows: &rows,
            pages: (last - page + 1) as i64,
            next_page,
            reached_end,
        };
        write_batch(
            state,
            conn,
            sync_id,
            index,
            account,
            window,
            batch,
            &mut stored,
            &mut seen,
        )
        .await?;
        if reached_end {
            return Ok(Ran::Finished);
        }
        page = next_page;
    }
}

/// What one batch of pages brought.
struct Batch<'a> {
    rows: &'a [db::banks::SyncedTransaction],
    /// Pages fetched.
    pages: i64,
    next_page: u32,
    /// The account's last page was among them: rows in the window not seen are gone.
    reached_end: bool,
}

/// Compares a batch with what is stored and writes only the differences, with the sync's
/// progress, in one database transaction; then renews the lease.
#[allow(clippy::too_many_arguments)]
async fn write_batch(
    state: &AppState,
    conn: &ConnectionRow,
    sync_id: &str,
    index: usize,
    account: &Linked,
    window: Window,
    batch: Batch<'_>,
    stored: &mut std::collections::HashMap<String, db::banks::Stored>,
    seen: &mut HashSet<String>,
) -> Result<(), Failure> {
    let mut fresh = Vec::new();
    let mut changed = Vec::new();
    for r in batch.rows {
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
    let gone: Vec<&str> = if batch.reached_end {
        stored
            .values()
            .filter(|s| !s.removed && (window.from..=window.to).contains(&s.row.booked_at))
            .filter(|s| !seen.contains(&s.row.external_id))
            .map(|s| s.row.external_id.as_str())
            .collect()
    } else {
        Vec::new()
    };
    let now = state.clock.now();
    let mut db_tx = state.db.begin().await?;
    let mut events = false;
    // A batch that changes nothing takes no change number (and leaves the workspace unlocked).
    if !(fresh.is_empty() && changed.is_empty() && gone.is_empty()) {
        let seq = db::changes::next(&mut db_tx, &conn.workspace_id).await?;
        // The account, held until the commit (`db::finance::hold_accounts`). Gone, its
        // connection or workspace went with it: the sync ends as a database failure would,
        // and its record went with the connection.
        let held =
            db::finance::hold_accounts(&mut db_tx, &conn.workspace_id, &[account.id.as_str()])
                .await?;
        if held.is_empty() {
            return Err(Failure::Db(sqlx::Error::RowNotFound));
        }
        let at = db::banks::Stamp { now, seq };
        // The daily totals: the rows about to change or go out before, all this batch wrote in.
        let rewritten: Vec<&str> = changed
            .iter()
            .map(|r| r.external_id.as_str())
            .chain(gone.iter().copied())
            .collect();
        db::finance::rollups::subtract(
            &mut db_tx,
            db::finance::rollups::Touched::External {
                account_id: &account.id,
                external_ids: &rewritten,
            },
        )
        .await?;
        db::banks::insert_synced(
            &mut db_tx,
            &conn.workspace_id,
            &account.id,
            &account.currency,
            &fresh,
            at,
        )
        .await?;
        for r in &changed {
            db::banks::update_synced(&mut db_tx, &account.id, r, at).await?;
        }
        db::banks::mark_removed(&mut db_tx, &account.id, &gone, at).await?;
        db::finance::rollups::add(
            &mut db_tx,
            db::finance::rollups::Touched::Change {
                workspace_id: &conn.workspace_id,
                seq,
            },
        )
        .await?;
        events = db::webhooks::events::record_transactions(
            &mut db_tx,
            &conn.workspace_id,
            seq,
            state.clock.now_ms(),
        )
        .await?;
    }
    let (account_index, next_page) = if batch.reached_end {
        (index as i64 + 1, 1)
    } else {
        (index as i64, i64::from(batch.next_page))
    };
    db::banks::advance_sync(
        &mut *db_tx,
        sync_id,
        &db::banks::Progress {
            account_index,
            next_page,
            pages: batch.pages,
            added: fresh.len() as i64,
            updated: changed.len() as i64,
            removed: gone.len() as i64,
        },
    )
    .await?;
    db_tx.commit().await?;
    if events {
        state.outbound.wake();
    }
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
    Ok(())
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
    client: &Client,
    customer: &str,
    tarabut_id: &str,
    window: Window,
    pages: std::ops::RangeInclusive<u32>,
) -> PageFetches {
    let Window { from, to } = window;
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

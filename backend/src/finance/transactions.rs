//! Transactions: list with filters, push in batches (validated whole, idempotent), and the
//! caller's overlays (category, note, tags, excluded).

use crate::web::values::money;
use crate::web::values::parse_time;
use std::collections::{BTreeMap, HashMap};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use shared::{
    finance::*,
    money::{exponent, parse_minor},
    ErrorBody, Page,
};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{Caller, ReadTransactions, WriteTransactions},
    clock::rfc3339,
    crypto::sha256_hex,
    db::{self, finance as fdb},
    error::{AppError, Result},
    state::AppState,
    web::{
        responses::BodyErrors,
        {json::parse, pagination, AppJson, AppQuery, DryRun},
    },
};

use super::text;

const MAX_BATCH: usize = 1000;
const IDEMPOTENCY_TTL: i64 = 24 * 3600;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_transactions, push_transactions))
        .routes(routes!(
            get_transaction,
            patch_transaction,
            delete_transaction
        ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct TransactionQuery {
    /// Only this account.
    #[param(example = "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a")]
    account_id: Option<String>,
    /// Booked at or after (RFC 3339 or `YYYY-MM-DD`), inclusive.
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Booked before (RFC 3339 or `YYYY-MM-DD`), exclusive.
    #[param(example = "2026-12-01")]
    to: Option<String>,
    /// Only this (effective) category.
    #[param(example = "dining")]
    category: Option<String>,
    /// Only transactions whose description or merchant contains this text (1–100 characters;
    /// ASCII letters match either case).
    #[param(example = "lulu", max_length = 100)]
    q: Option<String>,
    /// Only amounts of at least this (a decimal with at most 3 digits after the point, in each
    /// transaction's own currency; negative = money out).
    #[param(example = "-50")]
    min_amount: Option<String>,
    /// Only amounts of at most this (as `minAmount`).
    #[param(example = "-10.5")]
    max_amount: Option<String>,
    /// Only pending (`true`) or only booked (`false`) transactions.
    #[param(example = false)]
    pending: Option<bool>,
    /// Items per page, 1–200 (default 50).
    #[param(example = 50, minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` from the previous page.
    #[param(example = "MTc5NTQyNjIwMDowMTkzYjZmNS0zYzRkLTdlNWYtYTA2Yi03YzhkOWUwZjFhMmI")]
    cursor: Option<String>,
}

pub(super) fn transaction_view(t: fdb::TransactionRow) -> Transaction {
    Transaction {
        amount: money(t.amount_minor, &t.currency),
        id: t.id,
        account_id: t.account_id,
        external_id: t.external_id,
        description: t.description,
        booked_at: rfc3339(t.booked_at),
        category: t.category,
        merchant: t.merchant,
        note: t.note,
        tags: t
            .tags
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        excluded: t.excluded,
        pending: t.pending,
        updated_at: rfc3339(t.updated_at),
    }
}

/// Transactions, newest booking first.
///
/// With `q`, `minAmount`, `maxAmount` or `pending`, a page reads at most 10,000 transactions:
/// when the matches are rarer than that, the page holds fewer than `limit` items (maybe none)
/// and `nextCursor` goes on from where it stopped. Follow `nextCursor` until it is null.
#[utoipa::path(get, path = "/api/v1/transactions", tag = "finance", operation_id = "listTransactions",
    params(TransactionQuery),
    responses((status = 200, description = "A page of transactions", body = Page<Transaction>)))]
async fn list_transactions(
    State(state): State<AppState>,
    caller: Caller<ReadTransactions>,
    AppQuery(q): AppQuery<TransactionQuery>,
) -> Result<Json<Page<Transaction>>> {
    let page = pagination::PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let when = |name: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| {
                parse_time(s).ok_or_else(|| AppError::field(name, "must be RFC 3339 or YYYY-MM-DD"))
            })
            .transpose()
    };
    let bound = |name: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| parse_minor(s, 3).map_err(|m| AppError::field(name, m)))
            .transpose()
    };
    let (min, max) = (
        bound("minAmount", &q.min_amount)?,
        bound("maxAmount", &q.max_amount)?,
    );
    if min.zip(max).is_some_and(|(a, b)| a > b) {
        return Err(AppError::field(
            "minAmount",
            "must not be more than maxAmount",
        ));
    }
    let text = q.q.as_deref().filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > 100) {
        return Err(AppError::field("q", "must be at most 100 characters"));
    }
    let filter = fdb::TransactionFilter {
        workspace_id: &caller.workspace_id,
        reach: caller.reach(),
        account_id: q.account_id.as_deref(),
        from: when("from", &q.from)?,
        to: when("to", &q.to)?,
        category: q.category.as_deref(),
        text,
        min_thousandths: min,
        max_thousandths: max,
        pending: q.pending,
    };
    let listed = fdb::list_transactions(
        &state.db.pool,
        state.db.backend,
        filter,
        page.after()?,
        limit + 1,
    )
    .await?;
    let (rows, mut next_cursor) =
        pagination::finish(listed.rows, limit, |t| (t.booked_at, t.id.clone()));
    // The page stopped at its reading budget: the next one goes on from where it stopped.
    if let Some((ts, id)) = listed.resume {
        next_cursor = Some(pagination::encode(ts, &id));
    }
    Ok(Json(Page {
        items: rows.into_iter().map(transaction_view).collect(),
        next_cursor,
    }))
}

/// Validated push items, ready to insert.
struct Valid<'a> {
    item: &'a NewTransaction,
    amount_minor: i64,
    currency: &'a str,
    booked_at: i64,
}

/// A push's accounts by id.
type Accounts = HashMap<String, fdb::AccountRow, crate::hashing::Hasher>;

fn validate_push<'a>(
    req: &'a PushTransactionsRequest,
    accounts: &Accounts,
) -> Result<Vec<Valid<'a>>> {
    if req.transactions.is_empty() || req.transactions.len() > MAX_BATCH {
        return Err(AppError::field(
            "transactions",
            "must hold 1 to 1000 transactions",
        ));
    }
    let mut fields = BTreeMap::new();
    let mut valid = Vec::with_capacity(req.transactions.len());
    for (i, t) in req.transactions.iter().enumerate() {
        let at = |f: &str| format!("transactions[{i}].{f}");
        let account = accounts.get(&t.account_id);
        match account {
            None => {
                fields.insert(at("accountId"), "no such account in this workspace".into());
            }
            Some(a) if a.source != "manual" => {
                fields.insert(
                    at("accountId"),
                    "account_read_only: bank accounts are filled by sync".into(),
                );
            }
            Some(_) => {}
        }
        text(&mut fields, at("externalId"), &t.external_id, true);
        text(&mut fields, at("description"), &t.description, false);
        for (name, v) in [("category", &t.category), ("merchant", &t.merchant)] {
            text(
                &mut fields,
                at(name),
                v.as_deref().unwrap_or_default(),
                false,
            );
        }
        let amount = match exponent(&t.amount.currency) {
            None => {
                fields.insert(at("amount.currency"), "unknown ISO 4217 currency".into());
                None
            }
            Some(_) if account.is_some_and(|a| a.currency != t.amount.currency) => {
                fields.insert(
                    at("amount.currency"),
                    "currency_mismatch: must equal the account's currency".into(),
                );
                None
            }
            Some(e) => parse_minor(&t.amount.amount, e)
                .map_err(|m| fields.insert(at("amount.amount"), m.into()))
                .ok(),
        };
        let booked = parse_time(&t.booked_at);
        if booked.is_none() {
            fields.insert(at("bookedAt"), "must be an RFC 3339 timestamp".into());
        }
        if let (Some(amount_minor), Some(booked_at)) = (amount, booked) {
            valid.push(Valid {
                item: t,
                amount_minor,
                currency: &t.amount.currency,
                booked_at,
            });
        }
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    Ok(valid)
}

/// Push up to 1,000 transactions.
///
/// The whole batch is validated first: any error is 422 and nothing is stored. A repeated
/// `(accountId, externalId)` is never inserted twice (nor updated) and is listed under
/// `duplicates`. With an `Idempotency-Key` header (24 h, per workspace and credential) a retry
/// replays the first answer with `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/api/v1/transactions", tag = "finance", operation_id = "pushTransactions",
    params(("Idempotency-Key" = Option<String>, Header, example = "batch-2026-11-23-0001", description = "1–255 printable characters; retries with the same key and body replay the first answer")),
    request_body = PushTransactionsRequest,
    responses(BodyErrors,
        (status = 200, description = "Which items were created and which already existed, in request order", body = PushTransactionsResult,
            headers(("Idempotent-Replayed" = bool, description = "`true` on a replayed answer"))),
        (status = 409, description = "`idempotency_in_progress`: the same key is being processed", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an item or the `Idempotency-Key` header is invalid (`error.fields` names each, e.g. `transactions[3].amount.amount`; nothing is stored); `idempotency_key_mismatch`: the key was used with a different body; or `balance_out_of_range`: an account's balance would pass ±9×10^18 minor units", body = ErrorBody)))]
async fn push_transactions(
    State(state): State<AppState>,
    caller: Caller<WriteTransactions>,
    headers: HeaderMap,
    dry: DryRun,
    AppJson(req): AppJson<PushTransactionsRequest>,
) -> Result<Response> {
    let idem = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| crate::web::values::idempotency_key_ok(k))
                .ok_or_else(|| {
                    AppError::field(
                        "Idempotency-Key",
                        "must be 1–255 printable ASCII characters",
                    )
                })?
                .to_string(),
        ),
    };
    let mut referenced: Vec<&str> = req
        .transactions
        .iter()
        .map(|t| t.account_id.as_str())
        .collect();
    referenced.sort_unstable();
    referenced.dedup();
    let mut accounts: Accounts = fdb::accounts_by_ids(
        &state.db.pool,
        &caller.workspace_id,
        caller.reach(),
        &referenced,
    )
    .await?
    .into_iter()
    .map(|a| (a.id.clone(), a))
    .collect();
    let valid = validate_push(&req, &accounts)?;

    let owner = caller
        .key
        .as_ref()
        .map_or_else(|| caller.user_id.clone(), |k| format!("key:{}", k.id));
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if let Some(key) = &idem {
        let hash = sha256_hex(serde_json::to_string(&req).unwrap_or_default().as_bytes());
        match fdb::begin_idempotent(
            &mut tx,
            &caller.workspace_id,
            &owner,
            key,
            &hash,
            now,
            IDEMPOTENCY_TTL,
        )
        .await?
        {
            fdb::Idempotency::Started => {}
            fdb::Idempotency::Replay(status, body) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let value: serde_json::Value = parse(body.as_bytes())?;
                let mut res = (status, Json(value)).into_response();
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok(res);
            }
            fdb::Idempotency::Mismatch => {
                return Err(AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_mismatch",
                    "This Idempotency-Key was used with a different body.",
                ))
            }
            fdb::Idempotency::InProgress => {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_progress",
                    "A request with this Idempotency-Key is still being processed.",
                ))
            }
        }
    }
    let seq = db::changes::next(&mut tx, &caller.workspace_id).await?;
    // The accounts, held until the commit; one deleted since the validation above makes the
    // batch's answer what it would have been had it come after the deletion.
    let held = fdb::hold_accounts(&mut tx, &caller.workspace_id, &referenced).await?;
    if held.len() < accounts.len() {
        accounts.retain(|id, _| held.contains(id));
        return Err(validate_push(&req, &accounts).err().unwrap_or_else(|| {
            AppError::Internal(anyhow::anyhow!("an account went that no item named"))
        }));
    }
    let rows: Vec<fdb::NewTransaction> = valid
        .iter()
        .map(|v| fdb::NewTransaction {
            account_id: &v.item.account_id,
            external_id: &v.item.external_id,
            amount_minor: v.amount_minor,
            currency: v.currency,
            description: &v.item.description,
            booked_at: v.booked_at,
            category: v.item.category.as_deref(),
            merchant: v.item.merchant.as_deref(),
            pending: false,
        })
        .collect();
    let stored = fdb::insert_transactions(&mut tx, &caller.workspace_id, &rows, now, seq).await?;
    // Each item's id, and whether it is new.
    let outcome = match stored {
        fdb::Inserted::All(ids) => ids.into_iter().map(|id| (id, true)).collect(),
        fdb::Inserted::Some(created) => outcome_of_some(&mut tx, &valid, created).await?,
    };
    let mut result = PushTransactionsResult {
        created: Vec::with_capacity(outcome.len()),
        duplicates: Vec::new(),
    };
    // What the new rows add to each account's balance (at most 1,000 × 10^12: no overflow).
    let mut added: BTreeMap<&str, i64> = BTreeMap::new();
    let mut inserted = Vec::with_capacity(valid.len());
    for ((v, row), (id, new)) in valid.iter().zip(&rows).zip(outcome) {
        let r = TransactionRef {
            id,
            external_id: v.item.external_id.clone(),
        };
        if new {
            *added.entry(v.item.account_id.as_str()).or_default() += v.amount_minor;
            inserted.push(row);
            result.created.push(r)
        } else {
            result.duplicates.push(r)
        }
    }
    fdb::rollups::add_inserted(&mut tx, &caller.workspace_id, seq, &inserted).await?;
    let added: Vec<(&str, i64)> = added.into_iter().collect();
    if !fdb::add_to_balances(&mut tx, &added).await? {
        return Err(balance_out_of_range());
    }
    // Serialised once: the answer, and what a retry with the same key replays.
    let body = serde_json::to_string(&result).map_err(|e| AppError::Internal(e.into()))?;
    if let Some(key) = &idem {
        fdb::finish_idempotent(&mut *tx, &caller.workspace_id, &owner, key, 200, &body).await?;
    }
    let events = db::webhooks::events::record_transactions(
        &mut tx,
        &caller.workspace_id,
        seq,
        state.clock.now_ms(),
    )
    .await?;
    dry.settle(tx, &state, events).await?;
    Ok(crate::web::json::serialised(body))
}

/// Each item's id and whether this push stored it, in the batch's order, when the push did not
/// store every item: some exist already (their ids are read by external id), and of an
/// `(account, external id)` given twice the first is the one stored, the repeat a duplicate.
async fn outcome_of_some(
    tx: &mut db::Tx,
    valid: &[Valid<'_>],
    mut created: HashMap<(String, String), String>,
) -> Result<Vec<(String, bool)>> {
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in valid {
        let key = (v.item.account_id.clone(), v.item.external_id.clone());
        if !created.contains_key(&key) {
            missing
                .entry(&v.item.account_id)
                .or_default()
                .push(&v.item.external_id);
        }
    }
    let mut existing: HashMap<(String, String), String> = HashMap::new();
    for (account, external_ids) in missing {
        for (external_id, id) in fdb::ids_by_external(&mut *tx, account, &external_ids).await? {
            existing.insert((account.to_string(), external_id), id);
        }
    }
    let mut outcome = Vec::with_capacity(valid.len());
    for v in valid {
        let key = (v.item.account_id.clone(), v.item.external_id.clone());
        outcome.push(match created.remove(&key) {
            Some(id) => {
                existing.insert(key, id.clone());
                (id, true)
            }
            None => {
                let id = existing.get(&key).cloned().ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "a pushed transaction was neither stored nor found"
                    ))
                })?;
                (id, false)
            }
        });
    }
    Ok(outcome)
}

/// One transaction.
#[utoipa::path(get, path = "/api/v1/transactions/{id}", tag = "finance", operation_id = "getTransaction",
    params(("id" = String, Path, description = "Transaction id", example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")),
    responses(
        (status = 200, description = "The transaction", body = TransactionBody),
        (status = 404, description = "`not_found`: no such transaction in this workspace", body = ErrorBody)))]
async fn get_transaction(
    State(state): State<AppState>,
    caller: Caller<ReadTransactions>,
    Path(id): Path<String>,
) -> Result<Json<TransactionBody>> {
    let row = fdb::get_transaction(&state.db.pool, &caller.workspace_id, caller.reach(), &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(TransactionBody {
        transaction: transaction_view(row),
    }))
}

/// Delete a pushed transaction (one in a manual account). A bank's transactions come and go
/// with its syncs: leave one out of budgets and insights with `excluded` instead. Pushing the
/// same `externalId` again afterwards creates it anew.
#[utoipa::path(delete, path = "/api/v1/transactions/{id}", tag = "finance", operation_id = "deleteTransaction",
    params(("id" = String, Path, description = "Transaction id", example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`: no such transaction in this workspace", body = ErrorBody),
        (status = 409, description = "`bank_transaction`: it came from a bank sync; exclude it instead", body = ErrorBody),
        (status = 422, description = "`balance_out_of_range`: the account's balance would pass ±9×10^18 minor units", body = ErrorBody)))]
async fn delete_transaction(
    State(state): State<AppState>,
    caller: Caller<WriteTransactions>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    match fdb::transaction_source(&mut *tx, &caller.workspace_id, caller.reach(), &id)
        .await?
        .as_deref()
    {
        None => return Err(AppError::not_found()),
        Some("manual") => {}
        Some(_) => {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "bank_transaction",
                "This transaction came from a bank and comes back with its next sync: exclude it instead (PATCH with \"excluded\": true).",
            ))
        }
    }
    let seq = db::changes::next(&mut tx, &caller.workspace_id).await?;
    let row = fdb::rollups::Touched::Row {
        workspace_id: &caller.workspace_id,
        id: &id,
    };
    fdb::rollups::subtract(&mut tx, row).await?;
    db::changes::bury(&mut tx, &caller.workspace_id, &id, seq, state.clock.now()).await?;
    let (account, amount) = fdb::delete_transaction(&mut *tx, &caller.workspace_id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !fdb::add_to_balance(&mut *tx, &account, -amount).await? {
        return Err(balance_out_of_range());
    }
    let events = db::webhooks::events::record_transactions(
        &mut tx,
        &caller.workspace_id,
        seq,
        state.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    if events {
        state.outbound.wake();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// 422 `balance_out_of_range`: the change would take a manual account's balance past
/// ±9×10^18 minor units, which pfn does not keep.
fn balance_out_of_range() -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "balance_out_of_range",
        "This would take the account's balance past ±9×10^18 minor units; nothing was stored.",
    )
}

/// Set or clear your overlays on a transaction (category, note, tags, excluded).
#[utoipa::path(patch, path = "/api/v1/transactions/{id}", tag = "finance", operation_id = "updateTransaction",
    params(("id" = String, Path, description = "Transaction id", example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")),
    request_body = PatchTransactionRequest,
    responses(BodyErrors,
        (status = 200, description = "The transaction as it is now", body = TransactionBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn patch_transaction(
    State(state): State<AppState>,
    caller: Caller<WriteTransactions>,
    Path(id): Path<String>,
    dry: DryRun,
    AppJson(req): AppJson<PatchTransactionRequest>,
) -> Result<Json<TransactionBody>> {
    let mut fields = BTreeMap::new();
    for (name, v) in [("category", &req.category), ("note", &req.note)] {
        if let Some(Some(s)) = v {
            text(&mut fields, name.into(), s, name == "category");
        }
    }
    if let Some(Some(tags)) = &req.tags {
        if tags.len() > 20
            || tags
                .iter()
                .any(|t| t.trim().is_empty() || t.chars().count() > 50)
        {
            fields.insert("tags".into(), "at most 20 tags of 1–50 characters".into());
        }
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    let tags = req.tags.as_ref().map(|t| {
        t.as_ref()
            .map(|v| serde_json::to_string(v).unwrap_or_default())
    });
    let mut tx = state.db.begin().await?;
    let seq = db::changes::next(&mut tx, &caller.workspace_id).await?;
    let row = || fdb::rollups::Touched::Row {
        workspace_id: &caller.workspace_id,
        id: &id,
    };
    fdb::rollups::subtract(&mut tx, row()).await?;
    let updated = fdb::patch_transaction_overlays(
        &mut *tx,
        &caller.workspace_id,
        caller.reach(),
        &id,
        req.category.as_ref().map(|c| c.as_deref()),
        req.note.as_ref().map(|n| n.as_deref()),
        tags.as_ref().map(|t| t.as_deref()),
        req.excluded.map(|e| e.unwrap_or(false)),
        state.clock.now(),
        seq,
    )
    .await?;
    if !updated {
        return Err(AppError::not_found());
    }
    fdb::rollups::add(&mut tx, row()).await?;
    let row = fdb::get_transaction(&mut *tx, &caller.workspace_id, caller.reach(), &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let events = db::webhooks::events::record_transactions(
        &mut tx,
        &caller.workspace_id,
        seq,
        state.clock.now_ms(),
    )
    .await?;
    dry.settle(tx, &state, events).await?;
    Ok(Json(TransactionBody {
        transaction: transaction_view(row),
    }))
}

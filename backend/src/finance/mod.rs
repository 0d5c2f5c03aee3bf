//! Finance data (product.md §3): accounts, transactions, budgets. Every route is scoped to one
//! workspace (`?workspaceId=`, default the personal one, or the key's) and accepts a session or
//! a key with the named scope.

use crate::access::AuthErrors;
use crate::access::WorkspaceParam;
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
use time::{Date, Month};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    access::{
        Caller, ReadAccounts, ReadBudgets, ReadTransactions, WriteAccounts, WriteBudgets,
        WriteTransactions,
    },
    clock::rfc3339,
    crypto::sha256_hex,
    db::{self, finance as fdb},
    error::{AppError, Result},
    state::AppState,
    web::{
        responses::BodyErrors,
        {json::parse, pagination, AppJson, AppQuery},
    },
};

const MAX_BATCH: usize = 1000;
const IDEMPOTENCY_TTL: i64 = 24 * 3600;
const TEXT_MAX: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(list_transactions, push_transactions))
        .routes(routes!(patch_transaction))
        .routes(routes!(list_budgets, create_budget))
        .routes(routes!(replace_budget, delete_budget))
}

fn text(fields: &mut BTreeMap<String, String>, key: String, value: &str, required: bool) {
    if required && value.trim().is_empty() {
        fields.insert(key, "is required".into());
    } else if value.chars().count() > TEXT_MAX {
        fields.insert(key, format!("must be at most {TEXT_MAX} characters"));
    }
}

/// `YYYY-MM` → `[start, end)` in unix seconds (UTC).
fn month_window(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let start = Date::from_calendar_date(y.parse().ok()?, month, 1).ok()?;
    let next = if month == Month::December {
        Date::from_calendar_date(start.year() + 1, Month::January, 1).ok()?
    } else {
        Date::from_calendar_date(start.year(), month.next(), 1).ok()?
    };
    Some((
        start.midnight().assume_utc().unix_timestamp(),
        next.midnight().assume_utc().unix_timestamp(),
    ))
}

fn account_view(a: fdb::AccountRow) -> Account {
    Account {
        id: a.id,
        workspace_id: a.workspace_id,
        name: a.name,
        currency: a.currency,
        kind: a.kind,
        source: a.source,
        created_at: rfc3339(a.created_at),
    }
}

/// Accounts of the workspace, newest first.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "finance", operation_id = "listAccounts",
    security(("apiKey" = ["read:accounts"]), ("session" = [])),
    params(WorkspaceParam, pagination::PageQuery),
    responses((status = 200, description = "A page of accounts", body = Page<Account>), AuthErrors))]
async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller<ReadAccounts>,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<Account>>> {
    let limit = q.limit()?;
    let rows =
        fdb::accounts_in(&state.db.pool, &caller.workspace_id, q.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |a| (a.created_at, a.id.clone()));
    Ok(Json(Page {
        items: rows.into_iter().map(account_view).collect(),
        next_cursor,
    }))
}

/// Create a manual account (one that takes pushed transactions).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "finance", operation_id = "createAccount",
    security(("apiKey" = ["write:accounts"]), ("session" = [])),
    params(WorkspaceParam),
    request_body = CreateAccountRequest,
    responses(BodyErrors, (status = 201, description = "Created", body = AccountBody), AuthErrors))]
async fn create_account(
    State(state): State<AppState>,
    caller: Caller<WriteAccounts>,
    AppJson(req): AppJson<CreateAccountRequest>,
) -> Result<(StatusCode, Json<AccountBody>)> {
    let mut fields = BTreeMap::new();
    let name = shared::validate::check_name(&req.name)
        .map_err(|m| fields.insert("name".into(), m.into()))
        .ok();
    if exponent(&req.currency).is_none() {
        fields.insert("currency".into(), "unknown ISO 4217 currency".into());
    }
    let kind = req.kind.unwrap_or_else(|| "other".into());
    if !ACCOUNT_KINDS.contains(&kind.as_str()) {
        fields.insert(
            "kind".into(),
            format!("must be one of {}", ACCOUNT_KINDS.join(", ")),
        );
    }
    let Some(name) = name.filter(|_| fields.is_empty()) else {
        return Err(AppError::Validation(fields));
    };
    let row = fdb::AccountRow {
        id: db::new_id(),
        workspace_id: caller.workspace_id.clone(),
        name,
        currency: req.currency,
        kind,
        source: "manual".into(),
        created_at: state.clock.now(),
    };
    fdb::insert_account(&state.db.pool, &row).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountBody {
            account: account_view(row),
        }),
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
    /// Items per page, 1–200 (default 50).
    #[param(example = 50, minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` from the previous page.
    #[param(example = "MTc5NTQyNjIwMDowMTkzYjZmNS0zYzRkLTdlNWYtYTA2Yi03YzhkOWUwZjFhMmI")]
    cursor: Option<String>,
}

fn tx_view(t: fdb::TxRow) -> Transaction {
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
    }
}

/// Transactions, newest booking first.
#[utoipa::path(get, path = "/api/v1/transactions", tag = "finance", operation_id = "listTransactions",
    security(("apiKey" = ["read:transactions"]), ("session" = [])),
    params(WorkspaceParam, TransactionQuery),
    responses((status = 200, description = "A page of transactions", body = Page<Transaction>), AuthErrors))]
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
    let filter = fdb::TxFilter {
        workspace_id: &caller.workspace_id,
        account_id: q.account_id.as_deref(),
        from: when("from", &q.from)?,
        to: when("to", &q.to)?,
        category: q.category.as_deref(),
    };
    let rows = fdb::list_tx(&state.db.pool, filter, page.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |t| (t.booked_at, t.id.clone()));
    Ok(Json(Page {
        items: rows.into_iter().map(tx_view).collect(),
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

fn validate_push<'a>(
    req: &'a PushTransactionsRequest,
    accounts: &HashMap<String, fdb::AccountRow>,
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
    security(("apiKey" = ["write:transactions"]), ("session" = [])),
    params(WorkspaceParam,
        ("Idempotency-Key" = Option<String>, Header, example = "batch-2026-11-23-0001", description = "1–255 printable characters; retries with the same key and body replay the first answer")),
    request_body = PushTransactionsRequest,
    responses(BodyErrors,
        (status = 200, description = "Which items were created and which already existed, in request order", body = PushTransactionsResult,
            headers(("Idempotent-Replayed" = bool, description = "`true` on a replayed answer"))),
        (status = 409, description = "`idempotency_in_progress`: the same key is being processed", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an item or the `Idempotency-Key` header is invalid (`error.fields` names each, e.g. `transactions[3].amount.amount`; nothing is stored); or `idempotency_key_mismatch`: the key was used with a different body", body = ErrorBody),
        AuthErrors))]
async fn push_transactions(
    State(state): State<AppState>,
    caller: Caller<WriteTransactions>,
    headers: HeaderMap,
    AppJson(req): AppJson<PushTransactionsRequest>,
) -> Result<Response> {
    let idem = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| {
                    AppError::field(
                        "Idempotency-Key",
                        "must be 1–255 printable ASCII characters",
                    )
                })?
                .to_string(),
        ),
    };
    let accounts: HashMap<String, fdb::AccountRow> =
        fdb::all_accounts(&state.db.pool, &caller.workspace_id)
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
    let mut result = PushTransactionsResult {
        created: Vec::new(),
        duplicates: Vec::new(),
    };
    for v in valid {
        let (id, created) = fdb::insert_tx(
            &mut tx,
            fdb::NewTx {
                id: &db::new_id(),
                workspace_id: &caller.workspace_id,
                account_id: &v.item.account_id,
                external_id: &v.item.external_id,
                amount_minor: v.amount_minor,
                currency: v.currency,
                description: &v.item.description,
                booked_at: v.booked_at,
                category: v.item.category.as_deref(),
                merchant: v.item.merchant.as_deref(),
                now,
            },
        )
        .await?;
        let r = TransactionRef {
            id,
            external_id: v.item.external_id.clone(),
        };
        if created {
            result.created.push(r)
        } else {
            result.duplicates.push(r)
        }
    }
    let body = serde_json::to_string(&result).map_err(|e| AppError::Internal(e.into()))?;
    if let Some(key) = &idem {
        fdb::finish_idempotent(&mut *tx, &caller.workspace_id, &owner, key, 200, &body).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::OK, Json(result)).into_response())
}

/// Set or clear your overlays on a transaction (category, note, tags, excluded).
#[utoipa::path(patch, path = "/api/v1/transactions/{id}", tag = "finance", operation_id = "updateTransaction",
    security(("apiKey" = ["write:transactions"]), ("session" = [])),
    params(("id" = String, Path, description = "Transaction id", example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b"), WorkspaceParam),
    request_body = PatchTransactionRequest,
    responses(BodyErrors,
        (status = 200, description = "The transaction as it is now", body = TransactionBody),
        (status = 404, description = "`not_found`", body = ErrorBody), AuthErrors))]
async fn patch_transaction(
    State(state): State<AppState>,
    caller: Caller<WriteTransactions>,
    Path(id): Path<String>,
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
    let updated = fdb::patch_tx(
        &state.db.pool,
        &caller.workspace_id,
        &id,
        req.category.as_ref().map(|c| c.as_deref()),
        req.note.as_ref().map(|n| n.as_deref()),
        tags.as_ref().map(|t| t.as_deref()),
        req.excluded.map(|e| e.unwrap_or(false)),
        state.clock.now(),
    )
    .await?;
    if !updated {
        return Err(AppError::not_found());
    }
    let row = fdb::get_tx(&state.db.pool, &caller.workspace_id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(TransactionBody {
        transaction: tx_view(row),
    }))
}

async fn budget_view(state: &AppState, workspace_id: &str, b: fdb::BudgetRow) -> Result<Budget> {
    let (from, to) = month_window(&b.month).unwrap_or((0, 0));
    let spent = fdb::spent(
        &state.db.pool,
        workspace_id,
        &b.category,
        &b.currency,
        from,
        to,
    )
    .await?;
    Ok(Budget {
        limit: money(b.limit_minor, &b.currency),
        spent: money(spent, &b.currency),
        id: b.id,
        category: b.category,
        month: b.month,
    })
}

fn validate_budget(req: &BudgetRequest) -> Result<i64> {
    let mut fields = BTreeMap::new();
    text(&mut fields, "category".into(), &req.category, true);
    if month_window(&req.month).is_none() {
        fields.insert("month".into(), "must be YYYY-MM".into());
    }
    let limit = match exponent(&req.limit.currency) {
        None => {
            fields.insert("limit.currency".into(), "unknown ISO 4217 currency".into());
            None
        }
        Some(e) => match parse_minor(&req.limit.amount, e) {
            Ok(v) if v > 0 => Some(v),
            Ok(_) => {
                fields.insert("limit.amount".into(), "must be positive".into());
                None
            }
            Err(m) => {
                fields.insert("limit.amount".into(), m.into());
                None
            }
        },
    };
    match limit {
        Some(l) if fields.is_empty() => Ok(l),
        _ => Err(AppError::Validation(fields)),
    }
}

fn duplicate_budget(e: sqlx::Error) -> AppError {
    if db::is_unique_violation(&e) {
        AppError::new(
            StatusCode::CONFLICT,
            "budget_exists",
            "A budget for this category, month and currency exists.",
        )
    } else {
        e.into()
    }
}

/// Budgets with spent-so-far, newest first.
#[utoipa::path(get, path = "/api/v1/budgets", tag = "finance", operation_id = "listBudgets",
    security(("apiKey" = ["read:budgets"]), ("session" = [])),
    params(WorkspaceParam, pagination::PageQuery),
    responses((status = 200, description = "A page of budgets", body = Page<Budget>), AuthErrors))]
async fn list_budgets(
    State(state): State<AppState>,
    caller: Caller<ReadBudgets>,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<Budget>>> {
    let limit = q.limit()?;
    let rows = fdb::budgets_in(&state.db.pool, &caller.workspace_id, q.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |b| (b.created_at, b.id.clone()));
    let mut items = Vec::with_capacity(rows.len());
    for b in rows {
        items.push(budget_view(&state, &caller.workspace_id, b).await?);
    }
    Ok(Json(Page { items, next_cursor }))
}

/// Create a monthly budget for a category.
#[utoipa::path(post, path = "/api/v1/budgets", tag = "finance", operation_id = "createBudget",
    security(("apiKey" = ["write:budgets"]), ("session" = [])),
    params(WorkspaceParam),
    request_body = BudgetRequest,
    responses(BodyErrors,
        (status = 201, description = "Created", body = BudgetBody),
        (status = 409, description = "`budget_exists`", body = ErrorBody), AuthErrors))]
async fn create_budget(
    State(state): State<AppState>,
    caller: Caller<WriteBudgets>,
    AppJson(req): AppJson<BudgetRequest>,
) -> Result<(StatusCode, Json<BudgetBody>)> {
    let limit_minor = validate_budget(&req)?;
    let now = state.clock.now();
    let row = fdb::BudgetRow {
        id: db::new_id(),
        category: req.category.trim().to_string(),
        month: req.month,
        limit_minor,
        currency: req.limit.currency,
        created_at: now,
    };
    fdb::upsert_budget(&state.db.pool, &caller.workspace_id, &row, now)
        .await
        .map_err(duplicate_budget)?;
    Ok((
        StatusCode::CREATED,
        Json(BudgetBody {
            budget: budget_view(&state, &caller.workspace_id, row).await?,
        }),
    ))
}

/// Replace a budget.
#[utoipa::path(put, path = "/api/v1/budgets/{id}", tag = "finance", operation_id = "replaceBudget",
    security(("apiKey" = ["write:budgets"]), ("session" = [])),
    params(("id" = String, Path, description = "Budget id", example = "0193b6f9-7a8b-7c9d-a45f-1a2b3c4d5e6f"), WorkspaceParam),
    request_body = BudgetRequest,
    responses(BodyErrors,
        (status = 200, description = "Replaced", body = BudgetBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`budget_exists`", body = ErrorBody), AuthErrors))]
async fn replace_budget(
    State(state): State<AppState>,
    caller: Caller<WriteBudgets>,
    Path(id): Path<String>,
    AppJson(req): AppJson<BudgetRequest>,
) -> Result<Json<BudgetBody>> {
    let limit_minor = validate_budget(&req)?;
    let old = fdb::get_budget(&state.db.pool, &caller.workspace_id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let row = fdb::BudgetRow {
        category: req.category.trim().to_string(),
        month: req.month,
        limit_minor,
        currency: req.limit.currency,
        ..old
    };
    fdb::upsert_budget(
        &state.db.pool,
        &caller.workspace_id,
        &row,
        state.clock.now(),
    )
    .await
    .map_err(duplicate_budget)?;
    Ok(Json(BudgetBody {
        budget: budget_view(&state, &caller.workspace_id, row).await?,
    }))
}

/// Delete a budget.
#[utoipa::path(delete, path = "/api/v1/budgets/{id}", tag = "finance", operation_id = "deleteBudget",
    security(("apiKey" = ["write:budgets"]), ("session" = [])),
    params(("id" = String, Path, description = "Budget id", example = "0193b6f9-7a8b-7c9d-a45f-1a2b3c4d5e6f"), WorkspaceParam),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AuthErrors))]
async fn delete_budget(
    State(state): State<AppState>,
    caller: Caller<WriteBudgets>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if !fdb::delete_budget(&state.db.pool, &caller.workspace_id, &id).await? {
        return Err(AppError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

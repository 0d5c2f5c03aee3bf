//! Accounts: the workspace's accounts, and manual accounts that take pushed transactions.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use shared::{finance::*, money::exponent, ErrorBody, Page};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{Caller, Fresh, ReadAccounts, Whole, WriteAccounts},
    clock::rfc3339,
    db::{self, finance as fdb},
    error::{AppError, Result},
    state::AppState,
    web::values::money,
    web::{
        responses::BodyErrors,
        {pagination, AppJson, AppQuery},
    },
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(update_account, delete_account))
}

fn account_view(a: fdb::AccountRow) -> Account {
    Account {
        id: a.id,
        workspace_id: a.workspace_id,
        name: a.name,
        kind: a.kind,
        created_at: rfc3339(a.created_at),
        balance: a.balance_minor.map(|m| money(m, &a.currency)),
        balance_at: a.balance_at.map(rfc3339),
        currency: a.currency,
        source: a.source,
    }
}

/// Accounts of the workspace, newest first.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "finance", operation_id = "listAccounts",
    params(pagination::PageQuery),
    responses((status = 200, description = "A page of accounts", body = Page<Account>)))]
async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller<ReadAccounts>,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<Account>>> {
    let limit = q.limit()?;
    let rows = fdb::accounts_in(
        &state.db.pool,
        &caller.workspace_id,
        caller.reach(),
        q.after()?,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |a| (a.created_at, a.id.clone()));
    Ok(Json(Page {
        items: rows.into_iter().map(account_view).collect(),
        next_cursor,
    }))
}

/// `kind`, checked against the kinds pfn knows; the problem goes into `fields`.
fn check_kind(fields: &mut BTreeMap<String, String>, kind: &str) {
    if !ACCOUNT_KINDS.contains(&kind) {
        fields.insert(
            "kind".into(),
            format!("must be one of {}", ACCOUNT_KINDS.join(", ")),
        );
    }
}

/// Rename an account or change its kind (manual and bank accounts alike; reconnecting a bank
/// names its accounts as the bank does again).
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "finance", operation_id = "updateAccount",
    params(("id" = String, Path, description = "Account id", example = "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a")),
    request_body = UpdateAccountRequest,
    responses(BodyErrors,
        (status = 200, description = "The account as changed", body = AccountBody),
        (status = 404, description = "`not_found`: no such account in this workspace", body = ErrorBody)))]
async fn update_account(
    State(state): State<AppState>,
    caller: Caller<WriteAccounts>,
    Path(id): Path<String>,
    AppJson(req): AppJson<UpdateAccountRequest>,
) -> Result<Json<AccountBody>> {
    let mut fields = BTreeMap::new();
    if req.name.is_none() && req.kind.is_none() {
        fields.insert("name".into(), "give a name or a kind to change".into());
    }
    let name = match &req.name {
        Some(n) => shared::validate::check_name(n)
            .map_err(|m| fields.insert("name".into(), m.into()))
            .ok(),
        None => None,
    };
    if let Some(kind) = &req.kind {
        check_kind(&mut fields, kind);
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    let mut tx = state.db.begin().await?;
    let mut row = fdb::get_account(&mut *tx, &caller.workspace_id, caller.reach(), &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    row.name = name.unwrap_or(row.name);
    row.kind = req.kind.unwrap_or(row.kind);
    fdb::update_account(&mut *tx, &row, state.clock.now()).await?;
    tx.commit().await?;
    Ok(Json(AccountBody {
        account: account_view(row),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeleteAccountQuery {
    /// Delete the account's transactions with it (without it, an account that has any is
    /// refused).
    #[param(example = true)]
    delete_transactions: Option<bool>,
}

/// Delete a manual account (step-up for browser sessions). One with transactions is refused
/// unless `deleteTransactions=true`, which deletes them with it. A bank's accounts go when its
/// connection is deleted (`DELETE /api/v1/banks/connections/{id}`).
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "finance", operation_id = "deleteAccount",
    params(("id" = String, Path, description = "Account id", example = "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a"),
        DeleteAccountQuery),
    responses(
        (status = 204, description = "Deleted, with its transactions if asked"),
        (status = 404, description = "`not_found`: no such account in this workspace", body = ErrorBody),
        (status = 409, description = "`account_has_transactions`: it holds transactions (the message says how many); add `deleteTransactions=true`. `bank_account`: it belongs to a bank connection", body = ErrorBody)))]
async fn delete_account(
    State(state): State<AppState>,
    Fresh(caller): Fresh<Caller<WriteAccounts>>,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<DeleteAccountQuery>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let row = fdb::get_account(&mut *tx, &caller.workspace_id, caller.reach(), &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if row.source != "manual" {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "bank_account",
            "This account belongs to a bank connection: delete the connection to remove it.",
        ));
    }
    let held = fdb::account_transaction_count(&mut *tx, &id).await?;
    if held > 0 && q.delete_transactions != Some(true) {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "account_has_transactions",
            format!("This account holds {held} transactions: add deleteTransactions=true to delete them with it."),
        ));
    }
    let seq = db::changes::next(&mut tx, &caller.workspace_id).await?;
    let now = state.clock.now();
    db::changes::bury_account(&mut tx, &caller.workspace_id, &id, seq, now).await?;
    fdb::delete_account(&mut *tx, &caller.workspace_id, &id).await?;
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

/// Create a manual account (one that takes pushed transactions).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "finance", operation_id = "createAccount",
    request_body = CreateAccountRequest,
    responses(BodyErrors, (status = 201, description = "Created", body = AccountBody)))]
async fn create_account(
    State(state): State<AppState>,
    caller: Caller<Whole<WriteAccounts>>,
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
    check_kind(&mut fields, &kind);
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
        balance_minor: Some(0),
        balance_at: None,
    };
    fdb::insert_account(&state.db.pool, &row).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountBody {
            account: account_view(row),
        }),
    ))
}

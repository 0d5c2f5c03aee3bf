//! Accounts: the workspace's accounts, and manual accounts that take pushed transactions.

use std::collections::BTreeMap;

use axum::{extract::State, http::StatusCode, Json};
use shared::{finance::*, money::exponent, Page};
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{Caller, ReadAccounts, WriteAccounts},
    clock::rfc3339,
    db::{self, finance as fdb},
    error::{AppError, Result},
    state::AppState,
    web::{
        responses::BodyErrors,
        {pagination, AppJson, AppQuery},
    },
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_accounts, create_account))
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
    params(pagination::PageQuery),
    responses((status = 200, description = "A page of accounts", body = Page<Account>)))]
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
    request_body = CreateAccountRequest,
    responses(BodyErrors, (status = 201, description = "Created", body = AccountBody)))]
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

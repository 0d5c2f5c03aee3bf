//! Monthly budgets per category, each with what was spent so far in its month.

use crate::web::values::money;
use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use shared::{
    finance::*,
    money::{exponent, parse_minor},
    ErrorBody, Page,
};
use time::{Date, Month};
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{Caller, ReadBudgets, WriteBudgets},
    db::{self, finance as fdb},
    error::{AppError, Result},
    state::AppState,
    web::{
        responses::BodyErrors,
        {pagination, AppJson, AppQuery, DryRun},
    },
};

use super::text;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_budgets, create_budget))
        .routes(routes!(replace_budget, delete_budget))
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
    params(pagination::PageQuery),
    responses((status = 200, description = "A page of budgets", body = Page<Budget>)))]
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
    request_body = BudgetRequest,
    responses(BodyErrors,
        (status = 201, description = "Created", body = BudgetBody),
        (status = 409, description = "`budget_exists`", body = ErrorBody)))]
async fn create_budget(
    State(state): State<AppState>,
    caller: Caller<WriteBudgets>,
    dry: DryRun,
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
    let mut tx = state.db.begin().await?;
    fdb::upsert_budget(&mut *tx, &caller.workspace_id, &row, now)
        .await
        .map_err(duplicate_budget)?;
    let events =
        db::webhooks::events::check_budgets(&mut tx, &caller.workspace_id, state.clock.now_ms())
            .await?;
    dry.settle(tx, &state, events).await?;
    Ok((
        StatusCode::CREATED,
        Json(BudgetBody {
            budget: budget_view(&state, &caller.workspace_id, row).await?,
        }),
    ))
}

/// Replace a budget.
#[utoipa::path(put, path = "/api/v1/budgets/{id}", tag = "finance", operation_id = "replaceBudget",
    params(("id" = String, Path, description = "Budget id", example = "0193b6f9-7a8b-7c9d-a45f-1a2b3c4d5e6f")),
    request_body = BudgetRequest,
    responses(BodyErrors,
        (status = 200, description = "Replaced", body = BudgetBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`budget_exists`", body = ErrorBody)))]
async fn replace_budget(
    State(state): State<AppState>,
    caller: Caller<WriteBudgets>,
    Path(id): Path<String>,
    dry: DryRun,
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
    let mut tx = state.db.begin().await?;
    fdb::upsert_budget(&mut *tx, &caller.workspace_id, &row, state.clock.now())
        .await
        .map_err(duplicate_budget)?;
    let events =
        db::webhooks::events::check_budgets(&mut tx, &caller.workspace_id, state.clock.now_ms())
            .await?;
    dry.settle(tx, &state, events).await?;
    Ok(Json(BudgetBody {
        budget: budget_view(&state, &caller.workspace_id, row).await?,
    }))
}

/// Delete a budget.
#[utoipa::path(delete, path = "/api/v1/budgets/{id}", tag = "finance", operation_id = "deleteBudget",
    params(("id" = String, Path, description = "Budget id", example = "0193b6f9-7a8b-7c9d-a45f-1a2b3c4d5e6f")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
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

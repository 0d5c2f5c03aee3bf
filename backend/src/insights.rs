//! Insights (product.md §3): spending and income by category and month, computed from the
//! workspace's own transactions (so they agree with `/api/v1/transactions`, overlays included);
//! salary from Tarabut's salary insight; balance history from the daily balances pfn records on
//! every sync.

use std::collections::BTreeMap;

use axum::{extract::State, Json};
use serde::Deserialize;
use shared::banks::*;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{Caller, ReadInsights, Whole},
    clock::rfc3339,
    db::{
        self,
        finance::rollups::{flow_totals, FlowGroup, FlowQuery, FlowTotal},
    },
    error::{AppError, Result},
    state::AppState,
    tarabut::UpstreamErrors,
    web::{values::money, values::parse_time, AppQuery},
};

/// The longest window one request may cover.
const MAX_WINDOW_SECS: i64 = 3 * 366 * 86_400;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(spending_insight))
        .routes(routes!(income_insight))
        .routes(routes!(salary_insight))
        .routes(routes!(balance_history_insight))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct InsightQuery {
    /// Inclusive; RFC 3339 or `YYYY-MM-DD`. Default: 30 days before `to`, moved on to the
    /// start of a UTC day when that falls within one: the 30 UTC calendar days that end with
    /// `to`'s (so by default the last 30 days, today's so far included).
    #[param(example = "2026-10-01")]
    from: Option<String>,
    /// Exclusive; RFC 3339 or `YYYY-MM-DD`. Default: now.
    #[param(example = "2026-11-01")]
    to: Option<String>,
    /// Only this account.
    #[param(example = "0193b6f4-9c0d-7e1f-a2b3-c4d5e6f7a8b9")]
    account_id: Option<String>,
    /// Defaults to your personal workspace (session) or the key's workspace.
    #[allow(dead_code)]
    #[param(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")]
    workspace_id: Option<String>,
}

impl InsightQuery {
    fn window(&self, now: i64) -> Result<(i64, i64)> {
        let parse = |name: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| {
                    parse_time(s)
                        .ok_or_else(|| AppError::field(name, "must be RFC 3339 or YYYY-MM-DD"))
                })
                .transpose()
        };
        let to = parse("to", &self.to)?.unwrap_or(now + 1);
        let from = match parse("from", &self.from)? {
            Some(from) => from,
            None => {
                let start = to - 30 * 86_400;
                start + (86_400 - start.rem_euclid(86_400)) % 86_400
            }
        };
        if from >= to {
            return Err(AppError::field("from", "must be before to"));
        }
        if to - from > MAX_WINDOW_SECS {
            return Err(AppError::field(
                "from",
                "the window may cover at most three years",
            ));
        }
        Ok((from, to))
    }
}

/// Sums money out (`outflow`) or in per currency, category and month, from the daily totals
/// (`db::finance::rollups`): the cost follows the window's days, not the rows in it.
async fn category_insight(
    state: &AppState,
    workspace_id: &str,
    reach: db::Reach<'_>,
    q: &InsightQuery,
    outflow: bool,
) -> Result<CategoryInsight> {
    let now = state.clock.now();
    let (from, to) = q.window(now)?;
    if let Some(a) = &q.account_id {
        if db::finance::get_account(&state.db.pool, workspace_id, reach, a)
            .await?
            .is_none()
        {
            return Err(AppError::not_found());
        }
    }
    let flows = FlowQuery {
        workspace_id,
        reach,
        account_id: q.account_id.as_deref(),
        category: None,
        currency: None,
        from,
        to,
        outflow,
        present: now,
    };
    // One read, by category and month; each total of the answer is a sum of these.
    let totals = flow_totals(&state.db.pool, &flows, FlowGroup::CategoryAndMonth).await?;
    Ok(insight_of(from, to, totals))
}

/// The spending or income insight of the window `[from, to)` from its totals by currency,
/// category and month ([`FlowGroup::CategoryAndMonth`]): per currency, the whole, each
/// category's and each month's.
pub fn insight_of(from: i64, to: i64, totals: Vec<FlowTotal>) -> CategoryInsight {
    // currency → (count, total, category → (total, count), month → total). Totals are i128:
    // amounts are bounded (10^12 minor units), so no sum of them can leave it.
    type Acc = (
        u64,
        i128,
        BTreeMap<String, (i128, u64)>,
        BTreeMap<String, i128>,
    );
    let mut by_currency: BTreeMap<String, Acc> = BTreeMap::new();
    for t in totals {
        let acc = by_currency.entry(t.currency).or_default();
        let (total, count) = (t.total.abs(), t.count.max(0) as u64);
        acc.0 += count;
        acc.1 += total;
        let category = acc.2.entry(t.category).or_default();
        category.0 += total;
        category.1 += count;
        *acc.3.entry(t.month).or_default() += total;
    }
    CategoryInsight {
        from: rfc3339(from),
        to: rfc3339(to),
        currencies: by_currency
            .into_iter()
            .map(|(currency, (count, total, cats, months))| {
                // Largest first; equal totals by name, so the order never depends on the plan.
                let mut cats: Vec<(String, i128, u64)> =
                    cats.into_iter().map(|(c, (t, n))| (c, t, n)).collect();
                cats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                let categories = cats
                    .into_iter()
                    .map(|(category, t, n)| CategoryTotal {
                        category,
                        total: money(t, &currency),
                        transaction_count: n,
                    })
                    .collect();
                CurrencyTotals {
                    total: money(total, &currency),
                    transaction_count: count,
                    categories,
                    months: months
                        .into_iter()
                        .map(|(month, t)| MonthTotal {
                            month,
                            total: money(t, &currency),
                        })
                        .collect(),
                    currency,
                }
            })
            .collect(),
    }
}

/// Money out by category and month (positive amounts), per currency. Excluded and removed
/// transactions are left out; your category overrides count.
#[utoipa::path(get, path = "/api/v1/insights/spending", tag = "insights", operation_id = "getSpendingInsight",
    params(InsightQuery),
    responses((status = 200, description = "Spending", body = CategoryInsight),
        (status = 404, description = "`not_found`: the account is not in this workspace", body = shared::ErrorBody),
        (status = 422, description = "`validation_failed`: a bad `from`/`to`", body = shared::ErrorBody)))]
async fn spending_insight(
    State(state): State<AppState>,
    caller: Caller<ReadInsights>,
    AppQuery(q): AppQuery<InsightQuery>,
) -> Result<Json<CategoryInsight>> {
    Ok(Json(
        category_insight(&state, &caller.workspace_id, caller.reach(), &q, true).await?,
    ))
}

/// Money in by category and month, per currency.
#[utoipa::path(get, path = "/api/v1/insights/income", tag = "insights", operation_id = "getIncomeInsight",
    params(InsightQuery),
    responses((status = 200, description = "Income", body = CategoryInsight),
        (status = 404, description = "`not_found`: the account is not in this workspace", body = shared::ErrorBody),
        (status = 422, description = "`validation_failed`: a bad `from`/`to`", body = shared::ErrorBody)))]
async fn income_insight(
    State(state): State<AppState>,
    caller: Caller<ReadInsights>,
    AppQuery(q): AppQuery<InsightQuery>,
) -> Result<Json<CategoryInsight>> {
    Ok(Json(
        category_insight(&state, &caller.workspace_id, caller.reach(), &q, false).await?,
    ))
}

/// Salary payments Tarabut detected on the workspace's active bank connections, in
/// `[from, to)`. `accountId` is ignored (Tarabut reports salary per customer).
#[utoipa::path(get, path = "/api/v1/insights/salary", tag = "insights", operation_id = "getSalaryInsight",
    params(InsightQuery),
    responses((status = 200, description = "Salary payments, oldest first", body = SalaryInsight),
        (status = 422, description = "`validation_failed`: a bad `from`/`to`", body = shared::ErrorBody), UpstreamErrors))]
async fn salary_insight(
    State(state): State<AppState>,
    caller: Caller<Whole<ReadInsights>>,
    AppQuery(q): AppQuery<InsightQuery>,
) -> Result<Json<SalaryInsight>> {
    let now = state.clock.now();
    let (from, to) = q.window(now)?;
    // Tarabut counts whole months back from now (plus the current one).
    let months = (((now - from).max(0) / (30 * 86_400)) + 1).clamp(1, 36) as u32;
    let mut salaries = Vec::new();
    let mut seen_customers = std::collections::HashSet::new();
    for c in db::banks::active_connections_in(&state.db.pool, &caller.workspace_id).await? {
        // One customer per workspace: ask once, attribute to the first connection.
        if !seen_customers.insert(c.customer_user_id.clone()) {
            continue;
        }
        let found = state
            .banks
            .client
            .salaries(&c.customer_user_id, months)
            .await?;
        for s in found.salaries {
            let (Some(minor), Some(at)) = (
                s.salary_amount.minor(),
                crate::tarabut::wire::parse_time(&s.booking_date_time),
            ) else {
                continue;
            };
            if at < from || at >= to {
                continue;
            }
            salaries.push(SalaryPayment {
                connection_id: c.id.clone(),
                amount: money(minor, &s.salary_amount.currency),
                month: rfc3339(at).get(..7).unwrap_or_default().to_string(),
                booked_at: rfc3339(at),
            });
        }
    }
    salaries.sort_by(|a, b| a.booked_at.cmp(&b.booked_at));
    Ok(Json(SalaryInsight { salaries }))
}

/// End-of-day balances of the workspace's bank accounts in `[from, to)`, one point per day a
/// sync or balance refresh ran (pfn's own history; Tarabut keeps none).
#[utoipa::path(get, path = "/api/v1/insights/balance-history", tag = "insights", operation_id = "getBalanceHistory",
    params(InsightQuery),
    responses((status = 200, description = "Balance history per account", body = BalanceHistory),
        (status = 422, description = "`validation_failed`: a bad `from`/`to`", body = shared::ErrorBody)))]
async fn balance_history_insight(
    State(state): State<AppState>,
    caller: Caller<ReadInsights>,
    AppQuery(q): AppQuery<InsightQuery>,
) -> Result<Json<BalanceHistory>> {
    let (from, to) = q.window(state.clock.now())?;
    let day = crate::clock::utc_day;
    let rows = db::banks::balance_history(
        &state.db.pool,
        &caller.workspace_id,
        caller.reach(),
        q.account_id.as_deref(),
        &day(from),
        &day(to - 1 + 86_400),
    )
    .await?;
    let mut accounts: Vec<AccountBalanceHistory> = Vec::new();
    for (account_id, date, currency, minor) in rows {
        let point = BalancePoint {
            date,
            balance: money(minor, &currency),
        };
        match accounts.last_mut() {
            Some(a) if a.account_id == account_id => a.points.push(point),
            _ => accounts.push(AccountBalanceHistory {
                account_id,
                currency,
                points: vec![point],
            }),
        }
    }
    Ok(Json(BalanceHistory { accounts }))
}

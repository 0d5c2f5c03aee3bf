//! `budgets`: a monthly limit per category and currency.

use sqlx::{any::AnyRow, Any, Executor, Row};

#[derive(Debug, Clone)]
pub struct BudgetRow {
    pub id: String,
    pub category: String,
    pub month: String,
    pub limit_minor: i64,
    pub currency: String,
    pub created_at: i64,
}

fn budget(r: AnyRow) -> sqlx::Result<BudgetRow> {
    Ok(BudgetRow {
        id: r.try_get("id")?,
        category: r.try_get("category")?,
        month: r.try_get("month")?,
        limit_minor: r.try_get("limit_minor")?,
        currency: r.try_get("currency")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn budgets_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<BudgetRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(
        "select id, category, month, limit_minor, currency, created_at from budgets
         where workspace_id = $1 and (created_at < $2 or (created_at = $2 and id < $3))
         order by created_at desc, id desc limit $4",
    )
    .bind(workspace_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(budget)
    .collect()
}

pub async fn get_budget<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<BudgetRow>> {
    sqlx::query("select id, category, month, limit_minor, currency, created_at from budgets where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(budget)
        .transpose()
}

/// Inserts or (with `id` of an existing budget) replaces; false on a duplicate
/// (category, month, currency).
pub async fn upsert_budget<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    b: &BudgetRow,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into budgets (id, workspace_id, category, month, limit_minor, currency, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (id) do update set category = excluded.category, month = excluded.month,
             limit_minor = excluded.limit_minor, currency = excluded.currency, updated_at = excluded.updated_at,
             exceeded_at = null",
    )
    .bind(&b.id)
    .bind(workspace_id)
    .bind(&b.category)
    .bind(&b.month)
    .bind(b.limit_minor)
    .bind(&b.currency)
    .bind(b.created_at)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_budget<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from budgets where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

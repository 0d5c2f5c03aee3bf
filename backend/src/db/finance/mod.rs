//! `accounts` here; `transactions` in [`transactions`], their daily totals in [`rollups`],
//! the exact sums insights and budgets read in [`sums`], `budgets` in [`budgets`],
//! `idempotency_keys` in [`idempotency`]. Callers name them all through `db::finance`.

mod budgets;
mod idempotency;
pub mod rollups;
mod sums;
mod text_signature;
mod transactions;

pub use budgets::*;
pub use idempotency::*;
pub use rollups::spent;
pub use sums::*;
pub use text_signature::*;
pub use transactions::*;

use sqlx::{any::AnyRow, Any, Executor, Row};

use super::{reach_sql, BindReach, Reach};

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub currency: String,
    pub kind: String,
    pub source: String,
    pub created_at: i64,
    /// A manual account's running total; a bank account's last reported balance (none until
    /// the bank reports one).
    pub balance_minor: Option<i64>,
    /// When the bank reported its balance (bank accounts).
    pub balance_at: Option<i64>,
}

/// An account's columns, with its balance: `a` is `accounts`, `b` its `bank_accounts` row.
const ACCOUNT_COLUMNS: &str = "a.id, a.workspace_id, a.name, a.currency, a.kind, a.source,
    a.created_at, case when a.source = 'manual' then a.balance_minor else b.balance_minor end
    as balance_minor, b.balance_at
    from accounts a left join bank_accounts b on b.account_id = a.id";

fn account(r: AnyRow) -> sqlx::Result<AccountRow> {
    Ok(AccountRow {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        name: r.try_get("name")?,
        currency: r.try_get("currency")?,
        kind: r.try_get("kind")?,
        source: r.try_get("source")?,
        created_at: r.try_get("created_at")?,
        balance_minor: r.try_get("balance_minor")?,
        balance_at: r.try_get("balance_at")?,
    })
}

pub async fn insert_account<'c>(
    e: impl Executor<'c, Database = Any>,
    a: &AccountRow,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into accounts (id, workspace_id, name, currency, kind, source, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&a.id)
    .bind(&a.workspace_id)
    .bind(&a.name)
    .bind(&a.currency)
    .bind(&a.kind)
    .bind(&a.source)
    .bind(a.created_at)
    .execute(e)
    .await?;
    Ok(())
}

/// An account of the workspace that the caller reaches.
pub async fn get_account<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
    id: &str,
) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query(&format!(
        "select {ACCOUNT_COLUMNS} where a.workspace_id = $1 and a.id = $2{}",
        reach_sql("a.id", 3, reach)
    ))
    .bind(workspace_id)
    .bind(id)
    .bind_reach(reach)
    .fetch_optional(e)
    .await?
    .map(account)
    .transpose()
}

/// Renames an account or changes its kind.
pub async fn update_account<'c>(
    e: impl Executor<'c, Database = Any>,
    a: &AccountRow,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update accounts set name = $3, kind = $4, updated_at = $5 where workspace_id = $1 and id = $2")
        .bind(&a.workspace_id)
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.kind)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// How far a manual account's balance may go either side of zero, in minor units: far beyond
/// any real account, and far enough inside `i64` that adding one transaction (at most 10^12)
/// cannot overflow.
pub const MAX_BALANCE: i64 = 9_000_000_000_000_000_000;

/// Adds `delta` to a manual account's balance; false (nothing changed) when the balance would
/// leave ±[`MAX_BALANCE`].
pub async fn add_to_balance<'c>(
    e: impl Executor<'c, Database = Any>,
    account_id: &str,
    delta: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update accounts set balance_minor = balance_minor + $2
         where id = $1 and source = 'manual'
           and balance_minor + $2 between $3 and $4",
    )
    .bind(account_id)
    .bind(delta)
    .bind(-MAX_BALANCE)
    .bind(MAX_BALANCE)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// [`add_to_balance`] for several accounts (distinct ids); false when any balance would leave
/// ±[`MAX_BALANCE`] (some may have changed: the caller rolls back). On PostgreSQL one
/// statement for all of them (a push's accounts: one round trip, not one each).
pub async fn add_to_balances(
    conn: &mut sqlx::AnyConnection,
    deltas: &[(&str, i64)],
) -> sqlx::Result<bool> {
    if deltas.is_empty() {
        return Ok(true);
    }
    if crate::db::Backend::of(conn) == crate::db::Backend::Sqlite {
        for &(account, delta) in deltas {
            if !add_to_balance(&mut *conn, account, delta).await? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    use crate::db::Field::{Int, Text};
    let rows: Vec<_> = deltas.iter().map(|&(id, d)| [Text(id), Int(d)]).collect();
    let [ids, amounts] = crate::db::array_columns(&rows);
    let r = sqlx::query(&format!(
        "update accounts a set balance_minor = a.balance_minor + r.delta from {}
         where a.id = r.id and a.source = 'manual'
           and a.balance_minor + r.delta between $3 and $4",
        crate::db::unnest_columns(&[("id", "text"), ("delta", "bigint")], 1)
    ))
    .bind(ids)
    .bind(amounts)
    .bind(-MAX_BALANCE)
    .bind(MAX_BALANCE)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == deltas.len() as u64)
}

/// How many transactions an account holds (those a sync marked removed too).
pub async fn account_transaction_count<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from transactions where account_id = $1")
        .bind(id)
        .fetch_one(e)
        .await
}

/// Which of `ids` (distinct) are accounts of the workspace, each held until the transaction
/// ends: every writer of an account's rows ([`ACCOUNT_ROW_TABLES`]: a push, a sync batch)
/// calls it in its transaction, after [`crate::db::changes::next`], and writes rows only for
/// the accounts it returns. On PostgreSQL those tables keep no foreign key to `accounts` (the
/// maintenance task `0024_postgres_account_rows_without_keys` says why), so this is what keeps
/// a row from outliving its account: the hold (`for key share`, the lock PostgreSQL's own key
/// check takes) makes an account's deletion wait until the writer has committed, and the
/// deletion's trigger then removes what it wrote; a deletion that committed first leaves the
/// account out of the answer. A change to rows already stored (an overlay edit, a deletion)
/// needs no hold: it takes the workspace's row first ([`crate::db::changes::next`]), as every
/// deletion of an account does (or deletes that row), so a row it then finds keeps its account
/// until it commits. On SQLite the tables keep their keys and the one writer holds the whole
/// database.
pub async fn hold_accounts(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    ids: &[&str],
) -> sqlx::Result<std::collections::HashSet<String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let hold = match crate::db::Backend::of(conn) {
        crate::db::Backend::Postgres => " for key share",
        crate::db::Backend::Sqlite => "",
    };
    let sql = format!(
        "select id from accounts where workspace_id = $1 and id in {}{hold}",
        super::value_rows(1, ids.len(), 2, "")
    );
    let mut q = sqlx::query_scalar::<_, String>(&sql).bind(workspace_id);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?.into_iter().collect())
}

/// Deletes an account and, on SQLite through the foreign keys, on PostgreSQL through the
/// trigger of task `0024_postgres_account_rows_without_keys`, its transactions and rollups.
pub async fn delete_account<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from accounts where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The workspace's accounts that the caller reaches, newest first, after the cursor.
pub async fn accounts_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<AccountRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(&format!(
        "select {ACCOUNT_COLUMNS}
         where a.workspace_id = $1 and (a.created_at < $2 or (a.created_at = $2 and a.id < $3)){}
         order by a.created_at desc, a.id desc limit $4",
        reach_sql("a.id", 5, reach)
    ))
    .bind(workspace_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .bind_reach(reach)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(account)
    .collect()
}

/// Every account of the workspace that the caller reaches.
pub async fn all_accounts<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
) -> sqlx::Result<Vec<AccountRow>> {
    sqlx::query(&format!(
        "select {ACCOUNT_COLUMNS} where a.workspace_id = $1{}",
        reach_sql("a.id", 2, reach)
    ))
    .bind(workspace_id)
    .bind_reach(reach)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(account)
    .collect()
}

/// The accounts of the workspace with these ids that the caller reaches (to validate a push
/// against: only the accounts it names).
pub async fn accounts_by_ids<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
    ids: &[&str],
) -> sqlx::Result<Vec<AccountRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select {ACCOUNT_COLUMNS} where a.workspace_id = $1 and a.id in {}{}",
        super::value_rows(1, ids.len(), 2, ""),
        reach_sql("a.id", ids.len() + 2, reach)
    );
    let mut q = sqlx::query(&sql).bind(workspace_id);
    for id in ids {
        q = q.bind(*id);
    }
    q.bind_reach(reach)
        .fetch_all(e)
        .await?
        .into_iter()
        .map(account)
        .collect()
}

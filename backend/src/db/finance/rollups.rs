//! `transaction_rollups`: per-day totals of the transactions insights and budgets count, kept
//! in step with every write to `transactions` (migration 0017 says what a row holds), and the
//! sums read from them.
//!
//! Writers change the rollups with SQL that aggregates the very rows they touched, in their
//! own database transaction: [`subtract`] before a change (while the rows still hold their old
//! amounts, categories and flags) and [`add`] after it. A row's contribution is computed by one
//! expression in one place ([`CONTRIBUTION`]), so what is subtracted is exactly what was added.
//! [`rebuild`] recomputes everything from `transactions`; the property test in
//! `tests/api/scale.rs` checks that the maintained rows always equal it.

use sqlx::{Any, AnyConnection, Executor, Row};

use super::sums::total;
use crate::db::{reach_sql, BindReach, Reach};

/// The UTC day of `booked_at`, rounded down (both databases truncate integer division toward
/// zero, so times before 1970 need the correction).
const DAY: &str = "((booked_at - ((booked_at % 86400) + 86400) % 86400) / 86400)";

/// The effective category as insights and budgets count it.
const CATEGORY: &str = "coalesce(category_override, category, 'uncategorized')";

/// The grouped rows of `transactions` that count, as rollup rows.
static CONTRIBUTION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select workspace_id, account_id, currency, {CATEGORY}, {DAY},
                case when amount_minor < 0 then 1 else 0 end,
                $1 * count(*), $1 * sum(amount_minor / 1000000), $1 * sum(amount_minor % 1000000)
         from transactions
         where excluded = 0 and removed_at is null and amount_minor <> 0 and "
    )
});

const GROUP_AND_UPSERT: &str = "
    group by workspace_id, account_id, currency, coalesce(category_override, category, 'uncategorized'),
             ((booked_at - ((booked_at % 86400) + 86400) % 86400) / 86400),
             case when amount_minor < 0 then 1 else 0 end
    on conflict (workspace_id, outflow, day, account_id, currency, category) do update set
        tx_count = transaction_rollups.tx_count + excluded.tx_count,
        sum_high = transaction_rollups.sum_high + excluded.sum_high,
        sum_low = transaction_rollups.sum_low + excluded.sum_low";

const INSERT: &str = "insert into transaction_rollups
    (workspace_id, account_id, currency, category, day, outflow, tx_count, sum_high, sum_low) ";

/// Which transactions a change touched.
pub enum Touched<'a> {
    /// The rows a change numbered `seq` wrote in the workspace (a push, a sync batch).
    Change { workspace_id: &'a str, seq: i64 },
    /// One transaction.
    Row { workspace_id: &'a str, id: &'a str },
    /// Rows of one account by their external ids (a sync's updates and removals).
    External {
        account_id: &'a str,
        external_ids: &'a [&'a str],
    },
}

/// Adds the touched rows' contributions (after they were written).
pub async fn add(conn: &mut AnyConnection, touched: Touched<'_>) -> sqlx::Result<()> {
    apply(conn, 1, touched).await
}

/// Takes the touched rows' contributions away (before they change or go).
pub async fn subtract(conn: &mut AnyConnection, touched: Touched<'_>) -> sqlx::Result<()> {
    apply(conn, -1, touched).await
}

async fn apply(conn: &mut AnyConnection, sign: i64, touched: Touched<'_>) -> sqlx::Result<()> {
    let head = format!("{INSERT}{}", &*CONTRIBUTION);
    match touched {
        Touched::Change { workspace_id, seq } => {
            sqlx::query(&format!(
                "{head}workspace_id = $2 and change_seq = $3{GROUP_AND_UPSERT}"
            ))
            .bind(sign)
            .bind(workspace_id)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        Touched::Row { workspace_id, id } => {
            sqlx::query(&format!(
                "{head}workspace_id = $2 and id = $3{GROUP_AND_UPSERT}"
            ))
            .bind(sign)
            .bind(workspace_id)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        Touched::External {
            account_id,
            external_ids,
        } => {
            for chunk in external_ids.chunks(200) {
                let list = (0..chunk.len())
                    .map(|i| format!("${}", i + 3))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql =
                    format!("{head}account_id = $2 and external_id in ({list}){GROUP_AND_UPSERT}");
                let mut q = sqlx::query(&sql).bind(sign).bind(account_id);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
}

/// Recomputes every rollup from `transactions` (the migration's backfill).
pub async fn rebuild(conn: &mut AnyConnection) -> sqlx::Result<String> {
    sqlx::query("delete from transaction_rollups")
        .execute(&mut *conn)
        .await?;
    let r = sqlx::query(&format!(
        "{INSERT}{}1 = 1{GROUP_AND_UPSERT}",
        &*CONTRIBUTION
    ))
    .bind(1i64)
    .execute(&mut *conn)
    .await?;
    Ok(if r.rows_affected() == 0 {
        String::new()
    } else {
        format!("{} daily totals built", r.rows_affected())
    })
}

/// One rollup row, as compared by tests: (workspace, account, currency, category, day,
/// outflow, count, exact sum).
pub type RollupRow = (String, String, String, String, i64, bool, i64, i128);

/// The non-empty rollups of a workspace as stored (`recomputed: false`) or as [`rebuild`]
/// would make them from its transactions now (`true`), in key order.
pub async fn workspace_rollups<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    recomputed: bool,
) -> sqlx::Result<Vec<RollupRow>> {
    let source = if recomputed {
        format!(
            "select workspace_id, account_id, currency, {CATEGORY} as category, {DAY} as day,
                case when amount_minor < 0 then 1 else 0 end as outflow, 1 as tx_count,
                amount_minor / 1000000 as sum_high, amount_minor % 1000000 as sum_low
             from transactions
             where excluded = 0 and removed_at is null and amount_minor <> 0"
        )
    } else {
        "select * from transaction_rollups".into()
    };
    let rows = sqlx::query(&format!(
        "select workspace_id, account_id, currency, category, day, outflow,
                cast(sum(tx_count) as bigint), cast(sum(sum_high) as bigint), cast(sum(sum_low) as bigint)
         from ({source}) r where workspace_id = $1
         group by workspace_id, account_id, currency, category, day, outflow
         having sum(tx_count) <> 0 or sum(sum_high) <> 0 or sum(sum_low) <> 0
         order by account_id, currency, category, day, outflow"
    ))
    .bind(workspace_id)
    .fetch_all(e)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get::<i64, _>(5)? != 0,
                r.try_get(6)?,
                total(r.try_get(7)?, r.try_get(8)?),
            ))
        })
        .collect()
}

/// What an insight or a budget sums: the transactions that count in one direction, booked in
/// `[from, to)`, of the accounts the caller reaches, optionally of one account, category or
/// currency.
pub struct FlowQuery<'a> {
    pub workspace_id: &'a str,
    pub reach: Reach<'a>,
    pub account_id: Option<&'a str>,
    pub category: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub from: i64,
    pub to: i64,
    pub outflow: bool,
}

/// How [`flow_totals`] groups.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlowGroup {
    Category,
    Day,
}

/// One group's totals: currency, category (for [`FlowGroup::Category`]) or UTC day number
/// (for [`FlowGroup::Day`]), count, exact signed sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowTotal {
    pub currency: String,
    pub category: String,
    pub day: i64,
    pub count: i64,
    pub total: i128,
}

/// Totals per currency and category or day. Whole UTC days come from the rollups (a year is a
/// few thousand rows whatever the history holds); the partial days at either end of the window
/// from the transactions themselves, through the `(workspace_id, booked_at)` index.
pub async fn flow_totals<'c>(
    e: impl Executor<'c, Database = Any>,
    q: &FlowQuery<'_>,
    group: FlowGroup,
) -> sqlx::Result<Vec<FlowTotal>> {
    // Whole days [d0, d1); the raw parts [from, d0 start) and [d1 start, to).
    let (mut d0, mut d1) = (q.from.div_euclid(86_400), q.to.div_euclid(86_400));
    if q.from.rem_euclid(86_400) != 0 {
        d0 += 1;
    }
    let (head_end, tail_start) = if d0 < d1 {
        (d0 * 86_400, d1 * 86_400)
    } else {
        // No whole day: everything from the transactions.
        (d0, d1) = (0, 0);
        (q.to, q.to)
    };
    // Parameters: $1 workspace, $2 outflow, $3 d0, $4 d1, $5 from, $6 head end, $7 tail
    // start, $8 to, then the optional filters, then the reach.
    // (column in the rollups, expression in the transactions, value)
    let (mut filters, mut raw_filters, mut next) = (String::new(), String::new(), 9);
    for (column, expression, value) in [
        ("account_id", "account_id", q.account_id),
        ("category", CATEGORY, q.category),
        ("currency", "currency", q.currency),
    ] {
        if value.is_some() {
            filters.push_str(&format!(" and {column} = ${next}"));
            raw_filters.push_str(&format!(" and {expression} = ${next}"));
            next += 1;
        }
    }
    let reach = reach_sql("account_id", next, q.reach);
    filters.push_str(&reach);
    raw_filters.push_str(&reach);
    let (key, raw_key) = match group {
        FlowGroup::Category => ("category", CATEGORY.to_string()),
        FlowGroup::Day => ("day", DAY.to_string()),
    };
    let direction = if q.outflow { "<" } else { ">" };
    let raw = |lo: u8, hi: u8| {
        format!(
            "select currency, {raw_key} as k, 1 as n, amount_minor / 1000000 as h,
                    amount_minor % 1000000 as l
             from transactions
             where workspace_id = $1 and booked_at >= ${lo} and booked_at < ${hi}
               and excluded = 0 and removed_at is null and amount_minor {direction} 0{raw_filters}"
        )
    };
    let sql = format!(
        "select currency, k, cast(sum(n) as bigint), cast(sum(h) as bigint), cast(sum(l) as bigint)
         from (
             select currency, {key} as k, tx_count as n, sum_high as h, sum_low as l
             from transaction_rollups
             where workspace_id = $1 and outflow = $2 and day >= $3 and day < $4{filters}
             union all {}
             union all {}
         ) f
         group by currency, k having sum(n) > 0",
        raw(5, 6),
        raw(7, 8)
    );
    let mut query = sqlx::query(&sql)
        .bind(q.workspace_id)
        .bind(i64::from(q.outflow))
        .bind(d0)
        .bind(d1)
        .bind(q.from)
        .bind(head_end)
        .bind(tail_start)
        .bind(q.to);
    for value in [q.account_id, q.category, q.currency].into_iter().flatten() {
        query = query.bind(value);
    }
    let rows = query.bind_reach(q.reach).fetch_all(e).await?;
    rows.into_iter()
        .map(|r| {
            let (category, day) = match group {
                FlowGroup::Category => (r.try_get(1)?, 0),
                FlowGroup::Day => (String::new(), r.try_get(1)?),
            };
            Ok(FlowTotal {
                currency: r.try_get(0)?,
                category,
                day,
                count: r.try_get(2)?,
                total: total(r.try_get(3)?, r.try_get(4)?),
            })
        })
        .collect()
}

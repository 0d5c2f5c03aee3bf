//! Exact sums of amounts for insights and budgets.

use crate::db::BindReach;
use sqlx::{Any, Executor, Row};

/// Money out (positive) in a category, currency and `[from, to)` window, exactly.
pub async fn spent<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    category: &str,
    currency: &str,
    from: i64,
    to: i64,
) -> sqlx::Result<i128> {
    let (high, low): (i64, i64) = sqlx::query_as(&format!(
        "select {} from transactions
         where workspace_id = $1 and coalesce(category_override, category) = $2 and currency = $3
           and booked_at >= $4 and booked_at < $5 and amount_minor < 0
           and excluded = 0 and removed_at is null",
        exact_sum("amount_minor")
    ))
    .bind(workspace_id)
    .bind(category)
    .bind(currency)
    .bind(from)
    .bind(to)
    .fetch_one(e)
    .await?;
    Ok(-total(high, low))
}

/// The two halves of an exact `sum(column)` for [`total`]. A plain `sum` of amounts overflows
/// `bigint` (SQLite raises, PostgreSQL's numeric fails the cast) once a window holds enough
/// large amounts; amounts are bounded by 10^12 minor units (`shared::money::MAX_MINOR`), so
/// each half below stays far inside `bigint` for any number of rows a database can hold.
/// Integer division and remainder truncate toward zero on both databases, so
/// `amount = high * 10^6 + low` holds for every row.
pub fn exact_sum(column: &str) -> String {
    format!(
        "cast(coalesce(sum({column} / {SPLIT}), 0) as bigint), cast(coalesce(sum({column} % {SPLIT}), 0) as bigint)"
    )
}

const SPLIT: i64 = 1_000_000;

/// Joins the halves [`exact_sum`] selected.
pub fn total(high: i64, low: i64) -> i128 {
    i128::from(high) * i128::from(SPLIT) + i128::from(low)
}

/// One counted transaction of an insight: (currency, category, booked at, amount in minor units).
pub type FlowRow = (String, String, i64, i64);

/// The transactions an insight counts: money out (`outflow`) or in, booked in `[from, to)`,
/// not excluded nor removed, of one account (`account_id`) or all; the category is the
/// caller's override, else the bank's, else `uncategorized`.
pub async fn flows<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: crate::db::Reach<'_>,
    account_id: Option<&str>,
    from: i64,
    to: i64,
    outflow: bool,
) -> sqlx::Result<Vec<FlowRow>> {
    let rows = sqlx::query(&format!(
        "select currency, coalesce(category_override, category, 'uncategorized') as category, booked_at, amount_minor
         from transactions
         where workspace_id = $1 and ($2 = '' or account_id = $2) and booked_at >= $3 and booked_at < $4
           and excluded = 0 and removed_at is null and amount_minor {} 0{}",
        if outflow { "<" } else { ">" },
        crate::db::reach_sql("account_id", 5, reach)
    ))
    .bind(workspace_id)
    .bind(account_id.unwrap_or_default())
    .bind(from)
    .bind(to)
    .bind_reach(reach)
    .fetch_all(e)
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use num_bigint::BigInt;
    use proptest::prelude::*;
    use shared::money::MAX_MINOR;

    use super::{total, SPLIT};

    /// Amounts at, next to and anywhere within the bound, either sign.
    fn amount() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(MAX_MINOR),
            Just(-MAX_MINOR),
            (MAX_MINOR - 1_000_000)..=MAX_MINOR,
            -MAX_MINOR..=(-MAX_MINOR + 1_000_000),
            -MAX_MINOR..=MAX_MINOR,
        ]
    }

    proptest! {
        /// What the database computes for [`super::exact_sum`] (integer division and remainder
        /// truncating toward zero, summed in bigint) joined by [`total`] is the exact sum.
        #[test]
        fn split_sums_equal_the_big_integer_sum(amounts in prop::collection::vec(amount(), 0..1000)) {
            let (mut high, mut low) = (0i64, 0i64);
            for a in &amounts {
                high = high.checked_add(a / SPLIT).expect("the high half stays in bigint");
                low = low.checked_add(a % SPLIT).expect("the low half stays in bigint");
            }
            let reference: BigInt = amounts.iter().map(|&a| BigInt::from(a)).sum();
            prop_assert_eq!(BigInt::from(total(high, low)), reference);
        }
    }
}

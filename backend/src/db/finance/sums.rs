//! Exact sums of amounts: the two halves the databases add, joined.

/// The two halves of an exact sum of amounts (`transaction_rollups.sum_high` and `sum_low`,
/// or what a query sums of `amount / 10^6` and `amount % 10^6`): a plain `sum` of amounts
/// overflows `bigint` (SQLite raises, PostgreSQL's numeric fails the cast) once a window holds
/// enough large amounts; amounts are bounded by 10^12 minor units (`shared::money::MAX_MINOR`),
/// so each half stays far inside `bigint` for any number of rows a database can hold. Integer
/// division and remainder truncate toward zero on both databases, so
/// `amount = high * 10^6 + low` holds for every row.
const SPLIT: i64 = 1_000_000;

/// Joins the two halves.
pub fn total(high: i64, low: i64) -> i128 {
    i128::from(high) * i128::from(SPLIT) + i128::from(low)
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
        /// What the database computes for the two halves (integer division and remainder
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

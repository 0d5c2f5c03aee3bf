//! Money: amounts are integer minor units everywhere inside the sandbox and only become decimals
//! at the wire. Account and transaction amounts are JSON numbers and insight amounts are
//! strings, as in the samples (tarabut-api.md §4.4).

use serde_json::Value;

/// Minor units per major unit for `exp` decimals; `exp` is at most 3 here.
fn scale(exp: u32) -> i64 {
    10i64.pow(exp.min(9))
}

/// A JSON number with the currency's precision: a whole amount is an integer (`3270`, as in
/// the samples); otherwise `minor / 10^exp` as an `f64`, which serde_json prints as the shortest
/// decimal that round-trips, i.e. exactly `12.345` for 12345 fils.
pub(crate) fn number(minor: i64, exp: u32) -> Value {
    let s = scale(exp);
    if minor % s == 0 {
        Value::from(minor / s)
    } else {
        Value::from(minor as f64 / s as f64)
    }
}

/// A decimal string with exactly `exp` decimals: `"4000.000"` (BHD), `"25000.00"` (SAR).
pub(crate) fn string(minor: i64, exp: u32) -> String {
    let s = scale(exp).unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{abs}");
    }
    format!(
        "{sign}{}.{:0width$}",
        abs / s,
        abs % s,
        width = exp as usize
    )
}

/// Parses a positive decimal string (`"12.345"`, `"12"`) into minor units, refusing more
/// decimals than the currency has, signs, exponents and overflow.
pub(crate) fn parse(raw: &str, exp: u32) -> Option<i64> {
    let raw = raw.trim();
    let (int, frac) = match raw.split_once('.') {
        Some((i, f)) => (i, f),
        None => (raw, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > exp as usize {
        return None;
    }
    if raw.ends_with('.') {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let mut frac_minor: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..exp as usize {
        frac_minor *= 10;
    }
    int.checked_mul(scale(exp))?.checked_add(frac_minor)
}

/// Mean of `total` over `n`, rounded half away from zero to a whole minor unit.
pub(crate) fn mean(total: i64, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let (t, n) = (i128::from(total), i128::from(n));
    let q = (2 * t.abs() + n) / (2 * n);
    let q = if t < 0 { -q } else { q };
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_exactly() {
        let print = |m, e| serde_json::to_string(&number(m, e)).unwrap_or_default();
        assert_eq!(print(12_345, 3), "12.345");
        assert_eq!(print(3_270_000, 3), "3270");
        assert_eq!(print(3_134, 2), "31.34");
        assert_eq!(print(1, 3), "0.001");
        assert_eq!(print(123_456_789_012, 3), "123456789.012");
        assert_eq!(print(10, 2), "0.1");
    }

    #[test]
    fn strings_have_the_currency_decimals() {
        assert_eq!(string(4_000_000, 3), "4000.000");
        assert_eq!(string(2_500_000, 2), "25000.00");
        assert_eq!(string(-5, 2), "-0.05");
        assert_eq!(string(i64::MIN, 3), "-9223372036854775.808");
    }

    #[test]
    fn parse_is_strict() {
        assert_eq!(parse("12.345", 3), Some(12_345));
        assert_eq!(parse("12.3", 3), Some(12_300));
        assert_eq!(parse("12", 2), Some(1_200));
        for bad in [
            "",
            ".5",
            "1.",
            "1.2345",
            "-1",
            "+1",
            "1e3",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(parse(bad, 3), None, "{bad}");
        }
    }

    #[test]
    fn mean_rounds_half_away_from_zero() {
        assert_eq!(mean(5, 2), 3);
        assert_eq!(mean(-5, 2), -3);
        assert_eq!(mean(4, 3), 1);
        assert_eq!(mean(7, 0), 0);
    }
}

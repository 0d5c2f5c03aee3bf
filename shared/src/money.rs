//! Money on the wire: `{"amount": "12.500", "currency": "BHD"}`, a decimal string with at most
//! the currency's minor digits, stored as integer minor units. Never through f64.

use serde::{Deserialize, Serialize};

/// An amount of money in one currency, as a decimal string; every amount in the API (transactions,
/// balances, budgets, insights) has this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"amount": "-12.500", "currency": "BHD"})))]
pub struct Money {
    /// Decimal string; negative = money out. At most the currency's minor digits (BHD 3, SAR 2,
    /// JPY 0); fewer are padded.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^-?[0-9]+(\\.[0-9]+)?$", example = "-12.500")
    )]
    pub amount: String,
    /// ISO 4217 code.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{3}$", example = "BHD"))]
    pub currency: String,
}

/// ISO 4217 codes pfn accepts, with their minor-unit exponent (product.md §8: 3 for
/// BHD/KWD/OMR/JOD/TND, 0 for JPY, else 2).
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("LKR", 2),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("ZAR", 2),
];

/// The minor-unit exponent, or `None` for a currency pfn does not know.
pub fn exponent(currency: &str) -> Option<u32> {
    CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, e)| *e)
}

/// The currencies pfn knows whose minor unit has `exponent` digits.
pub fn currencies_with_exponent(exponent: u32) -> impl Iterator<Item = &'static str> {
    CURRENCIES
        .iter()
        .filter(move |(_, e)| *e == exponent)
        .map(|(c, _)| *c)
}

/// The largest amount pfn stores, in minor units either side of zero: 10^12, a billion BHD or
/// ten billion USD, beyond any real account. The bound keeps every sum exact: a workspace would
/// need over nine million transactions at the bound for a total to leave `i64`, and totals are
/// computed in `i128` anyway.
pub const MAX_MINOR: i64 = 1_000_000_000_000;

/// What [`parse_minor`] says of an amount beyond [`MAX_MINOR`].
pub const TOO_LARGE: &str =
    "is too large: at most 10^12 minor units (1,000,000,000.000 BHD, 10,000,000,000.00 USD)";

/// Parses `"-12.5"` in a 3-digit currency as `-12500`; at most [`MAX_MINOR`] either side of 0.
pub fn parse_minor(amount: &str, exponent: u32) -> Result<i64, &'static str> {
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("must be a decimal string like \"-12.50\"");
    }
    if digits.contains('.') && frac.is_empty() {
        return Err("must be a decimal string like \"-12.50\"");
    }
    if frac.len() > exponent as usize {
        return Err("has more decimals than the currency allows");
    }
    if int.trim_start_matches('0').len() > 15 {
        return Err(TOO_LARGE);
    }
    let mut minor: i64 = int.parse().map_err(|_| TOO_LARGE)?;
    minor *= 10i64.pow(exponent);
    if !frac.is_empty() {
        let scaled: i64 = frac.parse::<i64>().map_err(|_| "is not a number")?
            * 10i64.pow(exponent - frac.len() as u32);
        minor += scaled;
    }
    if minor > MAX_MINOR {
        return Err(TOO_LARGE);
    }
    Ok(if negative { -minor } else { minor })
}

/// Formats minor units with exactly the currency's digits: `-12500`, 3 → `"-12.500"`. Takes
/// sums too, which may leave `i64`.
pub fn format_minor(minor: impl Into<i128>, exponent: u32) -> String {
    let minor: i128 = minor.into();
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let div = 10u128.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        abs / div,
        abs % div,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_the_currencys_precision() {
        let bhd = exponent("BHD").unwrap();
        assert_eq!(parse_minor("12.5", bhd), Ok(12_500));
        assert_eq!(parse_minor("-0.001", bhd), Ok(-1));
        assert_eq!(format_minor(-12_500, bhd), "-12.500");
        assert_eq!(format_minor(-1, bhd), "-0.001");
        assert_eq!(parse_minor("100", 0), Ok(100));
        assert_eq!(format_minor(12345, 2), "123.45");
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("XYZ"), None);
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in [
            "", "-", ".5", "5.", "1e3", "1,5", " 1", "+1", "0x10", "1.2.3", "--1", "１",
        ] {
            assert!(parse_minor(bad, 2).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_minor("1.234", 2),
            Err("has more decimals than the currency allows")
        );
        assert!(parse_minor("9999999999999999", 2).is_err());
        assert_eq!(parse_minor("999999999999999.99", 2), Err(TOO_LARGE));
    }

    #[test]
    fn amounts_are_bounded_at_ten_to_the_twelve_minor_units() {
        assert_eq!(parse_minor("1000000000", 3), Ok(MAX_MINOR));
        assert_eq!(parse_minor("-1000000000.000", 3), Ok(-MAX_MINOR));
        assert_eq!(parse_minor("1000000000.001", 3), Err(TOO_LARGE));
        assert_eq!(parse_minor("-999999999999999.999", 3), Err(TOO_LARGE));
        assert_eq!(parse_minor("1000000000000", 0), Ok(MAX_MINOR));
        assert_eq!(parse_minor("1000000000001", 0), Err(TOO_LARGE));
        assert_eq!(parse_minor("10000000000.00", 2), Ok(MAX_MINOR));
    }

    #[test]
    fn sums_beyond_i64_are_formatted_exactly() {
        let sum = i128::from(i64::MAX) * 3 + 7;
        assert_eq!(format_minor(sum, 3), "27670116110564327.428");
        assert_eq!(format_minor(-sum, 0), "-27670116110564327428");
        assert_eq!(format_minor(i64::MIN, 2), "-92233720368547758.08");
    }
}

//! Values as the API writes and reads them: money, times.

use shared::money::{exponent, format_minor, Money};
use time::{format_description::well_known::Rfc3339, Date, OffsetDateTime};

/// An amount or a total (which may leave `i64`) in `currency`.
pub fn money(minor: impl Into<i128>, currency: &str) -> Money {
    Money {
        amount: format_minor(minor, exponent(currency).unwrap_or(2)),
        currency: currency.to_string(),
    }
}

/// An `Idempotency-Key`: 1–255 printable ASCII characters (no spaces).
pub fn idempotency_key_ok(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A timestamp parameter: RFC 3339, or a date (`2026-11-01`, midnight UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    parse_date(s).map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// A date parameter, `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

//! Timestamp formatting and parsing in the exact shapes Tarabut uses. The samples mix
//! `2026-06-17T07:35:51Z` (intents, consents, accounts) with `2023-01-11T00:00:00.000Z`
//! (transactions and their meta), so both formats exist here.

use time::{
    format_description::well_known::Rfc3339, macros::format_description, Date, Month,
    OffsetDateTime, PrimitiveDateTime, Time, UtcOffset,
};

/// `2026-06-17T07:35:51Z`.
pub(crate) fn secs(dt: OffsetDateTime) -> String {
    dt.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// `2023-01-11T00:00:00.000Z`.
pub(crate) fn millis(dt: OffsetDateTime) -> String {
    dt.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default()
}

/// `2023-07-21`.
pub(crate) fn date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Unix seconds to a UTC instant; out-of-range input (never produced by the sandbox) maps to the
/// epoch rather than panicking.
pub(crate) fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Parses a query-string instant. Accepts RFC 3339 (`Z` or an offset, optional fraction), the
/// same without an offset (read as UTC), and a bare date (the start of that day, or its last
/// second when `end_of_day`, so a date range stays inclusive). A `+` offset that arrived
/// unencoded has become a space by form decoding; it is put back.
pub(crate) fn parse_instant(raw: &str, end_of_day: bool) -> Option<OffsetDateTime> {
    let s = raw.trim().replace(' ', "+");
    if let Ok(dt) = OffsetDateTime::parse(&s, &Rfc3339) {
        return Some(dt.to_offset(UtcOffset::UTC));
    }
    if let Ok(p) = PrimitiveDateTime::parse(
        &s,
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        ),
    ) {
        return Some(p.assume_utc());
    }
    let d = parse_date(&s)?;
    let t = if end_of_day {
        Time::from_hms(23, 59, 59).ok()?
    } else {
        Time::MIDNIGHT
    };
    Some(PrimitiveDateTime::new(d, t).assume_utc())
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(raw.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// The same instant `months` calendar months earlier, with the day clamped to the target
/// month's length (31 March minus one month is 28 or 29 February).
pub(crate) fn minus_months(dt: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = dt.year() * 12 + (dt.month() as i32 - 1) - months as i32;
    let year = total.div_euclid(12);
    let month = month_from_index(total.rem_euclid(12));
    let day = dt.day().min(month.length(year));
    match Date::from_calendar_date(year, month, day) {
        Ok(d) => dt.replace_date(d),
        Err(_) => dt,
    }
}

/// The first day of the month `back` months before `d`'s month.
pub(crate) fn month_start(d: Date, back: u32) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) - back as i32;
    Date::from_calendar_date(
        total.div_euclid(12),
        month_from_index(total.rem_euclid(12)),
        1,
    )
    .unwrap_or(d)
}

/// `(year, month)` pairs from `from`'s month to `to`'s month, inclusive.
pub(crate) fn months_between(from: Date, to: Date) -> Vec<(i32, Month)> {
    let start = from.year() * 12 + (from.month() as i32 - 1);
    let end = to.year() * 12 + (to.month() as i32 - 1);
    (start..=end)
        .map(|i| (i.div_euclid(12), month_from_index(i.rem_euclid(12))))
        .collect()
}

fn month_from_index(i: i32) -> Month {
    Month::January.nth_next(i.clamp(0, 11) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn formats_both_shapes() {
        let t = datetime!(2023-01-11 08:09:10.123456 UTC);
        assert_eq!(secs(t), "2023-01-11T08:09:10Z");
        assert_eq!(millis(t), "2023-01-11T08:09:10.123Z");
        assert_eq!(date(t.date()), "2023-01-11");
    }

    #[test]
    fn parses_the_shapes_clients_send() {
        let want = datetime!(2023-01-01 15:34:12 UTC);
        assert_eq!(parse_instant("2023-01-01T15:34:12Z", false), Some(want));
        assert_eq!(parse_instant("2023-01-01T15:34:12.000Z", false), Some(want));
        assert_eq!(
            parse_instant("2023-01-01T18:34:12+03:00", false),
            Some(want)
        );
        assert_eq!(
            parse_instant("2023-01-01T18:34:12 03:00", false),
            Some(want)
        );
        assert_eq!(parse_instant("2023-01-01T15:34:12", false), Some(want));
        assert_eq!(
            parse_instant("2023-01-01", true),
            Some(datetime!(2023-01-01 23:59:59 UTC))
        );
        for bad in ["", "yesterday", "2023-13-01", "2023-01-01T25:00:00Z"] {
            assert_eq!(parse_instant(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(
            minus_months(datetime!(2024-03-31 10:00 UTC), 1),
            datetime!(2024-02-29 10:00 UTC)
        );
        assert_eq!(
            minus_months(datetime!(2024-01-15 00:00 UTC), 12),
            datetime!(2023-01-15 00:00 UTC)
        );
        assert_eq!(month_start(date!(2024 - 02 - 10), 2), date!(2023 - 12 - 01));
        assert_eq!(
            months_between(date!(2023 - 11 - 30), date!(2024 - 02 - 01)).len(),
            4
        );
    }
}

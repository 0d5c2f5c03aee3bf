//! The SPA's pure logic: formatting, query strings, form checks and chart geometry. No browser
//! types here, so `cargo test -p frontend` runs it natively in a second.

use shared::money::{exponent, format_minor, parse_minor, Money};

pub mod limits;
pub mod presets;
pub mod usage;

/// `-1234.500 BHD` → `-1,234.500 BHD`: digits grouped by three, the currency's own decimals.
pub fn format_money(m: &Money) -> String {
    let (sign, digits) = match m.amount.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", m.amount.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    format!("{sign}{grouped}{frac} {}", m.currency)
}

/// A money amount in minor units, for sums and charts; `None` when it does not parse.
/// "1 transaction", "3 transactions": `n` and the noun, plural unless `n` is 1.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn minor_units(m: &Money) -> Option<i64> {
    parse_minor(&m.amount, exponent(&m.currency)?).ok()
}

/// Minor units back to a `Money` in `currency`.
pub fn money_from_minor(minor: i64, currency: &str) -> Money {
    Money {
        amount: format_minor(minor, exponent(currency).unwrap_or(2)),
        currency: currency.to_string(),
    }
}

/// What a person typed as an amount (`12.5`, `1,200`) → the API's decimal string, with the
/// currency's precision checked; the error reads after the field's label.
pub fn parse_amount(input: &str, currency: &str) -> Result<String, &'static str> {
    let cleaned: String = input.trim().chars().filter(|c| *c != ',').collect();
    if cleaned.is_empty() {
        return Err("is required");
    }
    let exp = exponent(currency).ok_or("has an unknown currency")?;
    let minor = parse_minor(&cleaned, exp)?;
    Ok(format_minor(minor, exp))
}

/// `2026-11-23T10:04:05Z` → `2026-11-23 10:04` (UTC, as the API sends it).
pub fn format_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time}")
        }
        _ => rfc3339.to_string(),
    }
}

/// The date part of an RFC 3339 time.
pub fn format_date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// Seconds since the Unix epoch for an RFC 3339 UTC time (`…Z`); `None` for anything else.
pub fn epoch_secs(rfc3339: &str) -> Option<i64> {
    let b = rfc3339.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !rfc3339.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| rfc3339.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` for a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// "3 minutes ago", "in 2 days": `then` and `now` in Unix seconds.
pub fn relative(then: i64, now: i64) -> String {
    let delta = now - then;
    let (n, unit) = match delta.unsigned_abs() {
        s if s < 45 => return "just now".into(),
        s if s < 3600 => ((s + 30) / 60, "minute"),
        s if s < 86_400 => ((s + 1800) / 3600, "hour"),
        s if s < 86_400 * 60 => ((s + 43_200) / 86_400, "day"),
        s => ((s + 86_400 * 15) / (86_400 * 30), "month"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if delta >= 0 {
        format!("{n} {unit}{plural} ago")
    } else {
        format!("in {n} {unit}{plural}")
    }
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters stay as they are).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&…` from the pairs whose value is present and non-empty.
pub fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", encode(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Where a signed-out visit goes: `/login?returnTo=<where they were>`, unless they were on a
/// page that needs no sign-in anyway.
pub fn login_redirect(current: &str) -> String {
    if current.is_empty() || current == "/" || current.starts_with("/login") {
        "/login".to_string()
    } else {
        with_query("/login", &[("returnTo", Some(current))])
    }
}

/// Where to go after signing in: the `returnTo` query value when it is a safe local path.
pub fn after_login(return_to: Option<&str>) -> String {
    let target = return_to
        .and_then(shared::redirect::percent_decode)
        .unwrap_or_else(|| "/".to_string());
    shared::redirect::safe_return_to(&target).to_string()
}

/// "Try again in N seconds" from a 429's `Retry-After` header (seconds form only).
pub fn retry_message(retry_after: Option<&str>) -> String {
    match retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(1) => "Too many attempts. Try again in 1 second.".into(),
        Some(n) => format!("Too many attempts. Try again in {n} seconds."),
        None => "Too many attempts. Try again in a moment.".into(),
    }
}

/// A key's expiry choice in the create dialog; `None` means the key never expires.
pub const EXPIRY_CHOICES: &[(&str, Option<i64>)] = &[
    ("7 days", Some(7)),
    ("30 days", Some(30)),
    ("90 days", Some(90)),
    ("1 year", Some(365)),
    ("Never", None),
];

/// A bar of a horizontal bar chart: label, value and width in percent of the largest.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub percent: f64,
}

/// Bars scaled to the largest absolute value (which gets 100 %).
pub fn bars(items: &[(String, i64)]) -> Vec<Bar> {
    let max = items
        .iter()
        .map(|(_, v)| v.unsigned_abs())
        .max()
        .unwrap_or(0);
    items
        .iter()
        .map(|(label, v)| Bar {
            label: label.clone(),
            value: *v,
            percent: if max == 0 {
                0.0
            } else {
                v.unsigned_abs() as f64 * 100.0 / max as f64
            },
        })
        .collect()
}

/// An SVG polyline's `points` for a series in a `width` × `height` box (y grows downwards),
/// with the value range padded so a flat line sits in the middle.
pub fn line_points(values: &[i64], width: f64, height: f64) -> String {
    if values.is_empty() {
        return String::new();
    }
    let min = *values.iter().min().unwrap_or(&0);
    let max = *values.iter().max().unwrap_or(&0);
    let (lo, span) = if max == min {
        (min as f64 - 1.0, 2.0)
    } else {
        (min as f64, (max - min) as f64)
    };
    let step = if values.len() > 1 {
        width / (values.len() - 1) as f64
    } else {
        0.0
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = if values.len() > 1 {
                i as f64 * step
            } else {
                width / 2.0
            };
            let y = height - (*v as f64 - lo) / span * height;
            format!("{},{}", tenths(x), tenths(y))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `x` with one decimal, for SVG coordinates and CSS widths. Written with integers: Rust's
/// float formatting would add ~11 KB to the `.wasm` for these few numbers.
pub fn tenths(x: f64) -> String {
    let n = (x * 10.0).round() as i64;
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}.{}", n.unsigned_abs() / 10, n.unsigned_abs() % 10)
}

/// `shared::validate::check_password`, the server's rule, with NFC and lower-casing done by
/// the browser (`String.prototype.normalize` and `toLowerCase`) on wasm: the same rule, without
/// Unicode's normalisation and case tables in the `.wasm` (~70 KB gzip).
pub fn check_password(password: &str, email: &str) -> Result<(), &'static str> {
    shared::validate::check_password_with(password, email, nfc, lower)
}

#[cfg(target_arch = "wasm32")]
fn nfc(s: &str) -> String {
    js_sys::JsString::from(s).normalize("NFC").into()
}

#[cfg(target_arch = "wasm32")]
fn lower(s: &str) -> String {
    js_sys::JsString::from(s).to_lower_case().into()
}

#[cfg(not(target_arch = "wasm32"))]
fn nfc(s: &str) -> String {
    shared::validate::normalize_password(s)
}

#[cfg(not(target_arch = "wasm32"))]
fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// Field-level check for the sign-up form, with the same rules the API applies.
pub fn signup_problems(email: &str, password: &str, name: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Err(e) = shared::validate::check_name(name) {
        out.push(("name", e.to_string()));
    }
    if let Err(e) = shared::validate::check_email(email) {
        out.push(("email", e.to_string()));
    }
    if let Err(e) = check_password(password, email) {
        out.push(("password", e.to_string()));
    }
    out
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5): how WebAuthn's JSON carries binary fields. (Two
/// small functions instead of the `base64` crate, to keep the `.wasm` small.)
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64URL[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The inverse of [`base64url_encode`]; also takes padding and the standard alphabet
/// (`+`, `/`). None for anything else.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'+' => 62,
            b'/' => 63,
            _ => B64URL.iter().position(|&x| x == c)? as u32,
        };
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one_only() {
        assert_eq!(count(1, "transaction"), "1 transaction");
        assert_eq!(count(0, "transaction"), "0 transactions");
        assert_eq!(count(12, "transaction"), "12 transactions");
    }

    #[test]
    fn the_password_check_is_the_servers() {
        let email = " Layla.Haddad@Example.com ";
        for password in [
            "short",
            "long enough passphrase",
            "LAYLA.HADDAD@example.COM!!",
            "my layla password",
            "Cafe\u{301} au lait please",
            "nul\0character here",
            &"x".repeat(129),
        ] {
            assert_eq!(
                check_password(password, email),
                shared::validate::check_password(password, email),
                "{password:?}"
            );
        }
    }

    #[test]
    fn tenths_rounds_to_one_decimal_like_format() {
        for x in [
            0.0, 0.04, 0.05, 1.25, 99.96, 150.0, -0.04, -0.06, -12.34, 599.99,
        ] {
            let expected = format!("{x:.1}");
            let got = tenths(x);
            // `{:.1}` rounds half to even and prints "-0.0"; both are fine in SVG and CSS.
            let close =
                (got.parse::<f64>().unwrap() - expected.parse::<f64>().unwrap()).abs() < 0.11;
            assert!(close, "{x}: {got} vs {expected}");
        }
        assert_eq!(tenths(12.34), "12.3");
        assert_eq!(tenths(-12.36), "-12.4");
        assert_eq!(tenths(0.0), "0.0");
    }

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.into(),
            currency: currency.into(),
        }
    }

    #[test]
    fn money_is_grouped_and_keeps_its_decimals() {
        assert_eq!(
            format_money(&money("-1234567.500", "BHD")),
            "-1,234,567.500 BHD"
        );
        assert_eq!(format_money(&money("999.99", "SAR")), "999.99 SAR");
        assert_eq!(format_money(&money("1000", "JPY")), "1,000 JPY");
        assert_eq!(format_money(&money("0.001", "BHD")), "0.001 BHD");
        assert_eq!(minor_units(&money("-12.5", "BHD")), Some(-12_500));
        assert_eq!(money_from_minor(-1, "BHD"), money("-0.001", "BHD"));
    }

    #[test]
    fn typed_amounts_follow_the_currency() {
        assert_eq!(parse_amount(" 1,200.5 ", "BHD"), Ok("1200.500".into()));
        assert_eq!(parse_amount("12", "JPY"), Ok("12".into()));
        assert!(parse_amount("1.234", "SAR").is_err());
        assert!(parse_amount("abc", "SAR").is_err());
        assert_eq!(parse_amount("", "SAR"), Err("is required"));
    }

    #[test]
    fn times_read_as_dates_and_relative_phrases() {
        assert_eq!(format_time("2026-11-23T10:04:05Z"), "2026-11-23 10:04");
        assert_eq!(format_time("garbage"), "garbage");
        assert_eq!(format_date("2026-11-23T10:04:05Z"), "2026-11-23");
        let t = epoch_secs("2026-11-23T10:04:05Z").unwrap();
        assert_eq!(civil_from_days(t.div_euclid(86_400)), "2026-11-23");
        assert_eq!(epoch_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_secs("2026-11-23"), None);
        assert_eq!(relative(t - 10, t), "just now");
        assert_eq!(relative(t - 3 * 60, t), "3 minutes ago");
        assert_eq!(relative(t - 3600, t), "1 hour ago");
        assert_eq!(relative(t + 2 * 86_400, t), "in 2 days");
    }

    #[test]
    fn query_strings_are_encoded_and_skip_empty_values() {
        assert_eq!(
            with_query(
                "/api/v1/transactions",
                &[
                    ("from", Some("2026-01-01")),
                    ("category", Some("food & drink")),
                    ("cursor", None),
                    ("to", Some(""))
                ]
            ),
            "/api/v1/transactions?from=2026-01-01&category=food%20%26%20drink"
        );
        assert_eq!(with_query("/x", &[]), "/x");
    }

    #[test]
    fn sign_in_redirects_round_trip_and_refuse_other_sites() {
        let to = login_redirect("/keys?x=1");
        assert_eq!(to, "/login?returnTo=%2Fkeys%3Fx%3D1");
        assert_eq!(after_login(Some("%2Fkeys%3Fx%3D1")), "/keys?x=1");
        assert_eq!(after_login(Some("/keys")), "/keys");
        assert_eq!(after_login(Some("//evil.example")), "/");
        assert_eq!(after_login(Some("https%3A%2F%2Fevil.example")), "/");
        assert_eq!(after_login(None), "/");
        assert_eq!(login_redirect("/"), "/login");
    }

    #[test]
    fn rate_limit_messages_say_when_to_retry() {
        assert_eq!(
            retry_message(Some("12")),
            "Too many attempts. Try again in 12 seconds."
        );
        assert_eq!(
            retry_message(Some("1")),
            "Too many attempts. Try again in 1 second."
        );
        assert_eq!(
            retry_message(None),
            "Too many attempts. Try again in a moment."
        );
    }

    #[test]
    fn chart_geometry_scales_to_the_box() {
        let b = bars(&[
            ("food".into(), -500),
            ("rent".into(), -1000),
            ("none".into(), 0),
        ]);
        assert_eq!(b[1].percent, 100.0);
        assert_eq!(b[0].percent, 50.0);
        assert_eq!(b[2].percent, 0.0);
        assert_eq!(line_points(&[0, 10], 100.0, 50.0), "0.0,50.0 100.0,0.0");
        assert_eq!(line_points(&[5, 5], 100.0, 50.0), "0.0,25.0 100.0,25.0");
        assert_eq!(line_points(&[7], 100.0, 50.0), "50.0,25.0");
        assert_eq!(line_points(&[], 100.0, 50.0), "");
    }

    #[test]
    fn signup_checks_match_the_api_rules() {
        assert!(signup_problems("layla@example.com", "correct horse battery", "Layla").is_empty());
        let p = signup_problems("nope", "short", "");
        let fields: Vec<_> = p.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "email", "password"]);
    }

    #[test]
    fn base64url_round_trips_and_matches_rfc_4648() {
        // RFC 4648 §10, in the URL-safe alphabet without padding.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url_encode(plain.as_bytes()), coded);
            assert_eq!(base64url_decode(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url_encode(&all)).unwrap(), all);
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64url_decode("Zm9v!"), None);
        assert_eq!(base64url_decode("Z"), None, "one character is not a byte");
    }
}

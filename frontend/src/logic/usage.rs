//! An API key's requests per day (`GET /api/v1/keys/{id}/usage`) as the key's page shows
//! them: totals, refusal reasons in words, and the stacked bar chart's geometry.

use std::collections::BTreeMap;

use shared::key_limits::KeyUsageDay;

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a refusal reason of `KeyUsageDay.denied` means, for people.
pub fn denied_label(reason: &str) -> &str {
    match reason {
        "ip" => "address not allowed",
        "accounts" => "outside its accounts",
        "quota" => "quota used up",
        "scope" => "missing scope",
        "revoked" => "revoked",
        "expired" => "expired",
        other => other,
    }
}

/// A range's totals: allowed, rate-limited, refused (and refused by reason).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageTotals {
    pub ok: i64,
    pub rate_limited: i64,
    pub denied: i64,
    pub by_reason: BTreeMap<String, i64>,
}

pub fn usage_totals(days: &[KeyUsageDay]) -> UsageTotals {
    let mut t = UsageTotals::default();
    for d in days {
        t.ok += d.ok;
        t.rate_limited += d.rate_limited;
        for (reason, n) in &d.denied {
            t.denied += n;
            *t.by_reason.entry(reason.clone()).or_default() += n;
        }
    }
    t
}

/// One day's column of the usage chart: its slot, and the `(y, height)` of each part, stacked
/// from the bottom: allowed, rate-limited, refused.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageColumn {
    pub date: String,
    pub x: f64,
    pub width: f64,
    pub ok: (f64, f64),
    pub rate_limited: (f64, f64),
    pub denied: (f64, f64),
}

/// The columns in a `width` × `height` box (y grows downwards), scaled so the busiest day is
/// the full height; a range without requests has columns of no height.
pub fn usage_columns(days: &[KeyUsageDay], width: f64, height: f64) -> Vec<UsageColumn> {
    let total = |d: &KeyUsageDay| d.ok + d.rate_limited + d.denied.values().sum::<i64>();
    let max = days.iter().map(total).max().unwrap_or(0).max(1) as f64;
    let slot = width / days.len().max(1) as f64;
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let mut bottom = height;
            let mut part = |n: i64| {
                let h = n.max(0) as f64 / max * height;
                bottom -= h;
                (bottom, h)
            };
            let ok = part(d.ok);
            let rate_limited = part(d.rate_limited);
            let denied = part(d.denied.values().sum());
            UsageColumn {
                date: d.date.clone(),
                x: i as f64 * slot + slot * 0.15,
                width: slot * 0.7,
                ok,
                rate_limited,
                denied,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }

    fn day(date: &str, ok: i64, rl: i64, denied: &[(&str, i64)]) -> KeyUsageDay {
        KeyUsageDay {
            date: date.into(),
            ok,
            rate_limited: rl,
            denied: denied.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn usage_adds_up_and_stacks_to_the_busiest_day() {
        let days = [
            day("2026-12-04", 0, 0, &[]),
            day("2026-12-05", 2, 1, &[("ip", 1)]),
            day("2026-12-06", 1, 0, &[("scope", 1), ("ip", 1)]),
        ];
        let t = usage_totals(&days);
        assert_eq!((t.ok, t.rate_limited, t.denied), (3, 1, 3));
        assert_eq!(t.by_reason, [("ip".into(), 2), ("scope".into(), 1)].into());
        let cols = usage_columns(&days, 300.0, 100.0);
        assert_eq!(cols.len(), 3);
        assert_eq!((cols[1].x, cols[1].width), (115.0, 70.0));
        // The busiest day (4 requests) fills the height, allowed at the bottom.
        assert_eq!(cols[1].ok, (50.0, 50.0));
        assert_eq!(cols[1].rate_limited, (25.0, 25.0));
        assert_eq!(cols[1].denied, (0.0, 25.0));
        assert_eq!(cols[0].ok.1 + cols[0].denied.1, 0.0);
        // No requests at all: flat, no division by zero.
        let flat = usage_columns(&days[..1], 300.0, 100.0);
        assert_eq!(flat[0].ok, (100.0, 0.0));
    }
}

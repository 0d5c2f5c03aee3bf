//! An API key's limits in the forms (issue "Agent-safe keys"): reading what a person typed
//! into the limit fields, and the PATCH body that changes only what changed.

use std::collections::BTreeMap;

use serde::Serialize;
use shared::{
    key_limits::{check_quota, check_rate, QuotaRefill, QuotaSetting, RateLimitSetting, MAX_LIST},
    keys::ApiKey,
};

/// The allowlist textarea's entries: one per line, or separated by commas or spaces; blanks
/// and repeats dropped, the order kept (the API's `allowedIps[i]` errors point into it).
pub fn split_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        if !entry.is_empty() && !out.iter().any(|e| e == entry) {
            out.push(entry.to_string());
        }
    }
    out
}

/// Whether `entry` looks like an IPv4 or IPv6 address or CIDR block. The shape only (digits,
/// groups, the prefix's length): the server parses each entry and names the ones it rejects
/// (`allowedIps[i]`), so the SPA does without the standard library's address parser.
pub fn check_address(entry: &str) -> Result<(), &'static str> {
    const PROBLEM: &str = "is not an IP address or a CIDR block (like 203.0.113.0/24)";
    let (addr, prefix) = match entry.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (entry, None),
    };
    let max = if addr.contains(':') {
        v6_shape(addr).then_some(128)
    } else {
        v4_shape(addr).then_some(32)
    }
    .ok_or(PROBLEM)?;
    match prefix {
        None => Ok(()),
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            if p.parse::<u8>().is_ok_and(|n| n <= max) {
                Ok(())
            } else {
                Err(PROBLEM)
            }
        }
        Some(_) => Err(PROBLEM),
    }
}

/// Four decimal numbers up to 255, separated by dots.
fn v4_shape(addr: &str) -> bool {
    let parts: Vec<&str> = addr.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// Up to eight groups of at most four hex digits, at most one `::`, and possibly an IPv4
/// address in place of the last two groups.
fn v6_shape(addr: &str) -> bool {
    let (head, tail, gap) = match addr.split_once("::") {
        Some((h, t)) => (h, t, true),
        None => (addr, "", false),
    };
    if tail.contains("::") {
        return false;
    }
    let mut groups = 0;
    let halves = [head, tail];
    for (n, half) in halves.iter().enumerate() {
        if half.is_empty() {
            continue;
        }
        let parts: Vec<&str> = half.split(':').collect();
        let last_half = n == 1 || !gap;
        for (i, p) in parts.iter().enumerate() {
            if last_half && i == parts.len() - 1 && p.contains('.') {
                if !v4_shape(p) {
                    return false;
                }
                groups += 2;
            } else if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return false;
            } else {
                groups += 1;
            }
        }
    }
    if gap {
        groups < 8
    } else {
        groups == 8
    }
}

/// An address as the server lists it: a bare address gets its full-length prefix.
fn canonical(entry: &str) -> String {
    if entry.contains('/') {
        entry.to_string()
    } else if entry.contains(':') {
        format!("{entry}/128")
    } else {
        format!("{entry}/32")
    }
}

/// What the limit fields hold, as typed. `quota_refill` is `daily`, `monthly` or empty (the
/// uses never come back).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitsText {
    pub allowed_ips: String,
    pub account_ids: Vec<String>,
    pub quota_limit: String,
    pub quota_refill: String,
    pub rate_per_minute: String,
    pub rate_burst: String,
}

/// A key's limits as the API takes them; `None` is no restriction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub allowed_ips: Option<Vec<String>>,
    pub account_ids: Option<Vec<String>>,
    pub quota: Option<QuotaSetting>,
    pub rate_limit: Option<RateLimitSetting>,
}

/// A problem with one field, keyed like the API's `fields` (`quota.limit`, …); the text reads
/// after the field's label.
pub type Problem = (&'static str, String);

impl LimitsText {
    /// The fields filled in with a key's current limits (the edit form starts from these).
    pub fn of_key(key: &ApiKey) -> Self {
        Self {
            allowed_ips: key.allowed_ips.clone().unwrap_or_default().join("\n"),
            account_ids: key.account_ids.clone().unwrap_or_default(),
            quota_limit: key
                .quota
                .as_ref()
                .map(|q| q.limit.to_string())
                .unwrap_or_default(),
            // Without a quota, a new one would refill daily unless changed.
            quota_refill: match &key.quota {
                None => "daily".to_string(),
                Some(q) => q.refill.map(|r| r.as_str()).unwrap_or("").to_string(),
            },
            rate_per_minute: key
                .rate_limit
                .map(|r| r.per_minute.to_string())
                .unwrap_or_default(),
            rate_burst: key
                .rate_limit
                .map(|r| r.burst.to_string())
                .unwrap_or_default(),
        }
    }

    /// The limits, or every problem with them (the server's own rules, checked here first).
    pub fn parse(&self) -> Result<Limits, Vec<Problem>> {
        let mut problems = Vec::new();
        let ips = split_list(&self.allowed_ips);
        if ips.len() > MAX_LIST {
            problems.push((
                "allowedIps",
                format!("has {} entries; at most {MAX_LIST} fit", ips.len()),
            ));
        }
        let bad: Vec<&str> = ips
            .iter()
            .filter(|e| check_address(e).is_err())
            .map(String::as_str)
            .collect();
        if !bad.is_empty() {
            problems.push((
                "allowedIps",
                format!(
                    "“{}” {}",
                    bad.join("”, “"),
                    if bad.len() == 1 {
                        "is not an IP address or a CIDR block (like 203.0.113.0/24)"
                    } else {
                        "are not IP addresses or CIDR blocks (like 203.0.113.0/24)"
                    }
                ),
            ));
        }
        if self.account_ids.len() > MAX_LIST {
            problems.push((
                "accountIds",
                format!("at most {MAX_LIST} accounts can be chosen"),
            ));
        }
        let quota = match number(&self.quota_limit) {
            Ok(None) => None,
            Ok(Some(limit)) => {
                let q = QuotaSetting {
                    limit,
                    refill: QuotaRefill::parse(&self.quota_refill),
                };
                match check_quota(&q) {
                    Some(p) => {
                        problems.push(("quota.limit", p.to_string()));
                        None
                    }
                    None => Some(q),
                }
            }
            Err(p) => {
                problems.push(("quota.limit", p.to_string()));
                None
            }
        };
        let rate_limit = match (number(&self.rate_per_minute), number(&self.rate_burst)) {
            (Ok(None), Ok(None)) => None,
            (per, burst) => {
                let mut get = |field: &'static str, n: Result<Option<i64>, &str>| match n {
                    Ok(Some(n)) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                    Ok(None) => {
                        problems.push((field, "is needed for a rate limit".to_string()));
                        None
                    }
                    Err(p) => {
                        problems.push((field, p.to_string()));
                        None
                    }
                };
                let per = get("rateLimit.perMinute", per);
                let burst = get("rateLimit.burst", burst);
                match (per, burst) {
                    (Some(per_minute), Some(burst)) => {
                        let r = RateLimitSetting { per_minute, burst };
                        let found = check_rate(&r);
                        for (field, p) in &found {
                            let key = if *field == "perMinute" {
                                "rateLimit.perMinute"
                            } else {
                                "rateLimit.burst"
                            };
                            problems.push((key, p.to_string()));
                        }
                        found.is_empty().then_some(r)
                    }
                    _ => None,
                }
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Limits {
            allowed_ips: (!ips.is_empty()).then_some(ips),
            account_ids: (!self.account_ids.is_empty()).then(|| self.account_ids.clone()),
            quota,
            rate_limit,
        })
    }
}

/// An optional whole number field: empty is `None`.
fn number(text: &str) -> Result<Option<i64>, &'static str> {
    let t: String = text.trim().chars().filter(|c| *c != ',').collect();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<i64>()
        .map(Some)
        .map_err(|_| "must be a whole number")
}

/// The API's problem with a list field: `allowedIps` itself, or `allowedIps[2]` told with the
/// entry it is about (`sent` is the list as it was sent).
pub fn list_error(
    fields: &BTreeMap<String, String>,
    name: &str,
    sent: &[String],
) -> Option<String> {
    let mut out: Vec<String> = fields.get(name).cloned().into_iter().collect();
    let prefix = format!("{name}[");
    for (key, problem) in fields {
        let Some(index) = key
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok())
        else {
            continue;
        };
        match sent.get(index) {
            Some(entry) => out.push(format!("“{entry}”: {problem}")),
            None => out.push(problem.clone()),
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// The body of `PATCH /api/v1/keys/{id}` for new limits: only what changed is sent (an absent
/// field stays as it is), and a lifted restriction is sent as `null`. Sending only changes
/// matters: a quota that is sent starts its uses again, and an unchanged field must not count
/// as widening the key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_ids: Option<Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Option<QuotaSetting>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Option<RateLimitSetting>>,
}

impl LimitsPatch {
    /// What turns `key`'s limits into `new`.
    pub fn between(key: &ApiKey, new: &Limits) -> Self {
        let sorted = |l: &Option<Vec<String>>, f: fn(&str) -> String| {
            l.as_ref().map(|l| {
                let mut v: Vec<String> = l.iter().map(|e| f(e)).collect();
                v.sort();
                v.dedup();
                v
            })
        };
        let quota_now = key.quota.as_ref().map(|q| QuotaSetting {
            limit: q.limit,
            refill: q.refill,
        });
        Self {
            allowed_ips: changed(
                sorted(&key.allowed_ips, canonical) != sorted(&new.allowed_ips, canonical),
                new.allowed_ips.clone(),
            ),
            account_ids: changed(
                sorted(&key.account_ids, str::to_string)
                    != sorted(&new.account_ids, str::to_string),
                new.account_ids.clone(),
            ),
            quota: changed(quota_now != new.quota, new.quota.clone()),
            rate_limit: changed(key.rate_limit != new.rate_limit, new.rate_limit),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `Some(new)` when it differs, else `None` (left out of the PATCH).
fn changed<T>(differs: bool, new: T) -> Option<T> {
    differs.then_some(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::key_limits::Quota;

    fn key() -> ApiKey {
        ApiKey {
            id: "k1".into(),
            name: "agent".into(),
            hint: "pfn_test_abcd…wxyz".into(),
            scopes: vec!["read:accounts".into()],
            workspace_id: "w1".into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            expires_at: None,
            last_used_at: None,
            last_used_ip: None,
            last_used_user_agent: None,
            revoked_at: None,
            status: shared::keys::KeyStatus::Active,
            allowed_ips: Some(vec!["127.0.0.1/32".into(), "2001:db8::/48".into()]),
            account_ids: Some(vec!["a1".into()]),
            quota: Some(Quota {
                limit: 10_000,
                refill: Some(QuotaRefill::Daily),
                remaining: 9_998,
                refills_at: Some("2026-12-06T00:00:00Z".into()),
            }),
            rate_limit: None,
        }
    }

    #[test]
    fn the_allowlist_splits_on_lines_commas_and_spaces() {
        assert_eq!(
            split_list(" 203.0.113.0/24,2001:db8::/48\n\n198.51.100.7 ; 203.0.113.0/24\r\n"),
            ["203.0.113.0/24", "2001:db8::/48", "198.51.100.7"]
        );
        assert!(split_list(" \n , ").is_empty());
    }

    #[test]
    fn addresses_and_blocks_of_both_families_pass_and_nothing_else() {
        for ok in [
            "127.0.0.1",
            "203.0.113.0/24",
            "0.0.0.0/0",
            "2001:db8::/48",
            "::1",
            "::ffff:203.0.113.1/128",
            "::",
            "1:2:3:4:5:6:7:8",
            "fe80::1:2/64",
        ] {
            assert_eq!(check_address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "localhost",
            "203.0.113.0/33",
            "2001:db8::/129",
            "203.0.113/24",
            "1.2.3.4/",
            "1.2.3.4/x",
            "",
            "256.1.1.1",
            "1:2:3",
            "1::2::3",
            "12345::",
            "2001:db8::g",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_fields_are_no_restriction_and_filled_ones_are_checked() {
        assert_eq!(LimitsText::default().parse(), Ok(Limits::default()));
        let text = LimitsText {
            allowed_ips: "127.0.0.1".into(),
            account_ids: vec!["a1".into()],
            quota_limit: "1,000".into(),
            quota_refill: "daily".into(),
            rate_per_minute: "60".into(),
            rate_burst: "10".into(),
        };
        assert_eq!(
            text.parse(),
            Ok(Limits {
                allowed_ips: Some(vec!["127.0.0.1".into()]),
                account_ids: Some(vec!["a1".into()]),
                quota: Some(QuotaSetting {
                    limit: 1000,
                    refill: Some(QuotaRefill::Daily)
                }),
                rate_limit: Some(RateLimitSetting {
                    per_minute: 60,
                    burst: 10
                }),
            })
        );
        let never = LimitsText {
            quota_limit: "5".into(),
            ..Default::default()
        };
        assert_eq!(never.parse().unwrap().quota.unwrap().refill, None);
        let bad = LimitsText {
            allowed_ips: "10.0.0.1, nope, 10.0.0.0/99".into(),
            quota_limit: "0".into(),
            rate_per_minute: "60".into(),
            ..Default::default()
        };
        let problems = bad.parse().unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["allowedIps", "quota.limit", "rateLimit.burst"]);
        assert!(
            problems[0].1.contains("“nope”, “10.0.0.0/99”"),
            "{problems:?}"
        );
        let rate = LimitsText {
            rate_per_minute: "200000".into(),
            rate_burst: "ten".into(),
            ..Default::default()
        };
        assert_eq!(
            rate.parse().unwrap_err(),
            [("rateLimit.burst", "must be a whole number".to_string())]
        );
        let rate = LimitsText {
            rate_per_minute: "200000".into(),
            rate_burst: "10".into(),
            ..Default::default()
        };
        assert_eq!(
            rate.parse().unwrap_err(),
            [(
                "rateLimit.perMinute",
                "must be from 1 to 100000".to_string()
            )]
        );
    }

    #[test]
    fn the_apis_list_errors_name_the_entry_sent() {
        let fields: BTreeMap<String, String> = [
            ("allowedIps[1]".to_string(), "not an address".to_string()),
            ("accountIds[0]".to_string(), "no such account".to_string()),
            ("quota.limit".to_string(), "too big".to_string()),
        ]
        .into();
        let sent = vec!["10.0.0.1".to_string(), "nope".to_string()];
        assert_eq!(
            list_error(&fields, "allowedIps", &sent).as_deref(),
            Some("“nope”: not an address")
        );
        assert_eq!(
            list_error(&fields, "accountIds", &[]).as_deref(),
            Some("no such account")
        );
        assert_eq!(list_error(&fields, "quota", &[]), None);
    }

    #[test]
    fn a_patch_carries_only_changes_and_null_for_a_lifted_restriction() {
        let k = key();
        // The form as it was filled from the key: nothing to send.
        let same = LimitsText::of_key(&k).parse().unwrap();
        assert!(LimitsPatch::between(&k, &same).is_empty());
        // A bare address equals its /32 form.
        let bare = Limits {
            allowed_ips: Some(vec!["2001:db8::/48".into(), "127.0.0.1".into()]),
            ..same.clone()
        };
        assert!(LimitsPatch::between(&k, &bare).is_empty());

        let new = Limits {
            quota: Some(QuotaSetting {
                limit: 500,
                refill: Some(QuotaRefill::Daily),
            }),
            account_ids: None,
            ..same
        };
        let patch = LimitsPatch::between(&k, &new);
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({"accountIds": null, "quota": {"limit": 500, "refill": "daily"}})
        );
    }
}

//! A key's limits beyond its scopes, as requests give them and answers show them: the address
//! allowlist, the accounts it reaches, its quota and its own rate limit. Checked here; enforced
//! by `access::Caller`.

use std::collections::BTreeMap;

use ipnet::IpNet;
use shared::key_limits::{
    check_quota, check_rate, Quota, QuotaSetting, RateLimitSetting, MAX_LIST,
};

use crate::{
    clock::{next_refill, period_start, rfc3339},
    db::{
        self,
        keys::{KeyLimits, QuotaRow},
    },
    error::Result,
    state::AppState,
};

/// Problems, keyed by JSON path.
pub type Fields = BTreeMap<String, String>;

/// An allowlist in canonical form (`203.0.113.0/24`; a bare address as `/32` or `/128`;
/// IPv4-mapped IPv6 as IPv4), sorted, without duplicates.
pub fn allowlist(fields: &mut Fields, list: &[String]) -> Vec<String> {
    if list.is_empty() || list.len() > MAX_LIST {
        fields.insert(
            "allowedIps".into(),
            format!("give 1 to {MAX_LIST} addresses or CIDR blocks, or null for anywhere"),
        );
    }
    let mut out = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let parsed = raw
            .parse::<IpNet>()
            .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => out.push(canonical(net).to_string()),
            Err(_) => {
                fields.insert(
                    format!("allowedIps[{i}]"),
                    "not an IPv4 or IPv6 address or CIDR block (e.g. 203.0.113.0/24)".into(),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The network a block covers (host bits dropped), IPv4-mapped IPv6 as IPv4.
fn canonical(net: IpNet) -> IpNet {
    let net = net.trunc();
    match net {
        IpNet::V6(v6) => match (v6.addr().to_ipv4_mapped(), v6.prefix_len()) {
            (Some(v4), len) if len >= 96 => {
                IpNet::new(v4.into(), len - 96).map_or(net, |n| n.trunc())
            }
            _ => net,
        },
        v4 => v4,
    }
}

/// Account ids of the key's workspace, sorted, without duplicates; each must exist now.
pub async fn accounts(
    state: &AppState,
    fields: &mut Fields,
    workspace_id: &str,
    list: &[String],
) -> Result<Vec<String>> {
    if list.is_empty() || list.len() > MAX_LIST {
        fields.insert(
            "accountIds".into(),
            format!("give 1 to {MAX_LIST} account ids, or null for the whole workspace"),
        );
    }
    let known: std::collections::HashSet<String> =
        db::finance::all_accounts(&state.db.pool, workspace_id, None)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
    for (i, id) in list.iter().enumerate() {
        if !known.contains(id) {
            fields.insert(
                format!("accountIds[{i}]"),
                "no such account in the key's workspace".into(),
            );
        }
    }
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A quota as stored: its uses start at the limit, in the period that contains `now`.
pub fn quota(fields: &mut Fields, q: &QuotaSetting, now: i64) -> QuotaRow {
    if let Some(problem) = check_quota(q) {
        fields.insert("quota.limit".into(), problem.into());
    }
    QuotaRow {
        limit: q.limit,
        refill: q.refill,
        remaining: q.limit,
        period: q.refill.map_or(now, |r| period_start(r, now)),
    }
}

/// A rate limit as stored: `(per minute, burst)`.
pub fn rate(fields: &mut Fields, r: &RateLimitSetting) -> (i64, i64) {
    for (field, problem) in check_rate(r) {
        fields.insert(format!("rateLimit.{field}"), problem.into());
    }
    (i64::from(r.per_minute), i64::from(r.burst))
}

/// What is left of a quota at `now`: a quota last used in an earlier period is full again.
pub fn quota_view(q: &QuotaRow, remaining: Option<i64>, now: i64) -> Quota {
    let refilled = q.refill.is_some_and(|r| q.period < period_start(r, now));
    Quota {
        limit: q.limit,
        refill: q.refill,
        remaining: match (remaining, refilled) {
            (Some(left), _) => left,
            (None, true) => q.limit,
            (None, false) => q.remaining,
        }
        .max(0),
        refills_at: q.refill.map(|r| rfc3339(next_refill(r, now))),
    }
}

pub fn rate_view(rate: Option<(i64, i64)>) -> Option<RateLimitSetting> {
    rate.map(|(per_minute, burst)| RateLimitSetting {
        per_minute: per_minute as u32,
        burst: burst as u32,
    })
}

/// Whether `new` lets the key do anything `old` did not: another address, another account or
/// the whole workspace, more uses, more frequent refills, a higher rate. Such a change needs
/// step-up (a recent sign-in) in a browser session.
pub fn widens(old: &KeyLimits, new: &KeyLimits, now: i64) -> bool {
    let ips = match (&old.allowed_ips, &new.allowed_ips) {
        (_, None) => old.allowed_ips.is_some(),
        (None, Some(_)) => false,
        (Some(old), Some(new)) => {
            let old: Vec<IpNet> = old.iter().filter_map(|s| s.parse().ok()).collect();
            new.iter()
                .filter_map(|s| s.parse::<IpNet>().ok())
                .any(|n| !old.iter().any(|o| o.contains(&n)))
        }
    };
    let accounts = match (&old.account_ids, &new.account_ids) {
        (_, None) => old.account_ids.is_some(),
        (None, Some(_)) => false,
        (Some(old), Some(new)) => new.iter().any(|id| !old.contains(id)),
    };
    let quota = match (&old.quota, &new.quota) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(o), Some(n)) if o == n => false,
        (Some(o), Some(n)) => {
            let left = quota_view(o, None, now).remaining;
            // A new quota starts at its limit: more than what is left now is more.
            n.limit > left
                || n.limit > o.limit
                || match (o.refill, n.refill) {
                    (None, Some(_)) => true,
                    (Some(a), Some(b)) => b < a,
                    _ => false,
                }
        }
    };
    let rate = match (old.rate, new.rate) {
        (_, None) => old.rate.is_some(),
        (None, Some(_)) => false,
        (Some((op, ob)), Some((np, nb))) => np > op || nb > ob,
    };
    ips || accounts || quota || rate
}

#[cfg(test)]
mod tests {
    use shared::key_limits::QuotaRefill::{Daily, Monthly};

    use super::*;

    fn list(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn allowlists_are_canonical_and_refuse_junk() {
        let mut f = Fields::new();
        let got = allowlist(
            &mut f,
            &[
                "203.0.113.77/24".into(),
                "198.51.100.7".into(),
                "2001:DB8::1/48".into(),
                "::ffff:192.0.2.1".into(),
                "203.0.113.0/24".into(),
            ],
        );
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(
            got,
            [
                "192.0.2.1/32",
                "198.51.100.7/32",
                "2001:db8::/48",
                "203.0.113.0/24"
            ]
        );
        let mut f = Fields::new();
        allowlist(&mut f, &["10.0.0.0/33".into(), "example.com".into()]);
        assert!(f.contains_key("allowedIps[0]") && f.contains_key("allowedIps[1]"));
        let mut f = Fields::new();
        allowlist(&mut f, &[]);
        assert!(
            f.contains_key("allowedIps"),
            "an empty list is not 'anywhere'"
        );
    }

    #[test]
    fn narrowing_needs_no_step_up_and_widening_does() {
        let now = 1_796_441_700;
        let base = KeyLimits {
            allowed_ips: list(&["203.0.113.0/24"]),
            account_ids: list(&["a", "b"]),
            quota: Some(QuotaRow {
                limit: 100,
                refill: Some(Monthly),
                remaining: 40,
                period: period_start(Monthly, now),
            }),
            rate: Some((60, 10)),
        };
        let with = |f: &dyn Fn(&mut KeyLimits)| {
            let mut l = base.clone();
            f(&mut l);
            widens(&base, &l, now)
        };
        assert!(!with(&|_| {}));
        assert!(!with(&|l| l.allowed_ips = list(&["203.0.113.128/25"])));
        assert!(with(&|l| l.allowed_ips = list(&["203.0.114.0/24"])));
        assert!(with(&|l| l.allowed_ips = None));
        assert!(!with(&|l| l.account_ids = list(&["a"])));
        assert!(with(&|l| l.account_ids = list(&["a", "c"])));
        assert!(with(&|l| l.account_ids = None));
        assert!(with(&|l| l.quota = None));
        let q = |limit, refill| {
            Some(QuotaRow {
                limit,
                refill,
                remaining: limit,
                period: now,
            })
        };
        assert!(
            !with(&|l| l.quota = q(40, Some(Monthly))),
            "what is left, no more"
        );
        assert!(
            with(&|l| l.quota = q(41, Some(Monthly))),
            "more than is left"
        );
        assert!(
            with(&|l| l.quota = q(10, Some(Daily))),
            "refills more often"
        );
        assert!(!with(&|l| l.quota = q(10, None)));
        assert!(!with(&|l| l.rate = Some((30, 10))));
        assert!(with(&|l| l.rate = Some((61, 10))));
        assert!(with(&|l| l.rate = None));
        // A key without limits gains some: never wider.
        let open = KeyLimits::default();
        assert!(!widens(&open, &base, now));
        assert!(widens(&base, &open, now));
    }
}

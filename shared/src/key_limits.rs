//! What an API key is limited to beyond its scopes: where it may be used from, which accounts
//! it reaches, how many requests it may make (issue "Agent-safe keys"; docs/api-guide.md).

use serde::{Deserialize, Serialize};

/// The most entries an allowlist or an account list may hold.
pub const MAX_LIST: usize = 100;

/// When a quota is reset to its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum QuotaRefill {
    /// Every day at 00:00 UTC.
    Daily,
    /// On the 1st of every month at 00:00 UTC.
    Monthly,
}

impl QuotaRefill {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "daily" => Some(Self::Daily),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }
}

/// A quota as it is set: `limit` uses, reset to `limit` at each `refill` (`null`: never).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"limit": 1000, "refill": "daily"})))]
pub struct QuotaSetting {
    /// Requests allowed per period, 1–1,000,000,000.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 1_000_000_000, example = 1000)
    )]
    pub limit: i64,
    /// `daily`, `monthly`, or `null`: the uses never come back.
    #[serde(default)]
    pub refill: Option<QuotaRefill>,
}

/// A key's quota and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    #[cfg_attr(feature = "openapi", schema(example = 1000))]
    pub limit: i64,
    pub refill: Option<QuotaRefill>,
    /// Requests left until `refillsAt`.
    #[cfg_attr(feature = "openapi", schema(example = 742))]
    pub remaining: i64,
    /// When `remaining` goes back to `limit`; `null` when the quota does not refill.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-06T00:00:00Z"))]
    pub refills_at: Option<String>,
}

/// A key's own rate limit, in place of the server's (`PFN_KEY_RATE_PER_MIN`,
/// `PFN_KEY_BURST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"perMinute": 60, "burst": 10})))]
pub struct RateLimitSetting {
    /// Sustained requests per minute, 1–100,000.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 100_000, example = 60)
    )]
    pub per_minute: u32,
    /// How many may come at once, 1–10,000.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 10_000, example = 10)
    )]
    pub burst: u32,
}

/// Checks a rate-limit setting; `(field, problem)` for each problem.
pub fn check_rate(r: &RateLimitSetting) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if !(1..=100_000).contains(&r.per_minute) {
        out.push(("perMinute", "must be from 1 to 100000"));
    }
    if !(1..=10_000).contains(&r.burst) {
        out.push(("burst", "must be from 1 to 10000"));
    }
    out
}

/// Checks a quota setting; the problem, if any.
pub fn check_quota(q: &QuotaSetting) -> Option<&'static str> {
    (!(1..=1_000_000_000).contains(&q.limit)).then_some("must be from 1 to 1000000000")
}

/// One day of a key's requests (UTC). Counted by each server and added up within a minute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyUsageDay {
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-05"))]
    pub date: String,
    /// Requests the key was allowed to make.
    #[cfg_attr(feature = "openapi", schema(example = 412))]
    pub ok: i64,
    /// Refused by the key's rate limit (429 `rate_limited`).
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub rate_limited: i64,
    /// Refused, by reason: `revoked`, `expired`, `scope`, `ip` (allowlist), `accounts`
    /// (restricted to some accounts), `quota` (quota used up), `other`. Reasons with none are
    /// left out.
    #[cfg_attr(feature = "openapi", schema(example = json!({"ip": 2, "scope": 1})))]
    pub denied: std::collections::BTreeMap<String, i64>,
}

/// `GET /api/v1/keys/{id}/usage`: a key's requests per day, every day of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyUsage {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")
    )]
    pub key_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-06"))]
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-05"))]
    pub to: String,
    /// Oldest first, one per day from `from` to `to`.
    pub days: Vec<KeyUsageDay>,
}

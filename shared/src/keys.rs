//! API key format and scopes (product.md §2, §8).
//!
//! A key is `pfn_live_` or `pfn_test_`, then 43 base62 characters (a 256-bit random number,
//! big-endian, left-padded with `0`), then 6 base62 characters of CRC-32 over the prefix and
//! body. The checksum lets secret scanners and the server reject typos and fakes before any
//! database lookup; it is not a security boundary (the 256 random bits are).

use serde::{Deserialize, Serialize};

use crate::key_limits::{Quota, QuotaSetting, RateLimitSetting};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const BODY_LEN: usize = 43;
pub const CHECKSUM_LEN: usize = 6;
pub const PREFIX_LEN: usize = 9; // "pfn_live_"
pub const KEY_LEN: usize = PREFIX_LEN + BODY_LEN + CHECKSUM_LEN;

/// Which server a key belongs to: `test` keys are minted while the bundled Tarabut sandbox is in
/// use, `live` keys otherwise; a server refuses the other kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEnv {
    Live,
    Test,
}

impl KeyEnv {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Live => "pfn_live_",
            Self::Test => "pfn_test_",
        }
    }
}

/// Why a string is not a well-formed key (all answer 401 `malformed_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormatError {
    Prefix,
    Length,
    Charset,
    Checksum,
}

/// Base62 of a big-endian number, left-padded with `0` to `width`.
fn base62(mut n: Vec<u8>, width: usize) -> String {
    let mut out = Vec::with_capacity(width);
    while n.iter().any(|&b| b != 0) {
        // Long division of the big-endian byte string by 62.
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 62) as u8;
            rem = cur % 62;
        }
        out.push(ALPHABET[rem as usize]);
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("alphabet is ASCII")
}

fn checksum(prefix_and_body: &str) -> String {
    base62(
        crc32fast::hash(prefix_and_body.as_bytes())
            .to_be_bytes()
            .to_vec(),
        CHECKSUM_LEN,
    )
}

/// Formats 32 random bytes as a key.
pub fn format_key(env: KeyEnv, random: [u8; 32]) -> String {
    let head = format!("{}{}", env.prefix(), base62(random.to_vec(), BODY_LEN));
    let sum = checksum(&head);
    head + &sum
}

/// Checks shape and checksum, without any lookup.
pub fn parse_key(key: &str) -> Result<KeyEnv, KeyFormatError> {
    let env = if key.starts_with(KeyEnv::Live.prefix()) {
        KeyEnv::Live
    } else if key.starts_with(KeyEnv::Test.prefix()) {
        KeyEnv::Test
    } else {
        return Err(KeyFormatError::Prefix);
    };
    if key.len() != KEY_LEN {
        return Err(KeyFormatError::Length);
    }
    if !key[PREFIX_LEN..].bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Charset);
    }
    let (head, sum) = key.split_at(PREFIX_LEN + BODY_LEN);
    if checksum(head) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(env)
}

/// What lists show instead of the key: `pfn_live_abcd…wxyz`.
pub fn key_hint(key: &str) -> String {
    let body_start = PREFIX_LEN.min(key.len());
    let first = key.get(body_start..body_start + 4).unwrap_or_default();
    let last = key.get(key.len().saturating_sub(4)..).unwrap_or_default();
    format!(
        "{}{first}…{last}",
        key.get(..body_start).unwrap_or_default()
    )
}

/// Every scope, with what it allows. `write:x` implies `read:x`.
pub const SCOPES: &[(&str, &str)] = &[
    ("read:accounts", "List accounts and their balances."),
    (
        "write:accounts",
        "Create and change manual accounts (implies read:accounts).",
    ),
    ("read:transactions", "List and read transactions."),
    (
        "write:transactions",
        "Push transactions and edit their category, note and tags (implies read:transactions).",
    ),
    ("read:budgets", "List budgets with spent-so-far."),
    (
        "write:budgets",
        "Create, change and delete budgets (implies read:budgets).",
    ),
    (
        "read:insights",
        "Read spending, income, salary and balance-history insights.",
    ),
    (
        "read:connections",
        "List bank providers, connections and sync status.",
    ),
    (
        "write:connections",
        "Connect banks, start syncs, refresh balances, disconnect (implies read:connections).",
    ),
    (
        "read:webhooks",
        "List webhook endpoints and their deliveries (workspace owners' keys only).",
    ),
    (
        "write:webhooks",
        "Create, change, test and delete webhook endpoints, retry deliveries (implies read:webhooks; workspace owners' keys only).",
    ),
];

pub fn is_scope(s: &str) -> bool {
    SCOPES.iter().any(|(name, _)| *name == s)
}

/// True when `granted` allows `needed` (directly, or `write:x` for `read:x`).
pub fn scope_allows(granted: &[String], needed: &str) -> bool {
    granted.iter().any(|g| {
        g == needed
            || needed
                .strip_prefix("read:")
                .is_some_and(|res| g.strip_prefix("write:") == Some(res))
    })
}

/// One scope and its description (`GET /api/v1/scopes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeInfo {
    #[cfg_attr(feature = "openapi", schema(example = "read:transactions"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "List and read transactions."))]
    pub description: String,
}

/// Every scope an API key can have: `GET /api/v1/scopes` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopesBody {
    pub scopes: Vec<ScopeInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_exact_format_and_round_trip() {
        for seed in [[0u8; 32], [255u8; 32], [7u8; 32]] {
            let key = format_key(KeyEnv::Live, seed);
            assert_eq!(key.len(), KEY_LEN, "{key}");
            assert!(key.starts_with("pfn_live_"));
            assert_eq!(parse_key(&key), Ok(KeyEnv::Live));
        }
        let zero = format_key(KeyEnv::Test, [0u8; 32]);
        assert!(zero.starts_with(&format!("pfn_test_{}", "0".repeat(43))));
        // 2^256 - 1 in base62 is 43 digits, the largest body there is.
        assert!(!format_key(KeyEnv::Live, [255u8; 32])[9..52].starts_with('0'));
    }

    #[test]
    fn typos_and_fakes_fail_before_any_lookup() {
        let key = format_key(KeyEnv::Live, [42u8; 32]);
        let mut typo = key.clone().into_bytes();
        typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            parse_key(std::str::from_utf8(&typo).unwrap()),
            Err(KeyFormatError::Checksum)
        );
        assert_eq!(parse_key(&key[..KEY_LEN - 1]), Err(KeyFormatError::Length));
        assert_eq!(parse_key("sk_live_abc"), Err(KeyFormatError::Prefix));
        let bad_char = format!("{}-{}", &key[..30], &key[31..]);
        assert_eq!(parse_key(&bad_char), Err(KeyFormatError::Charset));
        assert_eq!(
            parse_key(&format!("pfn_live_{}", "é".repeat(24))),
            Err(KeyFormatError::Length)
        );
    }

    #[test]
    fn hints_show_only_the_ends() {
        let key = format_key(KeyEnv::Live, [9u8; 32]);
        let hint = key_hint(&key);
        assert!(
            hint.starts_with(&key[..13])
                && hint.ends_with(&key[KEY_LEN - 4..])
                && hint.contains('…')
        );
        assert_eq!(key_hint("short"), "short…hort", "never panics on odd input");
    }

    #[test]
    fn write_scopes_imply_read_of_the_same_resource_only() {
        let granted = vec!["write:transactions".to_string()];
        assert!(scope_allows(&granted, "read:transactions"));
        assert!(scope_allows(&granted, "write:transactions"));
        assert!(!scope_allows(&granted, "read:budgets"));
        assert!(!scope_allows(
            &["read:transactions".to_string()],
            "write:transactions"
        ));
        assert!(SCOPES.iter().all(|(s, _)| is_scope(s)) && !is_scope("admin"));
    }
}

/// An API key as lists show it: never the secret or its hash. `GET /api/v1/keys` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Budget agent"))]
    pub name: String,
    /// First and last characters only, e.g. `pfn_live_7Gk2…zvHn`.
    #[cfg_attr(feature = "openapi", schema(example = "pfn_live_7Gk2…zvHn"))]
    pub hint: String,
    #[cfg_attr(feature = "openapi", schema(example = json!(["read:transactions", "write:transactions"])))]
    pub scopes: Vec<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:15:00Z"))]
    pub created_at: String,
    /// `null`: never expires.
    #[cfg_attr(feature = "openapi", schema(example = "2027-02-21T10:15:00Z"))]
    pub expires_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T08:42:17Z"))]
    pub last_used_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "203.0.113.24"))]
    pub last_used_ip: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "python-httpx/0.27.2"))]
    pub last_used_user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-30T12:00:00Z"))]
    pub revoked_at: Option<String>,
    pub status: KeyStatus,
    /// The addresses (IPs or CIDR blocks, IPv4 and IPv6) the key may be used from; `null`:
    /// anywhere.
    #[cfg_attr(feature = "openapi", schema(example = json!(["203.0.113.0/24", "2001:db8::/48"])))]
    pub allowed_ips: Option<Vec<String>>,
    /// The accounts the key reaches; `null`: the whole workspace. A key restricted to accounts
    /// that were all deleted reaches nothing.
    #[cfg_attr(feature = "openapi", schema(example = json!(["0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a"])))]
    pub account_ids: Option<Vec<String>>,
    /// The key's quota and what is left of it; `null`: none.
    pub quota: Option<Quota>,
    /// The key's own rate limit; `null`: the server's.
    pub rate_limit: Option<RateLimitSetting>,
}

/// Whether an API key works now: `ApiKey.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
    /// The owner's account is disabled; the key works again if it is re-enabled.
    Suspended,
}

/// `{"key": …}`: `GET /api/v1/keys/{id}` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyBody {
    pub key: ApiKey,
}

/// A new key and, this once, its secret. `POST /api/v1/keys` and `POST /api/v1/keys/{id}/rotate`
/// answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedKeyBody {
    pub key: ApiKey,
    /// The whole key. Shown only in this response: store it now.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "pfn_live_7Gk2mN0pQ4rS6tU8vW0xY2zA4bC6dE8fG0hI2jK4lM61YzvHn")
    )]
    pub secret: String,
}

/// The body of `POST /api/v1/keys`: a new API key's name, scopes, expiry and workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "Budget agent", "scopes": ["read:transactions", "write:transactions"], "expiresInDays": 90})))]
pub struct CreateKeyRequest {
    /// 1–100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 100, example = "Budget agent")
    )]
    pub name: String,
    /// At least one scope from `GET /api/v1/scopes`.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, example = json!(["read:transactions", "write:transactions"])))]
    pub scopes: Vec<String>,
    /// 1–365; omitted: 90; `null`: never expires.
    #[serde(default = "default_expiry", deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 1, maximum = 365, example = 90))]
    pub expires_in_days: Option<i64>,
    /// Defaults to the caller's personal workspace.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: Option<String>,
    /// IPs or CIDR blocks (IPv4, IPv6; at most 100) the key may be used from; omitted or
    /// `null`: anywhere.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = json!(["203.0.113.0/24", "2001:db8::/48"])))]
    pub allowed_ips: Option<Vec<String>>,
    /// Accounts of the workspace (at most 100) the key is limited to; omitted or `null`: the
    /// whole workspace.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = json!(["0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a"])))]
    pub account_ids: Option<Vec<String>>,
    /// Requests allowed per period; omitted or `null`: no quota.
    #[serde(default)]
    pub quota: Option<QuotaSetting>,
    /// The key's own rate limit; omitted or `null`: the server's.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSetting>,
}

fn default_expiry() -> Option<i64> {
    Some(90)
}

/// Present-but-null stays `None`; absence is handled by `default`.
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<i64>::deserialize(d)
}

/// The body of `POST /api/v1/keys/{id}/rotate`: how long the old key keeps working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"gracePeriodSeconds": 3600})))]
pub struct RotateKeyRequest {
    /// 0–86400: how long the old key keeps working.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 86400, example = 3600)
    )]
    pub grace_period_seconds: i64,
}

/// The body of `PATCH /api/v1/keys/{id}`: what may change on a key without replacing it. An
/// absent field stays as it is; `null` removes the restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "budget agent (laptop)", "allowedIps": ["203.0.113.0/24"]})))]
pub struct UpdateKeyRequest {
    /// 1–100 characters after trimming, no control characters (as at creation).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "budget agent (laptop)", min_length = 1, max_length = 100)
    )]
    pub name: Option<String>,
    /// As at creation; `null`: anywhere.
    #[serde(default, deserialize_with = "crate::finance::patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, example = json!(["203.0.113.0/24"])))]
    pub allowed_ips: Option<Option<Vec<String>>>,
    /// As at creation; `null`: the whole workspace.
    #[serde(default, deserialize_with = "crate::finance::patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, example = json!(["0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a"])))]
    pub account_ids: Option<Option<Vec<String>>>,
    /// A new quota (its uses start again at `limit`); `null`: no quota.
    #[serde(default, deserialize_with = "crate::finance::patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<QuotaSetting>))]
    pub quota: Option<Option<QuotaSetting>>,
    /// A new rate limit for the key; `null`: the server's.
    #[serde(default, deserialize_with = "crate::finance::patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RateLimitSetting>))]
    pub rate_limit: Option<Option<RateLimitSetting>>,
}

/// Who is calling (`GET /api/v1/whoami`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")
    )]
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "layla@example.com"))]
    pub email: String,
    /// `session` or `key`.
    #[cfg_attr(feature = "openapi", schema(example = "key"))]
    pub auth: String,
    /// The key's id; `null` for a browser session.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")
    )]
    pub key_id: Option<String>,
    /// What the caller may do; a session has every scope.
    #[cfg_attr(feature = "openapi", schema(example = json!(["read:transactions", "write:transactions"])))]
    pub scopes: Vec<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: String,
    /// The caller's role in that workspace: `owner` (connects and disconnects banks, manages
    /// members and keys) or `member` (reads, writes finance data, asks for syncs). A key acts
    /// with the role of the user who made it.
    #[cfg_attr(feature = "openapi", schema(example = "owner"))]
    pub workspace_role: String,
    /// A key's address allowlist; `null`: anywhere (and for a session).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = json!(["203.0.113.0/24"])))]
    pub allowed_ips: Option<Vec<String>>,
    /// The accounts a key reaches; `null`: the whole workspace (and for a session).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = json!(["0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a"])))]
    pub account_ids: Option<Vec<String>>,
    /// A key's quota, with what is left after this request; `null`: none.
    #[serde(default)]
    pub quota: Option<Quota>,
    /// A key's own rate limit; `null`: the server's (and for a session).
    #[serde(default)]
    pub rate_limit: Option<RateLimitSetting>,
}

/// One security event. `GET /api/v1/audit-log` and `GET /api/v1/admin/users/{id}/audit-log` list
/// these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6fa-8b9c-7dae-b56a-2b3c4d5e6f7a")
    )]
    pub id: String,
    /// e.g. `user.login`, `key.created`, `key.denied`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "key.used"))]
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:15:00Z"))]
    pub occurred_at: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")
    )]
    pub actor_user_id: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")
    )]
    pub actor_key_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "203.0.113.24"))]
    pub ip: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"
        )
    )]
    pub user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "api_key"))]
    pub target_type: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")
    )]
    pub target_id: Option<String>,
    /// `success`, `failure` or `denied`.
    #[cfg_attr(feature = "openapi", schema(example = "success"))]
    pub outcome: String,
}

//! Where Tarabut is and how the client and the sync schedule behave (`PFN_TARABUT_*`).

use secrecy::SecretString;
use url::Url;

/// Where Tarabut is.
#[derive(Debug, Clone)]
pub enum TarabutTarget {
    /// Unset `PFN_TARABUT_URL`: the bundled sandbox is started in-process and used.
    Bundled { listen: String },
    Remote {
        url: Url,
        token_url: Url,
        client_id: String,
        client_secret: SecretString,
    },
}

/// The Tarabut client's behaviour and the bank-sync schedule.
#[derive(Debug, Clone)]
pub struct TarabutConfig {
    pub target: TarabutTarget,
    /// Per upstream request.
    pub timeout_ms: u64,
    /// Retries of 429 / 5xx / timeouts after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles per retry, with full jitter, capped at 10 s.
    pub retry_base_ms: u64,
    /// Outbound requests per second to Tarabut from this replica (0 = unlimited).
    pub rate_per_sec: u32,
    /// Periodic sync of every active connection (0 turns the scheduler off).
    pub sync_interval_secs: u64,
    /// How far back a sync reads transactions.
    pub history_days: u32,
}

pub(super) fn tarabut_config(
    get: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
) -> TarabutConfig {
    let mut number = |key: &str, default: u64| match get(key) {
        None => default,
        Some(v) => v.parse().unwrap_or_else(|_| {
            errors.push(format!("{key}={v:?} is not a whole number"));
            default
        }),
    };
    let timeout_ms = number("PFN_TARABUT_TIMEOUT_MS", 10_000).max(1);
    let max_retries = number("PFN_TARABUT_MAX_RETRIES", 5).min(20) as u32;
    let retry_base_ms = number("PFN_TARABUT_RETRY_BASE_MS", 200);
    let rate_per_sec = number("PFN_TARABUT_RATE_PER_SEC", 50).min(100_000) as u32;
    let sync_interval_secs = number("PFN_SYNC_INTERVAL_SECS", 6 * 3600);
    let history_days = number("PFN_SYNC_HISTORY_DAYS", 400).clamp(1, 3650) as u32;
    let parse_url = |key: &str, errors: &mut Vec<String>| {
        get(key).and_then(|v| match Url::parse(v.trim_end_matches('/')) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
            _ => {
                errors.push(format!("{key}={v:?} is not an http(s) URL"));
                None
            }
        })
    };
    let target = match (
        parse_url("PFN_TARABUT_URL", errors),
        get("PFN_TARABUT_CLIENT_ID"),
        get("PFN_TARABUT_CLIENT_SECRET"),
    ) {
        (None, None, None) if get("PFN_TARABUT_URL").is_none() => TarabutTarget::Bundled {
            listen: get("PFN_SANDBOX_LISTEN").unwrap_or_else(|| "127.0.0.1:0".into()),
        },
        (Some(url), Some(client_id), Some(client_secret)) => {
            let token_url = parse_url("PFN_TARABUT_TOKEN_URL", errors).unwrap_or_else(|| {
                // The legacy token path lives on the API host; Tarabut's OAuth host
                // (https://oauth.tarabutgateway.io/sandbox/token) is set with PFN_TARABUT_TOKEN_URL.
                let mut t = url.clone();
                t.set_path(&format!(
                    "{}/auth/v1/token",
                    url.path().trim_end_matches('/')
                ));
                t
            });
            TarabutTarget::Remote {
                url,
                token_url,
                client_id,
                client_secret: client_secret.into(),
            }
        }
        (u, id, secret) => {
            if get("PFN_TARABUT_URL").is_some() || id.is_some() || secret.is_some() {
                let missing: Vec<&str> = [
                    ("PFN_TARABUT_URL", u.is_none()),
                    ("PFN_TARABUT_CLIENT_ID", id.is_none()),
                    ("PFN_TARABUT_CLIENT_SECRET", secret.is_none()),
                ]
                .into_iter()
                .filter_map(|(k, missing)| missing.then_some(k))
                .collect();
                errors.push(format!(
                    "Tarabut is half-configured: set PFN_TARABUT_URL, PFN_TARABUT_CLIENT_ID and PFN_TARABUT_CLIENT_SECRET together (missing or invalid: {}), or none of them to use the bundled sandbox",
                    missing.join(", ")
                ));
            }
            TarabutTarget::Bundled {
                listen: "127.0.0.1:0".into(),
            }
        }
    };
    TarabutConfig {
        target,
        timeout_ms,
        max_retries,
        retry_base_ms,
        rate_per_sec,
        sync_interval_secs,
        history_days,
    }
}

//! Outbound webhooks: the HTTP client that only dials public addresses ([`guard`]), Standard
//! Webhooks messages and signatures. The worker that delivers them is `webhooks::worker`.
//! docs/webhooks.md is the user's side of this.

pub mod guard;

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::Rng;
use sha2::{Digest, Sha256};
use shared::webhooks::{WebhookEvent, WebhookEventData};
use tokio::sync::Notify;

use crate::{config::WebhookConfig, db::webhooks::deliveries::Key};

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// A delivery is given up this long after it was first due (scaled).
pub const GIVE_UP_MS: i64 = 3 * 86_400_000;
/// An endpoint failing this long is disabled (scaled).
pub const DISABLE_AFTER_MS: i64 = 5 * 86_400_000;
/// After a rotation the previous secret also signs for this long.
pub const PREVIOUS_SECRET_SECS: i64 = 86_400;

/// The outbound side in the application state.
pub struct Outbound {
    client: reqwest::Client,
    lookup: guard::SharedLookup,
    pub allow_private: bool,
    scale: f64,
    wake: Notify,
}

impl Outbound {
    pub fn new(config: &WebhookConfig) -> anyhow::Result<Self> {
        let lookup: guard::SharedLookup = Arc::new(RwLock::new(Arc::new(guard::SystemLookup)));
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard::GuardedResolver {
                lookup: lookup.clone(),
                allow_loopback: config.allow_private,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("pfn-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            lookup,
            allow_private: config.allow_private,
            scale: config.retry_scale,
            wake: Notify::new(),
        })
    }

    /// Replaces name resolution (tests: answer private addresses without asking DNS).
    pub fn set_lookup(&self, lookup: Arc<dyn guard::Lookup>) {
        *self.lookup.write().unwrap_or_else(|e| e.into_inner()) = lookup;
    }

    /// Tells this replica's worker to look now (after a commit that wrote events).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `ms` on the configured schedule (`PFN_WEBHOOK_RETRY_SCALE`).
    pub fn scaled(&self, ms: i64) -> i64 {
        ((ms as f64) * self.scale).round() as i64
    }

    /// How long to wait after the `failures`-th failure in a row: 5 s, 20 s, 80 s, … ×4 each
    /// time, at most 6 h, ±25 % jitter (so a fleet of endpoints does not retry in step).
    pub fn backoff_ms(&self, failures: i64) -> i64 {
        let exp = failures.clamp(1, 12) as u32 - 1;
        let base = (5_000i64.saturating_mul(4i64.saturating_pow(exp))).min(6 * 3_600_000);
        let jitter = rand::thread_rng().gen_range(0.75..1.25);
        self.scaled(((base as f64) * jitter) as i64).max(1)
    }
}

/// After a `PFN_SECRET` rotation: seals every endpoint's secrets that the previous server
/// secret sealed under the current one. How many endpoints.
pub async fn reseal_secrets(
    db: &crate::db::Db,
    keyring: &crate::crypto::Keyring,
) -> anyhow::Result<u64> {
    use crate::crypto::WEBHOOK_SECRET;
    if !keyring.rotating() {
        return Ok(0);
    }
    let mut resealed = 0;
    for (id, sealed, previous) in crate::db::webhooks::sealed_secrets(&db.pool).await? {
        let Some(current) = keyring.open(WEBHOOK_SECRET, &sealed) else {
            continue;
        };
        let prev = previous.and_then(|p| keyring.open(WEBHOOK_SECRET, &p));
        if !current.stale && prev.as_ref().is_none_or(|p| !p.stale) {
            continue;
        }
        let new = keyring.seal(WEBHOOK_SECRET, &current.text);
        let new_prev = prev.map(|p| keyring.seal(WEBHOOK_SECRET, &p.text));
        crate::db::webhooks::reseal(&db.pool, &id, &sealed, &new, new_prev.as_deref()).await?;
        resealed += 1;
    }
    Ok(resealed)
}

/// A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks has it.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The `webhook-signature` value: `v1,<sig>` for each secret that signs now, space-separated.
pub fn signature(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> anyhow::Result<String> {
    let mut out = Vec::with_capacity(secrets.len());
    for s in secrets {
        let wh = standardwebhooks::Webhook::new(s)
            .map_err(|e| anyhow::anyhow!("a stored webhook secret is not base64: {e}"))?;
        out.push(
            wh.sign(id, timestamp, body)
                .map_err(|e| anyhow::anyhow!("signing: {e}"))?,
        );
    }
    Ok(out.join(" "))
}

/// The message's `webhook-id`: the same for every attempt and every endpoint, so receivers
/// deduplicate by it.
pub fn message_id(workspace_id: &str, key: &Key) -> String {
    let digest = Sha256::digest(
        format!(
            "{workspace_id}\0{}\0{}\0{}",
            key.seq, key.event_type, key.resource_id
        )
        .as_bytes(),
    );
    format!("msg_{}", hex::encode(&digest[..16]))
}

/// A delivery's id in the API: its key, base64url.
pub fn delivery_id(key: &Key) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}:{}:{}",
        key.seq, key.event_type, key.resource_id
    ))
}

pub fn parse_delivery_id(id: &str) -> Option<Key> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (seq, rest) = raw.split_once(':')?;
    let (event_type, resource_id) = rest.split_once(':')?;
    Some(Key {
        seq: seq.parse().ok()?,
        event_type: event_type.to_string(),
        resource_id: resource_id.to_string(),
    })
}

/// RFC 3339 in UTC with milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The body of a message.
pub fn payload(
    workspace_id: &str,
    key: &Key,
    detail: Option<&str>,
    event_at: i64,
) -> serde_json::Result<Vec<u8>> {
    let detail: serde_json::Value = match detail {
        Some(d) => serde_json::from_str(d)?,
        None => serde_json::Value::Null,
    };
    let text = |k: &str| detail.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let id = Some(key.resource_id.clone());
    let mut data = WebhookEventData {
        workspace_id: workspace_id.to_string(),
        ..Default::default()
    };
    match key.event_type.split('.').next().unwrap_or_default() {
        "transaction" => data.transaction_id = id,
        "sync" => {
            data.connection_id = id;
            data.sync_id = text("syncId");
            data.error = text("error");
        }
        "connection" => {
            data.connection_id = id;
            data.expires_at = text("expiresAt");
        }
        "key" => {
            data.key_id = id;
            data.expires_at = text("expiresAt");
        }
        "budget" => {
            data.budget_id = id;
            data.month = text("month");
        }
        _ => data.endpoint_id = text("endpointId"),
    }
    serde_json::to_vec(&WebhookEvent {
        r#type: key.event_type.clone(),
        timestamp: rfc3339_ms(event_at),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_round_trip_and_refuse_garbage() {
        let key = Key {
            seq: 42,
            event_type: "transaction.created".into(),
            resource_id: "0193b6f5-3c4d".into(),
        };
        assert_eq!(parse_delivery_id(&delivery_id(&key)), Some(key));
        assert_eq!(parse_delivery_id("!!"), None);
        assert_eq!(parse_delivery_id(&URL_SAFE_NO_PAD.encode("x:y")), None);
    }

    #[test]
    fn the_schedule_grows_to_six_hours_and_scales() {
        let full = Outbound::new(&WebhookConfig {
            allow_private: false,
            retry_scale: 1.0,
        })
        .unwrap();
        let first = full.backoff_ms(1);
        assert!((3_750..=6_250).contains(&first), "{first}");
        let late = full.backoff_ms(30);
        assert!((16_200_000..=27_000_000).contains(&late), "{late}");
        let fast = Outbound::new(&WebhookConfig {
            allow_private: false,
            retry_scale: 0.001,
        })
        .unwrap();
        assert!(fast.backoff_ms(1) <= 7);
    }

    #[test]
    fn a_signature_verifies_with_the_standard_library_and_carries_both_secrets() {
        let (a, b) = (new_secret(), new_secret());
        let body = br#"{"type":"ping"}"#;
        let sig = signature(&[a.clone(), b.clone()], "msg_1", 1_700_000_000, body).unwrap();
        assert_eq!(sig.split(' ').count(), 2);
        for s in [a, b] {
            let expected = standardwebhooks::Webhook::new(&s)
                .unwrap()
                .sign("msg_1", 1_700_000_000, body)
                .unwrap();
            assert!(sig.split(' ').any(|p| p == expected));
        }
    }
}

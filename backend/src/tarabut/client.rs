//! The Tarabut HTTP client: per-customer tokens, timeouts, retries with jittered backoff that
//! honour `Retry-After`, an outbound rate limit, and the 401 → re-mint → retry-once rule.
//!
//! Tokens, the client secret and `Authorization` headers never reach a log line: requests are
//! logged by method and path, failures by status and Tarabut's error code.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use rand::Rng;
use reqwest::{header, Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use tokio::time::Instant;
use url::Url;

use super::wire;
use crate::{clock::Clock, config::TarabutConfig};

/// What went wrong upstream, in terms our callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum TarabutError {
    #[error("Tarabut did not answer in time")]
    Timeout,
    #[error("Tarabut is unavailable: {0}")]
    Unavailable(String),
    #[error("the consent was revoked")]
    ConsentRevoked,
    #[error("the consent has expired")]
    ConsentExpired,
    #[error("not found at Tarabut")]
    NotFound,
    #[error("Tarabut refused the request: {status} {code}")]
    Rejected { status: u16, code: String },
    #[error("Tarabut sent a response we cannot read: {0}")]
    Decode(String),
}

impl TarabutError {
    /// Worth trying again later (the sync retries these; the rest are final).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Timeout | Self::Unavailable(_))
    }
}

impl From<TarabutError> for crate::error::AppError {
    fn from(e: TarabutError) -> Self {
        use crate::error::AppError;
        match e {
            TarabutError::Timeout => AppError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "The bank gateway did not answer in time. Try again shortly.",
            ),
            TarabutError::Unavailable(_) => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "The bank gateway is unavailable. Try again shortly.",
            ),
            TarabutError::ConsentRevoked => AppError::new(
                StatusCode::CONFLICT,
                "consent_revoked",
                "The bank consent was revoked. Connect the bank again.",
            ),
            TarabutError::ConsentExpired => AppError::new(
                StatusCode::CONFLICT,
                "consent_expired",
                "The bank consent has expired. Connect the bank again.",
            ),
            TarabutError::NotFound | TarabutError::Rejected { .. } | TarabutError::Decode(_) => {
                AppError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    "The bank gateway answered with an error.",
                )
            }
        }
    }
}

type Result<T, E = TarabutError> = std::result::Result<T, E>;

/// Where and how to reach Tarabut.
#[derive(Clone)]
pub struct Endpoint {
    pub api: Url,
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Clone)]
pub struct Client(Arc<Inner>);

struct Inner {
    http: reqwest::Client,
    endpoint: Endpoint,
    max_retries: u32,
    retry_base: Duration,
    clock: Clock,
    tokens: TokenCache,
    pacer: Option<Pacer>,
}

impl Client {
    pub fn new(endpoint: Endpoint, config: &TarabutConfig, clock: Clock) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms.min(5_000)))
            .user_agent(concat!("pfn/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self(Arc::new(Inner {
            http,
            endpoint,
            max_retries: config.max_retries,
            retry_base: Duration::from_millis(config.retry_base_ms),
            clock,
            tokens: TokenCache::default(),
            pacer: (config.rate_per_sec > 0).then(|| Pacer::new(config.rate_per_sec)),
        })))
    }

    // ---- the endpoints we use (docs/tarabut-api.md §3–§5) ----

    pub async fn providers(&self) -> Result<wire::Providers> {
        self.call(None, Method::GET, "/v1/providers", None::<&()>)
            .await
    }

    pub async fn create_intent(
        &self,
        customer: &str,
        provider_id: Option<&str>,
        redirect_url: &str,
    ) -> Result<wire::IntentCreated> {
        let body = wire::CreateIntent {
            user: wire::IntentUser {
                customer_user_id: customer,
            },
            provider_type: "Retail",
            language: "EN",
            consent: provider_id.map(|provider_id| wire::IntentConsent { provider_id }),
            redirect_url,
        };
        self.call(
            Some(customer),
            Method::POST,
            "/accountInformation/v1/intent",
            Some(&body),
        )
        .await
    }

    pub async fn intent(&self, customer: &str, intent_id: &str) -> Result<wire::Intent> {
        let path = format!("/accountInformation/v1/intent/{}", segment(intent_id));
        self.call(Some(customer), Method::GET, &path, None::<&()>)
            .await
    }

    pub async fn accounts(&self, customer: &str) -> Result<wire::Accounts> {
        self.call(
            Some(customer),
            Method::GET,
            "/accountInformation/v2/accounts",
            None::<&()>,
        )
        .await
    }

    pub async fn balances(
        &self,
        customer: &str,
        account_id: &str,
        refresh: bool,
    ) -> Result<wire::Balances> {
        let path = format!(
            "/accountInformation/v2/accounts/{}/balances{}",
            segment(account_id),
            if refresh { "/refresh" } else { "" }
        );
        self.call(Some(customer), Method::GET, &path, None::<&()>)
            .await
    }

    /// One page (1-based) of enriched transactions booked in `[from, to]`.
    pub async fn transactions(
        &self,
        customer: &str,
        account_id: &str,
        from: i64,
        to: i64,
        page: u32,
    ) -> Result<wire::Transactions> {
        let path = format!(
            "/accountInformation/v2/accounts/{}/transactions?fromBookingDateTime={}&toBookingDateTime={}&page={page}",
            segment(account_id),
            wire::format_time(from),
            wire::format_time(to),
        );
        self.call(Some(customer), Method::GET, &path, None::<&()>)
            .await
    }

    pub async fn revoke_consent(&self, customer: &str, consent_id: &str) -> Result<()> {
        let path = format!("/consentInformation/v1/consents/{}", segment(consent_id));
        self.call::<serde_json::Value>(Some(customer), Method::DELETE, &path, None::<&()>)
            .await
            .map(drop)
    }

    /// Revokes a consent the workspace may still hold: one already gone at Tarabut (unknown,
    /// revoked, expired) leaves nothing to revoke and is not an error.
    pub async fn revoke_if_held(&self, customer: &str, consent_id: &str) -> Result<()> {
        match self.revoke_consent(customer, consent_id).await {
            Ok(())
            | Err(
                TarabutError::NotFound
                | TarabutError::ConsentRevoked
                | TarabutError::ConsentExpired,
            ) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn consent(&self, customer: &str, consent_id: &str) -> Result<wire::Consent> {
        let path = format!("/consentInformation/v1/consents/{}", segment(consent_id));
        self.call(Some(customer), Method::GET, &path, None::<&()>)
            .await
    }

    pub async fn salaries(&self, customer: &str, months: u32) -> Result<wire::Salaries> {
        let path = format!("/insights/v1/salary?months={months}");
        self.call(Some(customer), Method::GET, &path, None::<&()>)
            .await
    }

    // ---- the machinery ----

    /// One logical call: paced, retried on 429 / 5xx / timeouts / connection errors with
    /// jittered backoff (or the server's `Retry-After`), and retried once with a fresh token
    /// after a 401.
    async fn call<T: DeserializeOwned>(
        &self,
        customer: Option<&str>,
        method: Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let inner = &self.0;
        let url = format!(
            "{}{path_and_query}",
            inner.endpoint.api.as_str().trim_end_matches('/')
        );
        let route = path_and_query.split('?').next().unwrap_or_default();
        let mut reminted = false;
        let mut attempt = 0u32;
        loop {
            let token = self.token(customer.unwrap_or_default()).await?;
            if let Some(p) = &inner.pacer {
                p.wait().await;
            }
            let mut req = inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(&*token)
                .header(header::ACCEPT, "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let outcome = req.send().await;
            let (failure, retry_after) = match outcome {
                Err(e) if e.is_timeout() => (TarabutError::Timeout, None),
                Err(e) => (TarabutError::Unavailable(without_url(e)), None),
                Ok(res) if res.status().is_success() => {
                    let bytes = res.bytes().await.map_err(|e| {
                        if e.is_timeout() {
                            TarabutError::Timeout
                        } else {
                            TarabutError::Unavailable(without_url(e))
                        }
                    });
                    match bytes {
                        Ok(b) => {
                            return serde_json::from_slice(&b).map_err(|e| {
                                tracing::warn!(%method, route, error = %e, "undecodable Tarabut response");
                                TarabutError::Decode(e.to_string())
                            })
                        }
                        Err(e) => (e, None),
                    }
                }
                Ok(res) => {
                    let status = res.status();
                    let retry_after = retry_after(res.headers());
                    let body = res.bytes().await.unwrap_or_default();
                    let envelope: wire::ErrorEnvelope =
                        serde_json::from_slice(&body).unwrap_or_default();
                    let code = envelope.error.clone().unwrap_or_default();
                    // The upstream body is logged (it carries no secrets), never forwarded.
                    tracing::warn!(
                        %method, route, status = status.as_u16(), code = %code,
                        trace_id = envelope.trace_id.as_deref().unwrap_or("-"),
                        body = %String::from_utf8_lossy(&body[..body.len().min(512)]),
                        "Tarabut answered with an error"
                    );
                    match status {
                        StatusCode::UNAUTHORIZED if !reminted => {
                            // The token may have expired on Tarabut's clock: mint once more.
                            reminted = true;
                            self.0.tokens.forget(customer.unwrap_or_default(), &token);
                            continue;
                        }
                        StatusCode::TOO_MANY_REQUESTS => (
                            TarabutError::Unavailable(format!("rate limited ({code})")),
                            retry_after,
                        ),
                        s if s.is_server_error() => (
                            TarabutError::Unavailable(format!("{s} {code}")),
                            retry_after,
                        ),
                        StatusCode::NOT_FOUND => return Err(TarabutError::NotFound),
                        StatusCode::FORBIDDEN if code == "CONSENT_REVOKED" => {
                            return Err(TarabutError::ConsentRevoked)
                        }
                        StatusCode::FORBIDDEN if code == "CONSENT_EXPIRED" => {
                            return Err(TarabutError::ConsentExpired)
                        }
                        s => {
                            return Err(TarabutError::Rejected {
                                status: s.as_u16(),
                                code,
                            })
                        }
                    }
                }
            };
            if attempt >= inner.max_retries {
                tracing::warn!(%method, route, attempts = attempt + 1, error = %failure, "Tarabut call gave up");
                return Err(failure);
            }
            tokio::time::sleep(self.backoff(attempt, retry_after)).await;
            attempt += 1;
        }
    }

    /// Full jitter over an exponential ceiling (capped at 10 s); a `Retry-After` (capped at
    /// 60 s) is a floor, plus a little jitter so replicas do not return in step.
    fn backoff(&self, attempt: u32, retry_after: Option<u64>) -> Duration {
        let base = self.0.retry_base.as_millis() as u64;
        let ceiling = base.saturating_mul(1 << attempt.min(16)).min(10_000);
        let mut rng = rand::thread_rng();
        let jitter = rng.gen_range(0..=ceiling);
        match retry_after {
            Some(secs) => Duration::from_millis(secs.min(60) * 1000 + rng.gen_range(0..=base)),
            None => Duration::from_millis(jitter),
        }
    }

    /// A token for `customer` ("" for customer-less calls): cached, single-flight, refreshed
    /// when less than `min(60 s, expiresIn / 10)` remains, counted from when the mint was sent.
    async fn token(&self, customer: &str) -> Result<Arc<str>> {
        let slot = self.0.tokens.slot(customer);
        let mut guard = slot.lock().await;
        let now = self.0.clock.now_ms();
        if let Some(t) = guard.as_ref().filter(|t| now < t.refresh_at_ms) {
            return Ok(t.value.clone());
        }
        let minted = self.mint(customer).await?;
        let value = minted.value.clone();
        *guard = Some(minted);
        Ok(value)
    }

    async fn mint(&self, customer: &str) -> Result<CachedToken> {
        let inner = &self.0;
        let body = wire::TokenRequest {
            client_id: &inner.endpoint.client_id,
            client_secret: &inner.endpoint.client_secret,
            grant_type: "client_credentials",
        };
        let mut attempt = 0u32;
        loop {
            if let Some(p) = &inner.pacer {
                p.wait().await;
            }
            let sent_at = inner.clock.now_ms();
            let mut req = inner
                .http
                .post(inner.endpoint.token_url.clone())
                .json(&body);
            if !customer.is_empty() {
                req = req.header("X-TG-CustomerUserId", customer);
            }
            let (failure, retry_after) = match req.send().await {
                Err(e) if e.is_timeout() => (TarabutError::Timeout, None),
                Err(e) => (TarabutError::Unavailable(without_url(e)), None),
                Ok(res) if res.status().is_success() => {
                    let t: wire::TokenResponse = res
                        .json()
                        .await
                        .map_err(|e| TarabutError::Decode(without_url(e)))?;
                    if t.access_token.is_empty() || t.expires_in <= 0 {
                        return Err(TarabutError::Decode("empty token or lifetime".into()));
                    }
                    let ttl_ms = t.expires_in.saturating_mul(1000);
                    let skew = (ttl_ms / 10).min(60_000);
                    tracing::debug!(expires_in = t.expires_in, "Tarabut token minted");
                    return Ok(CachedToken {
                        value: t.access_token.into(),
                        refresh_at_ms: sent_at + ttl_ms - skew,
                    });
                }
                Ok(res) => {
                    let status = res.status();
                    let retry_after = retry_after(res.headers());
                    let envelope: wire::ErrorEnvelope = res.json().await.unwrap_or_default();
                    let code = envelope.error.unwrap_or_default();
                    tracing::warn!(status = status.as_u16(), code = %code, "Tarabut token request failed");
                    // Never retry the token endpoint on a 4xx other than 429: wrong credentials
                    // do not get better, and hammering them can lock the client out.
                    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
                        return Err(TarabutError::Rejected {
                            status: status.as_u16(),
                            code,
                        });
                    }
                    (
                        TarabutError::Unavailable(format!("token: {status} {code}")),
                        retry_after,
                    )
                }
            };
            if attempt >= inner.max_retries {
                return Err(failure);
            }
            tokio::time::sleep(self.backoff(attempt, retry_after)).await;
            attempt += 1;
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Tarabut or our sandbox).
fn retry_after(headers: &header::HeaderMap) -> Option<u64> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// reqwest errors print the URL; ours carry ids but never secrets. Keep only the kind.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// A path segment from an id that came from outside (a callback, a stored id): percent-encoded
/// so it cannot add path segments or a query.
fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

struct CachedToken {
    value: Arc<str>,
    refresh_at_ms: i64,
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// One slot per customer. Callers queue on the slot's lock, so however many arrive with an
/// expired token, one mints and the rest re-check and reuse its token.
#[derive(Default)]
struct TokenCache(Mutex<HashMap<String, Slot>>);

impl TokenCache {
    fn slot(&self, customer: &str) -> Slot {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(customer) {
            return s.clone();
        }
        let s = Slot::default();
        map.insert(customer.to_string(), s.clone());
        s
    }

    /// Drops `token` if it is still the cached one (a concurrent caller may already have
    /// replaced it, and that fresh token must survive).
    fn forget(&self, customer: &str, token: &Arc<str>) {
        let slot = self.slot(customer);
        if let Ok(mut guard) = slot.try_lock() {
            if guard.as_ref().is_some_and(|t| Arc::ptr_eq(&t.value, token)) {
                *guard = None;
            }
            return;
        }
        // Someone holds the slot: they are minting or reading; mark for refresh when free.
        tokio::spawn({
            let token = token.clone();
            async move {
                let mut guard = slot.lock().await;
                if guard
                    .as_ref()
                    .is_some_and(|t| Arc::ptr_eq(&t.value, &token))
                {
                    *guard = None;
                }
            }
        });
    }
}

/// Spaces outbound requests evenly at `rate` per second (this replica's share of whatever
/// Tarabut allows); callers wait their turn rather than fail.
struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl Pacer {
    fn new(rate: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / rate.max(1),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            // Allow a burst of up to one second's worth after an idle period.
            let earliest = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
            let at = (*next).max(earliest);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

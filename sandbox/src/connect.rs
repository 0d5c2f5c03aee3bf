//! Connect (§3): the provider list, creating and reading intents, the browser pages that let
//! a person pick a bank and allow or cancel, and [`complete`], the one place an intent is
//! completed (the pages, `pages.rs`, and the `/__sandbox/intents/{id}/complete` control both
//! call it).

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::{
    auth::{Caller, Customer},
    banks::{self, Provider, PROVIDERS},
    error::{ApiError, ApiResult, Body, P},
    seed,
    state::{AppState, Shared},
    store::{Consent, ConsentStatus, Intent, IntentStatus},
    timefmt,
};

/// How long a person has to finish Connect.
const INTENT_TTL: Duration = Duration::minutes(30);
/// Tarabut consents last up to 12 months (§3.4).
pub(crate) const CONSENT_TTL: Duration = Duration::days(365);

/// `GET /v1/providers`.
pub(crate) async fn get_providers(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Json<Value> {
    tracing::debug!(client = %caller.client_id, "providers listed");
    let base = state.base_url(&headers);
    let providers: Vec<Value> = PROVIDERS
        .iter()
        .map(|p| {
            json!({
                "providerId": p.id,
                "name": p.name,
                "displayName": p.name,
                "logoUrl": provider_logo(&base, p),
                "countryCode": p.country,
                "aisStatus": "ACTIVE",
                "pisStatus": "INACTIVE",
            })
        })
        .collect();
    Json(json!({ "providers": providers }))
}

pub(crate) fn provider_logo(base: &str, p: &Provider) -> String {
    format!("{base}/logos/provider-{}.svg", p.id.to_ascii_lowercase())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntentRequest {
    user: Option<IntentUser>,
    provider_type: Option<String>,
    language: Option<String>,
    consent: Option<IntentConsent>,
    redirect_url: Option<String>,
}

/// Names, email and phone are accepted and ignored: the sandbox stores no PII.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentUser {
    customer_user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentConsent {
    provider_id: Option<String>,
}

/// `POST /accountInformation/v1/intent`.
pub(crate) async fn post_intent(
    customer: Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<IntentRequest>,
) -> ApiResult<Json<Value>> {
    let user = req
        .user
        .ok_or_else(|| ApiError::invalid("user is required"))?;
    let user_id = user
        .customer_user_id
        .ok_or_else(|| ApiError::invalid("user.customerUserId is required"))?;
    if user_id != customer.id {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "user.customerUserId does not match the customer of the access token",
        ));
    }
    if let Some(t) = req.provider_type.as_deref() {
        if !matches!(t, "Retail" | "Corporate") {
            return Err(ApiError::invalid(
                "providerType must be Retail or Corporate",
            ));
        }
    }
    if let Some(l) = req.language.as_deref() {
        if !matches!(l, "EN" | "AR") {
            return Err(ApiError::invalid("language must be EN or AR"));
        }
    }
    let redirect_url = req
        .redirect_url
        .ok_or_else(|| ApiError::invalid("redirectUrl is required"))?;
    if !is_http_url(&redirect_url) {
        return Err(ApiError::invalid("redirectUrl must be an http(s) URL"));
    }
    let client = state
        .client(&customer.client_id)
        .ok_or_else(|| ApiError::unauthorized("unknown client"))?;
    if !client.redirect_urls.is_empty() && !client.redirect_urls.contains(&redirect_url) {
        return Err(ApiError::invalid(
            "redirectUrl is not registered for this client",
        ));
    }
    let provider = match req.consent.and_then(|c| c.provider_id) {
        None => None,
        Some(id) => Some(
            banks::provider(&id)
                .ok_or_else(|| ApiError::invalid(format!("unknown providerId {id}")))?,
        ),
    };
    let now = state.clock.now();
    let intent = Intent {
        id: uuid::Uuid::new_v4().to_string(),
        client_id: customer.client_id,
        customer: customer.id,
        redirect_url,
        provider,
        status: IntentStatus::Created,
        consent_id: None,
        expiry: now.checked_add(INTENT_TTL).unwrap_or(now),
        created_at: now,
    };
    let body = json!({
        "connectUrl": format!("{}/connect/launch/?intent={}", state.base_url(&headers), intent.id),
        "intentId": intent.id,
        "expiry": timefmt::secs(intent.expiry),
    });
    state.write().intents.insert(intent.id.clone(), intent);
    Ok(Json(body))
}

/// An absolute `http(s)` URL with a host and nothing that could break a header or a page.
fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty()
        && s.len() <= 2048
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\'))
}

/// `GET /accountInformation/v1/intent/{intentId}`.
pub(crate) async fn get_intent(
    customer: Customer,
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let store = state.read();
    let intent = store
        .intents
        .get(&id)
        .filter(|i| i.customer == customer.id)
        .ok_or_else(|| ApiError::not_found("intent not found"))?;
    Ok(Json(json!({
        "intentId": intent.id,
        "status": intent.status(now).as_str(),
        "consentId": intent.consent_id,
        "providerId": intent.provider.map(|p| p.id),
        "customerUserId": intent.customer,
        "expiry": timefmt::secs(intent.expiry),
        "createdAt": timefmt::secs(intent.created_at),
    })))
}

/// How the person finished Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Successful,
    Failed,
}

impl Outcome {
    fn status(self) -> IntentStatus {
        match self {
            Self::Successful => IntentStatus::Successful,
            Self::Failed => IntentStatus::Failed,
        }
    }
}

/// Result of completing an intent.
#[derive(Debug)]
pub(crate) struct Completed {
    pub location: String,
    pub consent_id: Option<String>,
}

/// Completes an intent as the bank would after the person allowed or cancelled, and returns
/// the redirect back to the app. On success it creates the consent and, the first time this
/// customer connects this bank, seeds the accounts.
pub(crate) fn complete(
    state: &Shared,
    intent_id: &str,
    outcome: Outcome,
    provider_id: Option<&str>,
) -> ApiResult<Completed> {
    let now = state.clock.now();
    let (customer, provider, need_seed) = {
        let store = state.read();
        let intent = store
            .intents
            .get(intent_id)
            .ok_or_else(|| ApiError::not_found("intent not found"))?;
        check_open(intent, now)?;
        let provider = resolve_provider(intent, provider_id, outcome)?;
        let need_seed = outcome == Outcome::Successful
            && provider.is_some_and(|p| {
                !store
                    .customer_accounts(&intent.customer)
                    .any(|a| a.provider.id == p.id)
            });
        (intent.customer.clone(), provider, need_seed)
    };
    // Seeding tens of thousands of transactions is slow in debug builds: do it outside the
    // lock, then re-check under the write lock in case a concurrent request won the race.
    let seeded = match (need_seed, provider) {
        (true, Some(p)) => Some(seed::accounts(
            state.seed,
            &customer,
            p,
            state.transactions_per_account(),
            now,
        )),
        _ => None,
    };
    let mut store = state.write();
    let intent = store
        .intents
        .get(intent_id)
        .ok_or_else(|| ApiError::not_found("intent not found"))?;
    check_open(intent, now)?;
    let redirect_url = intent.redirect_url.clone();
    let mut consent_id = None;
    if let (Outcome::Successful, Some(p)) = (outcome, provider) {
        let has_accounts = store
            .customer_accounts(&customer)
            .any(|a| a.provider.id == p.id);
        if let (false, Some(accounts)) = (has_accounts, seeded) {
            store.add_accounts(accounts);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let account_ids: Vec<String> = store
            .customer_accounts(&customer)
            .filter(|a| a.provider.id == p.id)
            .map(|a| a.id.clone())
            .collect();
        for account_id in &account_ids {
            if let Some(a) = store.accounts.get_mut(account_id) {
                a.consent_ids.push(id.clone());
                a.updated_at = now;
            }
        }
        store.consents.insert(
            id.clone(),
            Consent {
                id: id.clone(),
                customer: customer.clone(),
                provider: p,
                status: ConsentStatus::Active,
                expiry: now.checked_add(CONSENT_TTL).unwrap_or(now),
                created_at: now,
                account_ids,
            },
        );
        consent_id = Some(id);
    }
    if let Some(intent) = store.intents.get_mut(intent_id) {
        intent.status = outcome.status();
        intent.consent_id.clone_from(&consent_id);
        if intent.provider.is_none() {
            intent.provider = provider;
        }
    }
    tracing::debug!(intent = intent_id, ?outcome, "intent completed");
    Ok(Completed {
        location: redirect_location(&redirect_url, intent_id, outcome.status()),
        consent_id,
    })
}

/// 410 for an expired intent, 409 for one already completed.
pub(crate) fn check_open(intent: &Intent, now: OffsetDateTime) -> ApiResult<()> {
    match intent.status(now) {
        IntentStatus::Created => Ok(()),
        IntentStatus::Expired => Err(ApiError::new(
            StatusCode::GONE,
            "INTENT_EXPIRED",
            "this intent has expired",
        )),
        IntentStatus::Successful | IntentStatus::Failed => Err(ApiError::conflict(
            "INTENT_ALREADY_COMPLETED",
            "this intent has already been completed",
        )),
    }
}

/// The bank the intent completes with: the one the intent named (a different one is refused),
/// else the one chosen. A cancelled intent may have none.
pub(crate) fn resolve_provider(
    intent: &Intent,
    requested: Option<&str>,
    outcome: Outcome,
) -> ApiResult<Option<&'static Provider>> {
    match (intent.provider, requested) {
        (Some(p), Some(r)) if p.id != r => Err(ApiError::invalid(format!(
            "this intent is for provider {}",
            p.id
        ))),
        (Some(p), _) => Ok(Some(p)),
        (None, Some(r)) => banks::provider(r)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("unknown providerId {r}"))),
        (None, None) if outcome == Outcome::Failed => Ok(None),
        (None, None) => Err(ApiError::invalid("providerId is required")),
    }
}

/// `{redirectUrl}?intentId=…&status=…`, appended to any query the URL already has and placed
/// before a fragment.
fn redirect_location(redirect_url: &str, intent_id: &str, status: IntentStatus) -> String {
    let (url, fragment) = match redirect_url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (redirect_url, None),
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut out = format!("{url}{sep}intentId={intent_id}&status={}", status.as_str());
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Browser pages

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations() {
        let s = IntentStatus::Successful;
        assert_eq!(
            redirect_location("https://a.b/cb", "i1", s),
            "https://a.b/cb?intentId=i1&status=SUCCESSFUL"
        );
        assert_eq!(
            redirect_location("https://a.b/cb?x=1#top", "i1", IntentStatus::Failed),
            "https://a.b/cb?x=1&intentId=i1&status=FAILED#top"
        );
    }

    #[test]
    fn redirect_url_shape() {
        assert!(is_http_url("http://localhost:3000/cb"));
        assert!(is_http_url("https://app.example/tarabut/callback?x=1"));
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https:///x",
            "http://a b",
            "javascript:alert(1)",
            "http://a/\"x",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}

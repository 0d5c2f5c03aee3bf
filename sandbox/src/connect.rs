//! Connect (§3): the provider list, creating and reading intents, the browser pages that let
//! a person pick a bank and allow or cancel, and [`complete`], the one place an intent is
//! completed (the pages and the `/__sandbox/intents/{id}/complete` control both call it).
//!
//! The pages are plain HTML forms with inline CSS and no JavaScript, so they work in any
//! browser and in a test with a bare HTTP client.

use axum::{
    extract::{rejection::FormRejection, rejection::QueryRejection, Form, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::{
    auth::{Caller, Customer},
    banks::{self, Provider, PROVIDERS},
    error::{ApiError, ApiResult, Body, P},
    prng, seed,
    state::{AppState, Shared},
    store::{Consent, ConsentStatus, Intent, IntentStatus},
    timefmt,
};

/// How long a person has to finish Connect.
const INTENT_TTL: Duration = Duration::minutes(30);
/// Tarabut consents last up to 12 months (§3.4).
const CONSENT_TTL: Duration = Duration::days(365);

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

fn provider_logo(base: &str, p: &Provider) -> String {
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
fn check_open(intent: &Intent, now: OffsetDateTime) -> ApiResult<()> {
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
fn resolve_provider(
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

#[derive(Debug, Deserialize)]
pub(crate) struct LaunchQuery {
    intent: Option<String>,
    provider: Option<String>,
}

/// `GET /connect/launch/?intent=…[&provider=…]`: the bank list, or the consent page once a
/// bank is known (chosen here, or named by the intent).
pub(crate) async fn get_launch(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LaunchQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return error_page(StatusCode::BAD_REQUEST, "This link is malformed.");
    };
    let Some(intent_id) = q.intent.filter(|s| !s.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This link has no intent. Start again from the app.",
        );
    };
    let now = state.clock.now();
    let intent = {
        let store = state.read();
        match store.intents.get(&intent_id) {
            Some(i) => i.clone(),
            None => return error_page(StatusCode::NOT_FOUND, "This link is not valid."),
        }
    };
    if let Err(e) = check_open(&intent, now) {
        return error_page(e.status(), page_message(&e));
    }
    let base = state.base_url(&headers);
    let provider = match (intent.provider, q.provider.filter(|s| !s.is_empty())) {
        (Some(p), Some(r)) if p.id != r => {
            return error_page(StatusCode::BAD_REQUEST, "This link is for another bank.")
        }
        (Some(p), _) => p,
        (None, Some(r)) => match banks::provider(&r) {
            Some(p) => p,
            None => return error_page(StatusCode::BAD_REQUEST, "Unknown bank."),
        },
        (None, None) => return bank_list(&base, &intent),
    };
    consent_page(&state, &base, &intent, provider, now)
}

fn bank_list(base: &str, intent: &Intent) -> Response {
    let id = escape(&intent.id);
    let mut banks = String::new();
    for p in &PROVIDERS {
        banks.push_str(&format!(
            r#"<li><button class="bank" name="provider" value="{pid}"><img src="{logo}" alt="" width="40" height="40"><span><strong>{name}</strong><small>{country} &middot; {currency}</small></span></button></li>"#,
            pid = escape(p.id),
            logo = escape(&provider_logo(base, p)),
            name = escape(p.name),
            country = country_name(p.country),
            currency = escape(p.currency),
        ));
    }
    let body = format!(
        r#"<h1>Connect your bank</h1>
<p class="muted"><strong>{client}</strong> would like to read your account information. Choose your bank to continue.</p>
<form method="get" action="{base}/connect/launch/">
<input type="hidden" name="intent" value="{id}">
<ul class="banks">{banks}</ul>
</form>
<form method="post" action="{base}/connect/launch/authorize" class="actions">
<input type="hidden" name="intent" value="{id}">
<button class="secondary" name="decision" value="cancel">Cancel</button>
</form>"#,
        client = escape(&intent.client_id),
        base = escape(base),
    );
    page(StatusCode::OK, "Connect your bank", &body)
}

fn consent_page(
    state: &Shared,
    base: &str,
    intent: &Intent,
    provider: &Provider,
    now: OffsetDateTime,
) -> Response {
    let mut accounts = String::new();
    for s in seed::shells(state.seed, &intent.customer, provider) {
        accounts.push_str(&format!(
            "<li><strong>{}</strong><small>{}</small></li>",
            escape(&s.description),
            escape(&mask_iban(&s.iban)),
        ));
    }
    let until = now
        .checked_add(CONSENT_TTL)
        .map(|d| timefmt::date(d.date()))
        .unwrap_or_default();
    let body = format!(
        r#"<div class="bankhead"><img src="{logo}" alt="" width="48" height="48"><div><h1>{bank}</h1><p class="muted">Review what you share with <strong>{client}</strong></p></div></div>
<h2>Permissions</h2>
<ul class="perms">
<li>Your account details: name, number and type</li>
<li>Your balances</li>
<li>Your transactions, with merchant and category details</li>
</ul>
<h2>Accounts that will be shared</h2>
<ul class="accounts">{accounts}</ul>
<p class="muted">Read-only access until {until}. You can revoke it at any time.</p>
<form method="post" action="{base}/connect/launch/authorize" class="actions">
<input type="hidden" name="intent" value="{id}">
<input type="hidden" name="provider" value="{pid}">
<button name="decision" value="allow">Allow</button>
<button class="secondary" name="decision" value="cancel">Cancel</button>
</form>{back}"#,
        back = if intent.provider.is_none() {
            format!(
                r#"<p class="back"><a href="{}/connect/launch/?intent={}">Choose another bank</a></p>"#,
                escape(base),
                escape(&intent.id)
            )
        } else {
            String::new()
        },
        logo = escape(&provider_logo(base, provider)),
        bank = escape(provider.name),
        client = escape(&intent.client_id),
        base = escape(base),
        id = escape(&intent.id),
        pid = escape(provider.id),
    );
    page(StatusCode::OK, provider.name, &body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeForm {
    intent: Option<String>,
    provider: Option<String>,
    decision: Option<String>,
}

/// `POST /connect/launch/authorize`: Allow or Cancel, then 303 back to the app.
pub(crate) async fn post_authorize(
    State(state): State<AppState>,
    form: Result<Form<AuthorizeForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let Some(intent_id) = f.intent.filter(|s| !s.is_empty()) else {
        return error_page(StatusCode::BAD_REQUEST, "The form has no intent.");
    };
    let outcome = match f.decision.as_deref() {
        Some("allow") => Outcome::Successful,
        Some("cancel") => Outcome::Failed,
        _ => return error_page(StatusCode::BAD_REQUEST, "Choose Allow or Cancel."),
    };
    let provider = f.provider.filter(|s| !s.is_empty());
    match complete(&state, &intent_id, outcome, provider.as_deref()) {
        Ok(done) => (StatusCode::SEE_OTHER, [(header::LOCATION, done.location)]).into_response(),
        Err(e) => error_page(e.status(), page_message(&e)),
    }
}

/// What a person should read for an API error on a page.
fn page_message(e: &ApiError) -> &str {
    match e.status() {
        StatusCode::NOT_FOUND => "This link is not valid.",
        StatusCode::GONE => "This link has expired. Start again from the app.",
        StatusCode::CONFLICT => "This connection has already been completed.",
        _ => e.message(),
    }
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"<h1>Something went wrong</h1><p class="error">{}</p><p class="muted">Error {}. You can close this window and return to the app.</p>"#,
        escape(message),
        status.as_u16()
    );
    page(status, "Connect", &body)
}

const CSS: &str = "*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f5f8;color:#1d2330}\
main{max-width:440px;margin:40px auto;background:#fff;border-radius:12px;padding:28px;box-shadow:0 2px 12px rgba(20,30,60,.08)}\
h1{font-size:22px;margin:0 0 6px}h2{font-size:15px;margin:22px 0 8px;color:#4a5468;text-transform:uppercase;letter-spacing:.04em}\
.muted{color:#5e687c;font-size:14px}.error{color:#b3261e}ul{list-style:none;padding:0;margin:0}\
.banks li{margin:10px 0}.bank{display:flex;align-items:center;gap:14px;width:100%;text-align:left;background:#fff;color:inherit;border:1px solid #d6dbe4;padding:12px}\
.bank:hover{border-color:#2f5bea;background:#f7f9ff}.bank small,.accounts small{display:block;color:#5e687c;font-size:13px}\
.perms li{padding:6px 0 6px 24px;position:relative}.perms li:before{content:'\\2713';position:absolute;left:0;color:#1f8a4c}\
.accounts li{border:1px solid #e3e7ee;border-radius:8px;padding:10px 12px;margin:8px 0}\
.bankhead{display:flex;gap:14px;align-items:center}.bankhead h1{margin:0}\
.actions{display:flex;gap:10px;margin-top:22px}button{font:inherit;border-radius:8px;border:0;padding:10px 18px;cursor:pointer;background:#2f5bea;color:#fff}\
button.secondary{background:#e8ebf1;color:#1d2330}.actions button{flex:1}footer{text-align:center;font-size:12px;color:#8a93a6;margin-top:18px}\
.back{text-align:center;margin:16px 0 0;font-size:14px}a{color:#2f5bea}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} - Tarabut sandbox</title><style>{CSS}</style></head>
<body><main>{body}</main><footer>Tarabut Gateway sandbox &middot; test data only</footer></body></html>"#,
        escape(title)
    );
    (status, Html(html)).into_response()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn mask_iban(iban: &str) -> String {
    let n = iban.len();
    match (iban.get(..4), iban.get(n.saturating_sub(4)..)) {
        (Some(head), Some(tail)) if n > 8 => {
            format!("{head} \u{2022}\u{2022}\u{2022}\u{2022} {tail}")
        }
        _ => iban.to_string(),
    }
}

fn country_name(code: &str) -> &'static str {
    match code {
        "BH" => "Bahrain",
        "SA" => "Saudi Arabia",
        _ => "",
    }
}

// ---------------------------------------------------------------------------------------
// Logos: tiny generated SVG badges, so every `logoUrl`, `merchant.logo` and `category.icon`
// the sandbox emits resolves to something a browser can show.

/// `GET /logos/{file}` (`provider-blue.svg`, `merchant-amazon.svg`, `category-groceries.svg`).
pub(crate) async fn get_logo(P(file): P<String>) -> ApiResult<Response> {
    let slug = file
        .strip_suffix(".svg")
        .filter(|s| !s.is_empty() && s.len() <= 80)
        .filter(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .ok_or_else(|| ApiError::not_found("no such logo"))?;
    let name = slug
        .strip_prefix("provider-")
        .or_else(|| slug.strip_prefix("merchant-"))
        .or_else(|| slug.strip_prefix("category-"))
        .unwrap_or(slug);
    let initials: String = name
        .split('-')
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase();
    let colour = match slug {
        "provider-blue" => "#2f5bea".to_string(),
        "provider-red" => "#d93a3a".to_string(),
        _ => {
            let h = prng::hash(0, &[name]);
            format!("hsl({},55%,45%)", h % 360)
        }
    };
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="{colour}"/><text x="32" y="41" font-family="Arial,sans-serif" font-size="24" font-weight="700" fill="#fff" text-anchor="middle">{}</text></svg>"##,
        escape(&initials)
    );
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// A URL-safe slug for logo paths.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

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

    #[test]
    fn slugs_and_escaping() {
        assert_eq!(slug("McDonald's"), "mcdonald-s");
        assert_eq!(slug("Dr. Sulaiman Al Habib"), "dr-sulaiman-al-habib");
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            mask_iban("BH67BLUE00001234567890"),
            "BH67 \u{2022}\u{2022}\u{2022}\u{2022} 7890"
        );
    }
}

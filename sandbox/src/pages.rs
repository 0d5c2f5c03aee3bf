//! Connect's browser pages: the bank list, the consent page with allow and cancel, the error
//! page, and the logos they show. Plain HTML forms with inline CSS and no JavaScript, so they
//! work in any browser and in a test with a bare HTTP client.

use axum::{
    extract::{rejection::FormRejection, rejection::QueryRejection, Form, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::{
    banks::{self, Provider, PROVIDERS},
    error::{ApiError, ApiResult, P},
    prng, seed,
    state::{AppState, Shared},
    store::Intent,
    timefmt,
};

use crate::connect::{check_open, complete, provider_logo, Outcome, CONSENT_TTL};

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

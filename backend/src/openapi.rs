//! The OpenAPI 3.1 document: the base (info, security schemes, tags) plus every route's
//! `#[utoipa::path]`, collected by [`api_routes`]. `openapi/openapi.json` in the repo is
//! [`json`] verbatim; a test fails when it is stale.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        OpenApi as Doc, Server,
    },
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pfn API",
        description = "pfn: a self-hostable backend for personal-finance apps.\n\n\
All bodies are JSON with camelCase fields; times are RFC 3339 in UTC; money is `{\"amount\": \"-12.500\", \
\"currency\": \"BHD\"}` with the amount as a decimal string.\n\n\
## Authentication\n\
**API keys** (`Authorization: Bearer pfn_live_…`, or `pfn_test_…` on a server using the Tarabut sandbox) \
carry scopes; each operation names the scope it needs (`security`), and a key without it gets 403 \
`insufficient_scope`. Keys are created, rotated and revoked only with a browser session.\n\n\
**Browser sessions** use the `pfn_session` cookie (`__Host-pfn_session` outside development) and have every \
scope. State-changing requests authenticated by the cookie must send `Origin` equal to the server's public \
URL (browsers do this on their own), otherwise they get 403 `csrf_rejected`.\n\n\
## Errors\n\
Every error has the shape `{\"error\": {\"code\", \"message\", \"fields\"?}}` (`ErrorBody`): `code` is \
stable and meant for programs, `fields` names invalid fields by JSON path. 401 answers carry \
`WWW-Authenticate`.\n\n\
## Pagination\n\
Lists take `limit` (1–200, default 50) and `cursor`, and answer `{\"items\": […], \"nextCursor\"}` newest \
first (`Page_…` schemas). Pass `nextCursor` as `cursor` until it is `null`.\n\n\
## Rate limits\n\
Each key has a token bucket: bursts of `PFN_KEY_RATE_BURST` requests (default 60), refilled at \
`PFN_KEY_RATE_LIMIT_PER_MIN` a minute (default 600). Key-authenticated answers carry `RateLimit-Limit` (the \
bucket size), `RateLimit-Remaining` (requests left now) and `RateLimit-Reset` (seconds until the bucket is \
full). Requests refused for their credentials or scope spend nothing. Over the limit, and on sign-in throttles, the answer is 429 with `Retry-After` in \
seconds: wait that long, then retry.\n\n\
## Idempotency\n\
`POST /api/v1/transactions` takes an `Idempotency-Key` header: a retry with the same key and body within \
24 hours replays the first answer (`Idempotent-Replayed: true`) instead of pushing again.",
        license(name = "MIT"),
    ),
    servers((url = "/")),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Accounts, sign-in, password flows and sessions"),
        (name = "finance", description = "Accounts, transactions and budgets (session or API key)"),
        (name = "keys", description = "API keys, scopes, whoami and the security audit log"),
        (name = "workspaces", description = "Shared workspaces, members and invitations"),
        (name = "banks", description = "Bank connections through Tarabut open banking: providers, connect, sync, disconnect"),
        (name = "insights", description = "Spending, income, salary and balance history (session or API key with read:insights)"),
        (name = "webhooks", description = "Webhook endpoints (workspace owners): signed Standard Webhooks messages when transactions, syncs, connections, keys and budgets change; delivery log and retries"),
        (name = "admin", description = "Administrators: users, disabling and enabling accounts, any user's audit log"),
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "mcp", description = "The Model Context Protocol server for AI agents (API keys only; see docs/mcp.md)"),
    ),
    components(schemas(shared::ErrorBody, shared::ErrorDetail,
        shared::webhooks::WebhookEvent, shared::webhooks::WebhookEventData))
)]
struct Base;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut cookie = ApiKeyValue::new("pfn_session");
        cookie.description = Some(
            "Browser session cookie set by `POST /api/v1/auth/login` (named `__Host-pfn_session` when served \
             over https). Cookie-authenticated POST/PUT/PATCH/DELETE requests must send `Origin: <public URL>`. \
             The value is a 128-bit random session id (tower-sessions); the server stores only its SHA-256."
                .into(),
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pfn_live_…")
                    .description(Some("An API key: `Authorization: Bearer pfn_live_…`."))
                    .build(),
            ),
        );
        doc.servers = Some(vec![Server::new("/")]);
    }
}

pub fn base() -> Doc {
    Base::openapi()
}

/// Every documented route. The OpenAPI document is derived from exactly this router.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(base())
        .merge(crate::auth::router())
        .merge(crate::keys::router())
        .merge(crate::finance::router())
        .merge(crate::workspaces::router())
        .merge(crate::banks::routes::router())
        .merge(crate::insights::router())
        .merge(crate::admin::router())
        .merge(crate::audit_log::router())
        .merge(crate::export::router())
        .merge(crate::webhooks::router())
        .merge(crate::ops::router())
        .merge(crate::mcp::router())
}

mod finish;

/// The complete document: what the routes declare, then [`finish::finish`]ed.
pub fn document() -> Doc {
    let doc = api_routes().split_for_parts().1;
    let mut value = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    finish::finish(&mut value);
    serde_json::from_value(value).expect("the finished document is still an OpenAPI document")
}

/// The document as served and checked in: pretty JSON and a final newline. It carries the
/// `webhooks` section (what pfn POSTs to endpoints), which utoipa's model has no field for.
pub fn json() -> String {
    let doc = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    // The document's own key order stays; the section goes last.
    let body = doc
        .trim_end()
        .strip_suffix('}')
        .expect("the document is an object")
        .trim_end();
    let section = serde_json::to_string_pretty(&webhooks()).expect("the section serialises");
    format!(
        "{body},\n  \"webhooks\": {}\n}}\n",
        section.replace('\n', "\n  ")
    )
}

/// One entry per event type: the POST pfn makes, its Standard Webhooks headers and its body.
fn webhooks() -> serde_json::Value {
    use serde_json::json;
    let header = |name: &str, description: &str, example: serde_json::Value| {
        json!({"name": name, "in": "header", "required": true, "description": description,
               "schema": {"type": "string"}, "example": example})
    };
    let headers = json!([
        header("webhook-id", "The message id: the same on every retry. Deduplicate by it.",
            json!("msg_5b1f3c2a9d8e7f60a1b2c3d4e5f60718")),
        header("webhook-timestamp", "Unix seconds when this attempt was signed. Refuse messages more than 5 minutes off.",
            json!("1796117400")),
        header("webhook-signature", "`v1,` and base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed by the endpoint's secret (the base64 after `whsec_`); space-separated, one per secret that signs (two for 24 hours after a rotation). See docs/webhooks.md.",
            json!("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")),
    ]);
    let ids = json!({
        "transactionId": "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b",
        "connectionId": "0193b6f7-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "keyId": "0193b6f9-3c4d-7e5f-a06b-7c8d9e0f1a2b",
        "budgetId": "0193b6fa-4d5e-7f6a-b07c-8d9e0f1a2b3c",
    });
    let mut out = serde_json::Map::new();
    let ping = (
        "ping",
        "Sent by `POST /api/v1/webhooks/{id}/test` to that endpoint only.",
    );
    for (event, when) in shared::webhooks::EVENT_TYPES.iter().copied().chain([ping]) {
        let mut data = json!({"workspaceId": "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"});
        let family = event.split('.').next().unwrap_or_default();
        let extra: &[(&str, serde_json::Value)] = match (family, event) {
            ("transaction", _) => &[("transactionId", ids["transactionId"].clone())],
            (_, "sync.completed") => &[
                ("connectionId", ids["connectionId"].clone()),
                ("syncId", json!("0193b6f8-2b3c-7d4e-9f5a-6b7c8d9e0f1a")),
            ],
            (_, "sync.failed") => &[
                ("connectionId", ids["connectionId"].clone()),
                ("syncId", json!("0193b6f8-2b3c-7d4e-9f5a-6b7c8d9e0f1a")),
                ("error", json!("upstream_timeout")),
            ],
            (_, "connection.consent_expiring") => &[
                ("connectionId", ids["connectionId"].clone()),
                ("expiresAt", json!("2026-12-08T09:30:00Z")),
            ],
            ("connection", _) => &[("connectionId", ids["connectionId"].clone())],
            ("key", _) => &[
                ("keyId", ids["keyId"].clone()),
                ("expiresAt", json!("2026-12-08T09:30:00Z")),
            ],
            ("budget", _) => &[
                ("budgetId", ids["budgetId"].clone()),
                ("month", json!("2026-12")),
            ],
            _ => &[("endpointId", json!("0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"))],
        };
        for (k, v) in extra {
            data[*k] = v.clone();
        }
        let example = json!({"type": event, "timestamp": "2026-12-01T09:30:00.120Z", "data": data});
        out.insert(event.to_string(), json!({"post": {
            "tags": ["webhooks"],
            "summary": event,
            "description": format!("{when}\n\nThe body is small on purpose: read the details through the API or the change feed. \
                Answer any 2xx within 10 seconds; anything else is retried with exponential backoff for 3 days."),
            "parameters": headers,
            "requestBody": {"required": true, "description": "The event (Standard Webhooks payload).",
                "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/WebhookEvent"}, "example": example}}},
            "responses": {"2XX": {"description": "Received. Any 2xx ends the retries."}},
        }}));
    }
    serde_json::Value::Object(out)
}

//! Webhook endpoints, their deliveries and the events they carry (docs/webhooks.md).

use serde::{Deserialize, Serialize};

/// Every event type an endpoint can subscribe to, with when it is sent. `ping` (sent by
/// `POST /api/v1/webhooks/{id}/test`) goes to every endpoint and is not subscribed to.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    (
        "transaction.created",
        "A transaction appeared: pushed, or synced from a bank.",
    ),
    (
        "transaction.updated",
        "A transaction changed: its overlay (category, note, tags, excluded) or its bank's data.",
    ),
    (
        "transaction.removed",
        "A transaction is gone: deleted, or no longer shown by its bank.",
    ),
    ("sync.completed", "A bank connection's sync finished."),
    ("sync.failed", "A bank connection's sync failed."),
    (
        "connection.reauth_required",
        "A bank connection lost its consent (revoked or expired): connect again.",
    ),
    (
        "connection.consent_expiring",
        "A bank connection's consent ends within 7 days.",
    ),
    (
        "key.expiring",
        "An API key expires in 7 days, then again 1 day before.",
    ),
    ("budget.exceeded", "A budget's month went over its limit."),
];

pub fn is_event_type(s: &str) -> bool {
    EVENT_TYPES.iter().any(|(t, _)| *t == s)
}

/// An event type an endpoint can subscribe to (the `webhooks` section describes each). For the
/// document only: the API carries event types as these strings.
#[cfg(feature = "openapi")]
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = "transaction.created")]
pub enum WebhookEventType {
    #[serde(rename = "transaction.created")]
    TransactionCreated,
    #[serde(rename = "transaction.updated")]
    TransactionUpdated,
    #[serde(rename = "transaction.removed")]
    TransactionRemoved,
    #[serde(rename = "sync.completed")]
    SyncCompleted,
    #[serde(rename = "sync.failed")]
    SyncFailed,
    #[serde(rename = "connection.reauth_required")]
    ConnectionReauthRequired,
    #[serde(rename = "connection.consent_expiring")]
    ConnectionConsentExpiring,
    #[serde(rename = "key.expiring")]
    KeyExpiring,
    #[serde(rename = "budget.exceeded")]
    BudgetExceeded,
}

/// Where a delivery stands: `pending` (waiting or retrying), `delivered`, or `failed` (given up
/// after 3 days, or when pfn disabled the failing endpoint). For the document only: the API
/// carries these strings.
#[cfg(feature = "openapi")]
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "delivered")]
pub enum WebhookDeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// A webhook endpoint: where the workspace's events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: String,
    /// Where events are POSTed.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://example.com/pfn/webhooks")
    )]
    pub url: String,
    #[cfg_attr(feature = "openapi", schema(example = "Ledger sync"))]
    pub description: String,
    /// The event types sent here.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<WebhookEventType>, example = json!(["transaction.created", "transaction.updated", "transaction.removed"])))]
    pub event_types: Vec<String>,
    /// Disabled endpoints receive nothing; pfn disables one that kept failing for 5 days.
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub enabled: bool,
    /// Why pfn disabled it (`failing`), if it did.
    #[cfg_attr(feature = "openapi", schema(example = json!(null)))]
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed, if they do.
    #[cfg_attr(feature = "openapi", schema(example = json!(null)))]
    pub failing_since: Option<String>,
    /// After a secret rotation: until when the previous secret also signs.
    #[cfg_attr(feature = "openapi", schema(example = json!(null)))]
    pub previous_secret_expires_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T09:30:00Z"))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T09:30:00Z"))]
    pub updated_at: String,
}

/// An endpoint with its signing secret: shown once, when the endpoint is made or its secret
/// rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    pub webhook: WebhookEndpoint,
    /// The Standard Webhooks signing secret (`whsec_` and base64). Store it now: it is not
    /// shown again.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6Q3bXkdKdR0=")
    )]
    pub secret: String,
}

/// The body of `POST /api/v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "url": "https://example.com/pfn/webhooks", "description": "Ledger sync",
    "eventTypes": ["transaction.created", "transaction.updated", "transaction.removed"]})))]
pub struct CreateWebhookRequest {
    /// `https://` (plain `http://` only on a development server); at most 2,000 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2000, example = "https://example.com/pfn/webhooks")
    )]
    pub url: String,
    /// At most 200 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200, example = "Ledger sync"))]
    pub description: String,
    /// At least one type from the `webhooks` section of this document.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<WebhookEventType>, min_items = 1, example = json!(["transaction.created"])))]
    pub event_types: Vec<String>,
    /// Default `true`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub enabled: Option<bool>,
}

/// The body of `PATCH /api/v1/webhooks/{id}`: what to change. Enabling an endpoint sends only
/// events from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"enabled": true})))]
pub struct UpdateWebhookRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://example.com/pfn/webhooks")
    )]
    pub url: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "Ledger sync"))]
    pub description: Option<String>,
    /// At least one type from the `webhooks` section of this document.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<WebhookEventType>>, min_items = 1, example = json!(["transaction.created"])))]
    pub event_types: Option<Vec<String>>,
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub enabled: Option<bool>,
}

/// One message to one endpoint and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// For `POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/retry`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "NDI6dHJhbnNhY3Rpb24uY3JlYXRlZDowMTkzYjZmNQ")
    )]
    pub id: String,
    /// The message's `webhook-id` (the same on every attempt: deduplicate by it).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "msg_5b1f3c2a9d8e7f60a1b2c3d4e5f60718")
    )]
    pub message_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "transaction.created"))]
    pub event_type: String,
    /// The transaction, connection, key or budget the event is about.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")
    )]
    pub resource_id: String,
    /// `pending` (waiting or retrying), `delivered`, or `failed` (given up after 3 days, or when
    /// pfn disabled the failing endpoint).
    #[cfg_attr(feature = "openapi", schema(value_type = WebhookDeliveryStatus, example = "delivered"))]
    pub status: String,
    /// Attempts made so far.
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub attempts: i64,
    /// The HTTP status of the last attempt's answer, if there was one.
    #[cfg_attr(feature = "openapi", schema(example = 200))]
    pub response_status: Option<i64>,
    /// How long the last attempt took.
    #[cfg_attr(feature = "openapi", schema(example = 42))]
    pub duration_ms: Option<i64>,
    /// Why the last attempt failed.
    #[cfg_attr(feature = "openapi", schema(example = json!(null)))]
    pub error: Option<String>,
    /// When the event happened.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T09:30:00.120Z"))]
    pub event_at: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T09:30:00.250Z"))]
    pub last_attempt_at: Option<String>,
    /// When a pending delivery is tried next.
    #[cfg_attr(feature = "openapi", schema(example = json!(null)))]
    pub next_attempt_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T09:30:00.250Z"))]
    pub delivered_at: Option<String>,
}

/// What every webhook POST carries (Standard Webhooks payload): small on purpose; read the
/// details through the API or the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// The event type.
    #[cfg_attr(feature = "openapi", schema(example = "transaction.created"))]
    pub r#type: String,
    /// When the event happened (RFC 3339, milliseconds).
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T09:30:00.120Z"))]
    pub timestamp: String,
    pub data: WebhookEventData,
}

/// The ids an event is about; which are present depends on the type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventData {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: String,
    /// `transaction.*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")
    )]
    pub transaction_id: Option<String>,
    /// `sync.*` and `connection.*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f7-1a2b-7c3d-8e4f-5a6b7c8d9e0f")
    )]
    pub connection_id: Option<String>,
    /// `sync.*`: the sync (`GET /api/v1/syncs/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f8-2b3c-7d4e-9f5a-6b7c8d9e0f1a")
    )]
    pub sync_id: Option<String>,
    /// `sync.failed`: the error code the sync shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "upstream_timeout"))]
    pub error: Option<String>,
    /// `key.expiring`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f9-3c4d-7e5f-a06b-7c8d9e0f1a2b")
    )]
    pub key_id: Option<String>,
    /// `budget.exceeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6fa-4d5e-7f6a-b07c-8d9e0f1a2b3c")
    )]
    pub budget_id: Option<String>,
    /// `key.expiring` (the key's expiry) and `connection.consent_expiring` (the consent's end).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-08T09:30:00Z"))]
    pub expires_at: Option<String>,
    /// `budget.exceeded`: the budget's month (`YYYY-MM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2026-12"))]
    pub month: Option<String>,
    /// `ping`: the endpoint tested.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub endpoint_id: Option<String>,
}

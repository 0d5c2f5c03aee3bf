//! Webhook endpoints of the current workspace, their delivery log, tests and retries.

use gloo_net::http::Method;
use shared::{
    webhooks::{
        CreateWebhookRequest, UpdateWebhookRequest, WebhookDelivery, WebhookEndpoint,
        WebhookWithSecret,
    },
    Page,
};

use super::{act, get, patch, post, ws, ApiResult};
use crate::logic::encode;

fn one(id: &str, rest: &str) -> String {
    format!("/api/v1/webhooks/{}{rest}", encode(id))
}

pub async fn webhooks(workspace: Option<String>) -> ApiResult<Page<WebhookEndpoint>> {
    get(&ws(
        "/api/v1/webhooks",
        &workspace,
        &[("limit", Some("50"))],
    ))
    .await
}
pub async fn create_webhook(
    workspace: Option<String>,
    req: CreateWebhookRequest,
) -> ApiResult<WebhookWithSecret> {
    post(&ws("/api/v1/webhooks", &workspace, &[]), &req).await
}
pub async fn update_webhook(
    workspace: Option<String>,
    id: String,
    req: UpdateWebhookRequest,
) -> ApiResult<WebhookEndpoint> {
    patch(&ws(&one(&id, ""), &workspace, &[]), &req).await
}
pub async fn delete_webhook(workspace: Option<String>, id: String) -> ApiResult<()> {
    act(Method::DELETE, &ws(&one(&id, ""), &workspace, &[])).await
}
pub async fn rotate_webhook_secret(
    workspace: Option<String>,
    id: String,
) -> ApiResult<WebhookWithSecret> {
    post(
        &ws(&one(&id, "/rotate-secret"), &workspace, &[]),
        &serde_json::json!({}),
    )
    .await
}
pub async fn test_webhook(workspace: Option<String>, id: String) -> ApiResult<WebhookDelivery> {
    post(
        &ws(&one(&id, "/test"), &workspace, &[]),
        &serde_json::json!({}),
    )
    .await
}
pub async fn deliveries(
    workspace: Option<String>,
    id: String,
    cursor: Option<String>,
) -> ApiResult<Page<WebhookDelivery>> {
    let pairs = [("limit", Some("50")), ("cursor", cursor.as_deref())];
    get(&ws(&one(&id, "/deliveries"), &workspace, &pairs)).await
}
pub async fn retry_delivery(
    workspace: Option<String>,
    id: String,
    delivery: String,
) -> ApiResult<WebhookDelivery> {
    let path = one(&id, &format!("/deliveries/{}/retry", encode(&delivery)));
    post(&ws(&path, &workspace, &[]), &serde_json::json!({})).await
}

//! One API key in detail: the key, changing its limits, and its requests per day.

use shared::{
    key_limits::KeyUsage,
    keys::{ApiKey, KeyBody},
};

use super::{get, patch, ApiResult};
use crate::logic::{encode, limits::LimitsPatch};

fn one(id: &str, rest: &str) -> String {
    format!("/api/v1/keys/{}{rest}", encode(id))
}

pub async fn key(id: String) -> ApiResult<ApiKey> {
    get::<KeyBody>(&one(&id, "")).await.map(|b| b.key)
}

/// Changes only what `changes` carries; widening the key may need a fresh sign-in, which `send`
/// asks for (`reauth_required`).
pub async fn update_limits(id: String, changes: LimitsPatch) -> ApiResult<ApiKey> {
    patch::<KeyBody>(&one(&id, ""), &changes)
        .await
        .map(|b| b.key)
}

/// The last 30 days (the API's default range, by the server's clock).
pub async fn usage(id: String) -> ApiResult<KeyUsage> {
    get(&one(&id, "/usage")).await
}

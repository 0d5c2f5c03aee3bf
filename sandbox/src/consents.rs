//! Consent management (§3.5): list, read and revoke the customer's consents. Revoking ends
//! access to every account of that consent at once, as Tarabut revokes at the bank too.

use axum::{extract::State, Json};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::{
    auth::Customer,
    error::{ApiError, ApiResult, P},
    state::AppState,
    store::{Consent, ConsentStatus},
    timefmt,
};

pub(crate) fn consent_json(c: &Consent, now: OffsetDateTime) -> Value {
    json!({
        "id": c.id,
        "providerId": c.provider.id,
        "status": c.status(now).as_str(),
        "expiryDate": timefmt::secs(c.expiry),
        "createdAt": timefmt::secs(c.created_at),
        "accountIds": c.account_ids,
    })
}

/// `GET /consentInformation/v1/consents`: this customer's consents, oldest first.
pub(crate) async fn list_consents(
    customer: Customer,
    State(state): State<AppState>,
) -> Json<Value> {
    let now = state.clock.now();
    let store = state.read();
    let mut mine: Vec<&Consent> = store
        .consents
        .values()
        .filter(|c| c.customer == customer.id)
        .collect();
    mine.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let consents: Vec<Value> = mine.into_iter().map(|c| consent_json(c, now)).collect();
    Json(json!({ "consents": consents }))
}

/// `GET /consentInformation/v1/consents/{consentId}`.
pub(crate) async fn get_consent(
    customer: Customer,
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let store = state.read();
    let c = store
        .consents
        .get(&id)
        .filter(|c| c.customer == customer.id)
        .ok_or_else(|| ApiError::not_found("consent not found"))?;
    Ok(Json(consent_json(c, now)))
}

/// `DELETE /consentInformation/v1/consents/{consentId}`: idempotent.
pub(crate) async fn revoke_consent(
    customer: Customer,
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let mut store = state.write();
    let c = store
        .consents
        .get_mut(&id)
        .filter(|c| c.customer == customer.id)
        .ok_or_else(|| ApiError::not_found("consent not found"))?;
    c.status = ConsentStatus::Revoked;
    Ok(Json(json!({ "id": c.id, "status": "REVOKED" })))
}

//! Passkeys: the signed-in user's list, adding (the browser makes the credential), renaming,
//! removing; and each ceremony that uses one — signing in alone, the second step of a sign-in,
//! confirming it is you.

use gloo_net::http::Method;
use serde_json::json;
use shared::{
    MfaRequiredBody, MfaVerifyRequest, NewPasskeyRequest, PasskeyAdded, PasskeyAssertion,
    PasskeyInfo, PasskeyOptions, PasskeysBody, ReauthBody, ReauthRequest, RenamePasskeyRequest,
    User, UserBody,
};

use super::{act, get, patch, post, ApiError, ApiResult};
use crate::webauthn;

/// The browser (or the person) said no: cancelled, timed out, no passkey here.
fn refused(message: String) -> ApiError {
    ApiError::Api {
        status: 0,
        code: "passkey_refused".into(),
        message,
        fields: Default::default(),
    }
}

/// Begins a ceremony at `begin` and has the browser answer it with a passkey.
async fn answer(begin: &str) -> ApiResult<PasskeyAssertion> {
    let begun: PasskeyOptions = post(begin, &json!({})).await?;
    let credential = webauthn::assert(&begun.options).await.map_err(refused)?;
    Ok(PasskeyAssertion {
        ceremony_id: begun.ceremony_id,
        credential,
    })
}

pub async fn list() -> ApiResult<Vec<PasskeyInfo>> {
    get::<PasskeysBody>("/api/v1/auth/passkeys")
        .await
        .map(|b| b.passkeys)
}

pub async fn add(name: String) -> ApiResult<PasskeyAdded> {
    let begun: PasskeyOptions = post("/api/v1/auth/passkeys/options", &json!({})).await?;
    let credential = webauthn::create(&begun.options).await.map_err(refused)?;
    let req = NewPasskeyRequest {
        ceremony_id: begun.ceremony_id,
        name,
        credential,
    };
    post("/api/v1/auth/passkeys", &req).await
}

pub async fn rename((id, name): (String, String)) -> ApiResult<PasskeyInfo> {
    let url = format!("/api/v1/auth/passkeys/{}", crate::logic::encode(&id));
    patch(&url, &RenamePasskeyRequest { name }).await
}

pub async fn remove(id: String) -> ApiResult<()> {
    act(Method::DELETE, &format!("/api/v1/auth/passkeys/{id}")).await
}

/// Signs in with a passkey alone.
pub async fn sign_in() -> ApiResult<User> {
    let req = answer("/api/v1/auth/passkey/options").await?;
    post::<UserBody>("/api/v1/auth/passkey/login", &req)
        .await
        .map(|b| b.user)
}

/// The second step of a sign-in, with a passkey.
pub async fn second_factor() -> ApiResult<User> {
    let passkey = answer("/api/v1/auth/mfa/passkey/options").await?;
    super::mfa::verify(MfaVerifyRequest {
        passkey: Some(passkey),
        ..Default::default()
    })
    .await
}

/// What the waiting sign-in accepts (after Google, the page has not seen the login answer).
pub async fn pending_methods() -> ApiResult<Vec<String>> {
    get::<MfaRequiredBody>("/api/v1/auth/mfa/pending")
        .await
        .map(|b| b.methods)
}

/// Confirms it is you with a passkey (step-up).
pub async fn reauth() -> ApiResult<ReauthBody> {
    let passkey = answer("/api/v1/auth/reauth/passkey/options").await?;
    super::reauth(ReauthRequest {
        passkey: Some(passkey),
        ..Default::default()
    })
    .await
}

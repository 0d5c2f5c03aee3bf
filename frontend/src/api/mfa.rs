//! Two-step sign-in: the authenticator app, recovery codes, and the second step of a sign-in.

use gloo_net::http::Method;
use shared::{
    MfaStatus, MfaVerifyRequest, RecoveryCodesBody, TotpCodeRequest, TotpEnrolment, User, UserBody,
};

use super::{act, get, post, ApiResult};

pub async fn status() -> ApiResult<MfaStatus> {
    get("/api/v1/auth/mfa").await
}
pub async fn enrol() -> ApiResult<TotpEnrolment> {
    post("/api/v1/auth/mfa/totp", &serde_json::json!({})).await
}
pub async fn confirm(code: String) -> ApiResult<Vec<String>> {
    post::<RecoveryCodesBody>("/api/v1/auth/mfa/totp/confirm", &TotpCodeRequest { code })
        .await
        .map(|b| b.recovery_codes)
}
pub async fn disable() -> ApiResult<()> {
    act(Method::DELETE, "/api/v1/auth/mfa/totp").await
}
pub async fn regenerate() -> ApiResult<Vec<String>> {
    post::<RecoveryCodesBody>("/api/v1/auth/mfa/recovery-codes", &serde_json::json!({}))
        .await
        .map(|b| b.recovery_codes)
}
pub async fn verify(req: MfaVerifyRequest) -> ApiResult<User> {
    post::<UserBody>("/api/v1/auth/mfa/verify", &req)
        .await
        .map(|b| b.user)
}

//! The account itself: the profile, its email address, and deleting it.

use gloo_net::http::Method;
use shared::{
    CancelEmailChangeBody, ChangeEmailRequest, DeleteAccountRequest, EmailChangeBody, TokenRequest,
    UpdateProfileRequest, User, UserBody,
};

use super::{act, get, patch, post, send, to_value, ApiResult};

pub async fn update_me(name: String) -> ApiResult<User> {
    patch::<UserBody>("/api/v1/auth/me", &UpdateProfileRequest { name })
        .await
        .map(|b| b.user)
}

pub async fn delete_me(email: String) -> ApiResult<()> {
    let body = to_value(&DeleteAccountRequest { email });
    send(Method::DELETE, "/api/v1/auth/me", body)
        .await
        .map(|_| ())
}

const EMAIL_CHANGE: &str = "/api/v1/auth/email/change";

pub async fn email_change() -> ApiResult<EmailChangeBody> {
    get(EMAIL_CHANGE).await
}

pub async fn change_email(new_email: String) -> ApiResult<EmailChangeBody> {
    post(EMAIL_CHANGE, &ChangeEmailRequest { new_email }).await
}

pub async fn withdraw_email_change() -> ApiResult<()> {
    act(Method::DELETE, EMAIL_CHANGE).await
}

pub async fn confirm_email(token: String) -> ApiResult<User> {
    post::<UserBody>("/api/v1/auth/email/confirm", &TokenRequest { token })
        .await
        .map(|b| b.user)
}

pub async fn cancel_email_change(token: String) -> ApiResult<CancelEmailChangeBody> {
    post("/api/v1/auth/email/cancel", &TokenRequest { token }).await
}

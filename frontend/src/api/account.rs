//! The account itself: the profile, and deleting it.

use gloo_net::http::Method;
use shared::{DeleteAccountRequest, UpdateProfileRequest, User, UserBody};

use super::{patch, send, to_value, ApiResult};

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

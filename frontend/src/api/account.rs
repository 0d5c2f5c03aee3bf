//! The account itself: the profile.

use gloo_net::http::Method;
use shared::{UpdateProfileRequest, User, UserBody};

use super::{json, send, to_value, ApiResult};

pub async fn update_me(name: String) -> ApiResult<User> {
    let body = to_value(&UpdateProfileRequest { name });
    json::<UserBody>(send(Method::PATCH, "/api/v1/auth/me", body).await?).map(|b| b.user)
}

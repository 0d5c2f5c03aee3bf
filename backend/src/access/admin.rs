//! Administrators: a signed-in browser session of an account whose role is `admin`.

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
};
use shared::ErrorBody;

use super::SessionUser;
use crate::{
    error::{AppError, Result},
    state::AppState,
};

/// A signed-in administrator.
pub struct Admin(pub SessionUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let user = SessionUser::from_request_parts(parts, state).await?;
        if user.user.role != "admin" {
            tracing::debug!(user_id = %user.user.id, "admin route refused");
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "admin_required",
                "Only administrators can do this.",
            ));
        }
        Ok(Self(user))
    }
}

/// How admin routes refuse.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum AdminErrors {
    /// `admin_required` (a signed-in non-admin), `session_required` (an API key) or `csrf_rejected`.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

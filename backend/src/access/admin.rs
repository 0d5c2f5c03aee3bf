//! Administrators: a signed-in browser session of an account whose role is `admin`.

use super::{
    doc::{Access, Documented},
    SessionUser,
};
use crate::{
    error::{AppError, Result},
    state::AppState,
};
use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
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
        if state.config.admin_require_mfa() && !user.user.second_factor {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "Administrators need two-step sign-in: set up an authenticator app first.",
            ));
        }
        Ok(Self(user))
    }
}

impl Documented for Admin {
    fn document(access: &mut Access) {
        SessionUser::document(access);
        access.refuse(
            403,
            "admin_required",
            "a signed-in user who is not an administrator.",
        );
        access.refuse(
            403,
            "mfa_required",
            "an administrator without two-step sign-in, while `PFN_ADMIN_REQUIRE_MFA` is on (the default outside development).",
        );
    }
}

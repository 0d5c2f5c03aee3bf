//! [`KeyCaller`]: an API key and nothing else (`/mcp`).

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};

use super::{
    caller::{refuse_broken_keys, refuse_busy_keys, refuse_restricted_keys, unauthorized},
    doc::{Access, Documented, Who},
    AnyScope, Caller,
};
use crate::{
    cache::keys::CachedKey,
    error::{AppError, Result},
    state::AppState,
};

/// A caller with an API key and nothing else (`/mcp`): a browser session is not enough, and
/// the key acts in its own workspace. Checked, charged and recorded as [`Caller`] does.
pub struct KeyCaller(pub Arc<CachedKey>);

impl FromRequestParts<AppState> for KeyCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(unauthorized(
                "missing_key",
                "Send Authorization: Bearer <key>.",
            ));
        }
        let caller = Caller::<AnyScope>::from_request_parts(parts, state).await?;
        caller
            .key
            .map(Self)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a Bearer caller without a key")))
    }
}

impl Documented for KeyCaller {
    fn document(access: &mut Access) {
        access.admit(&[Who::Key(None)]);
        access.refuse(
            401,
            "missing_key",
            "no `Authorization` header (a browser session is not enough).",
        );
        refuse_broken_keys(access);
        refuse_restricted_keys(access);
        refuse_busy_keys(access);
    }
}

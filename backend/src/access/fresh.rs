//! Step-up: what a stolen session cookie must not be enough for. `Fresh<E>` admits what `E`
//! admits, and a browser session only when its user proved who they are (sign-in, or `POST
//! /api/v1/auth/reauth`) within the last ten minutes; otherwise 403 `reauth_required`. API keys
//! are bounded by their scopes and never asked: `Fresh<Caller<…>>` lets a key through.
//!
//! The sign-in time is part of the session record that every request already reads (from this
//! replica's cache), so the check costs no database read.

use std::ops::Deref;

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
};

use super::{
    doc::{Access, Documented},
    Admin, Caller, InWorkspace, Need, Role, SessionUser,
};
use crate::{
    error::{AppError, Result},
    state::AppState,
};

/// How long an authentication counts as fresh.
pub const FRESH_SECS: i64 = 10 * 60;

/// `E`, and a session caller authenticated within [`FRESH_SECS`].
pub struct Fresh<E>(pub E);

impl<E> Deref for Fresh<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.0
    }
}

/// An extractor whose caller may be a browser session: when that session last authenticated
/// (unix seconds), or `None` for a caller step-up does not bind (an API key).
pub trait SignedIn {
    fn authenticated_at(&self) -> Option<i64>;
}

impl SignedIn for SessionUser {
    fn authenticated_at(&self) -> Option<i64> {
        Some(self.authenticated_at)
    }
}

impl SignedIn for Admin {
    fn authenticated_at(&self) -> Option<i64> {
        self.0.authenticated_at()
    }
}

impl<R: Role> SignedIn for InWorkspace<R> {
    fn authenticated_at(&self) -> Option<i64> {
        self.who.authenticated_at()
    }
}

impl<N: Need> SignedIn for Caller<N> {
    fn authenticated_at(&self) -> Option<i64> {
        self.session_authenticated_at()
    }
}

/// 403 `reauth_required` unless `authenticated_at` is within [`FRESH_SECS`] of `now`: the one
/// step-up check, for [`Fresh`] and [`StepUpWhen`].
fn fresh_since(authenticated_at: i64, now: i64) -> Result<()> {
    if now - authenticated_at > FRESH_SECS {
        return Err(reauth_required());
    }
    Ok(())
}

/// 403 `reauth_required`.
pub fn reauth_required() -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        "reauth_required",
        "Confirm it is you: sign in again (POST /api/v1/auth/reauth), then retry.",
    )
}

impl<E> FromRequestParts<AppState> for Fresh<E>
where
    E: FromRequestParts<AppState, Rejection = AppError> + SignedIn + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let inner = E::from_request_parts(parts, state).await?;
        if let Some(at) = inner.authenticated_at() {
            fresh_since(at, state.clock.now())?;
        }
        Ok(Self(inner))
    }
}

/// A browser session on an operation where only some requests need step-up (documented as
/// `x-pfn-step-up: "<when>"`): the handler decides, and calls [`StepUpWhen::require`] when the
/// request needs it.
pub struct StepUpWhen<W: When>(pub SessionUser, std::marker::PhantomData<W>);

/// Which requests of an operation need step-up, in the document's words.
pub trait When: Send + Sync + 'static {
    const WHEN: &'static str;
    const TEXT: &'static str;
}

impl<W: When> StepUpWhen<W> {
    /// 403 `reauth_required` unless the session authenticated within [`FRESH_SECS`].
    pub fn require(&self, now: i64) -> Result<()> {
        fresh_since(self.0.authenticated_at, now)
    }
}

impl<W: When> Deref for StepUpWhen<W> {
    type Target = SessionUser;
    fn deref(&self) -> &SessionUser {
        &self.0
    }
}

impl<W: When> FromRequestParts<AppState> for StepUpWhen<W> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let who = SessionUser::from_request_parts(parts, state).await?;
        Ok(Self(who, std::marker::PhantomData))
    }
}

impl<W: When> Documented for StepUpWhen<W> {
    fn document(access: &mut Access) {
        SessionUser::document(access);
        access.refuse(403, "reauth_required", W::TEXT);
        access.step_up_when(W::WHEN);
    }
}

impl<E: Documented> Documented for Fresh<E> {
    fn document(access: &mut Access) {
        E::document(access);
        access.refuse(
            403,
            "reauth_required",
            "a browser session that last signed in or re-authenticated more than 10 minutes ago: `POST /api/v1/auth/reauth`, then retry (API keys are never asked).",
        );
        access.step_up();
    }
}

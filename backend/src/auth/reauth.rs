//! Re-authentication (step-up): the signed-in user proves it is them again, and for ten
//! minutes the operations behind `access::Fresh` are open to this session.

use axum::{extract::State, Json};
use shared::{ErrorBody, ReauthBody, ReauthRequest};

use super::{check_password_size, password::verify_current_password};
use crate::{
    access::{session, SessionUser, FRESH_SECS},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    db,
    email::normalize as normalize_email,
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, responses::RateLimited, AppJson},
};

/// Confirm it is you: with your password, before an operation that answered 403
/// `reauth_required` (the list is in the API guide, "Second factors and step-up"; each such
/// operation is marked `x-pfn-step-up` in this document). A wrong password counts toward the
/// sign-in lockout, like a failed sign-in.
#[utoipa::path(post, path = "/api/v1/auth/reauth", tag = "auth", operation_id = "reauthenticate",
    request_body = ReauthRequest,
    responses(BodyErrors,
        (status = 200, description = "Step-up operations are open to this session until `freshUntil`", body = ReauthBody),
        (status = 409, description = "`password_not_set`: the account signs in with Google only; re-authenticate through `GET /api/v1/auth/google/start?mode=reauth`", body = ErrorBody),
        (status = 422, description = "`invalid_current_password`: the password is wrong (counts toward the lockout); or `validation_failed`", body = ErrorBody), RateLimited))]
pub(super) async fn reauthenticate(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    AppJson(req): AppJson<ReauthRequest>,
) -> Result<Json<ReauthBody>> {
    check_password_size("password", &req.password)?;
    let user = &who.user;
    if user.password_hash.is_none() {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "password_not_set",
            "This account has no password: confirm it is you through Google.",
        ));
    }
    verify_current_password(&state, &meta, user, &req.password, "reauth.failed").await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // A proved password ends a run of failures, as a sign-in does.
    db::throttle::clear(&mut *tx, &normalize_email(&user.email)).await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("reauth.succeeded", &user.id, Outcome::Success),
    )
    .await?;
    tx.commit().await?;
    session::reauthenticated(&who.session, now).await?;
    Ok(Json(ReauthBody {
        fresh_until: rfc3339(now + FRESH_SECS),
    }))
}

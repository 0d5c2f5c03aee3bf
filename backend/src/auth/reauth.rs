//! Re-authentication (step-up): the signed-in user proves it is them again, and for ten
//! minutes the operations behind `access::Fresh` are open to this session.

use axum::{extract::State, Json};
use shared::{ErrorBody, ReauthBody, ReauthRequest};

use super::{
    ceremony::{self, Purpose},
    check_password_size, factors,
    password::verify_current_password,
    record_failure,
};
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

/// Confirm it is you: with your password, a code from your authenticator app, or a passkey
/// (`POST /api/v1/auth/reauth/passkey/options` first), before an
/// operation that answered 403 `reauth_required` (the list is in the API guide, "Second factors
/// and step-up"; each such operation is marked `x-pfn-step-up` in this document). A wrong
/// password or code counts toward the sign-in lockout, like a failed sign-in.
#[utoipa::path(post, path = "/api/v1/auth/reauth", tag = "auth", operation_id = "reauthenticate",
    request_body = ReauthRequest,
    responses(BodyErrors,
        (status = 200, description = "Step-up operations are open to this session until `freshUntil`", body = ReauthBody),
        (status = 409, description = "`password_not_set`: the account has no password; confirm with a code, a passkey, or through `GET /api/v1/auth/google/reauth`", body = ErrorBody),
        (status = 422, description = "`invalid_current_password`, `invalid_code` or `passkey_invalid`: wrong (counts toward the lockout); or `validation_failed`: send exactly one of `password`, `code` and `passkey`", body = ErrorBody), RateLimited))]
pub(super) async fn reauthenticate(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    AppJson(req): AppJson<ReauthRequest>,
) -> Result<Json<ReauthBody>> {
    let user = &who.user;
    match (
        req.password.as_deref(),
        req.code.as_deref(),
        req.passkey.as_ref(),
    ) {
        (Some(password), None, None) => {
            check_password_size("password", password)?;
            if user.password_hash.is_none() {
                return Err(AppError::new(
                    axum::http::StatusCode::CONFLICT,
                    "password_not_set",
                    "This account has no password: confirm it is you another way.",
                ));
            }
            verify_current_password(&state, &meta, user, password, "reauth.failed").await?;
        }
        (None, Some(code), None) => verify_current_code(&state, &meta, user, code).await?,
        (None, None, Some(passkey)) => {
            let key = normalize_email(&user.email);
            super::check_unlocked(&state, &key).await?;
            let mut conn = state.db.pool.acquire().await?;
            if !ceremony::check_assertion(&state, &mut conn, Purpose::Reauth, &user.id, passkey)
                .await?
            {
                drop(conn);
                record_failure(&state, &meta, &key, Some(&user.id), "reauth.failed").await?;
                return Err(ceremony::invalid());
            }
        }
        _ => {
            return Err(AppError::field(
                "password",
                "send exactly one of password, code and passkey",
            ))
        }
    }
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

/// An authenticator code instead of the password: the same lockout, the same 422 on failure
/// (`invalid_code`).
async fn verify_current_code(
    state: &AppState,
    meta: &RequestMeta,
    user: &db::users::UserRow,
    code: &str,
) -> Result<()> {
    let key = normalize_email(&user.email);
    super::check_unlocked(state, &key).await?;
    let mut conn = state.db.pool.acquire().await?;
    if !factors::check_code(state, &mut conn, &user.id, &user.email, code, true).await? {
        drop(conn);
        record_failure(state, meta, &key, Some(&user.id), "reauth.failed").await?;
        return Err(factors::invalid_code());
    }
    Ok(())
}

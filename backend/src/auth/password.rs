//! Password flows: forgot (a reset link, after answering), reset with the link, and change
//! while signed in.

use axum::{extract::State, http::StatusCode, Json};
use shared::{ChangePasswordRequest, EmailRequest, ErrorBody, ResetPasswordRequest, StatusBody};

use super::{
    accepted, after_answering, check_password_size, credentials, mail_request_gate, record_failure,
    RESET_TTL,
};
use crate::{
    access::session::{self, SessionUser},
    access::{Browser, Fresh},
    audit::{self, Event, Outcome},
    crypto::{random_token, sha256_hex},
    db::{self, tokens::Purpose, users::UserRow},
    email::{normalize as normalize_email, Email},
    error::{AppError, Result},
    mail::Template,
    password,
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, responses::RateLimited, AppJson},
};

/// Ask for a password-reset link.
///
/// Always 202 with the same body: a known email gets a reset link (1 hour, single use), an
/// unknown one a "no account here" mail. At most 3 an hour per email; more are dropped silently.
/// The mail is queued after the answer, so the answer's timing does not tell whether the email
/// has an account.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", operation_id = "forgotPassword",
    request_body = EmailRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted", body = StatusBody), RateLimited))]
pub(super) async fn forgot_password(
    _browser: Browser,
    State(state): State<AppState>,
    meta: RequestMeta,
    AppJson(req): AppJson<EmailRequest>,
) -> Result<(StatusCode, Json<StatusBody>)> {
    let per_ip = state.config.limits.forgot_per_ip_per_hour;
    let Some(email) = mail_request_gate(&state, &meta, &req.email, "forgot", per_ip).await? else {
        return Ok(accepted());
    };
    // The answer does not wait for the work: a known email costs a token more than an unknown
    // one, and that difference must not be measurable (tests/timing.rs). The work starts a
    // moment later, so it does not compete with writing the answer either.
    after_answering(async move { queue_reset_mail(&state, &email).await });
    Ok(accepted())
}

/// A reset link for a known email, a "no account here" mail for an unknown one.
async fn queue_reset_mail(state: &AppState, email: &Email) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let now = state.clock.now();
    match db::users::by_email(&mut *tx, &email.normalized).await? {
        Some(user) => {
            let token = random_token();
            db::tokens::retire_all(&mut *tx, &user.id, Purpose::ResetPassword, now).await?;
            db::tokens::insert(
                &mut *tx,
                &sha256_hex(token.as_bytes()),
                &user.id,
                Purpose::ResetPassword,
                now,
                RESET_TTL,
            )
            .await?;
            state
                .mail
                .enqueue(
                    &mut tx,
                    &user.email,
                    Template::ResetPassword {
                        name: user.name,
                        token,
                    },
                )
                .await?;
        }
        None => {
            state
                .mail
                .enqueue(&mut tx, &email.display, Template::NoAccount)
                .await?;
        }
    }
    tx.commit().await?;
    state.mail.wake();
    Ok(())
}

/// Set a new password with the token from the reset mail.
///
/// Ends every session of the user, clears any lockout, and marks the email verified (the link
/// proved the mailbox). On an account that was never verified, everything else that was set
/// on it (by whoever signed it up) goes too: pending links, sign-ins, keys. A mail confirms the
/// reset and lists the sign-in providers and API keys that still reach the account.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", operation_id = "resetPassword",
    request_body = ResetPasswordRequest,
    responses(BodyErrors,
        (status = 200, description = "Password changed; sign in again", body = StatusBody),
        (status = 400, description = "`invalid_token`: unknown, used or expired (1 h); or `invalid_json`", body = ErrorBody)))]
pub(super) async fn reset_password(
    _browser: Browser,
    State(state): State<AppState>,
    meta: RequestMeta,
    AppJson(req): AppJson<ResetPasswordRequest>,
) -> Result<Json<StatusBody>> {
    let token_hash = sha256_hex(req.token.as_bytes());
    let user_id = db::tokens::peek(
        &state.db.pool,
        &token_hash,
        Purpose::ResetPassword,
        state.clock.now(),
    )
    .await?
    .ok_or_else(AppError::invalid_token)?;
    let user = db::users::by_id(&state.db.pool, &user_id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    check_password_size("password", &req.password)?;
    password::check_policy(&req.password, &user.email)
        .map_err(|m| AppError::field("password", m))?;
    let hash = state.passwords.hash(&req.password).await?;

    let mut tx = state.db.begin().await?;
    let now = state.clock.now();
    // Consume now, in the transaction: a concurrent reset with the same link loses here.
    db::tokens::consume(&mut *tx, &token_hash, Purpose::ResetPassword, now)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    // The link proved the mailbox. On an account that was never verified, whoever signed it up
    // may not be the owner: nothing they set survives the owner's reset.
    let reclaimed = user.email_verified_at.is_none();
    let revoked = if reclaimed {
        credentials::wipe(&mut tx, &user.id, now).await?
    } else {
        db::sessions::delete_all(&mut *tx, &user.id, None).await?;
        Vec::new()
    };
    db::users::set_password(&mut *tx, &user.id, &hash, true, now).await?;
    db::throttle::clear(&mut *tx, &normalize_email(&user.email)).await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("password.reset", &user.id, Outcome::Success),
    )
    .await?;
    if reclaimed {
        for kind in ["user.email_verified", "user.reclaimed"] {
            audit::record(
                &mut tx,
                &state.clock,
                &meta,
                Event::own(kind, &user.id, Outcome::Success),
            )
            .await?;
        }
    }
    // What else reaches the account, so its owner sees it (and can end it).
    let template = Template::PasswordReset {
        name: user.name.clone(),
        providers: db::users::linked_providers(&mut *tx, &user.id).await?,
        keys: db::keys::active_names(&mut *tx, &user.id, now).await?,
    };
    state.mail.enqueue(&mut tx, &user.email, template).await?;
    tx.commit().await?;
    state.mail.wake();
    state.forget_user(&user.id).await;
    for hash in revoked {
        state.forget_key(&hash).await;
    }
    Ok(Json(StatusBody::ok()))
}

/// Checks the signed-in `user`'s password, as change-password and re-authentication do: while
/// the account is locked, 429 `too_many_attempts`; a wrong password counts toward the lockout,
/// is audited as `failure_event` and answers 422 `invalid_current_password` (not 401, which
/// means "signed out").
pub(super) async fn verify_current_password(
    state: &AppState,
    meta: &RequestMeta,
    user: &UserRow,
    password: &str,
    failure_event: &'static str,
) -> Result<()> {
    let key = normalize_email(&user.email);
    super::check_unlocked(state, &key).await?;
    if !state
        .passwords
        .verify(password, user.password_hash.as_deref())
        .await?
    {
        record_failure(state, meta, &key, Some(&user.id), failure_event).await?;
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_current_password",
            "The current password is incorrect.",
        ));
    }
    Ok(())
}

/// Change the password of the signed-in user; ends every other session.
///
/// A wrong current password is 422 `invalid_current_password` (not 401, which means "signed
/// out") and counts toward the lockout.
#[utoipa::path(post, path = "/api/v1/auth/password/change", tag = "auth", operation_id = "changePassword",
    request_body = ChangePasswordRequest,
    responses(BodyErrors,
        (status = 200, description = "Password changed", body = StatusBody),
        (status = 422, description = "`invalid_current_password`: the current password is wrong (counts toward the lockout); or `validation_failed`: the new password breaks a rule, named in `error.fields`", body = ErrorBody), RateLimited))]
pub(super) async fn change_password(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(auth): Fresh<SessionUser>,
    AppJson(req): AppJson<ChangePasswordRequest>,
) -> Result<Json<StatusBody>> {
    let user = &auth.user;
    check_password_size("currentPassword", &req.current_password)?;
    check_password_size("newPassword", &req.new_password)?;
    password::check_policy(&req.new_password, &user.email)
        .map_err(|m| AppError::field("newPassword", m))?;
    let key = normalize_email(&user.email);
    verify_current_password(
        &state,
        &meta,
        user,
        &req.current_password,
        "password.change_failed",
    )
    .await?;
    let hash = state.passwords.hash(&req.new_password).await?;
    let current = user.password_hash.as_deref().unwrap_or_default();
    let mut tx = state.db.begin().await?;
    // Only if nothing changed meanwhile: a reset that committed during this request (and ended
    // this session) must not be overwritten by a caller who no longer has a session.
    let session_alive = db::sessions::exists(&mut *tx, &user.id, &auth.session_id).await?;
    if !session_alive
        || !db::users::replace_password(&mut *tx, &user.id, current, &hash, state.clock.now())
            .await?
    {
        return Err(AppError::unauthenticated());
    }
    db::sessions::delete_all(&mut *tx, &user.id, Some(&auth.session_id)).await?;
    db::throttle::clear(&mut *tx, &key).await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("password.changed", &user.id, Outcome::Success),
    )
    .await?;
    tx.commit().await?;
    state.forget_user(&user.id).await;
    session::refresh_fingerprint(&auth.session, &hash).await?;
    // The current password was just proved: that is a fresh authentication.
    session::reauthenticated(&auth.session, state.clock.now()).await?;
    Ok(Json(StatusBody::ok()))
}

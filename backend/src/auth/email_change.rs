//! Changing the account's email address: the request (step-up), the confirmation link sent to
//! the new address, and the "this wasn't me" link sent to the old one.
//!
//! No enumeration: a request for an address another account holds (or may still take back)
//! answers the same 202, stores the same row and sends the same notice to the old address;
//! only the mail to the new address differs ("this address already has an account" instead of
//! a link), and only its owner reads it.

use axum::{extract::State, http::StatusCode, Json};
use shared::{
    CancelEmailChangeBody, CancelOutcome, ChangeEmailRequest, EmailChangeBody, ErrorBody,
    PendingEmailChange, TokenRequest, UserBody,
};
use sqlx::AnyConnection;

use super::{credentials, limit, user_view, VERIFY_TTL};
use crate::{
    access::{session, Browser, BrowserSession, Fresh, SessionUser},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    crypto::{random_token, sha256_hex},
    db::{self, email_changes as changes, tokens::Purpose},
    email::{normalize as normalize_email, Email},
    error::{AppError, Result},
    mail::Template,
    ratelimit::Rate,
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, responses::RateLimited, AppJson},
};

/// How long the old address's "this wasn't me" link works (and the address stays reserved).
pub const CANCEL_TTL: i64 = 14 * 24 * 3600;
/// Email-change requests per account per hour.
const REQUESTS_PER_HOUR: u32 = 5;

/// The pending change as the API shows it.
async fn body(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<EmailChangeBody> {
    let pending = changes::pending(conn, user_id, now).await?;
    Ok(EmailChangeBody {
        pending: pending.map(|(new_email, expires_at)| PendingEmailChange {
            new_email,
            expires_at: rfc3339(expires_at),
        }),
    })
}

/// Moves account `id` to `email`; 409 `email_taken` when another account holds it (or may
/// still take it back), also when one took it a moment ago.
async fn move_to(
    conn: &mut AnyConnection,
    id: &str,
    email: &str,
    email_normalized: &str,
    now: i64,
) -> Result<()> {
    let taken = || {
        AppError::new(
            StatusCode::CONFLICT,
            "email_taken",
            "Another account uses this address now, so the account cannot move to it.",
        )
    };
    if changes::holder(&mut *conn, email_normalized, Some(id), now)
        .await?
        .is_some()
    {
        return Err(taken());
    }
    match db::users::set_email(&mut *conn, id, email, email_normalized, now).await {
        Err(e) if db::is_unique_violation(&e) => Err(taken()),
        other => Ok(other?),
    }
}

/// Ask to move the signed-in account to another email address (step-up).
///
/// Always 202 with the pending change: the new address gets a confirmation link (24 h, single
/// use), the old address a notice with a "this wasn't me" link (14 days). A new request
/// replaces a pending one. If another account holds the new address, the answer is the same
/// and that address gets a mail saying so instead of a link. 5 requests an hour per account.
#[utoipa::path(post, path = "/api/v1/auth/email/change", tag = "auth", operation_id = "changeEmail",
    request_body = ChangeEmailRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted; the confirmation link is on its way to the new address", body = EmailChangeBody),
        RateLimited))]
pub(super) async fn request_change(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
    AppJson(req): AppJson<ChangeEmailRequest>,
) -> Result<(StatusCode, Json<EmailChangeBody>)> {
    let new = Email::parse(&req.new_email).map_err(|m| AppError::field("newEmail", m))?;
    let user = &who.user;
    let old_normalized = normalize_email(&user.email);
    if new.normalized == old_normalized {
        return Err(AppError::field("newEmail", "is already your address"));
    }
    let key = format!("email-change:user:{}", user.id);
    limit(
        &state,
        "rate_limited",
        key,
        Rate::per_hour(REQUESTS_PER_HOUR),
    )
    .await?;

    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let held = changes::holder(&mut tx, &new.normalized, Some(&user.id), now)
        .await?
        .is_some();
    changes::close_pending(&mut *tx, &user.id, now).await?;
    let (confirm, cancel) = (random_token(), random_token());
    changes::insert(
        &mut *tx,
        changes::NewChange {
            id: &db::new_id(),
            user_id: &user.id,
            old_email: &user.email,
            old_email_normalized: &old_normalized,
            new_email: &new.display,
            new_email_normalized: &new.normalized,
            confirm_hash: &sha256_hex(confirm.as_bytes()),
            cancel_hash: &sha256_hex(cancel.as_bytes()),
            now,
            expires_at: now + VERIFY_TTL,
            cancel_until: now + CANCEL_TTL,
        },
    )
    .await?;
    let to_new = if held {
        Template::EmailInUse
    } else {
        Template::ConfirmEmailChange {
            name: user.name.clone(),
            token: confirm,
        }
    };
    state.mail.enqueue(&mut tx, &new.display, to_new).await?;
    let notice = Template::EmailChangeRequested {
        name: user.name.clone(),
        new_email: new.display.clone(),
        token: cancel,
    };
    state.mail.enqueue(&mut tx, &user.email, notice).await?;
    let ev = Event::own("user.email_change_requested", &user.id, Outcome::Success);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    let answer = body(&mut tx, &user.id, now).await?;
    tx.commit().await?;
    state.mail.wake();
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// The signed-in account's pending email change, if any.
#[utoipa::path(get, path = "/api/v1/auth/email/change", tag = "auth", operation_id = "getEmailChange",
    responses((status = 200, description = "The pending change, or `null`", body = EmailChangeBody)))]
pub(super) async fn pending_change(
    State(state): State<AppState>,
    who: SessionUser,
) -> Result<Json<EmailChangeBody>> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(
        body(&mut conn, &who.user.id, state.clock.now()).await?,
    ))
}

/// Withdraw the signed-in account's pending email change: its confirmation link stops working.
#[utoipa::path(delete, path = "/api/v1/auth/email/change", tag = "auth", operation_id = "withdrawEmailChange",
    responses((status = 204, description = "No change is pending now")))]
pub(super) async fn withdraw_change(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if changes::close_pending(&mut *tx, &who.user.id, state.clock.now()).await? > 0 {
        let ev = Event::own(
            "user.email_change_withdrawn",
            &who.user.id,
            Outcome::Success,
        );
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm an email change with the token from the mail sent to the new address.
///
/// The account uses the new address from now on (verified); every other session ends (the
/// browser that confirms stays signed in if it was), emailed links sent to the old address stop
/// working, a linked Google account stays only if it was linked with the new address, and the
/// sign-in lockout moves with the address. The old address's "this wasn't me" link keeps
/// working for 14 days from the request.
#[utoipa::path(post, path = "/api/v1/auth/email/confirm", tag = "auth", operation_id = "confirmEmailChange",
    request_body = TokenRequest,
    responses(BodyErrors,
        (status = 200, description = "The account, at its new address", body = UserBody),
        (status = 400, description = "`invalid_token`: unknown, used, replaced, cancelled or expired (24 h); or `invalid_json`", body = ErrorBody),
        (status = 409, description = "`email_taken`: another account took the address meanwhile", body = ErrorBody)))]
pub(super) async fn confirm(
    State(state): State<AppState>,
    BrowserSession(session): BrowserSession,
    meta: RequestMeta,
    AppJson(req): AppJson<TokenRequest>,
) -> Result<Json<UserBody>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let change = changes::confirm(&mut *tx, &sha256_hex(req.token.as_bytes()), now)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let id = &change.user_id;
    move_to(
        &mut tx,
        id,
        &change.new_email,
        &change.new_email_normalized,
        now,
    )
    .await?;
    // A Google account linked with another address is not the new address's owner's.
    for (subject, email) in db::users::identity_emails(&mut *tx, id, "google").await? {
        if email.map(|e| normalize_email(&e)) != Some(change.new_email_normalized.clone()) {
            db::users::unlink_subject(&mut *tx, id, "google", &subject).await?;
        }
    }
    let here = session::live_sign_in(&session, &state)
        .await
        .filter(|s| s.user_id == *id)
        .map(|s| s.session_id);
    db::sessions::delete_all(&mut *tx, id, here.as_deref()).await?;
    db::tokens::retire_every(&mut *tx, id, now).await?;
    db::throttle::carry(
        &mut tx,
        &change.old_email_normalized,
        &change.new_email_normalized,
    )
    .await?;
    let ev = Event::own("user.email_changed", id, Outcome::Success);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    let user = db::users::by_id(&mut *tx, id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let view = user_view(&mut tx, &user).await?;
    tx.commit().await?;
    state.forget_user(id).await;
    Ok(Json(UserBody { user: view }))
}

/// "This wasn't me": the link from the notice sent to the old address.
///
/// While the change is not confirmed, it cancels it and ends every session. Once the account
/// has moved away from this address, it moves it back and takes back the account for the
/// owner of this address: every session, the password, second factors, passkeys, linked
/// sign-ins and API keys go (whoever moved it may have set them), and a mail to the restored
/// address carries a link to set a new password. Works once, for 14 days after the request.
#[utoipa::path(post, path = "/api/v1/auth/email/cancel", tag = "auth", operation_id = "cancelEmailChange",
    request_body = TokenRequest,
    responses(BodyErrors,
        (status = 200, description = "Cancelled, or the old address restored", body = CancelEmailChangeBody),
        (status = 400, description = "`invalid_token`: unknown, used or past its 14 days; or `invalid_json`", body = ErrorBody),
        (status = 409, description = "`email_taken`: the old address belongs to another account now", body = ErrorBody)))]
pub(super) async fn cancel(
    _browser: Browser,
    State(state): State<AppState>,
    meta: RequestMeta,
    AppJson(req): AppJson<TokenRequest>,
) -> Result<Json<CancelEmailChangeBody>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let change = changes::cancel(&mut *tx, &sha256_hex(req.token.as_bytes()), now)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let id = &change.user_id;
    let user = db::users::by_id(&mut *tx, id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let moved = normalize_email(&user.email) != change.old_email_normalized;
    let mut revoked = Vec::new();
    let outcome = if moved {
        move_to(
            &mut tx,
            id,
            &change.old_email,
            &change.old_email_normalized,
            now,
        )
        .await?;
        changes::close_all(&mut *tx, id, now).await?;
        revoked = credentials::wipe(&mut tx, id, now).await?;
        let token = random_token();
        db::tokens::insert(
            &mut *tx,
            &sha256_hex(token.as_bytes()),
            id,
            Purpose::ResetPassword,
            now,
            credentials::SET_PASSWORD_TTL,
        )
        .await?;
        let mail = Template::EmailRestored {
            name: user.name.clone(),
            token,
        };
        state.mail.enqueue(&mut tx, &change.old_email, mail).await?;
        let ev = Event::own("user.email_restored", id, Outcome::Success);
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
        CancelOutcome::Restored
    } else {
        changes::close_pending(&mut *tx, id, now).await?;
        db::sessions::delete_all(&mut *tx, id, None).await?;
        let ev = Event::own("user.email_change_cancelled", id, Outcome::Success);
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
        CancelOutcome::Cancelled
    };
    tx.commit().await?;
    state.mail.wake();
    state.forget_user(id).await;
    for hash in revoked {
        state.forget_key(&hash).await;
    }
    Ok(Json(CancelEmailChangeBody {
        outcome,
        email: change.old_email,
    }))
}

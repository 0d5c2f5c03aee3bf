//! Two-step sign-in: setting up an authenticator app, recovery codes, turning it off, and the
//! second step of a sign-in (`POST /api/v1/auth/mfa/verify`).

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use shared::{
    ErrorBody, MfaRequiredBody, MfaStatus, MfaVerifyRequest, RecoveryCodesBody, TotpCodeRequest,
    TotpEnrolment, UserBody,
};

use super::{
    ceremony::{self, Purpose},
    factors, record_failure,
    signin::complete_sign_in,
};
use crate::{
    access::{Browser, BrowserSession, Fresh, SessionUser},
    audit::{self, Event, Outcome},
    db,
    email::normalize as normalize_email,
    error::{AppError, Result},
    mail::Template,
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, responses::RateLimited, AppJson},
};

fn conflict(code: &'static str, message: &'static str) -> AppError {
    AppError::new(StatusCode::CONFLICT, code, message)
}

/// The signed-in user's second factors.
#[utoipa::path(get, path = "/api/v1/auth/mfa", tag = "auth", operation_id = "getMfa",
    responses((status = 200, description = "Second factors", body = MfaStatus)))]
pub(super) async fn status(
    State(state): State<AppState>,
    who: SessionUser,
) -> Result<Json<MfaStatus>> {
    let mut conn = state.db.pool.acquire().await?;
    let totp = db::mfa::has_totp(&mut *conn, &who.user.id).await?;
    let left = db::mfa::recovery_codes_left(&mut *conn, &who.user.id).await?;
    let passkeys = db::passkeys::count(&mut *conn, &who.user.id).await?;
    Ok(Json(MfaStatus {
        totp,
        recovery_codes_left: left.max(0) as u32,
        passkeys: passkeys.max(0) as u32,
    }))
}

/// Start setting up an authenticator app: a new secret, as an `otpauth://` URI, a QR code
/// and text. Nothing changes for sign-in until `POST /api/v1/auth/mfa/totp/confirm` proves the
/// app has it; starting again replaces a setup that was not confirmed.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp", tag = "auth", operation_id = "enrolTotp",
    responses(
        (status = 200, description = "Scan the QR code (or type the secret), then confirm with a code", body = TotpEnrolment),
        (status = 409, description = "`totp_already_enabled`: turn the current one off first", body = ErrorBody)))]
pub(super) async fn enrol(
    State(state): State<AppState>,
    Fresh(who): Fresh<SessionUser>,
) -> Result<Json<TotpEnrolment>> {
    let e = factors::enrol(&state, &who.user.email)?;
    let mut conn = state.db.pool.acquire().await?;
    if !db::mfa::begin_totp(&mut conn, &who.user.id, &e.sealed, state.clock.now()).await? {
        return Err(conflict(
            "totp_already_enabled",
            "An authenticator app is already set up. Turn it off first to set up another.",
        ));
    }
    Ok(Json(TotpEnrolment {
        secret: e.secret_base32,
        otpauth_uri: e.uri,
        qr_svg: e.qr_svg,
    }))
}

/// Finish setting up the authenticator app with a code from it. From now on sign-ins ask for
/// a code after the password (or Google). Answers the ten recovery codes, shown only now.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "auth", operation_id = "confirmTotp",
    request_body = TotpCodeRequest,
    responses(BodyErrors,
        (status = 200, description = "Two-step sign-in is on; keep these codes somewhere safe", body = RecoveryCodesBody),
        (status = 409, description = "`no_pending_totp`: start with `POST /api/v1/auth/mfa/totp`", body = ErrorBody),
        (status = 422, description = "`invalid_code`: not the app's current code", body = ErrorBody)))]
pub(super) async fn confirm(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    AppJson(req): AppJson<TotpCodeRequest>,
) -> Result<Json<RecoveryCodesBody>> {
    let user = &who.user;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let pending = db::mfa::totp(&mut *tx, &user.id).await?;
    if pending.is_none_or(|t| t.confirmed_at.is_some()) {
        return Err(conflict(
            "no_pending_totp",
            "There is no authenticator setup to confirm: start again.",
        ));
    }
    if !factors::check_code(&state, &mut tx, &user.id, &user.email, &req.code, false).await? {
        return Err(factors::invalid_code());
    }
    if !db::mfa::confirm_totp(&mut *tx, &user.id, now).await? {
        return Err(conflict(
            "no_pending_totp",
            "The setup was confirmed already.",
        ));
    }
    let codes = factors::new_recovery_codes(&mut tx, &user.id, now).await?;
    let mail = Template::FactorChanged {
        name: user.name.clone(),
        added: true,
    };
    let ev = Event::own("mfa.enrolled", &user.id, Outcome::Success);
    factors::changed(&state, tx, &meta, user, ev, mail).await?;
    Ok(Json(RecoveryCodesBody {
        recovery_codes: codes,
    }))
}

/// Remove the authenticator app. Without a passkey left, two-step sign-in is off and the
/// recovery codes go too.
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "auth", operation_id = "disableTotp",
    responses(
        (status = 204, description = "Removed; without a passkey left, sign-ins ask for the password (or Google) only"),
        (status = 409, description = "`mfa_not_enabled`: there is no authenticator app to remove", body = ErrorBody)))]
pub(super) async fn disable(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
) -> Result<StatusCode> {
    let user = &who.user;
    let mut tx = state.db.begin().await?;
    if !db::mfa::remove_totp(&mut tx, &user.id).await? {
        tx.commit().await?;
        return Err(conflict("mfa_not_enabled", "Two-step sign-in is not on."));
    }
    let mail = Template::FactorChanged {
        name: user.name.clone(),
        added: false,
    };
    let ev = Event::own("mfa.disabled", &user.id, Outcome::Success);
    factors::changed(&state, tx, &meta, user, ev, mail).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes: the old ones stop working. Shown only in this answer.
#[utoipa::path(post, path = "/api/v1/auth/mfa/recovery-codes", tag = "auth", operation_id = "regenerateRecoveryCodes",
    responses(
        (status = 200, description = "Ten new codes; the old ones no longer work", body = RecoveryCodesBody),
        (status = 409, description = "`mfa_not_enabled`: recovery codes go with a second factor (authenticator app or passkey)", body = ErrorBody)))]
pub(super) async fn regenerate(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
) -> Result<Json<RecoveryCodesBody>> {
    let user = &who.user;
    let mut tx = state.db.begin().await?;
    if !db::mfa::has_factor(&mut *tx, &user.id).await? {
        return Err(conflict("mfa_not_enabled", "Two-step sign-in is not on."));
    }
    let codes = factors::new_recovery_codes(&mut tx, &user.id, state.clock.now()).await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("recovery.regenerated", &user.id, Outcome::Success),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodesBody {
        recovery_codes: codes,
    }))
}

/// What the sign-in waiting for a second factor accepts (after Google, which redirects to the
/// SPA with `?mfa=1`, the client has not seen the login answer). Needs the pending-MFA cookie.
#[utoipa::path(get, path = "/api/v1/auth/mfa/pending", tag = "auth", operation_id = "getPendingMfa",
    responses(
        (status = 200, description = "A sign-in is waiting for one of these", body = MfaRequiredBody),
        (status = 401, description = "`mfa_challenge_invalid`: no sign-in is waiting for a second factor", body = ErrorBody)))]
pub(super) async fn pending_methods(
    _browser: Browser,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<MfaRequiredBody>> {
    let (challenge, _) = factors::pending(&state, &headers).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(MfaRequiredBody {
        mfa_required: true,
        methods: db::mfa::methods(&mut conn, &challenge.user_id).await?,
    }))
}

/// One second factor of [`MfaVerifyRequest`].
#[derive(Clone, Copy)]
enum Factor<'a> {
    Code(&'a str),
    Recovery(&'a str),
    Passkey(&'a shared::PasskeyAssertion),
}

/// Second step of a sign-in: a code from the authenticator app, a recovery code or a passkey,
/// after `POST /api/v1/auth/login` (or Google) answered `mfaRequired`. Needs the pending-MFA
/// cookie that answer set (five minutes, used once). Wrong codes and passkey answers count
/// toward the sign-in lockout (five failures lock the account for 30 minutes), and the lockout
/// ends the pending sign-in.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth", operation_id = "verifyMfa",
    request_body = MfaVerifyRequest,
    responses(BodyErrors,
        (status = 200, description = "Signed in; `Set-Cookie` carries the session and clears the pending-MFA cookie", body = UserBody),
        (status = 401, description = "`mfa_challenge_invalid`: no sign-in is waiting for a second factor (none started, expired after five minutes, used, or ended by the lockout): sign in again", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 422, description = "`invalid_code` or `passkey_invalid`: wrong, expired or already used (counts toward the lockout); or `validation_failed`: send exactly one of `code`, `recoveryCode` and `passkey`", body = ErrorBody), RateLimited))]
pub(super) async fn verify(
    State(state): State<AppState>,
    meta: RequestMeta,
    BrowserSession(session): BrowserSession,
    headers: HeaderMap,
    AppJson(req): AppJson<MfaVerifyRequest>,
) -> Result<Response> {
    let factor = match (
        req.code.as_deref(),
        req.recovery_code.as_deref(),
        req.passkey.as_ref(),
    ) {
        (Some(c), None, None) => Factor::Code(c),
        (None, Some(r), None) => Factor::Recovery(r),
        (None, None, Some(p)) => Factor::Passkey(p),
        _ => {
            return Err(AppError::field(
                "code",
                "send exactly one of code, recoveryCode and passkey",
            ))
        }
    };
    let now = state.clock.now();
    let (challenge, hash) = factors::pending(&state, &headers).await?;
    let Some(user) = db::users::by_id(&state.db.pool, &challenge.user_id).await? else {
        return Err(factors::challenge_gone());
    };
    let key = normalize_email(&user.email);
    // A lockout ends the pending sign-in.
    if let Err(locked) = super::check_unlocked(&state, &key).await {
        let mut conn = state.db.pool.acquire().await?;
        db::mfa::take_challenge(&mut conn, &hash, now).await?;
        return Err(locked);
    }
    // A passkey's ceremony is used up even when the answer fails: checked before (and
    // outside) the transaction, which on SQLite holds the write lock.
    let passkey_ok = match factor {
        Factor::Passkey(p) => {
            let mut conn = state.db.pool.acquire().await?;
            ceremony::check_assertion(&state, &mut conn, Purpose::SecondFactor, &user.id, p).await?
        }
        _ => false,
    };
    let mut tx = state.db.begin().await?;
    let ok = match factor {
        Factor::Code(c) => {
            factors::check_code(&state, &mut tx, &user.id, &user.email, c, true).await?
        }
        Factor::Recovery(r) => factors::use_recovery_code(&mut tx, &user.id, r, now).await?,
        Factor::Passkey(_) => passkey_ok,
    };
    if !ok {
        drop(tx);
        record_failure(&state, &meta, &key, Some(&user.id), "mfa.failed").await?;
        if super::check_unlocked(&state, &key).await.is_err() {
            let mut conn = state.db.pool.acquire().await?;
            db::mfa::take_challenge(&mut conn, &hash, now).await?;
        }
        return Err(match factor {
            Factor::Passkey(_) => ceremony::invalid(),
            _ => factors::invalid_code(),
        });
    }
    if !db::mfa::take_challenge(&mut tx, &hash, now).await? {
        // Another request completed (or the lockout ended) this sign-in first.
        return Err(factors::challenge_gone());
    }
    if user.disabled_at.is_some() {
        tx.commit().await?;
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "This account is disabled.",
        ));
    }
    db::throttle::clear(&mut *tx, &key).await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("mfa.verified", &user.id, Outcome::Success),
    )
    .await?;
    if let Factor::Recovery(_) = factor {
        audit::record(
            &mut tx,
            &state.clock,
            &meta,
            Event::own("recovery.used", &user.id, Outcome::Success),
        )
        .await?;
        let left = db::mfa::recovery_codes_left(&mut *tx, &user.id).await?;
        if left <= factors::RECOVERY_LOW {
            let mail = Template::RecoveryCodesLow {
                name: user.name.clone(),
                left,
            };
            state.mail.enqueue(&mut tx, &user.email, mail).await?;
        }
    }
    tx.commit().await?;
    let google = challenge.how == "google";
    let how = match factor {
        Factor::Code(_) if google => "google+totp",
        Factor::Recovery(_) if google => "google+recovery_code",
        Factor::Passkey(_) if google => "google+passkey",
        Factor::Code(_) => "password+totp",
        Factor::Recovery(_) => "password+recovery_code",
        Factor::Passkey(_) => "password+passkey",
    };
    let view = complete_sign_in(&state, &session, &user, &meta, how).await?;
    let mut res = Json(UserBody { user: view }).into_response();
    if let Ok(v) = HeaderValue::from_str(&factors::cookie(&state, "", 0)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

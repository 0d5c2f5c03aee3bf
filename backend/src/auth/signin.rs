//! Signing in and out, who is signed in, the sign-in methods on offer, and the signed-in
//! user's sessions.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use shared::{
    ErrorBody, LoginAnswer, LoginRequest, MfaRequiredBody, Page, ProvidersBody, SessionInfo, User,
    UserBody,
};
use tower_sessions::Session;

use super::{check_password_size, factors, ip_key, limit, note_device, record_failure, user_view};
use crate::{
    access::session::{self, SessionUser},
    access::{Browser, BrowserSession},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    db::{self},
    email::normalize as normalize_email,
    error::{AppError, Result},
    ratelimit::Rate,
    request_meta::RequestMeta,
    state::AppState,
    web::{
        responses::BodyErrors,
        responses::RateLimited,
        {pagination, AppJson, AppQuery},
    },
};

/// Sign in with email and password.
///
/// Sets the session cookie (a fresh id every time). Five consecutive failures for an email lock
/// it for 30 minutes; while locked, even the right password gets 429.
///
/// An account with two-step sign-in answers `{"mfaRequired": true, "methods": […]}` instead,
/// with a pending-MFA cookie (`pfn_mfa`, `__Host-pfn_mfa` outside development; five minutes):
/// `POST /api/v1/auth/mfa/verify` with a code completes the sign-in. Until it does, the
/// password's success does not reset the failure count.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(BodyErrors,
        (status = 200, description = "Signed in (`Set-Cookie` carries the session), or `mfaRequired` (`Set-Cookie` carries the pending-MFA cookie)", body = LoginAnswer),
        (status = 401, description = "`invalid_credentials`: unknown email or wrong password (same answer for both)", body = ErrorBody),
        (status = 403, description = "`email_not_verified` or `account_disabled` (only after a correct password)", body = ErrorBody), RateLimited))]
pub(super) async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    BrowserSession(session): BrowserSession,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Response> {
    if req.email.trim().chars().count() > shared::validate::EMAIL_MAX {
        return Err(AppError::field("email", "must be at most 254 characters"));
    }
    check_password_size("password", &req.password)?;
    let key = normalize_email(&req.email);
    let limits = &state.config.limits;
    limit(
        &state,
        "too_many_attempts",
        format!("login:ip:{}", ip_key(&meta)),
        Rate::per_minute(limits.login_per_ip_per_min),
    )
    .await?;
    limit(
        &state,
        "too_many_attempts",
        format!("login:acct:{key}"),
        Rate::per_minute(limits.login_per_account_per_min),
    )
    .await?;
    super::check_unlocked(&state, &key).await?;

    let user = db::users::by_email(&state.db.pool, &key).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if !state.passwords.verify(&req.password, hash).await? {
        record_failure(
            &state,
            &meta,
            &key,
            user.as_ref().map(|u| u.id.as_str()),
            "user.login_failed",
        )
        .await?;
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Email or password is incorrect.",
        ));
    }
    let Some(user) = user else {
        unreachable!("verify() is false without a hash")
    };
    let second_factor = db::mfa::has_factor(&state.db.pool, &user.id).await?;
    if !second_factor {
        db::throttle::clear(&state.db.pool, &key).await?;
    }
    if user.disabled_at.is_some() {
        let mut conn = state.db.pool.acquire().await?;
        audit::record(
            &mut conn,
            &state.clock,
            &meta,
            Event::own("user.login", &user.id, Outcome::Denied),
        )
        .await?;
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "This account is disabled.",
        ));
    }
    if user.email_verified_at.is_none() {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "Confirm your email address first: follow the link we sent you.",
        ));
    }
    if second_factor {
        let mut conn = state.db.pool.acquire().await?;
        let challenge = db::mfa::Challenge {
            user_id: user.id.clone(),
            how: "password".into(),
        };
        let cookie = factors::start_challenge(&state, &mut conn, &challenge).await?;
        let body = LoginAnswer::MfaRequired(MfaRequiredBody {
            mfa_required: true,
            methods: db::mfa::methods(&mut conn, &user.id).await?,
        });
        let mut res = Json(body).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        return Ok(res);
    }
    let view = complete_sign_in(&state, &session, &user, &meta, "password").await?;
    Ok(Json(LoginAnswer::SignedIn(UserBody { user: view })).into_response())
}

/// The end of every sign-in: a new session (`how` names the method for the sessions list),
/// the audit event, the device noted (a mail if it is new); answers the user.
pub(super) async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    user: &db::users::UserRow,
    meta: &RequestMeta,
    how: &'static str,
) -> Result<User> {
    session::start(session, state, user, meta, how).await?;
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        &state.clock,
        meta,
        Event::own("user.login", &user.id, Outcome::Success),
    )
    .await?;
    let new_device = note_device(state, &mut tx, user, meta, how).await?;
    let view = user_view(&mut tx, user).await?;
    tx.commit().await?;
    if new_device {
        state.mail.wake();
    }
    // A sign-in changes nothing cached: busy accounts keep their other sessions' entries.
    Ok(view)
}

/// Sign out: ends this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    responses(
        (status = 204, description = "Signed out (also when there was no session)")))]
pub(super) async fn logout(BrowserSession(session): BrowserSession) -> Result<StatusCode> {
    if session.id().is_some() {
        session.flush().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", operation_id = "getMe",
    responses(
        (status = 200, description = "The signed-in user", body = UserBody)))]
pub(super) async fn me(auth: SessionUser) -> Response {
    // Fixed while the user is cached: serialised once, when the user was cached.
    crate::web::json::serialised(auth.user.me_json.to_vec())
}

/// The signed-in user's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", operation_id = "listSessions",
    params(pagination::PageQuery),
    responses(
        (status = 200, description = "A page of sessions", body = Page<SessionInfo>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–200", body = ErrorBody)))]
pub(super) async fn list_sessions(
    State(state): State<AppState>,
    auth: SessionUser,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<SessionInfo>>> {
    let limit = q.limit()?;
    let now = state.clock.now();
    let rows = db::sessions::list(
        &state.db.pool,
        &auth.user.id,
        now,
        session::IDLE_SECS,
        q.after()?,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) =
        pagination::finish(rows, limit, |r| (r.created_at, r.public_id.clone()));
    let items = rows
        .into_iter()
        .map(|r| SessionInfo {
            current: r.public_id == auth.session_id,
            id: r.public_id,
            created_at: rfc3339(r.created_at),
            last_seen_at: rfc3339(r.last_seen_at),
            device: crate::device::describe(r.user_agent.as_deref()),
            sign_in_method: r.sign_in_method,
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// End one of the signed-in user's sessions (this one included).
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", operation_id = "endSession",
    params(("id" = String, Path, description = "A session id from the sessions list", example = "0193b6f8-6f7a-7b8c-934e-0f1a2b3c4d5e")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "`not_found`: no such session for this user", body = ErrorBody)))]
pub(super) async fn end_session(
    State(state): State<AppState>,
    meta: RequestMeta,
    auth: SessionUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !db::sessions::delete_one(&mut *tx, &auth.user.id, &id).await? {
        return Err(AppError::not_found());
    }
    let ev = Event::own("session.revoked", &auth.user.id, Outcome::Success).on("session", &id);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    tx.commit().await?;
    state.forget_user(&auth.user.id).await;
    if id == auth.session_id {
        auth.session.flush().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the signed-in user except this one.
#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth", operation_id = "endOtherSessions",
    responses(
        (status = 204, description = "Every other session ended")))]
pub(super) async fn end_other_sessions(
    State(state): State<AppState>,
    meta: RequestMeta,
    auth: SessionUser,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    db::sessions::delete_all(&mut *tx, &auth.user.id, Some(&auth.session_id)).await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("session.revoked", &auth.user.id, Outcome::Success),
    )
    .await?;
    tx.commit().await?;
    state.forget_user(&auth.user.id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Which sign-in methods this server offers.
#[utoipa::path(get, path = "/api/v1/auth/providers", tag = "auth", operation_id = "listAuthProviders",
    responses((status = 200, description = "Configured sign-in methods", body = ProvidersBody)))]
pub(super) async fn providers(
    _browser: Browser,
    State(state): State<AppState>,
) -> Json<ProvidersBody> {
    let mut providers = vec!["password".to_string()];
    if state.google.is_some() {
        providers.push("google".to_string());
    }
    let passkey_origin = state.passkeys.as_ref().map(|rp| rp.origin.clone());
    if passkey_origin.is_some() {
        providers.push("passkey".to_string());
    }
    Json(ProvidersBody {
        providers,
        passkey_origin,
    })
}

//! Accounts and sign-in: signup, email verification, login/logout, password flows, sessions.
//!
//! Enumeration safety: signup, resend and forgot answer the same for known and unknown emails
//! and do what depends on the account after answering (signup hashes the password first either
//! way); login verifies a dummy hash for unknown emails. `tests/timing.rs` holds login, forgot
//! and signup to medians within 5 %. Lockout counts are keyed by the submitted email whether or
//! not an account exists.

pub mod cache;
pub mod credentials;
pub mod google;
pub mod session;

use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use shared::{
    validate::check_name, ChangePasswordRequest, EmailRequest, ErrorBody, LoginRequest, Page,
    ProvidersBody, ResetPasswordRequest, Role, SessionInfo, SignupRequest, StatusBody,
    TokenRequest, User, UserBody,
};
use sqlx::AnyConnection;
use tower_sessions::Session;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::{self, Event, Outcome},
    crypto::{random_token, sha256_hex},
    db::{self, tokens::Purpose, users::UserRow},
    email::{normalize as normalize_email, Email},
    error::{AppError, Result},
    http::{pagination, rfc3339, AppJson, AppQuery, RequestMeta},
    mail::Template,
    openapi::responses::{BodyErrors, RateLimited, Unauthenticated},
    password,
    ratelimit::Rate,
    state::AppState,
};
use session::SessionUser;

const VERIFY_TTL: i64 = 24 * 3600;
const RESET_TTL: i64 = 3600;
const LOCK_AFTER: i64 = 5;
const LOCK_SECS: i64 = 30 * 60;
/// Bounds argon2's input; far above the 128-code-point policy, so only abuse hits it.
const PASSWORD_MAX_BYTES: usize = 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions, end_other_sessions))
        .routes(routes!(end_session))
        .routes(routes!(providers))
        .routes(routes!(google::google_start))
        .routes(routes!(google::google_link))
        .routes(routes!(google::google_callback))
        .routes(routes!(google::unlink_google))
}

fn accepted() -> (StatusCode, Json<StatusBody>) {
    (StatusCode::ACCEPTED, Json(StatusBody::accepted()))
}

async fn limit(state: &AppState, code: &'static str, key: String, rate: Rate) -> Result<()> {
    state
        .limiter
        .hit(&key, rate)
        .await
        .map_err(|secs| AppError::too_many(code, secs))
}

/// The per-IP throttle key: the address, or its /64 for IPv6 (one subscriber's allocation).
pub(crate) fn ip_key(meta: &RequestMeta) -> String {
    match meta
        .ip
        .as_deref()
        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
    {
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

/// The user as the API shows them.
pub async fn user_view(conn: &mut AnyConnection, u: &UserRow) -> Result<User> {
    let providers = db::users::linked_providers(conn, &u.id).await?;
    Ok(view_of(u, providers))
}

/// How the API shows a user.
pub(crate) fn view_of(u: &UserRow, linked_providers: Vec<String>) -> User {
    User {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role: if u.role == "admin" {
            Role::Admin
        } else {
            Role::User
        },
        email_verified: u.email_verified_at.is_some(),
        created_at: rfc3339(u.created_at),
        has_password: u.password_hash.is_some(),
        linked_providers,
    }
}

/// `PFN_BOOTSTRAP_ADMIN_EMAIL`, at start-up: that account is made admin the way
/// `pfn admin create` does it ([`credentials::make_admin`]: created, or promoted with nothing
/// of what it held unless `PFN_BOOTSTRAP_ADMIN_KEEP_CREDENTIALS` and it is verified), and its
/// set-password link is mailed to its stored address. Nothing happens while it is admin.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<()> {
    let Some(raw) = &state.config.bootstrap_admin_email else {
        return Ok(());
    };
    let email = Email::parse(raw).map_err(|m| anyhow::anyhow!("PFN_BOOTSTRAP_ADMIN_EMAIL {m}"))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let existing = db::users::by_email(&mut *tx, &email.normalized).await?;
    if existing.as_ref().is_some_and(|u| u.role == "admin") {
        return Ok(());
    }
    let verified = existing
        .as_ref()
        .is_some_and(|u| u.email_verified_at.is_some());
    let keep = state.config.bootstrap_admin_keep_credentials && verified;
    if state.config.bootstrap_admin_keep_credentials && !verified {
        tracing::warn!("PFN_BOOTSTRAP_ADMIN_KEEP_CREDENTIALS is ignored: the account is not verified, so its credentials may not be its owner's");
    }
    let promoted = match credentials::make_admin(&mut tx, &email, keep, now).await {
        Ok(p) => p,
        // Another replica starting at the same moment created it.
        Err(credentials::PromoteError::Db(e)) if db::is_unique_violation(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if let Some(token) = promoted.set_password_token {
        let to = existing.map_or(email.display.clone(), |u| u.email);
        state
            .mail
            .enqueue(&mut tx, state, &to, Template::AdminSetPassword { token })
            .await?;
    }
    tx.commit().await?;
    state.mail.wake();
    state.forget_user(&promoted.user_id).await;
    for hash in &promoted.key_hashes {
        state.forget_key(hash).await;
    }
    tracing::info!(user_id = %promoted.user_id, created = promoted.created, kept = keep, "bootstrap admin set; the set-password link was mailed");
    Ok(())
}

/// The front of the "always 202" routes that send mail (resend, forgot): the email must parse
/// (422), the per-IP limit answers 429, and past 3 requests an hour for one email the request is
/// accepted but ignored (`None`), so the answer never varies with the account's state.
async fn mail_request_gate(
    state: &AppState,
    meta: &RequestMeta,
    raw_email: &str,
    action: &str,
    per_ip_per_hour: u32,
) -> Result<Option<Email>> {
    let email = Email::parse(raw_email).map_err(|m| AppError::field("email", m))?;
    let ip = format!("{action}:ip:{}", ip_key(meta));
    limit(state, "rate_limited", ip, Rate::per_hour(per_ip_per_hour)).await?;
    let per_email = format!("{action}:email:{}", email.normalized);
    Ok(state
        .limiter
        .hit(&per_email, Rate::per_hour(3))
        .await
        .is_ok()
        .then_some(email))
}

fn check_password_size(field: &str, pw: &str) -> Result<()> {
    if pw.len() > PASSWORD_MAX_BYTES {
        return Err(AppError::field(field, "must be at most 128 characters"));
    }
    Ok(())
}

/// Create an account.
///
/// Always 202 with the same body, whether or not the email already has an account: a new email
/// gets a verification mail, a known one a "you already have an account" mail.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", operation_id = "signup",
    request_body = SignupRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted; a mail is on its way", body = StatusBody),
        (status = 403, description = "`csrf_rejected`", body = ErrorBody), RateLimited))]
async fn signup(
    State(state): State<AppState>,
    meta: RequestMeta,
    AppJson(req): AppJson<SignupRequest>,
) -> Result<(StatusCode, Json<StatusBody>)> {
    let mut fields = BTreeMap::new();
    let email = Email::parse(&req.email)
        .map_err(|m| fields.insert("email".into(), m.into()))
        .ok();
    let name = check_name(&req.name)
        .map_err(|m| fields.insert("name".into(), m.into()))
        .ok();
    let password_ok = if req.password.len() > PASSWORD_MAX_BYTES {
        Err("must be at most 128 characters")
    } else {
        password::check_policy(&req.password, &req.email)
    };
    if let Err(m) = password_ok {
        fields.insert("password".into(), m.into());
    }
    let (Some(email), Some(name), true) = (email, name, fields.is_empty()) else {
        return Err(AppError::Validation(fields));
    };
    limit(
        &state,
        "rate_limited",
        format!("signup:ip:{}", ip_key(&meta)),
        Rate::per_hour(state.config.limits.signup_per_ip_per_hour),
    )
    .await?;

    // Hash even for known emails: the work must not reveal which case this is. What differs
    // (a new account's rows, or one mail) happens after answering.
    let hash = state.passwords.hash(&req.password).await?;
    after_answering(async move { register(&state, &meta, &email, &name, &hash).await });
    Ok(accepted())
}

/// Sign-up's work once the answer is gone: a new account with its verification mail, or an
/// "already registered" mail to the account the email belongs to.
async fn register(
    state: &AppState,
    meta: &RequestMeta,
    email: &Email,
    name: &str,
    hash: &str,
) -> Result<()> {
    for attempt in 0..2 {
        let mut tx = state.db.begin().await?;
        let now = state.clock.now();
        if let Some(existing) = db::users::by_email(&mut *tx, &email.normalized).await? {
            state
                .mail
                .enqueue(
                    &mut tx,
                    state,
                    &existing.email,
                    Template::AlreadyRegistered {
                        name: existing.name,
                    },
                )
                .await?;
        } else {
            let id = db::new_id();
            let inserted = db::users::insert(
                &mut *tx,
                db::users::NewUser {
                    id: &id,
                    email: &email.display,
                    email_normalized: &email.normalized,
                    name,
                    password_hash: Some(hash),
                    role: "user",
                    email_verified_at: None,
                    now,
                },
            )
            .await;
            match inserted {
                // Lost a race with a concurrent signup for the same email: as for a known one.
                Err(e) if db::is_unique_violation(&e) && attempt == 0 => continue,
                other => other?,
            }
            db::workspaces::create_personal(&mut tx, &id, now).await?;
            let token = random_token();
            db::tokens::insert(
                &mut *tx,
                &sha256_hex(token.as_bytes()),
                &id,
                Purpose::VerifyEmail,
                now,
                VERIFY_TTL,
            )
            .await?;
            state
                .mail
                .enqueue(
                    &mut tx,
                    state,
                    &email.display,
                    Template::VerifyEmail {
                        name: name.to_string(),
                        token,
                    },
                )
                .await?;
            audit::record(
                &mut tx,
                state,
                meta,
                Event::own("user.signup", &id, Outcome::Success),
            )
            .await?;
        }
        tx.commit().await?;
        state.mail.wake();
        break;
    }
    Ok(())
}

/// Runs `work` (which must not fail the request: its errors are logged) after the answer has
/// gone, a moment later so it does not compete with writing the answer, and one at a time: the
/// mail queue's hourly cap per recipient counts, then inserts, and such work must not race
/// past it. Sign-up and forgot-password do what depends on whether an email has an account
/// this way, so their answers take the same time either way (`tests/timing.rs`).
fn after_answering(work: impl std::future::Future<Output = Result<()>> + Send + 'static) {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _turn = ONE_AT_A_TIME.lock().await;
        if let Err(e) = work.await {
            tracing::error!(error = ?e, "work after answering failed");
        }
    });
}

/// Confirm an email address with the token from the verification mail.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", operation_id = "verifyEmail",
    request_body = TokenRequest,
    responses(BodyErrors,
        (status = 200, description = "Verified; the user as they are now", body = UserBody),
        (status = 400, description = "`invalid_token`: unknown, used or expired (24 h); or `invalid_json`", body = ErrorBody),
        (status = 403, description = "`csrf_rejected`", body = ErrorBody)))]
async fn verify_email(
    State(state): State<AppState>,
    meta: RequestMeta,
    AppJson(req): AppJson<TokenRequest>,
) -> Result<Json<UserBody>> {
    let mut tx = state.db.begin().await?;
    let now = state.clock.now();
    let user_id = db::tokens::consume(
        &mut *tx,
        &sha256_hex(req.token.as_bytes()),
        Purpose::VerifyEmail,
        now,
    )
    .await?
    .ok_or_else(AppError::invalid_token)?;
    if db::users::mark_verified(&mut *tx, &user_id, now).await? {
        audit::record(
            &mut tx,
            &state,
            &meta,
            Event::own("user.email_verified", &user_id, Outcome::Success),
        )
        .await?;
    }
    let user = db::users::by_id(&mut *tx, &user_id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let view = user_view(&mut tx, &user).await?;
    tx.commit().await?;
    state.forget_user(&user.id).await;
    Ok(Json(UserBody { user: view }))
}

/// Send the verification mail again.
///
/// Always 202. A new link is sent only to an existing, unverified account, at most 3 an hour.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", operation_id = "resendVerification",
    request_body = EmailRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted", body = StatusBody),
        (status = 403, description = "`csrf_rejected`", body = ErrorBody), RateLimited))]
async fn resend_verification(
    State(state): State<AppState>,
    meta: RequestMeta,
    AppJson(req): AppJson<EmailRequest>,
) -> Result<(StatusCode, Json<StatusBody>)> {
    let per_ip = state.config.limits.resend_per_ip_per_hour;
    let Some(email) = mail_request_gate(&state, &meta, &req.email, "resend", per_ip).await? else {
        return Ok(accepted());
    };
    // Whether a mail goes out depends on the account's state; doing that work after answering
    // keeps the response time the same for every email.
    tokio::spawn(async move {
        if let Err(e) = resend_if_unverified(&state, &email.normalized).await {
            tracing::error!(error = ?e, "resending the verification mail failed");
        }
    });
    Ok(accepted())
}

/// A fresh verification link for an existing, unverified account; nothing otherwise.
async fn resend_if_unverified(state: &AppState, email_normalized: &str) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let Some(user) = db::users::by_email(&mut *tx, email_normalized).await? else {
        return Ok(());
    };
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    let now = state.clock.now();
    let token = random_token();
    db::tokens::retire_all(&mut *tx, &user.id, Purpose::VerifyEmail, now).await?;
    db::tokens::insert(
        &mut *tx,
        &sha256_hex(token.as_bytes()),
        &user.id,
        Purpose::VerifyEmail,
        now,
        VERIFY_TTL,
    )
    .await?;
    let template = Template::VerifyEmail {
        name: user.name,
        token,
    };
    state
        .mail
        .enqueue(&mut tx, state, &user.email, template)
        .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(())
}

/// Sign in with email and password.
///
/// Sets the session cookie (a fresh id every time). Five consecutive failures for an email lock
/// it for 30 minutes; while locked, even the right password gets 429.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(BodyErrors,
        (status = 200, description = "Signed in; `Set-Cookie` carries the session", body = UserBody),
        (status = 401, description = "`invalid_credentials`: unknown email or wrong password (same answer for both)", body = ErrorBody),
        (status = 403, description = "`email_not_verified` or `account_disabled` (only after a correct password), or `csrf_rejected`", body = ErrorBody), RateLimited))]
async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    session: Session,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Json<UserBody>> {
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
    let now = state.clock.now();
    if let Some(until) = db::throttle::locked_until(&state.db.pool, &key, now).await? {
        return Err(AppError::too_many(
            "too_many_attempts",
            (until - now) as u64,
        ));
    }

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
    db::throttle::clear(&state.db.pool, &key).await?;
    if user.disabled_at.is_some() {
        let mut conn = state.db.pool.acquire().await?;
        audit::record(
            &mut conn,
            &state,
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
    session::start(&session, &state, &user, &meta).await?;
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        &state,
        &meta,
        Event::own("user.login", &user.id, Outcome::Success),
    )
    .await?;
    let view = user_view(&mut tx, &user).await?;
    tx.commit().await?;
    // A sign-in changes nothing cached: busy accounts keep their other sessions' entries.
    Ok(Json(UserBody { user: view }))
}

/// Counts a failed password check toward the lockout and audits it.
async fn record_failure(
    state: &AppState,
    meta: &RequestMeta,
    key: &str,
    user_id: Option<&str>,
    kind: &'static str,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let locked =
        db::throttle::record_failure(&mut *tx, key, state.clock.now(), LOCK_AFTER, LOCK_SECS)
            .await?;
    let ev = |kind, outcome| Event {
        kind,
        user_id,
        actor_user_id: user_id,
        actor_key_id: None,
        target: user_id.map(|id| ("user", id)),
        outcome,
    };
    audit::record(&mut tx, state, meta, ev(kind, Outcome::Failure)).await?;
    if locked {
        audit::record(&mut tx, state, meta, ev("user.locked", Outcome::Success)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sign out: ends this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    responses(
        (status = 204, description = "Signed out (also when there was no session)"),
        (status = 403, description = "`csrf_rejected`", body = ErrorBody, example = json!({"error": {"code": "csrf_rejected", "message": "Cross-site request refused. Send Origin matching the server's public URL."}}))))]
async fn logout(session: Session) -> Result<StatusCode> {
    if session.id().is_some() {
        session.flush().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", operation_id = "getMe",
    security(("session" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserBody),
        (status = 403, description = "`session_required`: called with an API key", body = ErrorBody),
        Unauthenticated))]
async fn me(auth: SessionUser) -> Response {
    // Fixed while the user is cached: serialised once, when the user was cached.
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        auth.user.me_json.clone(),
    )
        .into_response()
}

/// Ask for a password-reset link.
///
/// Always 202 with the same body: a known email gets a reset link (1 hour, single use), an
/// unknown one a "no account here" mail. At most 3 an hour per email; more are dropped silently.
/// The mail is queued after the answer, so the answer's timing does not tell whether the email
/// has an account.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", operation_id = "forgotPassword",
    request_body = EmailRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted", body = StatusBody),
        (status = 403, description = "`csrf_rejected`", body = ErrorBody), RateLimited))]
async fn forgot_password(
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
                    state,
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
                .enqueue(&mut tx, state, &email.display, Template::NoAccount)
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
        (status = 400, description = "`invalid_token`: unknown, used or expired (1 h); or `invalid_json`", body = ErrorBody),
        (status = 403, description = "`csrf_rejected`", body = ErrorBody)))]
async fn reset_password(
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
        &state,
        &meta,
        Event::own("password.reset", &user.id, Outcome::Success),
    )
    .await?;
    if reclaimed {
        for kind in ["user.email_verified", "user.reclaimed"] {
            audit::record(
                &mut tx,
                &state,
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
    state
        .mail
        .enqueue(&mut tx, &state, &user.email, template)
        .await?;
    tx.commit().await?;
    state.mail.wake();
    state.forget_user(&user.id).await;
    for hash in revoked {
        state.forget_key(&hash).await;
    }
    Ok(Json(StatusBody::ok()))
}

/// Change the password of the signed-in user; ends every other session.
///
/// A wrong current password is 422 `invalid_current_password` (not 401, which means "signed
/// out") and counts toward the lockout.
#[utoipa::path(post, path = "/api/v1/auth/password/change", tag = "auth", operation_id = "changePassword",
    security(("session" = [])),
    request_body = ChangePasswordRequest,
    responses(BodyErrors,
        (status = 200, description = "Password changed", body = StatusBody),
        (status = 403, description = "`csrf_rejected` or `session_required`", body = ErrorBody),
        (status = 422, description = "`invalid_current_password`: the current password is wrong (counts toward the lockout); or `validation_failed`: the new password breaks a rule, named in `error.fields`", body = ErrorBody),
        Unauthenticated, RateLimited))]
async fn change_password(
    State(state): State<AppState>,
    meta: RequestMeta,
    auth: SessionUser,
    AppJson(req): AppJson<ChangePasswordRequest>,
) -> Result<Json<StatusBody>> {
    let user = &auth.user;
    check_password_size("currentPassword", &req.current_password)?;
    check_password_size("newPassword", &req.new_password)?;
    password::check_policy(&req.new_password, &user.email)
        .map_err(|m| AppError::field("newPassword", m))?;
    let key = normalize_email(&user.email);
    let now = state.clock.now();
    if let Some(until) = db::throttle::locked_until(&state.db.pool, &key, now).await? {
        return Err(AppError::too_many(
            "too_many_attempts",
            (until - now) as u64,
        ));
    }
    if !state
        .passwords
        .verify(&req.current_password, user.password_hash.as_deref())
        .await?
    {
        record_failure(
            &state,
            &meta,
            &key,
            Some(&user.id),
            "password.change_failed",
        )
        .await?;
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_current_password",
            "The current password is incorrect.",
        ));
    }
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
        &state,
        &meta,
        Event::own("password.changed", &user.id, Outcome::Success),
    )
    .await?;
    tx.commit().await?;
    state.forget_user(&user.id).await;
    session::refresh_fingerprint(&auth.session, &hash).await?;
    Ok(Json(StatusBody::ok()))
}

/// The signed-in user's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", operation_id = "listSessions",
    security(("session" = [])),
    params(pagination::PageQuery),
    responses(
        (status = 200, description = "A page of sessions", body = Page<SessionInfo>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`session_required`: called with an API key", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–200", body = ErrorBody),
        Unauthenticated))]
async fn list_sessions(
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
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// End one of the signed-in user's sessions (this one included).
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", operation_id = "endSession",
    security(("session" = [])),
    params(("id" = String, Path, description = "A session id from the sessions list", example = "0193b6f8-6f7a-7b8c-934e-0f1a2b3c4d5e")),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "`csrf_rejected` or `session_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such session for this user", body = ErrorBody),
        Unauthenticated))]
async fn end_session(
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
    audit::record(&mut tx, &state, &meta, ev).await?;
    tx.commit().await?;
    state.forget_user(&auth.user.id).await;
    if id == auth.session_id {
        auth.session.flush().await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the signed-in user except this one.
#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth", operation_id = "endOtherSessions",
    security(("session" = [])),
    responses(
        (status = 204, description = "Every other session ended"),
        (status = 403, description = "`csrf_rejected` or `session_required`", body = ErrorBody, example = json!({"error": {"code": "csrf_rejected", "message": "Cross-site request refused. Send Origin matching the server's public URL."}})),
        Unauthenticated))]
async fn end_other_sessions(
    State(state): State<AppState>,
    meta: RequestMeta,
    auth: SessionUser,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    db::sessions::delete_all(&mut *tx, &auth.user.id, Some(&auth.session_id)).await?;
    audit::record(
        &mut tx,
        &state,
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
async fn providers(State(state): State<AppState>) -> Json<ProvidersBody> {
    let mut providers = vec!["password".to_string()];
    if state.google.is_some() {
        providers.push("google".to_string());
    }
    Json(ProvidersBody { providers })
}

//! Creating an account: sign-up (its account-dependent work after answering), verifying the
//! address, and sending the verification mail again.

use std::collections::BTreeMap;

use axum::{extract::State, http::StatusCode, Json};
use shared::{
    validate::check_name, EmailRequest, ErrorBody, SignupRequest, StatusBody, TokenRequest,
    UserBody,
};

use crate::{
    access::Browser,
    audit::{self, Event, Outcome},
    crypto::{random_token, sha256_hex},
    db::{self, tokens::Purpose},
    email::Email,
    error::{AppError, Result},
    mail::Template,
    password,
    ratelimit::Rate,
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, responses::RateLimited, AppJson},
};

use super::{
    accepted, after_answering, ip_key, limit, mail_request_gate, user_view, PASSWORD_MAX_BYTES,
    VERIFY_TTL,
};

/// Create an account.
///
/// Always 202 with the same body, whether or not the email already has an account: a new email
/// gets a verification mail, a known one a "you already have an account" mail.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", operation_id = "signup",
    request_body = SignupRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted; a mail is on its way", body = StatusBody), RateLimited))]
pub(super) async fn signup(
    _browser: Browser,
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
        if let Some((to, name)) = holder(&mut tx, email, now).await? {
            let mail = Template::AlreadyRegistered { name };
            state.mail.enqueue(&mut tx, &to, mail).await?;
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
                    &email.display,
                    Template::VerifyEmail {
                        name: name.to_string(),
                        token,
                    },
                )
                .await?;
            audit::record(
                &mut tx,
                &state.clock,
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

/// The account `email` belongs to ([`db::email_changes::holder`]), as `(where to mail it,
/// its name)`: its stored address when it uses this one, else the address as typed.
async fn holder(
    conn: &mut sqlx::AnyConnection,
    email: &Email,
    now: i64,
) -> sqlx::Result<Option<(String, String)>> {
    let Some(h) = db::email_changes::holder(&mut *conn, &email.normalized, None, now).await? else {
        return Ok(None);
    };
    let user = db::users::by_id(&mut *conn, &h.user_id).await?;
    Ok(user.map(|u| {
        let to = if h.current {
            u.email
        } else {
            email.display.clone()
        };
        (to, u.name)
    }))
}

/// Confirm an email address with the token from the verification mail.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", operation_id = "verifyEmail",
    request_body = TokenRequest,
    responses(BodyErrors,
        (status = 200, description = "Verified; the user as they are now", body = UserBody),
        (status = 400, description = "`invalid_token`: unknown, used or expired (24 h); or `invalid_json`", body = ErrorBody)))]
pub(super) async fn verify_email(
    _browser: Browser,
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
            &state.clock,
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
        (status = 202, description = "Accepted", body = StatusBody), RateLimited))]
pub(super) async fn resend_verification(
    _browser: Browser,
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
    state.mail.enqueue(&mut tx, &user.email, template).await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(())
}

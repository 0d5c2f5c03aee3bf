//! Accounts and sign-in: signup, email verification, login/logout, password flows, sessions.
//!
//! Enumeration safety: signup, resend and forgot answer the same for known and unknown emails
//! and do what depends on the account after answering (signup hashes the password first either
//! way); login verifies a dummy hash for unknown emails. `tests/timing.rs` holds login, forgot
//! and signup to medians within 5 %. Lockout counts are keyed by the submitted email whether or
//! not an account exists.

mod ceremony;
pub mod credentials;
pub mod deletion;
mod email_change;
mod factors;
pub mod google;
mod mfa;
mod passkeys;
mod password;
mod profile;
mod reauth;
mod signin;
mod signup;

use crate::access::session::view_of;
use axum::{http::StatusCode, Json};
use shared::{StatusBody, User};
use sqlx::AnyConnection;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    audit::{self, Event, Outcome},
    db::{self, users::UserRow},
    email::Email,
    error::{AppError, Result},
    mail::Template,
    ratelimit::Rate,
    request_meta::{ip_key, RequestMeta},
    state::AppState,
};

const VERIFY_TTL: i64 = 24 * 3600;
const RESET_TTL: i64 = 3600;
const LOCK_AFTER: i64 = 5;
const LOCK_SECS: i64 = 30 * 60;
/// Bounds argon2's input; far above the 128-code-point policy, so only abuse hits it.
const PASSWORD_MAX_BYTES: usize = 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup::signup))
        .routes(routes!(signup::verify_email))
        .routes(routes!(signup::resend_verification))
        .routes(routes!(signin::login))
        .routes(routes!(signin::logout))
        .routes(routes!(signin::me, profile::update_me, deletion::delete_me))
        .routes(routes!(
            email_change::request_change,
            email_change::pending_change,
            email_change::withdraw_change
        ))
        .routes(routes!(email_change::confirm))
        .routes(routes!(email_change::cancel))
        .routes(routes!(password::forgot_password))
        .routes(routes!(password::reset_password))
        .routes(routes!(password::change_password))
        .routes(routes!(reauth::reauthenticate))
        .routes(routes!(mfa::status))
        .routes(routes!(mfa::enrol, mfa::disable))
        .routes(routes!(mfa::confirm))
        .routes(routes!(mfa::regenerate))
        .routes(routes!(mfa::verify))
        .routes(routes!(mfa::pending_methods))
        .routes(routes!(passkeys::list, passkeys::add))
        .routes(routes!(passkeys::begin_registration))
        .routes(routes!(passkeys::rename, passkeys::remove))
        .routes(routes!(passkeys::begin_sign_in))
        .routes(routes!(passkeys::sign_in))
        .routes(routes!(passkeys::begin_second_factor))
        .routes(routes!(passkeys::begin_reauth))
        .routes(routes!(signin::list_sessions, signin::end_other_sessions))
        .routes(routes!(signin::end_session))
        .routes(routes!(signin::providers))
        .routes(routes!(google::google_start))
        .routes(routes!(google::google_link))
        .routes(routes!(google::google_reauth))
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

/// After a sign-in: remembers its device (`device::fingerprint`) and, when the account had
/// signed in before but never from this device, queues a "new sign-in" mail (a security notice:
/// never dropped by the hourly cap). True when a mail was queued (wake the outbox after the
/// commit). The first device an account ever signs in from is not news.
async fn note_device(
    state: &AppState,
    conn: &mut AnyConnection,
    user: &UserRow,
    meta: &RequestMeta,
    how: &'static str,
) -> Result<bool> {
    let now = state.clock.now();
    let fingerprint = crate::device::fingerprint(meta.user_agent.as_deref(), meta.ip.as_deref());
    let seen = db::devices::remember(&mut *conn, &user.id, &fingerprint, now).await?;
    if !(seen.new && seen.had_any) {
        return Ok(false);
    }
    let template = Template::NewSignIn {
        name: user.name.clone(),
        device: crate::device::describe(meta.user_agent.as_deref()),
        ip: meta.ip.clone(),
        at: crate::clock::rfc3339(now),
        how,
    };
    Ok(state
        .mail
        .enqueue(&mut *conn, &user.email, template)
        .await?)
}

/// The user as the API shows them.
pub async fn user_view(conn: &mut AnyConnection, u: &UserRow) -> Result<User> {
    let providers = db::users::linked_providers(conn, &u.id).await?;
    Ok(view_of(u, providers))
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
            .enqueue(&mut tx, &to, Template::AdminSetPassword { token })
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

/// 429 `too_many_attempts` (with `Retry-After`) while the email `key` is locked out.
async fn check_unlocked(state: &AppState, key: &str) -> Result<()> {
    let now = state.clock.now();
    match db::throttle::locked_until(&state.db.pool, key, now).await? {
        Some(until) => Err(AppError::too_many(
            "too_many_attempts",
            (until - now) as u64,
        )),
        None => Ok(()),
    }
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
    audit::record(&mut tx, &state.clock, meta, ev(kind, Outcome::Failure)).await?;
    if locked {
        audit::record(
            &mut tx,
            &state.clock,
            meta,
            ev("user.locked", Outcome::Success),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

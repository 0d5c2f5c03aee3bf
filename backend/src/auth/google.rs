//! Google sign-in (OpenID Connect): authorization code with PKCE (S256), `state` and `nonce`
//! kept in a sealed, short-lived cookie; the ID token's RS256 signature checked against the
//! provider's JWKS, with `iss`, `aud`, `exp` and `nonce`; `email_verified` required.
//!
//! Linking is safer than the old system's (which linked on the provider's word alone): an
//! identity is found by (provider, subject); otherwise it joins the account with that email.
//! If that account was never verified, anyone may have signed it up, so Google's verified email
//! makes it the Google user's: whatever was set on it (password, links, keys) is removed
//! first ([`super::credentials::wipe`]). The provider's endpoints come from its discovery document
//! (`PFN_GOOGLE_DISCOVERY_URL`), so tests and self-hosters can point it elsewhere.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope};
use serde::{Deserialize, Serialize};
use shared::{redirect::safe_return_to, ErrorBody};
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use utoipa::IntoParams;

use crate::access::session::{self, SessionUser};
use crate::oidc::Google;
use crate::{
    access::{Browser, BrowserSession},
    audit::{self, Event, Outcome},
    crypto, db,
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
};

/// The flow's cookie: `pfn_oauth` scoped to the Google routes in development, and outside it
/// `__Host-pfn_oauth` (which browsers accept only with `Secure`, `Path=/` and no `Domain`, so
/// no other host or path can plant or read it), like the session cookie.
const DEV_COOKIE: (&str, &str) = ("pfn_oauth", "/api/v1/auth/google");
const HOST_COOKIE: (&str, &str) = ("__Host-pfn_oauth", "/");
const COOKIE_LABEL: &[u8] = b"pfn/oauth-state/v1";
const FLOW_TTL_SECS: i64 = 600;
const PROVIDER: &str = "google";

/// What the sealed cookie carries between `start` and `callback`.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    verifier: String,
    nonce: String,
    return_to: String,
    /// Set when a signed-in user is linking Google to their account.
    link_user_id: Option<String>,
    /// Set when a signed-in user re-authenticates (step-up) through Google.
    #[serde(default)]
    reauth_user_id: Option<String>,
    created: i64,
}

/// What a flow is for, besides signing in.
enum Purpose {
    SignIn,
    Link(String),
    Reauth(String),
}

fn google(state: &AppState) -> Result<&Google> {
    state.google.as_ref().ok_or_else(AppError::not_found)
}

fn callback_url(state: &AppState) -> String {
    format!("{}/api/v1/auth/google/callback", state.web.public_origin)
}

fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut res = (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The flow cookie's name and path on this server.
fn cookie_of(state: &AppState) -> (&'static str, &'static str) {
    if state.web.secure_cookies {
        HOST_COOKIE
    } else {
        DEV_COOKIE
    }
}

fn flow_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let (name, path) = cookie_of(state);
    let secure = if state.web.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct StartQuery {
    /// Where to land after signing in: a path on this site (anything else becomes `/`).
    #[param(example = "/keys")]
    return_to: Option<String>,
}

async fn begin(state: &AppState, return_to: &str, purpose: Purpose) -> Result<Response> {
    let g = google(state)?;
    let (d, _) = g.provider(false).await.map_err(|e| {
        tracing::warn!(error = %e, "Google discovery failed");
        AppError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "Google sign-in is unavailable right now.",
        )
    })?;
    let client = g
        .client(&d, &callback_url(state))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("Google client: {e}")))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = crypto::random_token();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_extra_param("nonce", &nonce)
        .set_pkce_challenge(challenge);
    if matches!(purpose, Purpose::Reauth(_)) {
        // A fresh login at Google, not its remembered session (OIDC `max_age=0`: the ID token
        // then carries `auth_time`, which the callback checks).
        request = request
            .add_extra_param("prompt", "login")
            .add_extra_param("max_age", "0");
    }
    let (url, csrf) = request.url();
    let (link_user_id, reauth_user_id) = match purpose {
        Purpose::SignIn => (None, None),
        Purpose::Link(id) => (Some(id), None),
        Purpose::Reauth(id) => (None, Some(id)),
    };
    let flow = Flow {
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        nonce,
        return_to: safe_return_to(return_to).to_string(),
        link_user_id,
        reauth_user_id,
        created: state.clock.now(),
    };
    let sealed = state.secrets.seal(
        COOKIE_LABEL,
        &serde_json::to_string(&flow).unwrap_or_default(),
    );
    Ok(redirect(
        url.as_str(),
        Some(flow_cookie(state, &sealed, FLOW_TTL_SECS)),
    ))
}

/// Sign in with Google: redirects to Google (404 `not_found` when Google is not configured).
#[utoipa::path(get, path = "/api/v1/auth/google/start", tag = "auth", operation_id = "googleStart",
    params(StartQuery),
    responses(
        (status = 302, description = "To Google's consent page; sets a short-lived sealed `pfn_oauth` cookie (`__Host-pfn_oauth` outside development)",
            headers(("Location" = String, description = "The provider's authorization URL"))),
        (status = 404, description = "`not_found`: Google sign-in is not configured", body = ErrorBody),
        (status = 502, description = "`upstream_error`: the provider's discovery document is unreachable", body = ErrorBody)))]
pub async fn google_start(
    _browser: Browser,
    State(state): State<AppState>,
    Query(q): Query<StartQuery>,
) -> Result<Response> {
    begin(
        &state,
        q.return_to.as_deref().unwrap_or("/"),
        Purpose::SignIn,
    )
    .await
}

/// Link Google to the signed-in account: like `start`, but the callback adds the Google
/// identity to this account and returns to `/settings?linked=google`.
#[utoipa::path(get, path = "/api/v1/auth/google/link", tag = "auth", operation_id = "googleLink",
    responses(
        (status = 302, description = "To Google's consent page"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody,
            example = json!({"error": {"code": "unauthenticated", "message": "Sign in to continue."}})),
        (status = 404, description = "`not_found`: Google sign-in is not configured", body = ErrorBody)))]
pub async fn google_link(State(state): State<AppState>, user: SessionUser) -> Result<Response> {
    begin(&state, "/settings", Purpose::Link(user.user.id.clone())).await
}

/// Confirm it is you through Google (step-up, for accounts that sign in with Google): like
/// `start`, but Google is asked for a fresh login (`prompt=login`, `max_age=0`), and the
/// callback, for the same Google account as this session's, opens the step-up operations to
/// this session for ten minutes and returns to `returnTo` (with `?error=google_reauth_failed`
/// for another account or a login Google did not just make).
#[utoipa::path(get, path = "/api/v1/auth/google/reauth", tag = "auth", operation_id = "googleReauth",
    params(StartQuery),
    responses(
        (status = 302, description = "To Google's login page",
            headers(("Location" = String, description = "The provider's authorization URL"))),
        (status = 404, description = "`not_found`: Google sign-in is not configured", body = ErrorBody),
        (status = 502, description = "`upstream_error`: the provider's discovery document is unreachable", body = ErrorBody)))]
pub async fn google_reauth(
    State(state): State<AppState>,
    user: SessionUser,
    Query(q): Query<StartQuery>,
) -> Result<Response> {
    let return_to = q.return_to.as_deref().unwrap_or("/");
    begin(&state, return_to, Purpose::Reauth(user.user.id.clone())).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code Google issued.
    #[param(example = "4/0AeanS0a1b2c3d4e5f6")]
    code: Option<String>,
    /// The `state` this server sent to Google; it must match the flow's cookie.
    #[param(example = "Zq3xN8vB2mK5pL9wR1tY6uH4jG7dF0sA3eC8bV5nM2k")]
    state: Option<String>,
    /// Set by the provider when the user declined.
    #[param(example = "access_denied")]
    error: Option<String>,
}

fn cookie_value(state: &AppState, headers: &HeaderMap) -> Option<String> {
    crate::request_meta::cookie(headers, cookie_of(state).0).map(str::to_string)
}

/// Where Google sends the browser back. Signs in (or links) and redirects to the flow's
/// `returnTo`; on any failure redirects to `/login?error=<code>` (`/settings?error=` when
/// linking): `google_state_invalid`, `google_denied`, `google_exchange_failed`,
/// `google_token_invalid`, `google_email_unverified`, `google_link_requires_password` (no
/// longer sent: an unverified account is taken over by the address's Google user),
/// `google_already_linked`, `account_disabled`. An account with two-step sign-in is not signed
/// in yet: the redirect goes to `/login?mfa=1&returnTo=…` with the pending-MFA cookie, and
/// `POST /api/v1/auth/mfa/verify` completes it.
#[utoipa::path(get, path = "/api/v1/auth/google/callback", tag = "auth", operation_id = "googleCallback",
    params(CallbackQuery),
    responses((status = 302, description = "Signed in (session cookie set) or an error code in the query",
        headers(("Location" = String, description = "`returnTo`, or `/login?error=<code>`"))),
        (status = 404, description = "`not_found`: Google sign-in is not configured", body = ErrorBody)))]
pub async fn google_callback(
    State(state): State<AppState>,
    BrowserSession(session): BrowserSession,
    meta: RequestMeta,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response> {
    let g = google(&state)?;
    let clear = Some(flow_cookie(&state, "", 0));
    let flow: Option<Flow> = cookie_value(&state, &headers)
        .and_then(|v| state.secrets.open(COOKIE_LABEL, &v))
        .map(|opened| opened.text)
        .and_then(|json| serde_json::from_str(&json).ok());
    let now = state.clock.now();
    let Some(flow) = flow.filter(|f| now - f.created <= FLOW_TTL_SECS) else {
        return Ok(redirect("/login?error=google_state_invalid", clear));
    };
    let fail_to = if flow.link_user_id.is_some() {
        "/settings"
    } else {
        "/login"
    };
    let fail = |code: &str| Ok(redirect(&format!("{fail_to}?error={code}"), clear.clone()));
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(flow.state.as_bytes())));
    if !state_ok {
        return fail("google_state_invalid");
    }
    if q.error.is_some() {
        return fail("google_denied");
    }
    let Some(code) = q.code else {
        return fail("google_state_invalid");
    };
    let exchanged = async {
        let (d, _) = g.provider(false).await?;
        let client = g.client(&d, &callback_url(&state))?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&g.http)
            .await
            .map_err(|e| anyhow::anyhow!("token exchange: {e}"))?;
        anyhow::Ok(token.extra_fields().id_token.clone())
    }
    .await;
    let id_token = match exchanged {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "Google code exchange failed");
            return fail("google_exchange_failed");
        }
    };
    let claims = match g.verify(&id_token, &flow.nonce).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "Google ID token refused");
            return fail("google_token_invalid");
        }
    };
    let Some(email) = claims.email.clone().filter(|_| claims.email_verified) else {
        return fail("google_email_unverified");
    };
    let email = match crate::email::Email::parse(&email) {
        Ok(e) => e,
        Err(_) => return fail("google_email_unverified"),
    };

    if let Some(who) = &flow.reauth_user_id {
        return reauth_callback(&state, &session, &meta, &flow, who, &claims, clear).await;
    }

    let mut tx = state.db.begin().await?;
    // Linking from settings: the signed-in user who started it, still signed in.
    if let Some(link_to) = &flow.link_user_id {
        if session::live_user_id(&session, &state).await.as_deref() != Some(link_to.as_str()) {
            return fail("google_state_invalid");
        }
        if !db::users::link_identity(
            &mut *tx,
            PROVIDER,
            &claims.sub,
            link_to,
            &email.display,
            now,
        )
        .await?
        {
            let owner = db::users::by_identity(&mut *tx, PROVIDER, &claims.sub).await?;
            if owner.as_deref() != Some(link_to.as_str()) {
                return fail("google_already_linked");
            }
        } else {
            audit::record(
                &mut tx,
                &state.clock,
                &meta,
                Event::own("identity.linked", link_to, Outcome::Success).on("identity", PROVIDER),
            )
            .await?;
        }
        tx.commit().await?;
        state.forget_user(link_to).await;
        return Ok(redirect("/settings?linked=google", clear));
    }

    let mut revoked = Vec::new();
    let user = match db::users::by_identity(&mut *tx, PROVIDER, &claims.sub).await? {
        Some(id) => db::users::by_id(&mut *tx, &id).await?,
        None => match db::users::by_email(&mut *tx, &email.normalized).await? {
            // Link to an existing account only if its owner proved the address to us.
            Some(existing) if existing.email_verified_at.is_some() => {
                db::users::link_identity(
                    &mut *tx,
                    PROVIDER,
                    &claims.sub,
                    &existing.id,
                    &email.display,
                    now,
                )
                .await?;
                audit::record(
                    &mut tx,
                    &state.clock,
                    &meta,
                    Event::own("identity.linked", &existing.id, Outcome::Success)
                        .on("identity", PROVIDER),
                )
                .await?;
                Some(existing)
            }
            // Never verified: Google just proved the address is this person's, and whoever
            // signed the account up may not be. Nothing they set survives.
            Some(squatted) => {
                revoked = super::credentials::wipe(&mut tx, &squatted.id, now).await?;
                db::users::mark_verified(&mut *tx, &squatted.id, now).await?;
                db::users::link_identity(
                    &mut *tx,
                    PROVIDER,
                    &claims.sub,
                    &squatted.id,
                    &email.display,
                    now,
                )
                .await?;
                let reclaimed = Event::own("user.reclaimed", &squatted.id, Outcome::Success);
                audit::record(&mut tx, &state.clock, &meta, reclaimed).await?;
                let linked = Event::own("identity.linked", &squatted.id, Outcome::Success)
                    .on("identity", PROVIDER);
                audit::record(&mut tx, &state.clock, &meta, linked).await?;
                db::users::by_id(&mut *tx, &squatted.id).await?
            }
            None => {
                let id = db::new_id();
                let name = claims
                    .name
                    .as_deref()
                    .map(|n| n.trim().chars().take(100).collect::<String>())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| {
                        email
                            .display
                            .split('@')
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    });
                db::users::insert(
                    &mut *tx,
                    db::users::NewUser {
                        id: &id,
                        email: &email.display,
                        email_normalized: &email.normalized,
                        name: &name,
                        password_hash: None,
                        role: "user",
                        email_verified_at: Some(now),
                        now,
                    },
                )
                .await?;
                db::workspaces::create_personal(&mut tx, &id, now).await?;
                db::users::link_identity(&mut *tx, PROVIDER, &claims.sub, &id, &email.display, now)
                    .await?;
                audit::record(
                    &mut tx,
                    &state.clock,
                    &meta,
                    Event::own("user.signup", &id, Outcome::Success),
                )
                .await?;
                db::users::by_id(&mut *tx, &id).await?
            }
        },
    };
    let Some(user) = user else {
        return fail("google_state_invalid");
    };
    if user.disabled_at.is_some() {
        audit::record(
            &mut tx,
            &state.clock,
            &meta,
            Event::own("user.login", &user.id, Outcome::Denied),
        )
        .await?;
        tx.commit().await?;
        return fail("account_disabled");
    }
    if db::mfa::has_factor(&mut *tx, &user.id).await? {
        // Two-step sign-in: Google was the first step; the SPA asks for the code.
        let challenge = db::mfa::Challenge {
            user_id: user.id.clone(),
            how: "google".into(),
        };
        let pending = super::factors::start_challenge(&state, &mut tx, &challenge).await?;
        tx.commit().await?;
        state.forget_user(&user.id).await;
        for hash in revoked {
            state.forget_key(&hash).await;
        }
        let to = format!(
            "/login?mfa=1&returnTo={}",
            url::form_urlencoded::byte_serialize(flow.return_to.as_bytes()).collect::<String>()
        );
        let mut res = redirect(&to, clear);
        if let Ok(v) = pending.parse() {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        return Ok(res);
    }
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("user.login", &user.id, Outcome::Success),
    )
    .await?;
    let new_device = super::note_device(&state, &mut tx, &user, &meta, "google").await?;
    tx.commit().await?;
    if new_device {
        state.mail.wake();
    }
    state.forget_user(&user.id).await;
    for hash in revoked {
        state.forget_key(&hash).await;
    }
    session::start(&session, &state, &user, &meta, "google").await?;
    Ok(redirect(&flow.return_to, clear))
}

/// The end of a step-up through Google: the session that started it, the Google account linked
/// to its user, and a login Google made after the flow began.
async fn reauth_callback(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    flow: &Flow,
    who: &str,
    claims: &crate::oidc::Claims,
    clear: Option<String>,
) -> Result<Response> {
    let back = |error: Option<&str>| {
        let to = match error {
            None => flow.return_to.clone(),
            Some(code) => {
                let sep = if flow.return_to.contains('?') {
                    '&'
                } else {
                    '?'
                };
                format!("{}{sep}error={code}", flow.return_to)
            }
        };
        Ok(redirect(&to, clear.clone()))
    };
    if session::live_user_id(session, state).await.as_deref() != Some(who) {
        return back(Some("google_state_invalid"));
    }
    let mut conn = state.db.pool.acquire().await?;
    let owner = db::users::by_identity(&mut *conn, PROVIDER, &claims.sub).await?;
    // Google reports when the person logged in; it must be after this flow began (a minute
    // of clock difference allowed).
    let fresh = claims.auth_time.is_some_and(|t| t >= flow.created - 60);
    let ok = owner.as_deref() == Some(who) && fresh;
    let kind = if ok {
        "reauth.succeeded"
    } else {
        "reauth.failed"
    };
    let outcome = if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    audit::record(
        &mut conn,
        &state.clock,
        meta,
        Event::own(kind, who, outcome),
    )
    .await?;
    if !ok {
        return back(Some("google_reauth_failed"));
    }
    session::reauthenticated(session, state.clock.now()).await?;
    back(None)
}

/// Unlink Google from the signed-in account; refused while it is the only way to sign in.
#[utoipa::path(delete, path = "/api/v1/auth/identities/google", tag = "auth", operation_id = "unlinkGoogle",
    responses(
        (status = 204, description = "Unlinked (also when it was not linked)"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 409, description = "`last_sign_in_method`: set a password first", body = ErrorBody,
            example = json!({"error": {"code": "last_sign_in_method", "message": "Google is how you sign in: set a password before unlinking it."}}))))]
pub async fn unlink_google(
    State(state): State<AppState>,
    user: SessionUser,
    meta: RequestMeta,
) -> Result<StatusCode> {
    if user.user.password_hash.is_none() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "last_sign_in_method",
            "Google is how you sign in: set a password before unlinking it.",
        ));
    }
    let mut tx = state.db.begin().await?;
    if db::users::unlink_identity(&mut *tx, PROVIDER, &user.user.id).await? {
        audit::record(
            &mut tx,
            &state.clock,
            &meta,
            Event::own("identity.unlinked", &user.user.id, Outcome::Success)
                .on("identity", PROVIDER),
        )
        .await?;
    }
    tx.commit().await?;
    state.forget_user(&user.user.id).await;
    Ok(StatusCode::NO_CONTENT)
}

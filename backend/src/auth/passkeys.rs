//! Passkeys (WebAuthn, through `webauthn-rs`): adding, listing, renaming and removing them,
//! signing in with one alone, and proving one as the second step of a sign-in or for step-up.
//!
//! Every ceremony keeps its state on the server (`webauthn_ceremonies`), five minutes and used
//! once, so the request that finishes it may reach another replica than the one that began it.
//! The client holds only a random ceremony id.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use shared::{
    ErrorBody, NewPasskeyRequest, PasskeyAdded, PasskeyAssertion, PasskeyInfo, PasskeyOptions,
    PasskeysBody, RenamePasskeyRequest, UserBody,
};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, PasskeyRegistration, RegisterPublicKeyCredential,
};
use webauthn_rs_core::proto::ResidentKeyRequirement;

use super::{
    ceremony::{
        b64url, begin, begin_assertion, internal, invalid, options_json, parse_assertion,
        record_use, relying_party, stored, take, user_handle, Purpose,
    },
    factors, ip_key, limit,
    signin::complete_sign_in,
};
use crate::{
    access::{Browser, BrowserSession, Fresh, SessionUser},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    db::{self, passkeys::PasskeyRow},
    error::{AppError, Result},
    mail::Template,
    ratelimit::Rate,
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, responses::RateLimited, AppJson},
};

/// Passkeys one account may hold.
const MAX_PASSKEYS: i64 = 20;

fn info(p: &PasskeyRow) -> PasskeyInfo {
    PasskeyInfo {
        id: p.id.clone(),
        name: p.name.clone(),
        created_at: rfc3339(p.created_at),
        last_used_at: p.last_used_at.map(rfc3339),
    }
}

/// The signed-in user's passkeys, oldest first.
#[utoipa::path(get, path = "/api/v1/auth/passkeys", tag = "auth", operation_id = "listPasskeys",
    responses(
        (status = 200, description = "Passkeys", body = PasskeysBody),
        (status = 409, description = "`passkeys_unavailable`: this server's public address is an IP address", body = ErrorBody)))]
pub(super) async fn list(
    State(state): State<AppState>,
    who: SessionUser,
) -> Result<Json<PasskeysBody>> {
    relying_party(&state)?;
    let rows = db::passkeys::list(&state.db.pool, &who.user.id).await?;
    Ok(Json(PasskeysBody {
        passkeys: rows.iter().map(info).collect(),
    }))
}

/// Start adding a passkey: options for `navigator.credentials.create()`. The new passkey is
/// discoverable (it signs in without an email) and asks for user verification (a PIN,
/// fingerprint or face). Finish with `POST /api/v1/auth/passkeys` within five minutes.
#[utoipa::path(post, path = "/api/v1/auth/passkeys/options", tag = "auth", operation_id = "beginPasskeyRegistration",
    responses(
        (status = 200, description = "Pass `options` to `navigator.credentials.create()`", body = PasskeyOptions),
        (status = 409, description = "`passkeys_unavailable`: this server's public address is an IP address; or `too_many_passkeys`: 20 is the limit", body = ErrorBody)))]
pub(super) async fn begin_registration(
    State(state): State<AppState>,
    Fresh(who): Fresh<SessionUser>,
) -> Result<Json<PasskeyOptions>> {
    let rp = relying_party(&state)?;
    let user = &who.user;
    let mut conn = state.db.pool.acquire().await?;
    let rows = db::passkeys::list(&mut *conn, &user.id).await?;
    if rows.len() as i64 >= MAX_PASSKEYS {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "too_many_passkeys",
            "An account holds at most 20 passkeys: remove one first.",
        ));
    }
    let exclude = rows
        .iter()
        .map(|r| stored(r).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>>>()?;
    let (mut ccr, reg) = rp
        .webauthn
        .start_passkey_registration(
            user_handle(&user.id)?,
            &user.email,
            &user.name,
            Some(exclude),
        )
        .map_err(|e| internal("starting a passkey registration", e))?;
    // webauthn-rs leaves resident keys to the authenticator; signing in without an email
    // needs a discoverable credential, so ask for one.
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(ResidentKeyRequirement::Required);
        sel.require_resident_key = true;
    }
    let options = options_json(&ccr)?;
    Ok(Json(
        begin(
            &state,
            &mut conn,
            Purpose::Register,
            Some(&user.id),
            options,
            &reg,
        )
        .await?,
    ))
}

/// Finish adding a passkey with the browser's new credential. With the account's first second
/// factor, sign-ins with the password (or Google) now ask for a passkey (or code) too, and the
/// answer carries ten recovery codes, shown only now.
#[utoipa::path(post, path = "/api/v1/auth/passkeys", tag = "auth", operation_id = "addPasskey",
    request_body = NewPasskeyRequest,
    responses(BodyErrors,
        (status = 201, description = "Added", body = PasskeyAdded),
        (status = 409, description = "`passkeys_unavailable`; or `passkey_already_registered`: this authenticator's credential is registered already", body = ErrorBody),
        (status = 422, description = "`passkey_invalid`: the credential did not verify, or the ceremony expired or was used; or `validation_failed`", body = ErrorBody)))]
pub(super) async fn add(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    AppJson(req): AppJson<NewPasskeyRequest>,
) -> Result<Response> {
    let rp = relying_party(&state)?;
    let user = &who.user;
    let name = shared::validate::check_name(&req.name).map_err(|m| AppError::field("name", m))?;
    let cred: RegisterPublicKeyCredential = serde_json::from_value(req.credential.clone())
        .map_err(|_| {
            AppError::field(
                "credential",
                "must be a PublicKeyCredential from navigator.credentials.create(), as JSON",
            )
        })?;
    let now = state.clock.now();
    let mut conn = state.db.pool.acquire().await?;
    // The ceremony is used up whatever happens next.
    let reg: PasskeyRegistration = take(
        &state,
        &mut conn,
        Purpose::Register,
        &req.ceremony_id,
        Some(&user.id),
    )
    .await?
    .ok_or_else(invalid)?;
    drop(conn);
    let key = rp
        .webauthn
        .finish_passkey_registration(&cred, &reg)
        .map_err(|e| {
            tracing::debug!(error = %e, "a passkey registration did not verify");
            invalid()
        })?;
    let row = PasskeyRow {
        id: db::new_id(),
        user_id: user.id.clone(),
        name,
        credential: serde_json::to_string(&key).map_err(|e| internal("passkey", e))?,
        created_at: now,
        last_used_at: None,
    };
    let mut tx = state.db.begin().await?;
    let first_factor = !db::mfa::has_factor(&mut *tx, &user.id).await?;
    match db::passkeys::insert(&mut *tx, &row, &b64url(key.cred_id())).await {
        Err(e) if db::is_unique_violation(&e) => {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "passkey_already_registered",
                "This passkey is registered already.",
            ))
        }
        r => r?,
    }
    let recovery_codes = if first_factor {
        Some(factors::new_recovery_codes(&mut tx, &user.id, now).await?)
    } else {
        None
    };
    let ev = Event::own("passkey.added", &user.id, Outcome::Success).on("passkey", &row.id);
    let mail = Template::PasskeyChanged {
        name: user.name.clone(),
        passkey: row.name.clone(),
        added: true,
    };
    factors::changed(&state, tx, &meta, user, ev, mail).await?;
    let body = PasskeyAdded {
        passkey: info(&row),
        recovery_codes,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Rename one of the signed-in user's passkeys.
#[utoipa::path(patch, path = "/api/v1/auth/passkeys/{id}", tag = "auth", operation_id = "renamePasskey",
    params(("id" = String, Path, description = "A passkey id from the list", example = "0193b7f0-6a1e-7c2d-9f0e-3b5a1c2d4e6f")),
    request_body = RenamePasskeyRequest,
    responses(BodyErrors,
        (status = 200, description = "Renamed", body = PasskeyInfo),
        (status = 404, description = "`not_found`: no such passkey for this user", body = ErrorBody),
        (status = 409, description = "`passkeys_unavailable`", body = ErrorBody)))]
pub(super) async fn rename(
    State(state): State<AppState>,
    who: SessionUser,
    Path(id): Path<String>,
    AppJson(req): AppJson<RenamePasskeyRequest>,
) -> Result<Json<PasskeyInfo>> {
    relying_party(&state)?;
    let name = shared::validate::check_name(&req.name).map_err(|m| AppError::field("name", m))?;
    let row = db::passkeys::rename(&state.db.pool, &who.user.id, &id, &name)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(info(&row)))
}

/// Remove one of the signed-in user's passkeys. Removing the last second factor turns two-step
/// sign-in off (the recovery codes go too).
#[utoipa::path(delete, path = "/api/v1/auth/passkeys/{id}", tag = "auth", operation_id = "deletePasskey",
    params(("id" = String, Path, description = "A passkey id from the list", example = "0193b7f0-6a1e-7c2d-9f0e-3b5a1c2d4e6f")),
    responses(
        (status = 204, description = "Removed: it no longer signs in"),
        (status = 404, description = "`not_found`: no such passkey for this user", body = ErrorBody),
        (status = 409, description = "`passkeys_unavailable`", body = ErrorBody)))]
pub(super) async fn remove(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    relying_party(&state)?;
    let user = &who.user;
    let mut tx = state.db.begin().await?;
    let name = db::passkeys::delete(&mut *tx, &user.id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    db::mfa::forget_if_no_factor(&mut tx, &user.id).await?;
    let ev = Event::own("passkey.removed", &user.id, Outcome::Success).on("passkey", &id);
    let mail = Template::PasskeyChanged {
        name: user.name.clone(),
        passkey: name,
        added: false,
    };
    factors::changed(&state, tx, &meta, user, ev, mail).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start signing in with a passkey alone (no email typed): options for
/// `navigator.credentials.get()` with no `allowCredentials`, so the browser offers the
/// passkeys it holds for this site. Finish with `POST /api/v1/auth/passkey/login`. A client
/// that wants autofill (conditional mediation) adds `"mediation": "conditional"` itself.
#[utoipa::path(post, path = "/api/v1/auth/passkey/options", tag = "auth", operation_id = "beginPasskeySignIn",
    responses(
        (status = 200, description = "Pass `options` to `navigator.credentials.get()`", body = PasskeyOptions),
        (status = 409, description = "`passkeys_unavailable`: this server's public address is an IP address", body = ErrorBody), RateLimited))]
pub(super) async fn begin_sign_in(
    _browser: Browser,
    State(state): State<AppState>,
    meta: RequestMeta,
) -> Result<Json<PasskeyOptions>> {
    let rp = relying_party(&state)?;
    sign_in_limit(&state, &meta).await?;
    let (mut rcr, auth): (_, DiscoverableAuthentication) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("starting a passkey sign-in", e))?;
    // A button, not autofill: the browser asks at once.
    rcr.mediation = None;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(
        begin(
            &state,
            &mut conn,
            Purpose::SignIn,
            None,
            options_json(&rcr)?,
            &auth,
        )
        .await?,
    ))
}

async fn sign_in_limit(state: &AppState, meta: &RequestMeta) -> Result<()> {
    limit(
        state,
        "too_many_attempts",
        format!("passkey:ip:{}", ip_key(meta)),
        Rate::per_minute(state.config.limits.login_per_ip_per_min),
    )
    .await
}

/// Sign in with a passkey alone: the browser's answer to `POST /api/v1/auth/passkey/options`.
/// A passkey proves possession and a PIN or biometric, so no second step follows, and the
/// password lockout does not apply (a passkey cannot be guessed).
#[utoipa::path(post, path = "/api/v1/auth/passkey/login", tag = "auth", operation_id = "signInWithPasskey",
    request_body = PasskeyAssertion,
    responses(BodyErrors,
        (status = 200, description = "Signed in; `Set-Cookie` carries the session", body = UserBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 409, description = "`passkeys_unavailable`", body = ErrorBody),
        (status = 422, description = "`passkey_invalid`: unknown passkey, wrong signature, or the ceremony expired or was used; or `validation_failed`", body = ErrorBody), RateLimited))]
pub(super) async fn sign_in(
    State(state): State<AppState>,
    meta: RequestMeta,
    BrowserSession(session): BrowserSession,
    AppJson(req): AppJson<PasskeyAssertion>,
) -> Result<Json<UserBody>> {
    let rp = relying_party(&state)?;
    sign_in_limit(&state, &meta).await?;
    let cred = parse_assertion(&req)?;
    let mut conn = state.db.pool.acquire().await?;
    let auth: DiscoverableAuthentication =
        take(&state, &mut conn, Purpose::SignIn, &req.ceremony_id, None)
            .await?
            .ok_or_else(invalid)?;
    let (handle, cred_id) = rp
        .webauthn
        .identify_discoverable_authentication(&cred)
        .map_err(|_| invalid())?;
    let Some(row) = db::passkeys::by_credential(&mut *conn, &b64url(cred_id)).await? else {
        return Err(invalid());
    };
    if user_handle(&row.user_id)? != handle {
        return Err(invalid());
    }
    let key = stored(&row)?;
    let result = rp
        .webauthn
        .finish_discoverable_authentication(&cred, auth, &[DiscoverableKey::from(&key)])
        .map_err(|e| {
            tracing::debug!(error = %e, "a passkey sign-in did not verify");
            invalid()
        })?;
    record_use(&state, &mut conn, &row, &result).await?;
    drop(conn);
    let Some(user) = db::users::by_id(&state.db.pool, &row.user_id).await? else {
        return Err(invalid());
    };
    if user.disabled_at.is_some() {
        let mut conn = state.db.pool.acquire().await?;
        let ev = Event::own("user.login", &user.id, Outcome::Denied);
        audit::record(&mut conn, &state.clock, &meta, ev).await?;
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "This account is disabled.",
        ));
    }
    let view = complete_sign_in(&state, &session, &user, &meta, "passkey").await?;
    Ok(Json(UserBody { user: view }))
}

/// Second step of a sign-in with a passkey: options for `navigator.credentials.get()` with the
/// account's passkeys. Needs the pending-MFA cookie; send the answer to
/// `POST /api/v1/auth/mfa/verify` as `passkey`.
#[utoipa::path(post, path = "/api/v1/auth/mfa/passkey/options", tag = "auth", operation_id = "beginPasskeySecondFactor",
    responses(
        (status = 200, description = "Pass `options` to `navigator.credentials.get()`", body = PasskeyOptions),
        (status = 401, description = "`mfa_challenge_invalid`: no sign-in is waiting for a second factor", body = ErrorBody),
        (status = 409, description = "`passkeys_unavailable`; or `no_passkeys`: use a code instead", body = ErrorBody)))]
pub(super) async fn begin_second_factor(
    _browser: Browser,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<PasskeyOptions>> {
    let challenge = factors::pending(&state, &headers).await?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(
        begin_assertion(
            &state,
            &mut conn,
            Purpose::SecondFactor,
            &challenge.0.user_id,
        )
        .await?,
    ))
}

/// Step-up with a passkey: options for `navigator.credentials.get()` with the signed-in user's
/// passkeys; send the answer to `POST /api/v1/auth/reauth` as `passkey`.
#[utoipa::path(post, path = "/api/v1/auth/reauth/passkey/options", tag = "auth", operation_id = "beginPasskeyReauth",
    responses(
        (status = 200, description = "Pass `options` to `navigator.credentials.get()`", body = PasskeyOptions),
        (status = 409, description = "`passkeys_unavailable`; or `no_passkeys`: confirm with the password, a code or Google", body = ErrorBody)))]
pub(super) async fn begin_reauth(
    State(state): State<AppState>,
    who: SessionUser,
) -> Result<Json<PasskeyOptions>> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(
        begin_assertion(&state, &mut conn, Purpose::Reauth, &who.user.id).await?,
    ))
}

//! WebAuthn ceremonies underneath the passkey routes: the state kept between a ceremony's
//! two requests (`webauthn_ceremonies`: five minutes, used once, on any replica, only for the
//! purpose and account it was begun for), and checking an assertion of an account's passkeys
//! (the second step of a sign-in, step-up).

use axum::http::StatusCode;
use base64::Engine;
use shared::{PasskeyAssertion, PasskeyOptions};
use sqlx::AnyConnection;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PublicKeyCredential, Uuid};

use crate::{
    crypto::{random_token, sha256_hex},
    db::{
        self,
        passkeys::{Ceremony, PasskeyRow},
    },
    error::{AppError, Result},
    passkey::RelyingParty,
    state::AppState,
};

/// How long a ceremony waits for the browser's answer.
const CEREMONY_SECS: i64 = 300;

/// What a ceremony was begun for; an answer is only accepted by the route of its purpose.
#[derive(Clone, Copy)]
pub(super) enum Purpose {
    Register,
    SignIn,
    SecondFactor,
    Reauth,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
            Self::SecondFactor => "second_factor",
            Self::Reauth => "reauth",
        }
    }
}

/// 409 `passkeys_unavailable`: this server's public address is an IP address.
pub(super) fn relying_party(state: &AppState) -> Result<&RelyingParty> {
    state.passkeys.as_ref().ok_or_else(|| {
        AppError::new(
            StatusCode::CONFLICT,
            "passkeys_unavailable",
            "Passkeys need this server to be reached by a domain name, not an IP address \
             (PFN_PUBLIC_URL).",
        )
    })
}

/// 422 `passkey_invalid`: what every failed passkey answer gets (wrong, expired, used, not
/// this account's, or a possibly cloned authenticator).
pub(super) fn invalid() -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "passkey_invalid",
        "The passkey could not be verified, or the request expired. Try again.",
    )
}

pub(super) fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{what}: {e}"))
}

pub(super) fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The user handle passkeys carry: the account id (a UUID, nothing personal).
pub(super) fn user_handle(user_id: &str) -> Result<Uuid> {
    Uuid::parse_str(user_id).map_err(|e| internal("a user id that is not a UUID", e))
}

pub(super) fn stored(p: &PasskeyRow) -> Result<Passkey> {
    serde_json::from_str(&p.credential).map_err(|e| internal("a stored passkey", e))
}

/// Keeps a ceremony's state and answers the browser's half.
pub(super) async fn begin(
    state: &AppState,
    conn: &mut AnyConnection,
    purpose: Purpose,
    user_id: Option<&str>,
    options: serde_json::Value,
    ceremony: &impl serde::Serialize,
) -> Result<PasskeyOptions> {
    let id = random_token();
    let c = Ceremony {
        user_id: user_id.map(str::to_string),
        state: serde_json::to_string(ceremony).map_err(|e| internal("ceremony state", e))?,
    };
    let now = state.clock.now();
    let hash = sha256_hex(id.as_bytes());
    db::passkeys::insert_ceremony(conn, &hash, purpose.as_str(), &c, now, now + CEREMONY_SECS)
        .await?;
    Ok(PasskeyOptions {
        ceremony_id: id,
        options,
    })
}

/// Takes the ceremony (once) and its state; None when it is gone, of another purpose, or
/// begun for another account than `user_id`.
pub(super) async fn take<S: serde::de::DeserializeOwned>(
    state: &AppState,
    conn: &mut AnyConnection,
    purpose: Purpose,
    ceremony_id: &str,
    user_id: Option<&str>,
) -> Result<Option<S>> {
    if ceremony_id.len() > 128 {
        return Ok(None);
    }
    let hash = sha256_hex(ceremony_id.as_bytes());
    let Some(c) =
        db::passkeys::take_ceremony(conn, &hash, purpose.as_str(), state.clock.now()).await?
    else {
        return Ok(None);
    };
    if c.user_id.as_deref() != user_id {
        return Ok(None);
    }
    serde_json::from_str(&c.state)
        .map(Some)
        .map_err(|e| internal("ceremony state", e))
}

pub(super) fn options_json(v: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| internal("webauthn options", e))
}

/// Starts an assertion of one of `user_id`'s passkeys (second step, step-up); 409
/// `no_passkeys` when the account has none.
pub(super) async fn begin_assertion(
    state: &AppState,
    conn: &mut AnyConnection,
    purpose: Purpose,
    user_id: &str,
) -> Result<PasskeyOptions> {
    let rp = relying_party(state)?;
    let rows = db::passkeys::list(&mut *conn, user_id).await?;
    if rows.is_empty() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "no_passkeys",
            "This account has no passkey.",
        ));
    }
    let keys = rows.iter().map(stored).collect::<Result<Vec<_>>>()?;
    let (rcr, auth) = rp
        .webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| internal("starting a passkey assertion", e))?;
    begin(
        state,
        conn,
        purpose,
        Some(user_id),
        options_json(&rcr)?,
        &auth,
    )
    .await
}

/// Checks a passkey's answer to an assertion begun for `user_id` ([`begin_assertion`]) and
/// records the use; Ok(false) when it does not verify. The ceremony is used up either way.
pub(super) async fn check_assertion(
    state: &AppState,
    conn: &mut AnyConnection,
    purpose: Purpose,
    user_id: &str,
    a: &PasskeyAssertion,
) -> Result<bool> {
    let rp = relying_party(state)?;
    let cred = parse_assertion(a)?;
    let Some(auth) =
        take::<PasskeyAuthentication>(state, conn, purpose, &a.ceremony_id, Some(user_id)).await?
    else {
        return Ok(false);
    };
    let result = match rp.webauthn.finish_passkey_authentication(&cred, &auth) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "a passkey assertion did not verify");
            return Ok(false);
        }
    };
    let Some(row) = db::passkeys::by_credential(&mut *conn, &b64url(result.cred_id())).await?
    else {
        return Ok(false);
    };
    if row.user_id != user_id {
        return Ok(false);
    }
    record_use(state, conn, &row, &result).await?;
    Ok(true)
}

/// Stores what an assertion changed (the signature counter, backup state) and when it was used.
pub(super) async fn record_use(
    state: &AppState,
    conn: &mut AnyConnection,
    row: &PasskeyRow,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<()> {
    let mut key = stored(row)?;
    let changed = match key.update_credential(result) {
        Some(true) => Some(serde_json::to_string(&key).map_err(|e| internal("passkey", e))?),
        _ => None,
    };
    db::passkeys::used(&mut *conn, &row.id, changed.as_deref(), state.clock.now()).await?;
    Ok(())
}

pub(super) fn parse_assertion(a: &PasskeyAssertion) -> Result<PublicKeyCredential> {
    serde_json::from_value(a.credential.clone()).map_err(|_| {
        AppError::field(
            "credential",
            "must be a PublicKeyCredential from navigator.credentials.get(), as JSON",
        )
    })
}

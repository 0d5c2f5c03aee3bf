//! Second factors underneath the routes: authenticator codes (RFC 6238 through `totp-rs`;
//! each accepted once), recovery codes, and the pending-MFA cookie a correct password leaves
//! when a second factor is still to come.

use axum::http::{HeaderMap, StatusCode};
use rand::Rng;
use sqlx::AnyConnection;
use totp_rs::{Algorithm, TOTP};

use crate::{
    audit::{self, Event},
    crypto::{random_token, sha256_hex},
    db::{self, mfa::Challenge, users::UserRow, Tx},
    error::{AppError, Result},
    mail::Template,
    request_meta::RequestMeta,
    state::AppState,
};

/// What the sealed secret is bound to (`crypto::Keyring`).
const SEAL_LABEL: &[u8] = b"pfn/totp/v1";
const STEP_SECS: i64 = 30;
/// Codes of the step before and after now are accepted too (clock drift, typing time).
const SKEW_STEPS: i64 = 1;
/// How long a sign-in waits for its second factor.
pub const CHALLENGE_SECS: i64 = 300;
pub const RECOVERY_CODES: usize = 10;
/// When this few recovery codes are left, their owner is mailed.
pub const RECOVERY_LOW: i64 = 2;
const ISSUER: &str = "pfn";

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP> {
    // `:` separates issuer and account in the URI's label.
    let account = account.replace(':', "");
    TOTP::new(
        Algorithm::SHA1,
        6,
        SKEW_STEPS as u8,
        STEP_SECS as u64,
        secret,
        Some(ISSUER.into()),
        account,
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("totp: {e:?}")))
}

/// A new secret (160 bits, RFC 4226's recommendation), its URI and QR code, and the secret
/// sealed for the database.
pub struct Enrolment {
    pub secret_base32: String,
    pub uri: String,
    pub qr_svg: String,
    pub sealed: String,
}

pub fn enrol(state: &AppState, account: &str) -> Result<Enrolment> {
    let secret: [u8; 20] = rand::thread_rng().gen();
    let totp = totp(secret.to_vec(), account)?;
    let secret_base32 = totp.get_secret_base32();
    let uri = totp.get_url();
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("qr code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(Enrolment {
        sealed: state.secrets.seal(SEAL_LABEL, &secret_base32),
        secret_base32,
        uri,
        qr_svg,
    })
}

/// 422 `invalid_code`: what a wrong, replayed or expired code gets everywhere.
pub fn invalid_code() -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_code",
        "The code is wrong, expired or was already used.",
    )
}

/// Six digits, spaces ignored; `None` for anything else.
fn digits(code: &str) -> Option<String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Checks an authenticator code against the account's factor (`confirmed`: only an active
/// one; otherwise only a pending enrolment) and uses up its time step, so the same code — or
/// an older one — is refused afterwards. False for a wrong, replayed or malformed code and
/// for an account without such a factor.
pub async fn check_code(
    state: &AppState,
    conn: &mut AnyConnection,
    user_id: &str,
    account: &str,
    code: &str,
    confirmed: bool,
) -> Result<bool> {
    let Some(code) = digits(code) else {
        return Ok(false);
    };
    let Some(row) = db::mfa::totp(&mut *conn, user_id).await? else {
        return Ok(false);
    };
    if row.confirmed_at.is_some() != confirmed {
        return Ok(false);
    }
    let opened = state
        .secrets
        .open(SEAL_LABEL, &row.secret_sealed)
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "an authenticator secret opens with neither PFN_SECRET nor PFN_SECRET_PREVIOUS"
            ))
        })?;
    let secret = totp_rs::Secret::Encoded(opened.text.clone())
        .to_bytes()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored totp secret: {e:?}")))?;
    let totp = totp(secret, account)?;
    let now_step = state.clock.now() / STEP_SECS;
    // Every candidate step is computed and compared (in constant time), so the answer's
    // timing does not say which step matched.
    let mut matched = None;
    for step in now_step - SKEW_STEPS..=now_step + SKEW_STEPS {
        let expected = totp.generate((step * STEP_SECS) as u64);
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into() {
            matched = Some(step);
        }
    }
    let Some(step) = matched else {
        return Ok(false);
    };
    if !db::mfa::use_step(&mut *conn, user_id, step).await? {
        return Ok(false);
    }
    if opened.stale {
        let sealed = state.secrets.seal(SEAL_LABEL, &opened.text);
        db::mfa::reseal_totp(&mut *conn, user_id, &sealed).await?;
    }
    Ok(true)
}

/// The end of every change to an account's second factors: the audit event and the owner's
/// mail join the caller's transaction, which this commits; then the mail goes out and every
/// replica forgets the cached user (it says whether there is a second factor, which admin
/// routes read).
pub async fn changed(
    state: &AppState,
    mut tx: Tx,
    meta: &RequestMeta,
    user: &UserRow,
    event: Event<'_>,
    mail: Template,
) -> Result<()> {
    audit::record(&mut tx, &state.clock, meta, event).await?;
    state.mail.enqueue(&mut tx, &user.email, mail).await?;
    tx.commit().await?;
    state.mail.wake();
    state.forget_user(&user.id).await;
    Ok(())
}

/// A recovery code as stored: lower case, without dashes or spaces, hashed.
fn recovery_hash(code: &str) -> String {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha256_hex(code.as_bytes())
}

/// Ten new codes of ten characters (about 50 bits each; no 0/o, 1/l/i), shown once as
/// `xxxxx-xxxxx`; the account's old codes stop working.
pub async fn new_recovery_codes(
    conn: &mut AnyConnection,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>> {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut rng = rand::thread_rng();
            let chars: String = (0..10)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    db::mfa::replace_recovery_codes(conn, user_id, &hashes, now).await?;
    Ok(codes)
}

/// Uses a recovery code; false when it is not one of the account's unused codes.
pub async fn use_recovery_code(
    conn: &mut AnyConnection,
    user_id: &str,
    code: &str,
    now: i64,
) -> Result<bool> {
    if code.len() > 64 {
        return Ok(false);
    }
    Ok(db::mfa::use_recovery_code(&mut *conn, user_id, &recovery_hash(code), now).await?)
}

/// The pending-MFA cookie's name: `__Host-` and `Secure` outside development, like the
/// session cookie.
fn cookie_name(state: &AppState) -> &'static str {
    if state.web.secure_cookies {
        "__Host-pfn_mfa"
    } else {
        "pfn_mfa"
    }
}

/// A `Set-Cookie` value for the pending-MFA cookie (`""` and 0 clear it).
pub fn cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.web.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(state)
    )
}

/// The hash of the pending-MFA cookie this request carries.
pub fn challenge_hash(state: &AppState, headers: &HeaderMap) -> Option<String> {
    crate::request_meta::cookie(headers, cookie_name(state))
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(|v| sha256_hex(v.as_bytes()))
}

/// 401 `mfa_challenge_invalid`: no sign-in is waiting for a second factor (none started,
/// expired, used, or ended by the lockout).
pub fn challenge_gone() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "mfa_challenge_invalid",
        "No sign-in is waiting for a second factor (it expired or was used). Sign in again.",
    )
}

/// The sign-in waiting for a second factor that this request's pending-MFA cookie names, and
/// the cookie's hash; 401 `mfa_challenge_invalid` when there is none.
pub async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(db::mfa::Challenge, String)> {
    let hash = challenge_hash(state, headers).ok_or_else(challenge_gone)?;
    let challenge = db::mfa::challenge(&state.db.pool, &hash, state.clock.now())
        .await?
        .ok_or_else(challenge_gone)?;
    Ok((challenge, hash))
}

/// Starts a sign-in that waits for a second factor; returns the `Set-Cookie` value.
pub async fn start_challenge(
    state: &AppState,
    conn: &mut AnyConnection,
    challenge: &Challenge,
) -> Result<String> {
    let token = random_token();
    let expires = state.clock.now() + CHALLENGE_SECS;
    db::mfa::insert_challenge(
        &mut *conn,
        &sha256_hex(token.as_bytes()),
        challenge,
        expires,
    )
    .await?;
    Ok(cookie(state, &token, CHALLENGE_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_recovery_codes_ignore_case_and_dashes() {
        assert_eq!(digits("123 456").as_deref(), Some("123456"));
        assert_eq!(digits("12345"), None);
        assert_eq!(digits("12345a"), None);
        assert_eq!(
            digits("１２３４５６"),
            None,
            "fullwidth digits are not digits here"
        );
        assert_eq!(recovery_hash("AB2CD-EF3GH"), recovery_hash("ab2cdef3gh"));
        assert_ne!(recovery_hash("ab2cd-ef3gh"), recovery_hash("ab2cd-ef3gj"));
    }

    #[test]
    fn rfc_6238_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits) → 287082 with 6.
        let t = TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            30,
            b"12345678901234567890".to_vec(),
            None,
            String::new(),
        );
        assert_eq!(t.generate(59), "287082");
    }
}

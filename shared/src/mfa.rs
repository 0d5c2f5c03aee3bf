//! Second factors: an authenticator app (TOTP), recovery codes, and the second step of a
//! sign-in.

use serde::{Deserialize, Serialize};

use crate::auth::UserBody;

/// `GET /api/v1/auth/mfa`: the signed-in user's second factors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MfaStatus {
    /// An authenticator app is set up: sign-ins ask for its code.
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub totp: bool,
    /// Unused recovery codes (0 without an authenticator).
    #[cfg_attr(feature = "openapi", schema(example = 10))]
    pub recovery_codes_left: u32,
    /// How many passkeys the account has (each is a second factor too).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub passkeys: u32,
}

/// `POST /api/v1/auth/mfa/totp`: a new authenticator secret, not active until confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The secret in base32, for typing into an app that cannot scan.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    )]
    pub secret: String,
    /// The `otpauth://` URI apps import (SHA-1, 6 digits, 30 seconds).
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "otpauth://totp/pfn:layla%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=pfn"
        )
    )]
    pub otpauth_uri: String,
    /// The URI as a QR code: a complete `<svg>` element.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "<svg xmlns=\"http://www.w3.org/2000/svg\" …></svg>")
    )]
    pub qr_svg: String,
}

/// A code from the authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "492039"})))]
pub struct TotpCodeRequest {
    /// Six digits (spaces are ignored).
    #[cfg_attr(feature = "openapi", schema(example = "492039", max_length = 32))]
    pub code: String,
}

/// Recovery codes, shown once: each signs in once instead of an authenticator code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodesBody {
    #[cfg_attr(feature = "openapi", schema(example = json!(["k7d2m-x9p4q", "…"])))]
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/auth/mfa/verify`: exactly one of `code`, `recoveryCode` and `passkey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "492039"})))]
pub struct MfaVerifyRequest {
    /// A code from the authenticator app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "492039", max_length = 32))]
    pub code: Option<String>,
    /// One of the recovery codes (dashes and case do not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "k7d2m-x9p4q", max_length = 32))]
    pub recovery_code: Option<String>,
    /// A passkey's answer to `POST /api/v1/auth/mfa/passkey/options`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<crate::passkeys::PasskeyAssertion>,
}

/// A correct password (or Google sign-in) of an account with a second factor: not signed in
/// yet. The pending-MFA cookie is set; `POST /api/v1/auth/mfa/verify` completes the sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MfaRequiredBody {
    /// Always true.
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub mfa_required: bool,
    /// What `POST /api/v1/auth/mfa/verify` accepts: `totp`, `webauthn` (a passkey),
    /// `recovery_code`.
    #[cfg_attr(feature = "openapi", schema(example = json!(["totp", "recovery_code"])))]
    pub methods: Vec<String>,
}

/// The answer of `POST /api/v1/auth/login`: signed in (`{"user": …}`), or waiting for a second
/// factor (`{"mfaRequired": true, …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LoginAnswer {
    SignedIn(UserBody),
    MfaRequired(MfaRequiredBody),
}

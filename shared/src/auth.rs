//! Accounts, sign-in and sessions.

use serde::{Deserialize, Serialize};

/// A user as they see themselves (`GET /api/v1/auth/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "layla@example.com"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(example = "Layla"))]
    pub name: String,
    pub role: Role,
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub email_verified: bool,
    /// RFC 3339, UTC.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:00:00Z"))]
    pub created_at: String,
    /// False for accounts that only sign in with Google.
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub has_password: bool,
    /// Linked external sign-in providers, e.g. `["google"]`.
    #[cfg_attr(feature = "openapi", schema(example = json!(["google"])))]
    pub linked_providers: Vec<String>,
}

/// A user's role on this server: `admin` may use the admin area (`/api/v1/admin/...`); everyone
/// else is `user`. Part of `User` and `AdminUser`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

/// `{"user": …}`. `GET /api/v1/auth/me`, `POST /api/v1/auth/login` and
/// `POST /api/v1/auth/verify-email` answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserBody {
    pub user: User,
}

/// An email address in a request: at most 254 characters; pfn trims it and compares it
/// case-insensitively. (A schema only: the wire value is a plain string.)
#[cfg(feature = "openapi")]
pub struct EmailAddress;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for EmailAddress {
    #[allow(deprecated)] // `example`: OpenAPI 3.1 still reads it, and the house lint wants it
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An email address: at most 254 characters, trimmed, compared case-insensitively.",
            ))
            .min_length(Some(3))
            .max_length(Some(crate::validate::EMAIL_MAX))
            .pattern(Some("@"))
            .example(Some(serde_json::json!("layla@example.com")))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for EmailAddress {}

/// The body of `POST /api/v1/auth/signup`: a new account, which must verify its email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "email": "layla@example.com", "password": "correct horse battery staple", "name": "Layla"})))]
pub struct SignupRequest {
    /// Trimmed; at most 254 characters; unique case-insensitively.
    #[cfg_attr(feature = "openapi", schema(value_type = EmailAddress))]
    pub email: String,
    /// 8–128 characters (code points after NFC); not a common password; not containing the email.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 8,
            max_length = 128,
            example = "correct horse battery staple"
        )
    )]
    pub password: String,
    /// 1–100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 100, example = "Layla")
    )]
    pub name: String,
}

/// The body of `POST /api/v1/auth/login`: email and password sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "email": "layla@example.com", "password": "correct horse battery staple"})))]
pub struct LoginRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 254, example = "layla@example.com")
    )]
    pub email: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, example = "correct horse battery staple")
    )]
    pub password: String,
}

/// A single-use token from an emailed link: the body of `POST /api/v1/auth/verify-email` and
/// `POST /api/v1/invitations/accept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"token": "q0P3bW8mZ1x4…"})))]
pub struct TokenRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            example = "q0P3bW8mZ1x4QupgPN0I0-fSNDSsjKgDk5C6SMAf-c4"
        )
    )]
    pub token: String,
}

/// An email address: the body of `POST /api/v1/auth/password/forgot` and
/// `POST /api/v1/auth/verify-email/resend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "layla@example.com"})))]
pub struct EmailRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = EmailAddress))]
    pub email: String,
}

/// The body of `POST /api/v1/auth/password/reset`: the token from the reset email and the new
/// password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "token": "q0P3bW8mZ1x4…", "password": "a new long passphrase"})))]
pub struct ResetPasswordRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            example = "q0P3bW8mZ1x4QupgPN0I0-fSNDSsjKgDk5C6SMAf-c4"
        )
    )]
    pub token: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 8, max_length = 128, example = "a new long passphrase")
    )]
    pub password: String,
}

/// The body of `POST /api/v1/auth/reauth`: the signed-in user's password or an authenticator
/// code (exactly one), to prove it is them before a sensitive action (step-up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"password": "correct horse battery staple"})))]
pub struct ReauthRequest {
    /// The account's password; or send `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, example = "correct horse battery staple")
    )]
    pub password: Option<String>,
    /// A code from the authenticator app (accounts with one); or send `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "492039", max_length = 32))]
    pub code: Option<String>,
    /// A passkey's answer to `POST /api/v1/auth/reauth/passkey/options`; or send `password`
    /// or `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<crate::passkeys::PasskeyAssertion>,
}

/// The answer of `POST /api/v1/auth/reauth`: until when step-up operations are open to this
/// session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReauthBody {
    /// RFC 3339, UTC: ten minutes from now.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-04T10:10:00Z"))]
    pub fresh_until: String,
}

/// The body of `POST /api/v1/auth/password/change`, for a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "currentPassword": "correct horse battery staple", "newPassword": "a new long passphrase"})))]
pub struct ChangePasswordRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, example = "correct horse battery staple")
    )]
    pub current_password: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 8, max_length = 128, example = "a new long passphrase")
    )]
    pub new_password: String,
}

/// One signed-in device, as `GET /api/v1/auth/sessions` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// A public handle for this session; not the cookie secret.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f8-6f7a-7b8c-934e-0f1a2b3c4d5e")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:00:00Z"))]
    pub created_at: String,
    /// Refreshed at most once an hour.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T08:40:00Z"))]
    pub last_seen_at: String,
    #[cfg_attr(feature = "openapi", schema(example = "203.0.113.24"))]
    pub ip: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"
        )
    )]
    pub user_agent: Option<String>,
    /// The device, as people name it (from the user agent).
    #[cfg_attr(feature = "openapi", schema(example = "Safari on macOS"))]
    pub device: String,
    /// How the session signed in: `password` or `google`, followed by `+totp` or
    /// `+recovery_code` when a second factor completed it (absent for sessions from before pfn
    /// recorded it).
    #[cfg_attr(feature = "openapi", schema(example = "password"))]
    pub sign_in_method: Option<String>,
    /// True for the session making this request.
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub current: bool,
}

/// `PATCH /api/v1/auth/me`: what the user may change about themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Layla Haddad"})))]
pub struct UpdateProfileRequest {
    /// 1–100 characters after trimming, no control characters (as at sign-up).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Layla Haddad", min_length = 1, max_length = 100)
    )]
    pub name: String,
}

/// `DELETE /api/v1/auth/me`: the account's email address, typed again to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "layla@example.com"})))]
pub struct DeleteAccountRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = EmailAddress))]
    pub email: String,
}

/// Which sign-in methods this server offers: `{"providers": ["password", "google"]}`.
/// `GET /api/v1/auth/providers` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"providers": ["password", "passkey"], "passkeyOrigin": "https://money.example.com"})))]
pub struct ProvidersBody {
    #[cfg_attr(feature = "openapi", schema(example = json!(["password", "google"])))]
    pub providers: Vec<String>,
    /// The origin passkeys work on (they are bound to it), or null when this server has none
    /// (its public address is an IP address). A client on another origin hides passkeys.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "https://money.example.com"))]
    pub passkey_origin: Option<String>,
}

/// `POST /api/v1/auth/email/change`: the address the account should use from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"newEmail": "layla@new.example"})))]
pub struct ChangeEmailRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = EmailAddress))]
    pub new_email: String,
}

/// An email change waiting for its confirmation link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PendingEmailChange {
    #[cfg_attr(feature = "openapi", schema(example = "layla@new.example"))]
    pub new_email: String,
    /// When the confirmation link stops working (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-05T10:00:00Z"))]
    pub expires_at: String,
}

/// The account's pending email change, if any (`GET` and `POST /api/v1/auth/email/change`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"pending": {"newEmail": "layla@new.example", "expiresAt": "2026-12-05T10:00:00Z"}})))]
pub struct EmailChangeBody {
    pub pending: Option<PendingEmailChange>,
}

/// What the "this wasn't me" link did: `cancelled` a change that was not confirmed yet, or
/// `restored` the old address of one that was (every sign-in method was then removed: a mail
/// to the restored address carries a link to set a new password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"outcome": "restored", "email": "layla@example.com"})))]
pub struct CancelEmailChangeBody {
    #[cfg_attr(feature = "openapi", schema(example = "restored"))]
    pub outcome: CancelOutcome,
    /// The account's address now.
    #[cfg_attr(feature = "openapi", schema(example = "layla@example.com"))]
    pub email: String,
}

/// See [`CancelEmailChangeBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CancelOutcome {
    Cancelled,
    Restored,
}

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
    pub email_verified: bool,
    /// RFC 3339, UTC.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:00:00Z"))]
    pub created_at: String,
    /// False for accounts that only sign in with Google.
    pub has_password: bool,
    /// Linked external sign-in providers, e.g. `["google"]`.
    pub linked_providers: Vec<String>,
}

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

/// `{"user": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserBody {
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "email": "layla@example.com", "password": "correct horse battery staple", "name": "Layla"})))]
pub struct SignupRequest {
    /// Trimmed; at most 254 characters; unique case-insensitively.
    pub email: String,
    /// 8–128 characters (code points after NFC); not a common password; not containing the email.
    pub password: String,
    /// 1–100 characters.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "email": "layla@example.com", "password": "correct horse battery staple"})))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A single-use token from an emailed link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"token": "q0P3bW8mZ1x4…"})))]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "layla@example.com"})))]
pub struct EmailRequest {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "token": "q0P3bW8mZ1x4…", "password": "a new long passphrase"})))]
pub struct ResetPasswordRequest {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "currentPassword": "correct horse battery staple", "newPassword": "a new long passphrase"})))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// One signed-in device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// A public handle for this session; not the cookie secret.
    pub id: String,
    pub created_at: String,
    /// Refreshed at most once an hour.
    pub last_seen_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

/// Which sign-in methods this server offers: `{"providers": ["password", "google"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"providers": ["password"]})))]
pub struct ProvidersBody {
    pub providers: Vec<String>,
}

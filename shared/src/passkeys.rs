//! Passkeys (WebAuthn): the two halves of a ceremony, and the signed-in user's passkeys.

use serde::{Deserialize, Serialize};

/// The first half of a WebAuthn ceremony: what the browser needs, and the id of the state the
/// server keeps until the second half (five minutes, used once, on any replica).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"ceremonyId": "b2Fx0k3v4W3pQ9mZ1cNn8tYhJd6sRr2a", "options": {"publicKey": {"challenge": "q9c2Xb1T0sYwVb6nZk3d8g", "rpId": "money.example.com", "allowCredentials": [], "userVerification": "required", "timeout": 300000}}})))]
pub struct PasskeyOptions {
    /// Send it back with the browser's answer.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "b2Fx0k3v4W3pQ9mZ1cNn8tYhJd6sRr2a")
    )]
    pub ceremony_id: String,
    /// The argument of `navigator.credentials.create()` (adding a passkey) or
    /// `navigator.credentials.get()` (using one), as JSON: `{"publicKey": {…}}` with binary
    /// fields (`challenge`, `user.id`, credential ids) in base64url —
    /// `PublicKeyCredential.parseCreationOptionsFromJSON()` /
    /// `parseRequestOptionsFromJSON()` read its `publicKey`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object, example = json!({"publicKey": {"challenge": "q9c2…", "rpId": "money.example.com", "allowCredentials": [], "userVerification": "required", "timeout": 300000}})))]
    pub options: serde_json::Value,
}

/// The second half of a WebAuthn assertion: the browser's `PublicKeyCredential`
/// (`credential.toJSON()`: binary fields in base64url).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"ceremonyId": "b2Fx0k3v4W3pQ9mZ1cNn8tYhJd6sRr2a", "credential": {"id": "Xk2vQ0", "rawId": "Xk2vQ0", "type": "public-key", "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0", "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ", "signature": "MEUCIQC", "userHandle": "AZLH8GoeeC2fDjtaHC1ObW8"}, "clientExtensionResults": {}}})))]
pub struct PasskeyAssertion {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "b2Fx0k3v4W3pQ9mZ1cNn8tYhJd6sRr2a", max_length = 128)
    )]
    pub ceremony_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object, example = json!({"id": "Xk2…", "rawId": "Xk2…", "type": "public-key", "response": {"clientDataJSON": "eyJ0…", "authenticatorData": "SZYN…", "signature": "MEUC…", "userHandle": "AZL…"}, "clientExtensionResults": {}})))]
    pub credential: serde_json::Value,
}

/// `POST /api/v1/auth/passkeys`: the browser's new credential and a name for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"ceremonyId": "b2Fx0k3v4W3pQ9mZ1cNn8tYhJd6sRr2a", "name": "Laptop", "credential": {"id": "Xk2vQ0", "rawId": "Xk2vQ0", "type": "public-key", "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0", "attestationObject": "o2NmbXRkbm9uZQ"}, "clientExtensionResults": {}}})))]
pub struct NewPasskeyRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "b2Fx0k3v4W3pQ9mZ1cNn8tYhJd6sRr2a", max_length = 128)
    )]
    pub ceremony_id: String,
    /// What to call it (1–100 characters), e.g. the device it lives on.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Laptop", min_length = 1, max_length = 100)
    )]
    pub name: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, as `toJSON()` gives it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object, example = json!({"id": "Xk2…", "rawId": "Xk2…", "type": "public-key", "response": {"clientDataJSON": "eyJ0…", "attestationObject": "o2Nm…"}, "clientExtensionResults": {}})))]
    pub credential: serde_json::Value,
}

/// `PATCH /api/v1/auth/passkeys/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Work laptop"})))]
pub struct RenamePasskeyRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Work laptop", min_length = 1, max_length = 100)
    )]
    pub name: String,
}

/// One of the signed-in user's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasskeyInfo {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b7f0-6a1e-7c2d-9f0e-3b5a1c2d4e6f")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Laptop"))]
    pub name: String,
    /// RFC 3339, UTC.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-04T10:00:00Z"))]
    pub created_at: String,
    /// RFC 3339, UTC; null until it is first used.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-04T12:30:00Z"))]
    pub last_used_at: Option<String>,
}

/// `GET /api/v1/auth/passkeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasskeysBody {
    pub passkeys: Vec<PasskeyInfo>,
}

/// `POST /api/v1/auth/passkeys`: the new passkey; with the account's first second factor, its
/// ten recovery codes too (shown only now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasskeyAdded {
    pub passkey: PasskeyInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = json!(["k7d2m-x9p4q", "…"])))]
    pub recovery_codes: Option<Vec<String>>,
}

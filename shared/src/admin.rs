//! The admin area: users as an administrator sees them.

use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// A user, as the admin area lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
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
    /// When an admin disabled the account; `null` while it is enabled.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-25T14:00:00Z"))]
    pub disabled_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:00:00Z"))]
    pub created_at: String,
}

/// `{"user": …}` as an administrator sees it. `POST /api/v1/admin/users/{id}/disable` and
/// `POST /api/v1/admin/users/{id}/enable` answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserBody {
    pub user: AdminUser,
}

/// One user in detail: `GET /api/v1/admin/users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminUserDetail {
    pub user: AdminUser,
    /// Whether the account has a password (accounts made by Google sign-in may not).
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub has_password: bool,
    /// External sign-in identities linked to the account.
    #[cfg_attr(feature = "openapi", schema(example = json!(["google"])))]
    pub linked_providers: Vec<String>,
    /// Browser sessions that are still live (neither ended, idle for 7 days nor 30 days old).
    #[cfg_attr(feature = "openapi", schema(example = 2))]
    pub active_sessions: u64,
    /// API keys of the user's that still work: not revoked, not expired (in any workspace).
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub active_keys: u64,
}

//! The admin area: users as an administrator sees them.

use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// A user, as the admin area lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "layla@example.com"))]
    pub email: String,
    pub name: String,
    pub role: Role,
    pub email_verified: bool,
    /// When an admin disabled the account; `null` while it is enabled.
    pub disabled_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserBody {
    pub user: AdminUser,
}

//! Workspaces, members and invitations.

use serde::{Deserialize, Serialize};

/// A workspace the caller belongs to, with their role in it. `GET /api/v1/workspaces` lists
/// these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Household"))]
    pub name: String,
    /// Your own workspace, made at signup; it cannot have other members.
    #[cfg_attr(feature = "openapi", schema(example = false))]
    pub personal: bool,
    /// Your role here: `owner` or `member`.
    #[cfg_attr(feature = "openapi", schema(example = "owner"))]
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:05:00Z"))]
    pub created_at: String,
}

/// `{"workspace": …}`. `POST /api/v1/workspaces`, `GET /api/v1/workspaces/{id}` and
/// `POST /api/v1/invitations/accept` answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceBody {
    pub workspace: Workspace,
}

/// The body of `POST /api/v1/workspaces`: a new shared workspace, owned by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Household"})))]
pub struct CreateWorkspaceRequest {
    /// 1–100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 100, example = "Household")
    )]
    pub name: String,
}

/// One member of a workspace. `GET /api/v1/workspaces/{id}/members` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")
    )]
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "layla@example.com"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(example = "Layla"))]
    pub name: String,
    /// `owner` (manages members, keys and connections) or `member` (reads and writes data).
    #[cfg_attr(feature = "openapi", schema(example = "owner"))]
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:05:00Z"))]
    pub joined_at: String,
}

/// The body of `POST /api/v1/workspaces/{id}/members`: invite someone by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "sara@example.com", "role": "member"})))]
pub struct InviteRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::auth::EmailAddress))]
    pub email: String,
    /// `owner` or `member`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(owner|member)$", example = "member")
    )]
    pub role: String,
}

/// The body of `POST /api/v1/workspaces/{id}/transfer`: the member who becomes the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"userId": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b"})))]
pub struct TransferRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b", max_length = 64)
    )]
    pub user_id: String,
}

/// An invitation that was sent and is neither accepted nor expired.
/// `GET /api/v1/workspaces/{id}/invitations` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6fa-8b9c-7d0e-b56a-2b3c4d5e6f7a")
    )]
    pub id: String,
    /// The invited address, normalised (lower-cased).
    #[cfg_attr(feature = "openapi", schema(example = "sara@example.com"))]
    pub email: String,
    /// `owner` or `member`: the role accepting it gives.
    #[cfg_attr(feature = "openapi", schema(example = "member"))]
    pub role: String,
    /// Who sent it (a user id).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")
    )]
    pub invited_by: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:05:00Z"))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-30T10:05:00Z"))]
    pub expires_at: String,
}

//! Roles on the workspace routes (`/api/v1/workspaces/{id}/…`): a signed-in browser session of
//! a member of the workspace the path names, and what only its owners may do. A workspace the
//! caller is not in answers 404, as if it did not exist; a member on an owners' route 403
//! `forbidden`.

use std::marker::PhantomData;

use super::{
    doc::{Access, Documented},
    SessionUser,
};
use crate::{
    db::workspaces::{self as wdb, WorkspaceRow},
    error::{AppError, Result},
    state::AppState,
};
use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};

/// Which members a workspace route admits.
pub trait Role: Send + Sync + 'static {
    /// Whether a member whose role is `role` may go on; `user_id` is theirs, `params` the path's.
    fn admits(role: &str, user_id: &str, params: &RawPathParams) -> bool;
    /// Whom it refuses with 403 `forbidden`, for the document; `None` when it admits every
    /// member.
    const REFUSED: Option<&'static str>;
}

/// Every member, whatever their role.
pub struct AnyMember;
impl Role for AnyMember {
    const REFUSED: Option<&'static str> = None;
    fn admits(_: &str, _: &str, _: &RawPathParams) -> bool {
        true
    }
}

/// Owners only.
pub struct Owners;
impl Role for Owners {
    const REFUSED: Option<&'static str> = Some("a member of the workspace who is not an owner.");
    fn admits(role: &str, _: &str, _: &RawPathParams) -> bool {
        role == "owner"
    }
}

/// Owners, and any member acting on themselves (the path's `{userId}` is the caller): leaving.
pub struct OwnerOrSelf;
impl Role for OwnerOrSelf {
    const REFUSED: Option<&'static str> =
        Some("a member who is not an owner, acting on another member.");
    fn admits(role: &str, user_id: &str, params: &RawPathParams) -> bool {
        role == "owner" || param(params, "userId") == Some(user_id)
    }
}

/// The signed-in caller and the workspace of the path's `{id}`, which they are a member of
/// with a role `R` admits.
pub struct InWorkspace<R: Role = AnyMember> {
    pub who: SessionUser,
    /// The workspace, with the caller's role in it.
    pub workspace: WorkspaceRow,
    _role: PhantomData<R>,
}

/// A member of the path's workspace.
pub type WorkspaceMember = InWorkspace<AnyMember>;
/// An owner of the path's workspace.
pub type WorkspaceOwner = InWorkspace<Owners>;

fn param<'a>(params: &'a RawPathParams, name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

impl<R: Role> FromRequestParts<AppState> for InWorkspace<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let who = SessionUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("workspace route path: {e}")))?;
        let Some(id) = param(&params, "id") else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a workspace route without an {{id}} segment"
            )));
        };
        let workspace = wdb::get_for(&state.db.pool, id, &who.user.id)
            .await?
            .ok_or_else(AppError::not_found)?;
        if !R::admits(&workspace.role, &who.user.id, &params) {
            return Err(super::not_an_owner());
        }
        Ok(Self {
            who,
            workspace,
            _role: PhantomData,
        })
    }
}

impl<R: Role> Documented for InWorkspace<R> {
    fn document(access: &mut Access) {
        SessionUser::document(access);
        access.refuse(
            404,
            "not_found",
            "no workspace with this id that you are a member of.",
        );
        if let Some(text) = R::REFUSED {
            access.refuse(403, "forbidden", text);
        }
    }
}

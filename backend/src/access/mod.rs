//! Who may call a route, declared once, in the handler's signature: every extractor that
//! admits or refuses a request lives here, with the OpenAPI response set that documents its
//! refusals.
//!
//! - [`SessionUser`]: a signed-in browser session (API keys get 403 `session_required`);
//!   [`Browser`]: a browser, signed in or not (the sign-in and sign-up routes).
//! - [`Caller<Scope>`](Caller): a browser session or an API key with the scope, in a workspace;
//!   [`Owner<Scope>`](Owner) for what only the workspace's owners may do, [`Whole<Scope>`](Whole)
//!   for what acts on the whole workspace (refused to keys restricted to some accounts; other
//!   routes pass [`Caller::reach`] to every query of account data).
//! - [`WorkspaceMember`] / [`WorkspaceOwner`]: a signed-in member (or owner) of the workspace the
//!   path's `{id}` names ([`InWorkspace<OwnerOrSelf>`](OwnerOrSelf): owners, or a member acting
//!   on themselves).
//! - [`Admin`]: a signed-in administrator.
//! - [`Fresh<E>`](Fresh): `E`, and a browser session that authenticated within ten minutes
//!   (step-up; API keys are never asked).
//!
//! Each implements [`doc::Documented`]: who it admits and how it refuses, which
//! [`routes!`](crate::access_routes) records on the handler's operations for the OpenAPI
//! document.

pub mod admin;
pub mod caller;
pub mod doc;
pub mod fresh;
pub mod key_caller;
pub mod session;
pub mod workspace;

pub use crate::access_routes as routes;
pub use admin::Admin;
pub use caller::*;
pub use fresh::{Fresh, StepUpWhen, When, FRESH_SECS};
pub use key_caller::KeyCaller;
pub use session::{Browser, BrowserSession, SessionUser};
pub use workspace::{InWorkspace, OwnerOrSelf, Role, WorkspaceMember, WorkspaceOwner};

/// 403 `forbidden`: a member of the workspace, not an owner, on what only owners may do (a
/// workspace route's [`WorkspaceOwner`], or [`Owner<Scope>`](Owner) where a request acts in a
/// workspace).
fn not_an_owner() -> crate::error::AppError {
    crate::error::AppError::new(
        axum::http::StatusCode::FORBIDDEN,
        "forbidden",
        "Only owners of this workspace can do this.",
    )
}

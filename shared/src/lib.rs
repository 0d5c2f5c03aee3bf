//! Wire types and validation shared by the pfn backend and the SPA.
//!
//! Everything here builds for `wasm32-unknown-unknown` with serde only; the `openapi` feature adds
//! `utoipa::ToSchema` derives for the backend's OpenAPI document.

pub mod admin;
pub mod auth;
pub mod banks;
pub mod error;
pub mod finance;
pub mod key_limits;
pub mod keys;
pub mod mfa;
pub mod money;
pub mod passkeys;
pub mod redirect;
pub mod validate;
pub mod webhooks;
pub mod workspaces;

pub use auth::*;
pub use error::*;
pub use mfa::*;
pub use passkeys::*;

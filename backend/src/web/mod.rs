//! What handlers read requests and write answers with: JSON bodies and queries in our error
//! shape, pagination cursors.

pub mod json;
pub mod pagination;
pub mod responses;
pub mod values;

pub use json::{AppJson, AppQuery};

use std::convert::Infallible;

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{db::Tx, error::Result, state::AppState};

/// Whether a write only asks what would change: `/mcp`'s `dryRun`, set in-process on the tool
/// call's request (no client can set a request's extensions). A handler that takes it does all
/// its work, reads included, in its database transaction and [`settle`](Self::settle)s it, so
/// a dry run answers exactly what the write would have, and nothing is kept.
#[derive(Clone, Copy, Debug, Default)]
pub struct DryRun(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for DryRun {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, Infallible> {
        Ok(parts.extensions.get::<Self>().copied().unwrap_or_default())
    }
}

impl DryRun {
    /// Ends a handler's write transaction: rolled back on a dry run; else committed, and the
    /// webhook worker woken when the change recorded `events`.
    pub async fn settle(self, tx: Tx, state: &AppState, events: bool) -> Result<()> {
        if self.0 {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
            if events {
                state.outbound.wake();
            }
        }
        Ok(())
    }
}

/// The largest request body any route reads (2 MiB).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Headers `http::edge` adds to an API answer after the `RateLimit-*` ones, at most (the
/// security headers, `Cache-Control`, the request id).
pub const LATER_HEADERS: usize = 6;

/// Headers of a key-authenticated answer with a body: its `Content-Type`, the three
/// `RateLimit-*` and the later ones. A handler that makes its answer's header map this big
/// spares it from growing.
pub const ANSWER_HEADERS: usize = 1 + 3 + LATER_HEADERS;

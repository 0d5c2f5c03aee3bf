//! What handlers read requests and write answers with: JSON bodies and queries in our error
//! shape, pagination cursors.

pub mod json;
pub mod pagination;
pub mod responses;
pub mod values;

pub use json::{AppJson, AppQuery};

/// Headers the outer layers (`http::ratelimit_headers` and the ones around it) add to an API
/// answer, at most.
pub const LATER_HEADERS: usize = 6;

/// Headers of a key-authenticated answer with a body: its `Content-Type`, the three
/// `RateLimit-*` and the later ones. A handler that makes its answer's header map this big
/// spares it from growing.
pub const ANSWER_HEADERS: usize = 1 + 3 + LATER_HEADERS;

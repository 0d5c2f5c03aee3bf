//! What handlers read requests and write answers with: JSON bodies and queries in our error
//! shape, pagination cursors.

pub mod json;
pub mod pagination;

pub use json::{AppJson, AppQuery};

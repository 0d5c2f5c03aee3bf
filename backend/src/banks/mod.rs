//! Bank connections through Tarabut (product.md §4): the `/api/v1/banks/*` routes and the sync
//! that reads accounts, balances and transactions into our tables.

pub mod routes;
pub mod sync;

//! HTTP tests of the sandbox: each starts its own sandbox on port 0 and talks to it over
//! real sockets, as the pfn client will.

mod auth;
mod connect;
mod controls;
mod helpers;
mod insights;
mod transactions;

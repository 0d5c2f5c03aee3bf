//! A wire-compatible fake of the Tarabut Gateway open-banking API (see the team's
//! `tarabut-api.md` notes and this crate's README): tokens, Connect (intents, a browser consent
//! page, consents), accounts, balances, paginated transactions and insights, over
//! deterministic seeded data, plus `/__sandbox/` controls for tests (clock, faults, rate limits,
//! call counters, data edits).
//!
//! The JSON it emits is built from its own `json!` values, never from the client's types, so
//! tests against it check wire compatibility rather than agreement with ourselves.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = tarabut_sandbox::Sandbox::start("127.0.0.1:0", Default::default()).await?;
//! println!("{}", sandbox.url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod accounts;
mod auth;
mod banks;
mod clock;
mod config;
mod connect;
mod consents;
mod controls;
mod error;
mod faults;
mod insights;
mod merchants;
mod money;
mod pages;
mod prng;
mod seed;
mod server;
mod state;
mod store;
mod timefmt;
mod traffic;

pub use config::{ClientConfig, SandboxConfig};
pub use server::{router, Sandbox};

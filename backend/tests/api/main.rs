//! Integration tests: each test starts the real server on port 0 against a fresh database
//! (a new SQLite file, or a new PostgreSQL database when `PFN_TEST_DB=postgres`).

mod access;
mod account;
mod admin;
mod agent_keys;
mod auth;
mod backup;
mod banks;
mod changes;
mod cli;
mod devices;
mod email_change;
mod errors;
mod export;
mod faults;
mod finance;
mod google;
mod helpers;
mod keys;
mod lifecycle;
mod mcp;
mod mfa;
mod ops;
mod passkeys;
mod replicas;
mod retention;
mod scale;
mod security;
mod sessions;
mod spa;
mod stepup;
mod totp;
mod trust;
mod webhooks;
mod workspaces;

//! `bank_intents`, `bank_connections`, `bank_accounts`, `bank_syncs`, `balance_history`, and
//! the batched transaction writes of a sync, a file each.

mod accounts;
mod connections;
mod intents;
mod synced;
mod syncs;

pub use accounts::*;
pub use connections::*;
pub use intents::*;
pub use synced::*;
pub use syncs::*;

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

/// The typed status a stored name stands for; a name the type does not know is a decode error
/// of `column` (the database holds only names this code wrote).
fn status<T>(column: &str, name: String, parse: fn(&str) -> Option<T>) -> sqlx::Result<T> {
    parse(&name).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: format!("unknown status {name:?}").into(),
    })
}

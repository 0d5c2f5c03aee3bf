//! Finance data (product.md §3): accounts, transactions, budgets. Every route is scoped to one
//! workspace (`?workspaceId=`, default the personal one, or the key's) and accepts a session or
//! a key with the named scope.

mod accounts;
mod budgets;
mod changes;
mod transactions;

use std::collections::BTreeMap;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

const TEXT_MAX: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(accounts::routes())
        .merge(transactions::routes())
        .merge(changes::routes())
        .merge(budgets::routes())
}

fn text(fields: &mut BTreeMap<String, String>, key: String, value: &str, required: bool) {
    if required && value.trim().is_empty() {
        fields.insert(key, "is required".into());
    } else if value.chars().count() > TEXT_MAX {
        fields.insert(key, format!("must be at most {TEXT_MAX} characters"));
    }
}

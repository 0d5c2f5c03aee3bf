//! What Tarabut's wire types become in our tables: balances, account kinds and hints, and
//! transactions stored exactly or not at all.

use crate::db::banks::SyncedTransaction;
use crate::tarabut::wire;

/// Available before booked, closing before interim; in the account's currency.
pub(super) fn pick_balance(balances: &[wire::Balance], currency: &str) -> Option<i64> {
    const ORDER: [&str; 6] = [
        "ClosingAvailable",
        "InterimAvailable",
        "ClosingBooked",
        "InterimBooked",
        "Expected",
        "Unknown",
    ];
    let usable = |b: &&wire::Balance| b.amount.currency == currency;
    ORDER
        .iter()
        .find_map(|kind| balances.iter().filter(usable).find(|b| b.kind == *kind))
        .or_else(|| balances.iter().find(usable))
        .and_then(|b| b.amount.minor())
}

pub(super) fn account_currency(a: &wire::Account) -> Option<String> {
    a.balances.first().map(|b| b.amount.currency.clone())
}

pub(super) fn kind_of(product: Option<&str>) -> &'static str {
    match product.map(str::to_ascii_lowercase).as_deref() {
        Some("currentaccount") | Some("current") | Some("account") => "checking",
        Some("savings") | Some("savingsaccount") => "savings",
        Some("creditcard") => "credit_card",
        Some("loan") | Some("mortgage") => "loan",
        _ => "other",
    }
}

/// `•••• 4621` from an IBAN or masked PAN; the full identifier is not stored.
pub(super) fn hint_of(a: &wire::Account) -> Option<String> {
    let value = a.identifiers.iter().find_map(|i| i.value.as_deref())?;
    let digits: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
    let tail = digits.get(digits.len().saturating_sub(4)..)?;
    Some(format!("•••• {tail}"))
}

/// An upstream transaction as we store it; `None` (logged) when it cannot be stored exactly.
pub(super) fn synced(t: &wire::Transaction, currency: &str) -> Option<SyncedTransaction> {
    let refuse = |why: &str| {
        tracing::warn!(transaction_id = %t.transaction_id, why, "skipping an unreadable bank transaction");
        None
    };
    if t.transaction_id.is_empty() || t.transaction_id.len() > 200 {
        return refuse("bad id");
    }
    if t.amount.currency != currency {
        return refuse("currency differs from the account's");
    }
    let Some(amount_minor) = t.signed_minor() else {
        return refuse("amount or direction");
    };
    let Some(booked_at) = wire::parse_time(&t.booking_date_time) else {
        return refuse("booking time");
    };
    let merchant = t.merchant.as_ref().and_then(|m| m.name.clone());
    Some(SyncedTransaction {
        external_id: t.transaction_id.clone(),
        amount_minor,
        description: t
            .transaction_description
            .clone()
            .or_else(|| merchant.clone())
            .unwrap_or_default(),
        booked_at,
        category: t
            .category
            .as_ref()
            .and_then(|c| c.name.as_deref())
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty()),
        merchant,
        pending: t
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("pending")),
    })
}

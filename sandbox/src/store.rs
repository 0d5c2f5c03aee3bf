//! The in-memory world: tokens, intents, consents, accounts and their transactions. Plain data
//! plus the rules every route shares (token lookup, account ownership, the consent gate), so a
//! handler reads as "look up, check, render".
//!
//! Expiry is never written back by readers: an intent or consent past its expiry *reads* as
//! EXPIRED (`status(now)`), which keeps every GET a shared-lock read.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::{
    banks::{AccountKind, Provider},
    error::{ApiError, ApiResult},
};

#[derive(Debug, Default)]
pub(crate) struct Store {
    pub tokens: HashMap<String, Token>,
    issued: u64,
    pub intents: HashMap<String, Intent>,
    pub consents: HashMap<String, Consent>,
    pub accounts: HashMap<String, Account>,
    /// Account ids per customer in seeding order, so listings are stable.
    pub by_customer: HashMap<String, Vec<String>>,
    /// transactionId → accountId, for the control routes that edit one transaction.
    pub tx_owner: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub client_id: String,
    pub customer: Option<String>,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntentStatus {
    Created,
    Successful,
    Failed,
    Expired,
}

impl IntentStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Successful => "SUCCESSFUL",
            Self::Failed => "FAILED",
            Self::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Intent {
    pub id: String,
    pub client_id: String,
    pub customer: String,
    pub redirect_url: String,
    pub provider: Option<&'static Provider>,
    pub status: IntentStatus,
    pub consent_id: Option<String>,
    pub expiry: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl Intent {
    /// The status as a reader sees it at `now`.
    pub(crate) fn status(&self, now: OffsetDateTime) -> IntentStatus {
        if self.status == IntentStatus::Created && now > self.expiry {
            IntentStatus::Expired
        } else {
            self.status
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsentStatus {
    Active,
    Revoked,
    Expired,
}

impl ConsentStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Consent {
    pub id: String,
    pub customer: String,
    pub provider: &'static Provider,
    pub status: ConsentStatus,
    pub expiry: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub account_ids: Vec<String>,
}

impl Consent {
    pub(crate) fn status(&self, now: OffsetDateTime) -> ConsentStatus {
        if self.status == ConsentStatus::Active && now > self.expiry {
            ConsentStatus::Expired
        } else {
            self.status
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: String,
    pub customer: String,
    pub provider: &'static Provider,
    pub kind: AccountKind,
    pub holder: String,
    pub description: String,
    pub iban: String,
    pub opening_minor: i64,
    /// Cached `opening + Σ signed(txs)`, maintained by every mutation, because balances are read
    /// far more often than transactions change (and accounts can hold 25k+ of them).
    pub balance_minor: i64,
    /// Every consent that covers this account, oldest first.
    pub consent_ids: Vec<String>,
    pub updated_at: OffsetDateTime,
    pub balances_updated_at: OffsetDateTime,
    pub transactions_updated_at: OffsetDateTime,
    /// Sorted as the API lists them: booking time descending, then transaction id ascending.
    /// Date filters are then a binary search and a page is a slice.
    pub txs: Vec<Tx>,
    /// Next index for deterministic ids of transactions added later.
    pub next_index: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Tx {
    pub id: String,
    /// Unix seconds, UTC.
    pub booking: i64,
    /// Always positive; the direction is `credit`.
    pub amount_minor: i64,
    pub credit: bool,
    pub description: String,
    /// Index into `seed::PROFILES` (merchant, category, types).
    pub profile: u16,
    /// Not booked yet: listed with `"status": "Pending"` (UK Open Banking's field).
    pub pending: bool,
}

impl Tx {
    pub(crate) fn signed(&self) -> i64 {
        if self.credit {
            self.amount_minor
        } else {
            -self.amount_minor
        }
    }
}

impl Account {
    pub(crate) fn sort(&mut self) {
        self.txs
            .sort_by(|a, b| b.booking.cmp(&a.booking).then_with(|| a.id.cmp(&b.id)));
    }

    /// Transactions booked in `[from, to]` (inclusive), in listing order.
    pub(crate) fn range(&self, from: i64, to: i64) -> &[Tx] {
        let start = self.txs.partition_point(|t| t.booking > to);
        let end = self.txs.partition_point(|t| t.booking >= from);
        self.txs.get(start..end.max(start)).unwrap_or(&[])
    }

    pub(crate) fn oldest_booking(&self) -> Option<i64> {
        self.txs.last().map(|t| t.booking)
    }

    /// Inserts many at once: one sort instead of a shifting insert per transaction, which
    /// matters when a benchmark adds thousands to an account that already holds 25k.
    pub(crate) fn insert_many(&mut self, txs: Vec<Tx>) {
        for tx in &txs {
            self.balance_minor = self.balance_minor.saturating_add(tx.signed());
        }
        self.txs.extend(txs);
        self.sort();
    }

    pub(crate) fn currency(&self) -> &'static str {
        self.provider.currency
    }

    pub(crate) fn exponent(&self) -> u32 {
        self.provider.exponent
    }
}

impl Store {
    /// Stores a token. Expired tokens are swept now and then so a benchmark minting thousands
    /// of tokens does not grow the map forever.
    pub(crate) fn add_token(&mut self, value: String, token: Token, now: OffsetDateTime) {
        self.issued = self.issued.wrapping_add(1);
        if self.issued & 1023 == 0 {
            self.tokens.retain(|_, t| t.expires_at > now);
        }
        self.tokens.insert(value, token);
    }

    /// A live token, or 401.
    pub(crate) fn token(&self, value: &str, now: OffsetDateTime) -> ApiResult<&Token> {
        match self.tokens.get(value) {
            Some(t) if t.expires_at > now => Ok(t),
            Some(_) => Err(ApiError::unauthorized("access token expired")),
            None => Err(ApiError::unauthorized("invalid access token")),
        }
    }

    pub(crate) fn customer_accounts<'a>(
        &'a self,
        customer: &str,
    ) -> impl Iterator<Item = &'a Account> + 'a {
        self.by_customer
            .get(customer)
            .into_iter()
            .flatten()
            .filter_map(|id| self.accounts.get(id))
    }

    /// The consent gate: an account is readable while any of its consents is ACTIVE. Otherwise
    /// the newest consent says why (revoked or expired).
    pub(crate) fn gate(&self, account: &Account, now: OffsetDateTime) -> ApiResult<()> {
        let statuses: Vec<ConsentStatus> = account
            .consent_ids
            .iter()
            .filter_map(|id| self.consents.get(id))
            .map(|c| c.status(now))
            .collect();
        if statuses.contains(&ConsentStatus::Active) {
            return Ok(());
        }
        match statuses.last() {
            Some(ConsentStatus::Revoked) => Err(ApiError::forbidden(
                "CONSENT_REVOKED",
                "the consent for this account has been revoked",
            )),
            Some(ConsentStatus::Expired) => Err(ApiError::forbidden(
                "CONSENT_EXPIRED",
                "the consent for this account has expired",
            )),
            _ => Err(ApiError::forbidden(
                "FORBIDDEN",
                "this account is not under an active consent",
            )),
        }
    }

    /// The customer's account, readable under an active consent: 404 when it is unknown or
    /// someone else's (never 403, so ids of other customers are not revealed), 403 when the
    /// consent no longer allows access.
    pub(crate) fn account(
        &self,
        customer: &str,
        account_id: &str,
        now: OffsetDateTime,
    ) -> ApiResult<&Account> {
        let account = self
            .accounts
            .get(account_id)
            .filter(|a| a.customer == customer)
            .ok_or_else(|| ApiError::not_found("account not found"))?;
        self.gate(account, now)?;
        Ok(account)
    }

    /// As [`Store::account`], for routes that update timestamps.
    pub(crate) fn account_mut(
        &mut self,
        customer: &str,
        account_id: &str,
        now: OffsetDateTime,
    ) -> ApiResult<&mut Account> {
        self.account(customer, account_id, now)?;
        self.accounts
            .get_mut(account_id)
            .ok_or_else(|| ApiError::not_found("account not found"))
    }

    /// Adds freshly seeded accounts (with their transaction index).
    pub(crate) fn add_accounts(&mut self, accounts: Vec<Account>) {
        for account in accounts {
            for tx in &account.txs {
                self.tx_owner.insert(tx.id.clone(), account.id.clone());
            }
            self.by_customer
                .entry(account.customer.clone())
                .or_default()
                .push(account.id.clone());
            self.accounts.insert(account.id.clone(), account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;
    use time::macros::datetime;

    fn account() -> Account {
        let now = datetime!(2024-06-10 12:00 UTC);
        let p = crate::banks::provider("RED").map(|p| seed::accounts(1, "c", p, 50, now));
        p.and_then(|v| v.into_iter().next())
            .expect("seeded account")
    }

    #[test]
    fn range_is_inclusive_at_both_ends() {
        let a = account();
        let newest = a.txs[0].booking;
        let oldest = a.txs[a.txs.len() - 1].booking;
        assert_eq!(a.range(oldest, newest).len(), a.txs.len());
        assert_eq!(
            a.range(newest, newest).len(),
            a.txs.iter().filter(|t| t.booking == newest).count()
        );
        assert!(a.range(newest + 1, newest + 10).is_empty());
        assert!(a.range(newest, oldest).is_empty());
    }

    #[test]
    fn insert_keeps_order_and_balance() {
        let mut a = account();
        let before = a.balance_minor;
        let mid = a.txs[10].booking;
        a.insert_many(vec![Tx {
            id: "0".into(),
            booking: mid,
            amount_minor: 5,
            credit: false,
            description: String::new(),
            profile: 1,
            pending: false,
        }]);
        assert_eq!(a.balance_minor, before - 5);
        assert!(a
            .txs
            .windows(2)
            .all(|w| w[0].booking > w[1].booking
                || (w[0].booking == w[1].booking && w[0].id <= w[1].id)));
    }
}

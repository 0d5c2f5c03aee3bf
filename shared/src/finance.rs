//! Accounts, transactions and budgets.

use serde::{Deserialize, Deserializer, Serialize};

use crate::money::Money;

/// For PATCH bodies: absent → `None` (leave as is), `null` → `Some(None)` (clear), value →
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "patch")]`.
pub fn patch<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An account that holds transactions: a manual one, or one synced from a bank.
/// `GET /api/v1/accounts` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a")
    )]
    pub id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Cash"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "BHD"))]
    pub currency: String,
    /// `checking`, `savings`, `credit_card`, `cash`, `loan`, `investment` or `other`.
    #[cfg_attr(feature = "openapi", schema(example = "cash"))]
    pub kind: String,
    /// `manual` (pushed through the API) or `bank` (synced; read-only for pushes).
    #[cfg_attr(feature = "openapi", schema(example = "manual"))]
    pub source: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:20:00Z"))]
    pub created_at: String,
    /// A manual account: the sum of its transactions, kept with every push and deletion. A
    /// bank account: the balance the bank last reported (`null` until it reports one).
    pub balance: Option<crate::money::Money>,
    /// When the bank reported `balance` (bank accounts; `null` for manual ones, whose balance
    /// is always current).
    #[cfg_attr(feature = "openapi", schema(example = json!(null)))]
    pub balance_at: Option<String>,
}

/// `{"account": …}`: `POST /api/v1/accounts` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountBody {
    pub account: Account,
}

/// The body of `POST /api/v1/accounts`: a new manual account to push transactions into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Cash", "currency": "BHD", "kind": "cash"})))]
pub struct CreateAccountRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 100, example = "Cash")
    )]
    pub name: String,
    /// ISO 4217.
    #[cfg_attr(feature = "openapi", schema(example = "BHD"))]
    pub currency: String,
    /// Defaults to `other`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "cash"))]
    pub kind: Option<String>,
}

/// `PATCH /api/v1/accounts/{id}`: what to change (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Household cash", "kind": "cash"})))]
pub struct UpdateAccountRequest {
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 100, example = "Household cash")
    )]
    pub name: Option<String>,
    /// One of `checking`, `savings`, `credit_card`, `cash`, `loan`, `investment`, `other`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "cash"))]
    pub kind: Option<String>,
}

pub const ACCOUNT_KINDS: &[&str] = &[
    "checking",
    "savings",
    "credit_card",
    "cash",
    "loan",
    "investment",
    "other",
];

/// One transaction of an account, with the user's overlays applied. `GET /api/v1/transactions`
/// lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")
    )]
    pub id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a")
    )]
    pub account_id: String,
    /// The pusher's id for it; unique per account.
    #[cfg_attr(feature = "openapi", schema(example = "bank-2026-11-23-0001"))]
    pub external_id: String,
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(example = "Lulu Hypermarket"))]
    pub description: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T09:30:00Z"))]
    pub booked_at: String,
    /// The user's category if set, else the source's.
    #[cfg_attr(feature = "openapi", schema(example = "groceries"))]
    pub category: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "Lulu Hypermarket"))]
    pub merchant: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "weekly shop"))]
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = json!(["family"])))]
    pub tags: Vec<String>,
    /// Left out of budgets and insights.
    #[cfg_attr(feature = "openapi", schema(example = false))]
    pub excluded: bool,
    /// Not booked yet: the bank lists it as pending (it may still change or go away). Pushed
    /// transactions are booked.
    #[cfg_attr(feature = "openapi", schema(example = false))]
    pub pending: bool,
    /// When pfn last changed it: a push that created it, a sync that changed it, or an overlay
    /// edit (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T09:31:12Z"))]
    pub updated_at: String,
}

/// A transaction that is gone from the list (deleted, or no longer shown by its bank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"id": "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b"})))]
pub struct RemovedTransaction {
    pub id: String,
}

/// One page of `GET /api/v1/transactions/changes`: what changed after the cursor. Each id is in
/// at most one list, in its state at the end of the page: `added` (new since the cursor),
/// `modified` (changed since), `removed` (gone: delete it). Apply `added` and `modified` as
/// upserts. Store `nextCursor` (never null) and ask again with it: at once while `hasMore`,
/// later otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "added": [{"id": "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b", "accountId": "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a",
        "externalId": "bank-2026-11-23-0001", "amount": {"amount": "-12.500", "currency": "BHD"},
        "description": "Lulu Hypermarket", "bookedAt": "2026-11-23T09:30:00Z", "category": "groceries",
        "merchant": "Lulu Hypermarket", "note": null, "tags": [], "excluded": false, "pending": false,
        "updatedAt": "2026-11-23T09:31:12Z"}],
    "modified": [],
    "removed": [{"id": "0193b6f5-9a8b-7c6d-8e5f-4a3b2c1d0e9f"}],
    "nextCursor": "djE6MDE5M2I2ZjItN2MxZS03YTNiLTlmMWQtMmM0ZTVhNmI3YzhkOjQyOjAxOTNiNmY1",
    "hasMore": false
})))]
pub struct TransactionChanges {
    pub added: Vec<Transaction>,
    pub modified: Vec<Transaction>,
    pub removed: Vec<RemovedTransaction>,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "djE6MDE5M2I2ZjItN2MxZS03YTNiLTlmMWQtMmM0ZTVhNmI3YzhkOjQyOjAxOTNiNmY1")
    )]
    pub next_cursor: String,
    #[cfg_attr(feature = "openapi", schema(example = false))]
    pub has_more: bool,
}

/// `{"transaction": …}`: `PATCH /api/v1/transactions/{id}` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionBody {
    pub transaction: Transaction,
}

/// One transaction to push into a manual account, inside `PushTransactionsRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewTransaction {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, example = "0193b6f4-2b3c-7d4e-9f5a-6b7c8d9e0f1a")
    )]
    pub account_id: String,
    /// Your id for this transaction: pushing it again (same account) is reported as a duplicate.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 500, example = "bank-2026-11-23-0001")
    )]
    pub external_id: String,
    pub amount: Money,
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 500, example = "Lulu Hypermarket")
    )]
    pub description: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-11-23T09:30:00Z"))]
    pub booked_at: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500, example = "groceries"))]
    pub category: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 500, example = "Lulu Hypermarket")
    )]
    pub merchant: Option<String>,
}

/// The body of `POST /api/v1/transactions`: a batch of transactions to push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTransactionsRequest {
    /// 1–1,000 transactions.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub transactions: Vec<NewTransaction>,
}

/// Our id and your `externalId` of one pushed transaction, inside `PushTransactionsResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionRef {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f5-3c4d-7e5f-a06b-7c8d9e0f1a2b")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "bank-2026-11-23-0001"))]
    pub external_id: String,
}

/// Which pushed transactions were stored and which already existed, in request order.
/// `POST /api/v1/transactions` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTransactionsResult {
    pub created: Vec<TransactionRef>,
    pub duplicates: Vec<TransactionRef>,
}

/// User overlays; they survive bank re-syncs. `null` clears one, an absent field is unchanged.
/// The body of `PATCH /api/v1/transactions/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"category": "dining", "note": "team lunch", "tags": ["work"]})))]
pub struct PatchTransactionRequest {
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "dining"))]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "team lunch"))]
    pub note: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, example = json!(["work"])))]
    pub tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>, example = true))]
    pub excluded: Option<Option<bool>>,
}

/// A monthly spending limit for one category, with what was spent so far.
/// `GET /api/v1/budgets` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f9-7a8b-7c9d-a45f-1a2b3c4d5e6f")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "groceries"))]
    pub category: String,
    /// `YYYY-MM` (UTC).
    #[cfg_attr(feature = "openapi", schema(example = "2026-11"))]
    pub month: String,
    pub limit: Money,
    /// Money out in this category, month and currency so far (positive).
    pub spent: Money,
}

/// `{"budget": …}`: `POST /api/v1/budgets` and `PUT /api/v1/budgets/{id}` answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetBody {
    pub budget: Budget,
}

/// The body of `POST /api/v1/budgets` and `PUT /api/v1/budgets/{id}`: a category's limit for
/// one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"category": "groceries", "month": "2026-11", "limit": {"amount": "150.000", "currency": "BHD"}})))]
pub struct BudgetRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "\\S", max_length = 500, example = "groceries")
    )]
    pub category: String,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2026-11")
    )]
    pub month: String,
    /// Positive.
    pub limit: Money,
}

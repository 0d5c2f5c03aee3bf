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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub workspace_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Cash"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "BHD"))]
    pub currency: String,
    /// `checking`, `savings`, `credit_card`, `cash`, `loan`, `investment` or `other`.
    #[cfg_attr(feature = "openapi", schema(example = "cash"))]
    pub kind: String,
    /// `manual` (pushed through the API) or `bank` (synced; read-only for pushes).
    pub source: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountBody {
    pub account: Account,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Cash", "currency": "BHD", "kind": "cash"})))]
pub struct CreateAccountRequest {
    pub name: String,
    /// ISO 4217.
    pub currency: String,
    /// Defaults to `other`.
    #[serde(default)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: String,
    pub account_id: String,
    /// The pusher's id for it; unique per account.
    pub external_id: String,
    pub amount: Money,
    pub description: String,
    pub booked_at: String,
    /// The user's category if set, else the source's.
    pub category: Option<String>,
    pub merchant: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    /// Left out of budgets and insights.
    pub excluded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionBody {
    pub transaction: Transaction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewTransaction {
    pub account_id: String,
    /// Your id for this transaction: pushing it again (same account) is reported as a duplicate.
    #[cfg_attr(feature = "openapi", schema(example = "bank-2026-11-23-0001"))]
    pub external_id: String,
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(example = "Lulu Hypermarket"))]
    pub description: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T09:30:00Z"))]
    pub booked_at: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "groceries"))]
    pub category: Option<String>,
    #[serde(default)]
    pub merchant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTransactionsRequest {
    /// 1–1,000 transactions.
    pub transactions: Vec<NewTransaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransactionRef {
    pub id: String,
    pub external_id: String,
}

/// Which pushed transactions were stored and which already existed, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTransactionsResult {
    pub created: Vec<TransactionRef>,
    pub duplicates: Vec<TransactionRef>,
}

/// User overlays; they survive bank re-syncs. `null` clears one, an absent field is unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"category": "dining", "note": "team lunch", "tags": ["work"]})))]
pub struct PatchTransactionRequest {
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub note: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "patch")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub excluded: Option<Option<bool>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetBody {
    pub budget: Budget,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"category": "groceries", "month": "2026-11", "limit": {"amount": "150.000", "currency": "BHD"}})))]
pub struct BudgetRequest {
    pub category: String,
    pub month: String,
    /// Positive.
    pub limit: Money,
}

//! Bank connections through Tarabut, syncs, and insights.

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// A bank that can be connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankProvider {
    /// Tarabut's provider id; pass it to `connect` to skip the bank list.
    #[cfg_attr(feature = "openapi", schema(example = "BLUE"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Blue Bank"))]
    pub name: String,
    /// ISO 3166 alpha-2.
    #[cfg_attr(feature = "openapi", schema(example = "BH"))]
    pub country: Option<String>,
    pub logo_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProvidersBody {
    pub providers: Vec<BankProvider>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"providerId": "BLUE"})))]
pub struct ConnectRequest {
    /// Skip Tarabut's bank list and go straight to this bank.
    #[serde(default)]
    pub provider_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectResponse {
    /// Send the user's browser here; it comes back to `/api/v1/banks/callback`.
    pub connect_url: String,
    pub intent_id: String,
}

/// One bank account of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankAccount {
    /// Our account id (use it with `/api/v1/transactions?accountId=`).
    pub account_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "John Doe - BHD Current"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "checking"))]
    pub kind: String,
    /// The last digits of the IBAN or card, e.g. `•••• 4621`.
    pub identifier_hint: Option<String>,
    /// The latest balance Tarabut reported (available, else booked).
    pub balance: Option<Money>,
    pub balance_at: Option<String>,
}

/// A bank connection (one Tarabut consent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankConnection {
    pub id: String,
    pub workspace_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "BLUE"))]
    pub provider_id: String,
    /// `active`, `syncing`, `reauth_required`, `expired` or `revoked`.
    #[cfg_attr(feature = "openapi", schema(example = "active"))]
    pub status: String,
    pub consent_expires_at: Option<String>,
    /// The consent ends within 7 days: ask the user to connect again.
    pub consent_expiring_soon: bool,
    pub last_sync_at: Option<String>,
    /// `succeeded` or `failed`.
    pub last_sync_status: Option<String>,
    /// A short code saying why the last sync failed (`upstream_unavailable`, `consent_revoked`, …).
    pub last_sync_error: Option<String>,
    /// The sync running now, if any.
    pub current_sync_id: Option<String>,
    pub accounts: Vec<BankAccount>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankConnectionBody {
    pub connection: BankConnection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncAccepted {
    pub sync_id: String,
}

/// A sync of one connection and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankSync {
    pub id: String,
    pub connection_id: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    #[cfg_attr(feature = "openapi", schema(example = "running"))]
    pub status: String,
    /// `connect`, `manual` or `scheduled`.
    pub reason: String,
    pub accounts_total: Option<u32>,
    pub accounts_done: u32,
    pub pages_fetched: u64,
    pub rows_added: u64,
    pub rows_updated: u64,
    /// Rows that disappeared upstream (hidden from lists; overlays kept).
    pub rows_removed: u64,
    /// A short code when the sync failed.
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankSyncBody {
    pub sync: BankSync,
}

/// Money in or out per category over a period, one group per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CategoryInsight {
    /// Inclusive, RFC 3339.
    pub from: String,
    /// Exclusive, RFC 3339.
    pub to: String,
    pub currencies: Vec<CurrencyTotals>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotals {
    #[cfg_attr(feature = "openapi", schema(example = "BHD"))]
    pub currency: String,
    /// Sum of the categories (positive).
    pub total: Money,
    pub transaction_count: u64,
    /// Largest first.
    pub categories: Vec<CategoryTotal>,
    /// Per calendar month (UTC), oldest first.
    pub months: Vec<MonthTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CategoryTotal {
    /// The user's category if set, else the bank's; `uncategorized` when neither.
    #[cfg_attr(feature = "openapi", schema(example = "groceries"))]
    pub category: String,
    pub total: Money,
    pub transaction_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MonthTotal {
    /// `YYYY-MM`.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11"))]
    pub month: String,
    pub total: Money,
}

/// Salary payments detected by Tarabut across the workspace's connected accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SalaryInsight {
    pub salaries: Vec<SalaryPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SalaryPayment {
    pub connection_id: String,
    pub amount: Money,
    pub booked_at: String,
    /// `YYYY-MM`.
    pub month: String,
}

/// End-of-day balances of bank accounts, from pfn's own history (one point per synced day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BalanceHistory {
    pub accounts: Vec<AccountBalanceHistory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountBalanceHistory {
    pub account_id: String,
    pub currency: String,
    pub points: Vec<BalancePoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BalancePoint {
    /// `YYYY-MM-DD` (UTC).
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23"))]
    pub date: String,
    pub balance: Money,
}

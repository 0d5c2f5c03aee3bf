//! Bank connections through Tarabut, syncs, and insights.

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// A bank that can be connected; `GET /api/v1/banks/providers` lists these.
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
    #[cfg_attr(
        feature = "openapi",
        schema(example = "http://127.0.0.1:8090/logos/provider-blue.svg")
    )]
    pub logo_url: Option<String>,
}

/// The banks that can be connected: `GET /api/v1/banks/providers` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Not `ProvidersBody` in the document: the sign-in providers' body has that name.
#[cfg_attr(feature = "openapi", schema(as = BankProvidersBody))]
pub struct ProvidersBody {
    pub providers: Vec<BankProvider>,
}

/// The body of `POST /api/v1/banks/connect`: start connecting a bank through Tarabut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schema(example = json!({"providerId": "BLUE"})))]
pub struct ConnectRequest {
    /// Skip Tarabut's bank list and go straight to this bank.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "BLUE"))]
    pub provider_id: Option<String>,
}

/// Where to send the user to give consent: `POST /api/v1/banks/connect` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectResponse {
    /// Send the user's browser here; it comes back to `/api/v1/banks/callback`.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "http://127.0.0.1:8090/connect/launch/?intent=3f2b8c1d-9e4a-4b7c-a2d5-6e8f0a1b2c3d"
        )
    )]
    pub connect_url: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f2b8c1d-9e4a-4b7c-a2d5-6e8f0a1b2c3d")
    )]
    pub intent_id: String,
}

/// One bank account of a connection, inside `BankConnection.accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankAccount {
    /// Our account id (use it with `/api/v1/transactions?accountId=`).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f4-9c0d-7e1f-a2b3-c4d5e6f7a8b9")
    )]
    pub account_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "John Doe - BHD Current"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "checking"))]
    pub kind: String,
    /// The last digits of the IBAN or card, e.g. `•••• 4621`.
    #[cfg_attr(feature = "openapi", schema(example = "•••• 4621"))]
    pub identifier_hint: Option<String>,
    /// The latest balance Tarabut reported (available, else booked).
    pub balance: Option<Money>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T06:00:09Z"))]
    pub balance_at: Option<String>,
}

/// A bank connection (one Tarabut consent). `GET /api/v1/banks/connections` lists these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankConnection {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c")
    )]
    pub id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")
    )]
    pub workspace_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "BLUE"))]
    pub provider_id: String,
    pub status: ConnectionStatus,
    #[cfg_attr(feature = "openapi", schema(example = "2027-02-21T10:30:00Z"))]
    pub consent_expires_at: Option<String>,
    /// The consent ends within 7 days: ask the user to connect again.
    #[cfg_attr(feature = "openapi", schema(example = false))]
    pub consent_expiring_soon: bool,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T06:00:09Z"))]
    pub last_sync_at: Option<String>,
    /// How the last sync ended: `succeeded` or `failed`.
    #[cfg_attr(feature = "openapi", schema(example = "succeeded"))]
    pub last_sync_status: Option<SyncStatus>,
    /// A short code saying why the last sync failed (`upstream_unavailable`, `consent_revoked`, …).
    #[cfg_attr(feature = "openapi", schema(example = "upstream_unavailable"))]
    pub last_sync_error: Option<String>,
    /// The sync running now, if any.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f7-5e6f-7a7b-823d-9e0f1a2b3c4d")
    )]
    pub current_sync_id: Option<String>,
    pub accounts: Vec<BankAccount>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23T10:30:00Z"))]
    pub created_at: String,
}

/// Where a bank connection stands: `BankConnection.status`. pfn stores `active`,
/// `reauth_required`, `expired` and `revoked`; `syncing` (an active connection with a sync
/// running) and `expired` (an active one whose consent ended since the last sweep) are read off
/// the stored state when a connection is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "active"))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Syncs run (on schedule and on demand).
    Active,
    /// A sync is running now.
    Syncing,
    /// The consent ends soon or the bank asked for it again: connect again to keep syncing.
    ReauthRequired,
    /// The consent ended: nothing syncs; the data stays until the connection is removed.
    Expired,
    /// The user or the bank withdrew the consent: nothing syncs.
    Revoked,
}

/// Where a sync stands: `BankSync.status`, and how the last one ended
/// (`BankConnection.lastSyncStatus`: `succeeded` or `failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "failed"))]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// The wire (and stored) names of the statuses, for code that reads or writes them as text.
macro_rules! names {
    ($t:ty { $($v:ident => $n:literal),* $(,)? }) => {
        impl $t {
            /// Every status, in declaration order.
            pub const ALL: &'static [$t] = &[$(<$t>::$v),*];

            /// The name on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $n),* }
            }

            /// The status a name stands for.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($n => Some(<$t>::$v),)* _ => None }
            }
        }
    };
}

names!(ConnectionStatus {
    Active => "active",
    Syncing => "syncing",
    ReauthRequired => "reauth_required",
    Expired => "expired",
    Revoked => "revoked",
});

names!(SyncStatus {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
});

impl SyncStatus {
    /// Queued or running: the sync has not ended.
    pub fn is_open(self) -> bool {
        matches!(self, SyncStatus::Queued | SyncStatus::Running)
    }
}

/// `{"connection": …}`. `GET /api/v1/banks/connections/{id}` and
/// `POST /api/v1/banks/connections/{id}/refresh-balances` answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankConnectionBody {
    pub connection: BankConnection,
}

/// The sync that was started (or was already running): `POST /api/v1/banks/connections/{id}/sync`
/// answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncAccepted {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f7-5e6f-7a7b-823d-9e0f1a2b3c4d")
    )]
    pub sync_id: String,
}

/// A sync of one connection and how far it got, inside `BankSyncBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BankSync {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f7-5e6f-7a7b-823d-9e0f1a2b3c4d")
    )]
    pub id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c")
    )]
    pub connection_id: String,
    pub status: SyncStatus,
    /// `connect`, `manual` or `scheduled`.
    #[cfg_attr(feature = "openapi", schema(example = "manual"))]
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(example = 2))]
    pub accounts_total: Option<u32>,
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub accounts_done: u32,
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub pages_fetched: u64,
    #[cfg_attr(feature = "openapi", schema(example = 120))]
    pub rows_added: u64,
    #[cfg_attr(feature = "openapi", schema(example = 4))]
    pub rows_updated: u64,
    /// Rows that disappeared upstream (hidden from lists; overlays kept).
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub rows_removed: u64,
    /// A short code when the sync failed.
    #[cfg_attr(feature = "openapi", schema(example = "upstream_timeout"))]
    pub error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T06:00:00Z"))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T06:00:01Z"))]
    pub started_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-24T06:00:09Z"))]
    pub finished_at: Option<String>,
}

/// `{"sync": …}`: `GET /api/v1/banks/syncs/{id}` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankSyncBody {
    pub sync: BankSync,
}

/// Money in or out per category over a period, one group per currency.
/// `GET /api/v1/insights/spending` and `GET /api/v1/insights/income` answer with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CategoryInsight {
    /// Inclusive, RFC 3339.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-01T00:00:00Z"))]
    pub from: String,
    /// Exclusive, RFC 3339.
    #[cfg_attr(feature = "openapi", schema(example = "2026-12-01T00:00:00Z"))]
    pub to: String,
    pub currencies: Vec<CurrencyTotals>,
}

/// The totals of one currency in a `CategoryInsight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotals {
    #[cfg_attr(feature = "openapi", schema(example = "BHD"))]
    pub currency: String,
    /// Sum of the categories (positive).
    pub total: Money,
    #[cfg_attr(feature = "openapi", schema(example = 42))]
    pub transaction_count: u64,
    /// Largest first.
    pub categories: Vec<CategoryTotal>,
    /// Per calendar month (UTC), oldest first.
    pub months: Vec<MonthTotal>,
}

/// One category's total within a currency, inside `CurrencyTotals.categories`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CategoryTotal {
    /// The user's category if set, else the bank's; `uncategorized` when neither.
    #[cfg_attr(feature = "openapi", schema(example = "groceries"))]
    pub category: String,
    pub total: Money,
    #[cfg_attr(feature = "openapi", schema(example = 12))]
    pub transaction_count: u64,
}

/// One calendar month's total within a currency, inside `CurrencyTotals.months`.
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
/// `GET /api/v1/insights/salary` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SalaryInsight {
    pub salaries: Vec<SalaryPayment>,
}

/// One salary payment, inside `SalaryInsight.salaries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SalaryPayment {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c")
    )]
    pub connection_id: String,
    pub amount: Money,
    #[cfg_attr(feature = "openapi", schema(example = "2026-10-26T06:00:00Z"))]
    pub booked_at: String,
    /// `YYYY-MM`.
    #[cfg_attr(feature = "openapi", schema(example = "2026-10"))]
    pub month: String,
}

/// End-of-day balances of bank accounts, from pfn's own history (one point per synced day).
/// `GET /api/v1/insights/balance-history` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BalanceHistory {
    pub accounts: Vec<AccountBalanceHistory>,
}

/// The balance history of one bank account, inside `BalanceHistory.accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountBalanceHistory {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193b6f4-9c0d-7e1f-a2b3-c4d5e6f7a8b9")
    )]
    pub account_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "BHD"))]
    pub currency: String,
    pub points: Vec<BalancePoint>,
}

/// One account's end-of-day balance on one day, inside `AccountBalanceHistory.points`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BalancePoint {
    /// `YYYY-MM-DD` (UTC).
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-23"))]
    pub date: String,
    pub balance: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_serde_names_and_parse_back() {
        for &s in ConnectionStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(ConnectionStatus::parse(s.as_str()), Some(s));
        }
        for &s in SyncStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(SyncStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ConnectionStatus::parse("Active"), None);
        assert_eq!(SyncStatus::parse(""), None);
    }
}

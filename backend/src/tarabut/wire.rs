//! Tarabut's wire format (docs/tarabut-api.md in shared/): what we send and what we accept.
//!
//! Decoders are lenient where Tarabut is inconsistent (optional fields, money as a number or a
//! string) and strict where our data depends on it (ids, amounts, dates, the debit/credit flag).

use serde::{de, Deserialize, Deserializer, Serialize};

/// `POST …/token` body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub grant_type: &'static str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
}

/// The error envelope (our sandbox's; Tarabut's is undocumented, so it is parsed best-effort).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    pub error: Option<String>,
    pub error_message: Option<String>,
    pub trace_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Providers {
    pub providers: Vec<Provider>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub provider_id: String,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub country_code: Option<String>,
    pub ais_status: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntent<'a> {
    pub user: IntentUser<'a>,
    pub provider_type: &'static str,
    pub language: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<IntentConsent<'a>>,
    pub redirect_url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentUser<'a> {
    pub customer_user_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentConsent<'a> {
    pub provider_id: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentCreated {
    pub connect_url: String,
    pub intent_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    pub intent_id: String,
    pub status: String,
    pub consent_id: Option<String>,
    pub provider_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub id: String,
    pub status: Option<String>,
    pub expiry_date: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Accounts {
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_id: String,
    pub account_holder_name: Option<String>,
    pub account_product_type: Option<String>,
    pub account_description: Option<String>,
    pub provider_id: Option<String>,
    #[serde(default)]
    pub consents: Vec<AccountConsent>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub balances: Vec<Balance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountConsent {
    pub id: String,
    pub expiry_date: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Balances {
    pub balances: Vec<Balance>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    #[serde(rename = "type")]
    pub kind: String,
    pub amount: Amount,
}

/// `{value, currency}`; `value` is a JSON number or a decimal string.
#[derive(Debug, Clone, Deserialize)]
pub struct Amount {
    pub value: Decimal,
    pub currency: String,
}

impl Amount {
    /// Integer minor units at the currency's precision; `None` for an unknown currency or a
    /// value with more decimals than the currency has.
    pub fn minor(&self) -> Option<i64> {
        let exp = shared::money::exponent(&self.currency)?;
        shared::money::parse_minor(&self.value.0, exp).ok()
    }
}

/// A decimal kept as its text. JSON numbers are read through serde_json's shortest
/// round-trip form, which is exact for the amounts banks send (up to 15 significant digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(pub String);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => {
                let text = n.to_string();
                // ryu writes 1e21-style exponents for very large or small numbers: no bank
                // amount looks like that, and parse_minor would misread it.
                if text.contains(['e', 'E']) {
                    return Err(de::Error::custom("amount out of range"));
                }
                Ok(Self(text))
            }
            serde_json::Value::String(s) => Ok(Self(s.trim().to_string())),
            other => Err(de::Error::custom(format!(
                "amount must be a number or a string, not {other}"
            ))),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Transactions {
    pub transactions: Vec<Transaction>,
    pub meta: Option<TransactionsMeta>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionsMeta {
    pub total_count_of_pages: Option<u32>,
    pub total_count_of_records: Option<u64>,
    pub page_number: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub transaction_id: String,
    pub transaction_description: Option<String>,
    pub credit_debit_indicator: String,
    pub amount: Amount,
    pub booking_date_time: String,
    pub merchant: Option<Merchant>,
    pub category: Option<Category>,
    /// UK Open Banking's `Booked` | `Pending`; banks that do not say are taken as booked.
    pub status: Option<String>,
}

impl Transaction {
    /// Signed minor units: debits negative. `None` when the row cannot be read exactly.
    pub fn signed_minor(&self) -> Option<i64> {
        let minor = self.amount.minor()?;
        match self.credit_debit_indicator.to_ascii_lowercase().as_str() {
            "credit" => Some(minor.abs()),
            "debit" => Some(-minor.abs()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub group: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Salaries {
    pub salaries: Vec<Salary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Salary {
    pub salary_amount: Amount,
    pub booking_date_time: String,
    pub month_indicator: Option<u32>,
}

/// Unix seconds from Tarabut's ISO-8601 timestamps (`2023-01-11T00:00:00.000Z`).
pub fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `2023-01-01T15:34:12Z`, the form the transaction filters take.
pub fn format_time(ts: i64) -> String {
    crate::clock::rfc3339(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> Amount {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn money_is_read_exactly_from_numbers_and_strings() {
        assert_eq!(
            amount(r#"{"value": 12.345, "currency": "BHD"}"#).minor(),
            Some(12345)
        );
        assert_eq!(
            amount(r#"{"value": "4000.0", "currency": "SAR"}"#).minor(),
            Some(400000)
        );
        assert_eq!(
            amount(r#"{"value": 20, "currency": "SAR"}"#).minor(),
            Some(2000)
        );
        assert_eq!(
            amount(r#"{"value": 0.1, "currency": "BHD"}"#).minor(),
            Some(100)
        );
        // more decimals than the currency has: refused, never rounded
        assert_eq!(
            amount(r#"{"value": 1.2345, "currency": "BHD"}"#).minor(),
            None
        );
        assert_eq!(amount(r#"{"value": 1, "currency": "XXX"}"#).minor(), None);
        assert!(serde_json::from_str::<Amount>(r#"{"value": 1e300, "currency": "SAR"}"#).is_err());
        assert!(serde_json::from_str::<Amount>(r#"{"value": true, "currency": "SAR"}"#).is_err());
    }

    #[test]
    fn the_indicator_gives_the_sign() {
        let tx = |ind: &str| Transaction {
            transaction_id: "t".into(),
            transaction_description: None,
            credit_debit_indicator: ind.into(),
            amount: amount(r#"{"value": 5.5, "currency": "SAR"}"#),
            booking_date_time: "2024-01-01T00:00:00Z".into(),
            merchant: None,
            category: None,
            status: None,
        };
        assert_eq!(tx("Debit").signed_minor(), Some(-550));
        assert_eq!(tx("Credit").signed_minor(), Some(550));
        assert_eq!(tx("Sideways").signed_minor(), None);
    }

    #[test]
    fn timestamps_with_and_without_millis_parse() {
        assert_eq!(parse_time("2023-01-11T00:00:00.000Z"), Some(1673395200));
        assert_eq!(parse_time("2023-01-11T00:00:00Z"), Some(1673395200));
        assert_eq!(parse_time("yesterday"), None);
    }
}

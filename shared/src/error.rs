//! The one error shape every pfn endpoint answers with.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of every non-2xx response: `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "error": {"code": "validation_failed", "message": "Some fields are invalid.",
              "fields": {"email": "must be a valid email address"}}
})))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for machines (`code`) and people (`message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `invalid_credentials`, `validation_failed`,
    /// `too_many_attempts`, `csrf_rejected`, `not_found`.
    #[cfg_attr(feature = "openapi", schema(example = "validation_failed"))]
    pub code: String,
    /// Human-readable explanation; never contains internal detail.
    #[cfg_attr(feature = "openapi", schema(example = "Some fields are invalid."))]
    pub message: String,
    /// Per-field problems keyed by JSON path (`email`, `transactions[3].amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = json!({"email": "must be a valid email address"})))]
    pub fields: Option<BTreeMap<String, String>>,
}

/// The body of every 202 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "accepted"})))]
pub struct StatusBody {
    /// `accepted` for 202 answers, `ok` for completed actions without a resource.
    #[cfg_attr(feature = "openapi", schema(example = "accepted"))]
    pub status: String,
}

impl StatusBody {
    pub fn accepted() -> Self {
        Self {
            status: "accepted".into(),
        }
    }
    pub fn ok() -> Self {
        Self {
            status: "ok".into(),
        }
    }
}

/// A page of a list: every list endpoint answers with this shape, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "MTc5NTQyNjIwMDowMTkzYjZmNS0zYzRkLTdlNWYtYTA2Yi03YzhkOWUwZjFhMmI")
    )]
    pub next_cursor: Option<String>,
}

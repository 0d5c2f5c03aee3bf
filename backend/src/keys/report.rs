//! `GET /api/v1/keys/{id}/usage`: a key's requests per day, as the usage writer counted them
//! (`keys::usage`; each replica adds its counts every minute).

use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use shared::{
    key_limits::{KeyUsage, KeyUsageDay},
    ErrorBody,
};
use time::{Date, Duration};
use utoipa::IntoParams;

use crate::{
    access::session::SessionUser,
    db,
    error::{AppError, Result},
    state::AppState,
    web::{values::parse_date, AppQuery},
};

/// The longest range one answer covers, in days.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    #[param(example = "2026-11-06")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included; default: today.
    #[param(example = "2026-12-05")]
    to: Option<String>,
}

fn day(field: &str, s: &str) -> Result<Date> {
    parse_date(s).ok_or_else(|| AppError::field(field, "must be a date, YYYY-MM-DD"))
}

/// A key's requests per day from `from` to `to`: allowed, rate-limited, and refused by reason.
/// Counts reach this answer within about a minute.
#[utoipa::path(get, path = "/api/v1/keys/{id}/usage", tag = "keys", operation_id = "getKeyUsage",
    params(("id" = String, Path, description = "Key id", example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
        UsageQuery),
    responses(
        (status = 200, description = "Requests per day, every day of the range", body = KeyUsage),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a bad date, `from` after `to`, or more than 366 days", body = ErrorBody)))]
pub(super) async fn key_usage(
    State(state): State<AppState>,
    who: SessionUser,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<UsageQuery>,
) -> Result<Json<KeyUsage>> {
    let row = super::managed(&state, &who.user.id, &id).await?;
    let today = time::OffsetDateTime::from_unix_timestamp(state.clock.now())
        .map_err(|e| AppError::Internal(e.into()))?
        .date();
    let to =
        q.to.as_deref()
            .map(|s| day("to", s))
            .transpose()?
            .unwrap_or(today);
    let from = match q.from.as_deref() {
        Some(s) => day("from", s)?,
        None => to.checked_sub(Duration::days(29)).unwrap_or(Date::MIN),
    };
    if from > to {
        return Err(AppError::field("from", "must not be after to"));
    }
    if (to - from).whole_days() >= MAX_DAYS {
        return Err(AppError::field(
            "from",
            "the range may cover at most 366 days",
        ));
    }
    let rows =
        db::key_usage::days(&state.db.pool, &row.id, &from.to_string(), &to.to_string()).await?;
    let mut by_day: BTreeMap<String, KeyUsageDay> = BTreeMap::new();
    let mut d = from;
    loop {
        let date = d.to_string();
        by_day.insert(
            date.clone(),
            KeyUsageDay {
                date,
                ..Default::default()
            },
        );
        match d.next_day() {
            Some(next) if next <= to => d = next,
            _ => break,
        }
    }
    for (date, outcome, count) in rows {
        let Some(entry) = by_day.get_mut(&date) else {
            continue;
        };
        match outcome.as_str() {
            "ok" => entry.ok += count,
            "rate_limited" => entry.rate_limited += count,
            other => {
                let reason = other.strip_prefix("denied:").unwrap_or("other");
                *entry.denied.entry(reason.to_string()).or_default() += count;
            }
        }
    }
    Ok(Json(KeyUsage {
        key_id: row.id,
        from: from.to_string(),
        to: to.to_string(),
        days: by_day.into_values().collect(),
    }))
}

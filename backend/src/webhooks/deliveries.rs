//! An endpoint's delivery log and manual retries.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use shared::{webhooks::WebhookDelivery, ErrorBody, Page};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use super::find;
use crate::{
    access::{routes, Caller, Owner, ReadWebhooks, WriteWebhooks},
    db::{self, webhooks::deliveries::DeliveryRow},
    error::{AppError, Result},
    outbound::{self, delivery_id, message_id, parse_delivery_id, rfc3339_ms},
    state::AppState,
    web::{pagination, AppQuery},
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

pub(super) fn view(d: DeliveryRow) -> WebhookDelivery {
    let pending = d.status == "pending";
    WebhookDelivery {
        id: delivery_id(&d.key),
        message_id: message_id(&d.workspace_id, &d.key),
        event_type: d.key.event_type,
        resource_id: d.key.resource_id,
        status: d.status,
        attempts: d.attempts,
        response_status: d.response_status,
        duration_ms: d.duration_ms,
        error: d.error,
        event_at: rfc3339_ms(d.event_at),
        last_attempt_at: d.last_attempt_at.map(rfc3339_ms),
        next_attempt_at: pending.then(|| rfc3339_ms(d.next_attempt_at)),
        delivered_at: d.delivered_at.map(rfc3339_ms),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeliveriesQuery {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    limit: Option<i64>,
    /// `nextCursor` from the previous page.
    #[param(
        example = "MTc5NjExNzQwMDEyMDpOREk2ZEhKaGJuTmhZM1JwYjI0dVkzSmxZWFJsWkRvd01Ua3pZalptTlE"
    )]
    cursor: Option<String>,
    /// Only deliveries in this state: `pending`, `delivered` or `failed`.
    #[param(value_type = Option<shared::webhooks::WebhookDeliveryStatus>, example = "failed")]
    status: Option<String>,
}

/// The endpoint's deliveries, newest first: each message, its state, and how its last attempt
/// went. Kept 30 days.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "listWebhookDeliveries",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"),
        DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<WebhookDelivery>),
        (status = 404, description = "`not_found`: no such endpoint in this workspace", body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller<Owner<ReadWebhooks>>,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<DeliveriesQuery>,
) -> Result<Json<Page<WebhookDelivery>>> {
    let paging = pagination::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = paging.limit()?;
    if let Some(s) = q.status.as_deref() {
        if !matches!(s, "pending" | "delivered" | "failed") {
            return Err(AppError::field(
                "status",
                "must be pending, delivered or failed",
            ));
        }
    }
    let before = match paging.after()? {
        Some((at, id)) => Some((
            at,
            parse_delivery_id(&id).ok_or_else(pagination::invalid_cursor)?,
        )),
        None => None,
    };
    let ep = find(&state, &caller.workspace_id, &id).await?;
    let rows = db::webhooks::deliveries::log(
        &state.db.pool,
        &ep.id,
        before.as_ref().map(|(at, k)| (*at, k)),
        q.status.as_deref(),
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) =
        pagination::finish(rows, limit, |d| (d.created_at, delivery_id(&d.key)));
    Ok(Json(Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

/// Sends a delivery again now, whatever its state (a failed one gets a new 3-day window).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{deliveryId}/retry", tag = "webhooks", operation_id = "retryWebhookDelivery",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"),
        ("deliveryId" = String, Path, description = "Delivery id", example = "NDI6dHJhbnNhY3Rpb24uY3JlYXRlZDowMTkzYjZmNQ")),
    responses(
        (status = 202, description = "Queued again", body = WebhookDelivery),
        (status = 404, description = "`not_found`: no such endpoint in this workspace, or no such delivery", body = ErrorBody),
        (status = 409, description = "`webhook_disabled`: enable the endpoint first", body = ErrorBody)))]
async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller<Owner<WriteWebhooks>>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<WebhookDelivery>)> {
    let ep = find(&state, &caller.workspace_id, &id).await?;
    let key = parse_delivery_id(&delivery).ok_or_else(AppError::not_found)?;
    if db::webhooks::deliveries::get(&state.db.pool, &ep.id, &key)
        .await?
        .is_none()
    {
        return Err(AppError::not_found());
    }
    if !ep.enabled {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "webhook_disabled",
            "This endpoint is disabled: enable it first.",
        ));
    }
    let now = state.clock.now_ms();
    let give_up = now + state.outbound.scaled(outbound::GIVE_UP_MS);
    db::webhooks::deliveries::retry(&state.db.pool, &ep.id, &key, now, give_up).await?;
    db::webhooks::wake_now(&state.db.pool, &ep.id).await?;
    state.outbound.wake();
    let row = db::webhooks::deliveries::get(&state.db.pool, &ep.id, &key)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::ACCEPTED, Json(view(row))))
}

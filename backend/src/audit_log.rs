//! `GET /api/v1/audit-log`: the signed-in user's security events.

use axum::{extract::State, Json};
use serde::Deserialize;
use shared::{keys::AuditEvent, ErrorBody, Page};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::session::SessionUser,
    clock::rfc3339,
    db,
    error::Result,
    state::AppState,
    web::{pagination, AppQuery},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// Only events by or about this key.
    #[param(example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")]
    key_id: Option<String>,
    /// Only events of this type, e.g. `key.used`.
    #[serde(rename = "type")]
    #[param(example = "key.used", rename = "type")]
    kind: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(example = 50, minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` from the previous page.
    #[param(example = "MTc5NTQyNjIwMDowMTkzYjZmNS0zYzRkLTdlNWYtYTA2Yi03YzhkOWUwZjFhMmI")]
    cursor: Option<String>,
}

/// Your security events, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "keys", operation_id = "listAuditLog",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<AuditEvent>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–200", body = ErrorBody)))]
async fn list_audit_log(
    State(state): State<AppState>,
    who: SessionUser,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>> {
    Ok(Json(page(&state, &who.user.id, q).await?))
}

/// One page of `user_id`'s events (also the admin view of another user's log).
pub async fn page(state: &AppState, user_id: &str, q: AuditQuery) -> Result<Page<AuditEvent>> {
    let page = pagination::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = page.limit()?;
    let rows = db::audit::list(
        &state.db.pool,
        user_id,
        q.key_id.as_deref(),
        q.kind.as_deref(),
        page.after()?,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |r| (r.occurred_at, r.id.clone()));
    let items = rows
        .into_iter()
        .map(|r| AuditEvent {
            id: r.id,
            kind: r.kind,
            occurred_at: rfc3339(r.occurred_at),
            actor_user_id: r.actor_user_id,
            actor_key_id: r.actor_key_id,
            ip: r.ip,
            user_agent: r.user_agent,
            target_type: r.target_type,
            target_id: r.target_id,
            outcome: r.outcome,
        })
        .collect();
    Ok(Page { items, next_cursor })
}

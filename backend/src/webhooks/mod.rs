//! Webhook endpoints for a workspace's owners (session, or their keys with `read:webhooks` /
//! `write:webhooks`): create (the signing secret is shown once), list, change, rotate the
//! secret, delete, send a test `ping`, read the delivery log and retry a delivery. Delivery
//! itself is [`worker`]'s, through [`crate::outbound`]'s guarded client.

mod deliveries;
pub mod worker;

use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use shared::{webhooks::*, ErrorBody, Page};
use utoipa_axum::router::OpenApiRouter;

use crate::{
    access::{routes, Caller, Owner, ReadWebhooks, WriteWebhooks},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    crypto,
    db::{self, webhooks::EndpointRow},
    error::{AppError, Result},
    outbound::{self, guard},
    request_meta::RequestMeta,
    state::AppState,
    web::{pagination, responses::BodyErrors, AppJson, AppQuery},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .merge(deliveries::routes())
}

/// Endpoints per workspace.
const MAX_ENDPOINTS: i64 = 20;

pub(crate) fn view(ep: &EndpointRow, now: i64) -> WebhookEndpoint {
    WebhookEndpoint {
        id: ep.id.clone(),
        workspace_id: ep.workspace_id.clone(),
        url: ep.url.clone(),
        description: ep.description.clone(),
        event_types: ep.event_types.clone(),
        enabled: ep.enabled,
        disabled_reason: ep.disabled_reason.clone(),
        failing_since: ep.failing_since.map(outbound::rfc3339_ms),
        previous_secret_expires_at: ep.previous_until.filter(|u| *u > now).map(rfc3339),
        created_at: rfc3339(ep.created_at),
        updated_at: rfc3339(ep.updated_at),
    }
}

/// The endpoint `id` of the caller's workspace, or 404.
pub(crate) async fn find(state: &AppState, workspace_id: &str, id: &str) -> Result<EndpointRow> {
    db::webhooks::get(&state.db.pool, workspace_id, id)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Where events may be sent: `https://` (or `http://` on a development server, or when
/// loopback is allowed), a host, no credentials; an IP address must be a public one (host names
/// are checked when dialled, every time).
fn check_url(state: &AppState, raw: &str) -> std::result::Result<String, &'static str> {
    if raw.len() > 2000 {
        return Err("must be at most 2,000 characters");
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| "must be an absolute https:// URL")?;
    let plain_ok = state.config.dev_mode() || state.outbound.allow_private;
    match url.scheme() {
        "https" => {}
        "http" if plain_ok => {}
        "http" => return Err("must use https://"),
        _ => return Err("must be an absolute https:// URL"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password (verify the signature instead)");
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment");
    }
    if guard::check_literal(&url, state.outbound.allow_private).is_err() {
        return Err("must be a public address (private, loopback, link-local and other special-purpose addresses are refused)");
    }
    if !state.outbound.allow_private
        && url
            .host_str()
            .is_some_and(|h| h == "localhost" || h.ends_with(".localhost"))
    {
        return Err("must be a public address (private, loopback, link-local and other special-purpose addresses are refused)");
    }
    Ok(url.to_string())
}

fn check_types(types: &[String]) -> std::result::Result<Vec<String>, &'static str> {
    if types.is_empty() {
        return Err("must name at least one event type");
    }
    if types.iter().any(|t| !is_event_type(t)) {
        return Err(
            "holds an unknown event type (see the webhooks section of the OpenAPI document)",
        );
    }
    let mut out = types.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

fn check_description(d: &str) -> std::result::Result<String, &'static str> {
    let d = d.trim();
    if d.chars().count() > 200 {
        return Err("must be at most 200 characters");
    }
    if d.chars().any(char::is_control) {
        return Err("must not hold control characters");
    }
    Ok(d.to_string())
}

fn invalid(fields: BTreeMap<String, String>) -> AppError {
    AppError::Validation(fields)
}

/// The workspace's webhook endpoints, oldest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    params(pagination::PageQuery),
    responses((status = 200, description = "A page of endpoints", body = Page<WebhookEndpoint>)))]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller<Owner<ReadWebhooks>>,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<WebhookEndpoint>>> {
    let limit = q.limit()?;
    let after = q.after()?;
    let rows: Vec<EndpointRow> = db::webhooks::list(&state.db.pool, &caller.workspace_id)
        .await?
        .into_iter()
        .filter(|r| {
            after
                .as_ref()
                .is_none_or(|(at, id)| (r.created_at, &r.id) > (*at, id))
        })
        .take(limit as usize + 1)
        .collect();
    let (rows, next_cursor) = pagination::finish(rows, limit, |r| (r.created_at, r.id.clone()));
    let now = state.clock.now();
    Ok(Json(Page {
        items: rows.iter().map(|r| view(r, now)).collect(),
        next_cursor,
    }))
}

/// Makes an endpoint. The answer holds its signing secret, shown this once. It receives the
/// events that happen from now on.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = CreateWebhookRequest,
    responses(BodyErrors,
        (status = 201, description = "Created; store `secret` now", body = WebhookWithSecret),
        (status = 409, description = "`too_many_webhooks`: the workspace has 20 endpoints", body = ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller<Owner<WriteWebhooks>>,
    meta: RequestMeta,
    AppJson(req): AppJson<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<WebhookWithSecret>)> {
    let mut fields = BTreeMap::new();
    let url = check_url(&state, &req.url)
        .map_err(|m| fields.insert("url".into(), m.into()))
        .ok();
    let types = check_types(&req.event_types)
        .map_err(|m| fields.insert("eventTypes".into(), m.into()))
        .ok();
    let description = check_description(&req.description)
        .map_err(|m| fields.insert("description".into(), m.into()))
        .ok();
    let (Some(url), Some(event_types), Some(description)) = (url, types, description) else {
        return Err(invalid(fields));
    };
    let secret = outbound::new_secret();
    let now = state.clock.now();
    let ws = &caller.workspace_id;
    let mut tx = state.db.begin().await?;
    if db::webhooks::count(&mut *tx, ws).await? >= MAX_ENDPOINTS {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "too_many_webhooks",
            "A workspace has at most 20 webhook endpoints: delete one first.",
        ));
    }
    // Events numbered after the workspace's current change number are this endpoint's.
    let (newest, _) = db::changes::bounds(&mut *tx, ws).await?;
    let ep = EndpointRow {
        id: db::new_id(),
        workspace_id: ws.clone(),
        url,
        description,
        event_types,
        enabled: req.enabled.unwrap_or(true),
        disabled_reason: None,
        secret_sealed: state.secrets.seal(crypto::WEBHOOK_SECRET, &secret),
        previous_secret_sealed: None,
        previous_until: None,
        cursor_seq: newest,
        paused_until: 0,
        fail_streak: 0,
        failing_since: None,
        last_success_at: None,
        created_at: now,
        updated_at: now,
    };
    db::webhooks::insert(&mut *tx, &ep, &caller.user_id).await?;
    audit_change(&state, &mut tx, &caller, &meta, "webhook.created", &ep.id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret {
            webhook: view(&ep, now),
            secret,
        }),
    ))
}

async fn audit_change(
    state: &AppState,
    tx: &mut db::Tx,
    caller: &Caller<Owner<WriteWebhooks>>,
    meta: &RequestMeta,
    kind: &'static str,
    id: &str,
) -> Result<()> {
    let mut ev = Event::own(kind, &caller.user_id, Outcome::Success).on("webhook", id);
    if let Some(key) = &caller.key {
        ev = ev.by_key(&key.id);
    }
    audit::record(tx, &state.clock, meta, ev).await?;
    Ok(())
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "getWebhook",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpoint),
        (status = 404, description = "`not_found`: no such endpoint in this workspace", body = ErrorBody)))]
async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller<Owner<ReadWebhooks>>,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpoint>> {
    let ep = find(&state, &caller.workspace_id, &id).await?;
    Ok(Json(view(&ep, state.clock.now())))
}

/// Changes an endpoint. Enabling a disabled one sends only the events from then on.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "updateWebhook",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    request_body = UpdateWebhookRequest,
    responses(BodyErrors,
        (status = 200, description = "The endpoint as changed", body = WebhookEndpoint),
        (status = 404, description = "`not_found`: no such endpoint in this workspace", body = ErrorBody)))]
async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller<Owner<WriteWebhooks>>,
    meta: RequestMeta,
    Path(id): Path<String>,
    AppJson(req): AppJson<UpdateWebhookRequest>,
) -> Result<Json<WebhookEndpoint>> {
    let mut fields = BTreeMap::new();
    let url = req.url.as_deref().map(|u| check_url(&state, u));
    let types = req.event_types.as_deref().map(check_types);
    let description = req.description.as_deref().map(check_description);
    for (name, r) in [
        ("url", url.as_ref().and_then(|r| r.as_ref().err())),
        ("eventTypes", types.as_ref().and_then(|r| r.as_ref().err())),
        (
            "description",
            description.as_ref().and_then(|r| r.as_ref().err()),
        ),
    ] {
        if let Some(m) = r {
            fields.insert(name.to_string(), m.to_string());
        }
    }
    if !fields.is_empty() {
        return Err(invalid(fields));
    }
    let ws = &caller.workspace_id;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut ep = db::webhooks::get(&mut *tx, ws, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if let Some(Ok(u)) = url {
        ep.url = u;
    }
    if let Some(Ok(t)) = types {
        ep.event_types = t;
    }
    if let Some(Ok(d)) = description {
        ep.description = d;
    }
    let restart = match req.enabled {
        Some(true) if !ep.enabled => Some(db::changes::bounds(&mut *tx, ws).await?.0),
        _ => None,
    };
    if let Some(e) = req.enabled {
        if e && !ep.enabled {
            ep.disabled_reason = None;
            ep.failing_since = None;
        }
        ep.enabled = e;
    }
    db::webhooks::update(&mut *tx, &ep, restart, now).await?;
    audit_change(&state, &mut tx, &caller, &meta, "webhook.updated", &ep.id).await?;
    tx.commit().await?;
    ep.updated_at = now;
    Ok(Json(view(&ep, now)))
}

/// Deletes an endpoint and its delivery log; nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`: no such endpoint in this workspace", body = ErrorBody)))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller<Owner<WriteWebhooks>>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !db::webhooks::delete(&mut *tx, &caller.workspace_id, &id).await? {
        return Err(AppError::not_found());
    }
    audit_change(&state, &mut tx, &caller, &meta, "webhook.deleted", &id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once. For 24 hours messages carry a signature by the
/// previous secret too (`webhook-signature` holds both), so receivers can switch without
/// losing a message.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", operation_id = "rotateWebhookSecret",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    responses(
        (status = 200, description = "The endpoint and its new secret; store it now", body = WebhookWithSecret),
        (status = 404, description = "`not_found`: no such endpoint in this workspace", body = ErrorBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller<Owner<WriteWebhooks>>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Json<WebhookWithSecret>> {
    let now = state.clock.now();
    let secret = outbound::new_secret();
    let sealed = state.secrets.seal(crypto::WEBHOOK_SECRET, &secret);
    let mut tx = state.db.begin().await?;
    let mut ep = db::webhooks::get(&mut *tx, &caller.workspace_id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let until = now + outbound::PREVIOUS_SECRET_SECS;
    db::webhooks::rotate_secret(
        &mut *tx,
        &caller.workspace_id,
        &id,
        &sealed,
        &ep.secret_sealed,
        until,
        now,
    )
    .await?;
    audit_change(
        &state,
        &mut tx,
        &caller,
        &meta,
        "webhook.secret_rotated",
        &id,
    )
    .await?;
    tx.commit().await?;
    ep.previous_until = Some(until);
    ep.updated_at = now;
    Ok(Json(WebhookWithSecret {
        webhook: view(&ep, now),
        secret,
    }))
}

/// Sends a `ping` to the endpoint now (it appears in the delivery log like any message).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", operation_id = "testWebhook",
    params(("id" = String, Path, description = "Endpoint id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    responses(
        (status = 202, description = "Queued; follow it in the delivery log", body = WebhookDelivery),
        (status = 404, description = "`not_found`: no such endpoint in this workspace", body = ErrorBody),
        (status = 409, description = "`webhook_disabled`: enable the endpoint first", body = ErrorBody)))]
async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller<Owner<WriteWebhooks>>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>)> {
    let ep = find(&state, &caller.workspace_id, &id).await?;
    if !ep.enabled {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "webhook_disabled",
            "This endpoint is disabled: enable it first.",
        ));
    }
    let now = state.clock.now_ms();
    let ping = db::new_id();
    let give_up = now + state.outbound.scaled(outbound::GIVE_UP_MS);
    db::webhooks::deliveries::insert_ping(
        &state.db.pool,
        &ep.id,
        &ep.workspace_id,
        &ping,
        now,
        give_up,
    )
    .await?;
    db::webhooks::wake_now(&state.db.pool, &ep.id).await?;
    state.outbound.wake();
    let key = db::webhooks::deliveries::Key {
        seq: 0,
        event_type: "ping".into(),
        resource_id: ping,
    };
    let row = db::webhooks::deliveries::get(&state.db.pool, &ep.id, &key)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::ACCEPTED, Json(deliveries::view(row))))
}

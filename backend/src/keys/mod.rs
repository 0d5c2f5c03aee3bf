//! API keys: create (the secret is shown once), list, get, revoke, rotate; the scope list;
//! `whoami`. Key management needs a browser session; keys authenticate elsewhere through
//! [`auth::Caller`].

pub mod usage;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use rand::{rngs::OsRng, RngCore};
use shared::{
    keys::{
        format_key, is_scope, key_hint, ApiKey, CreateKeyRequest, CreatedKeyBody, KeyBody,
        KeyStatus, RotateKeyRequest, ScopeInfo, ScopesBody, UpdateKeyRequest, WhoAmI, SCOPES,
    },
    validate::check_name,
    ErrorBody, Page,
};
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{access::Caller, web::ANSWER_HEADERS};
use crate::{
    access::{session::SessionUser, Fresh},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    crypto::sha256_hex,
    db::{self, keys::KeyRow},
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
    web::{
        responses::BodyErrors,
        {pagination, AppJson, AppQuery},
    },
};

const MAX_GRACE_SECS: i64 = 86_400;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(get_key, rename_key, revoke_key))
        .routes(routes!(rotate_key))
        .routes(routes!(list_scopes))
        .routes(routes!(whoami))
}

pub fn view(k: &KeyRow, now: i64) -> ApiKey {
    let status = if k.revoked_at.is_some() {
        KeyStatus::Revoked
    } else if k.owner_disabled {
        KeyStatus::Suspended
    } else if k.expires_at.is_some_and(|t| t <= now) {
        KeyStatus::Expired
    } else {
        KeyStatus::Active
    };
    ApiKey {
        id: k.id.clone(),
        name: k.name.clone(),
        hint: k.hint.clone(),
        scopes: k.scopes.clone(),
        workspace_id: k.workspace_id.clone(),
        created_at: rfc3339(k.created_at),
        expires_at: k.expires_at.map(rfc3339),
        last_used_at: k.last_used_at.map(rfc3339),
        last_used_ip: k.last_used_ip.clone(),
        last_used_user_agent: k.last_used_user_agent.clone(),
        revoked_at: k.revoked_at.map(rfc3339),
        status,
    }
}

/// Mints a key row in `tx`; returns it with the secret.
#[allow(clippy::too_many_arguments)]
async fn mint(
    tx: &mut db::Tx,
    state: &AppState,
    user_id: &str,
    workspace_id: &str,
    name: &str,
    scopes: &[String],
    expiry_days: Option<i64>,
    rotated_from: Option<&str>,
) -> Result<(KeyRow, String)> {
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let secret = format_key(crate::access::server_key_env(state), random);
    let id = db::new_id();
    let now = state.clock.now();
    let expires_at = expiry_days.map(|d| now + d * 86_400);
    db::keys::insert(
        &mut **tx,
        db::keys::NewKey {
            id: &id,
            workspace_id,
            user_id,
            name,
            key_hash: &sha256_hex(secret.as_bytes()),
            hint: &key_hint(&secret),
            scopes,
            expires_at,
            expiry_days,
            rotated_from,
            now,
        },
    )
    .await?;
    let row = db::keys::get_managed(&mut **tx, user_id, &id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("new key not visible to its creator")))?;
    Ok((row, secret))
}

/// Create an API key. The response is the only time the secret is shown.
#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", operation_id = "createKey",
    request_body = CreateKeyRequest,
    responses(BodyErrors,
        (status = 201, description = "Created; `secret` is shown only now", body = CreatedKeyBody),
        (status = 404, description = "`not_found`: no such workspace that you own", body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
    AppJson(req): AppJson<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKeyBody>)> {
    let mut fields = std::collections::BTreeMap::new();
    let name = check_name(&req.name)
        .map_err(|m| fields.insert("name".into(), m.to_string()))
        .ok();
    if req.scopes.is_empty() {
        fields.insert("scopes".into(), "choose at least one scope".into());
    }
    for (i, s) in req.scopes.iter().enumerate() {
        if !is_scope(s) {
            fields.insert(
                format!("scopes[{i}]"),
                "unknown scope; see GET /api/v1/scopes".into(),
            );
        }
    }
    if req.expires_in_days.is_some_and(|d| !(1..=365).contains(&d)) {
        fields.insert(
            "expiresInDays".into(),
            "must be between 1 and 365, or null for never".into(),
        );
    }
    let Some(name) = name.filter(|_| fields.is_empty()) else {
        return Err(AppError::Validation(fields));
    };
    let mut scopes = req.scopes.clone();
    scopes.sort();
    scopes.dedup();

    let workspace_id = match req.workspace_id {
        Some(id) => id,
        None => db::workspaces::personal_of(&state.db.pool, &who.user.id)
            .await?
            .ok_or_else(AppError::not_found)?,
    };
    if db::workspaces::role_of(&state.db.pool, &workspace_id, &who.user.id)
        .await?
        .as_deref()
        != Some("owner")
    {
        return Err(AppError::not_found());
    }
    let mut tx = state.db.begin().await?;
    let (row, secret) = mint(
        &mut tx,
        &state,
        &who.user.id,
        &workspace_id,
        &name,
        &scopes,
        req.expires_in_days,
        None,
    )
    .await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("key.created", &who.user.id, Outcome::Success).on("api_key", &row.id),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyBody {
            key: view(&row, state.clock.now()),
            secret,
        }),
    ))
}

/// The keys of the workspaces you own, newest first (masked).
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", operation_id = "listKeys",
    params(pagination::PageQuery),
    responses(
        (status = 200, description = "A page of keys", body = Page<ApiKey>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–200", body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    who: SessionUser,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<ApiKey>>> {
    let limit = q.limit()?;
    let rows = db::keys::list_managed(&state.db.pool, &who.user.id, q.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |k| (k.created_at, k.id.clone()));
    let now = state.clock.now();
    Ok(Json(Page {
        items: rows.iter().map(|k| view(k, now)).collect(),
        next_cursor,
    }))
}

async fn managed(state: &AppState, user_id: &str, id: &str) -> Result<KeyRow> {
    db::keys::get_managed(&state.db.pool, user_id, id)
        .await?
        .ok_or_else(AppError::not_found)
}

/// One key (masked).
#[utoipa::path(get, path = "/api/v1/keys/{id}", tag = "keys", operation_id = "getKey",
    params(("id" = String, Path, description = "Key id", example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    responses(
        (status = 200, description = "The key", body = KeyBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn get_key(
    State(state): State<AppState>,
    who: SessionUser,
    Path(id): Path<String>,
) -> Result<Json<KeyBody>> {
    let row = managed(&state, &who.user.id, &id).await?;
    Ok(Json(KeyBody {
        key: view(&row, state.clock.now()),
    }))
}

/// Rename a key (a revoked or expired one too: its name stays in the audit log's context).
/// The secret, scopes, workspace and expiry stay as they are.
#[utoipa::path(patch, path = "/api/v1/keys/{id}", tag = "keys", operation_id = "updateKey",
    params(("id" = String, Path, description = "Key id", example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    request_body = UpdateKeyRequest,
    responses(BodyErrors,
        (status = 200, description = "The key as changed", body = KeyBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn rename_key(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    Path(id): Path<String>,
    AppJson(req): AppJson<UpdateKeyRequest>,
) -> Result<Json<KeyBody>> {
    let name = check_name(&req.name).map_err(|m| AppError::field("name", m))?;
    let row = managed(&state, &who.user.id, &id).await?;
    let mut tx = state.db.begin().await?;
    db::keys::rename(&mut *tx, &row.id, &name).await?;
    let ev = Event::own("key.renamed", &who.user.id, Outcome::Success).on("api_key", &row.id);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    let row = db::keys::get_managed(&mut *tx, &who.user.id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    tx.commit().await?;
    Ok(Json(KeyBody {
        key: view(&row, state.clock.now()),
    }))
}

/// Revoke a key: refused from the very next request. Idempotent.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", operation_id = "revokeKey",
    params(("id" = String, Path, description = "Key id", example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    responses(
        (status = 204, description = "Revoked (or already revoked)"),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let row = managed(&state, &who.user.id, &id).await?;
    let mut tx = state.db.begin().await?;
    if db::keys::revoke(&mut *tx, &row.id, state.clock.now()).await? {
        audit::record(
            &mut tx,
            &state.clock,
            &meta,
            Event::own("key.revoked", &who.user.id, Outcome::Success).on("api_key", &row.id),
        )
        .await?;
    }
    tx.commit().await?;
    state.forget_key(&row.key_hash).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a key: a new key with the same name, scopes, workspace and expiry policy; the old one
/// keeps working for `gracePeriodSeconds`, then answers 401 `key_expired`.
#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", tag = "keys", operation_id = "rotateKey",
    params(("id" = String, Path, description = "Key id", example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    request_body = RotateKeyRequest,
    responses(BodyErrors,
        (status = 201, description = "The new key; `secret` is shown only now", body = CreatedKeyBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`key_revoked`: a revoked key cannot be rotated", body = ErrorBody)))]
async fn rotate_key(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
    Path(id): Path<String>,
    AppJson(req): AppJson<RotateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKeyBody>)> {
    if !(0..=MAX_GRACE_SECS).contains(&req.grace_period_seconds) {
        return Err(AppError::field(
            "gracePeriodSeconds",
            "must be between 0 and 86400",
        ));
    }
    let old = managed(&state, &who.user.id, &id).await?;
    if old.revoked_at.is_some() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "key_revoked",
            "A revoked key cannot be rotated.",
        ));
    }
    let mut tx = state.db.begin().await?;
    let (row, secret) = mint(
        &mut tx,
        &state,
        &who.user.id,
        &old.workspace_id,
        &old.name,
        &old.scopes,
        old.expiry_days,
        Some(&old.id),
    )
    .await?;
    db::keys::expire_by(
        &mut *tx,
        &old.id,
        state.clock.now() + req.grace_period_seconds,
    )
    .await?;
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event::own("key.rotated", &who.user.id, Outcome::Success).on("api_key", &old.id),
    )
    .await?;
    tx.commit().await?;
    state.forget_key(&old.key_hash).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyBody {
            key: view(&row, state.clock.now()),
            secret,
        }),
    ))
}

/// Every scope a key can carry.
#[utoipa::path(get, path = "/api/v1/scopes", tag = "keys", operation_id = "listScopes",
    responses(
        (status = 200, description = "All scopes with descriptions", body = ScopesBody)))]
async fn list_scopes(_who: SessionUser) -> Json<ScopesBody> {
    let scopes = SCOPES
        .iter()
        .map(|(n, d)| ScopeInfo {
            name: n.to_string(),
            description: d.to_string(),
        })
        .collect();
    Json(ScopesBody { scopes })
}

/// Who is calling: the user, the key (if any), its scopes and workspace.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "keys", operation_id = "whoami",
    responses(
        (status = 200, description = "The caller", body = WhoAmI,
            headers(("RateLimit-Limit" = u32, description = "Key requests: bucket size (burst)"),
                    ("RateLimit-Remaining" = u32, description = "Key requests: whole tokens left"),
                    ("RateLimit-Reset" = u64, description = "Key requests: seconds until the bucket is full"))),
        (status = 401, description = "`missing_key`, `malformed_key`, `invalid_key`, `key_revoked`, `key_expired` or `account_disabled`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: this key's rate limit; see `Retry-After`", body = ErrorBody)))]
async fn whoami(caller: Caller) -> Response {
    match &caller.key {
        // A key's answer is fixed while the key is cached: serialised once, when it was cached.
        Some(key) => {
            let mut res = Response::new(Body::from(key.whoami_json.clone()));
            // Every header this answer will carry fits at once (see `rate_limit_headers`).
            res.headers_mut().reserve(ANSWER_HEADERS);
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res
        }
        None => Json(&*caller).into_response(),
    }
}

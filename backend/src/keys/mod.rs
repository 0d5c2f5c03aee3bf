//! API keys: create (the secret is shown once), list, get, revoke, rotate; the scope list;
//! `whoami`. Key management needs a browser session; keys authenticate elsewhere through
//! [`auth::Caller`].

mod limits;
mod report;
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
    access::{session::SessionUser, Fresh, StepUpWhen, When},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    crypto::sha256_hex,
    db::{
        self,
        keys::{KeyLimits, KeyRow},
    },
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
        .routes(routes!(get_key, update_key, revoke_key))
        .routes(routes!(report::key_usage))
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
        allowed_ips: k.limits.allowed_ips.clone(),
        account_ids: k.limits.account_ids.clone(),
        quota: k.limits.quota.map(|q| limits::quota_view(&q, None, now)),
        rate_limit: limits::rate_view(k.limits.rate),
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
    limits: &KeyLimits,
) -> Result<(KeyRow, String)> {
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let secret = format_key(crate::access::server_key_env(state), random);
    let id = db::new_id();
    let now = state.clock.now();
    let expires_at = expiry_days.map(|d| now + d * 86_400);
    db::keys::insert(
        tx,
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
            limits,
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
    let workspace_id = match &req.workspace_id {
        Some(id) => id.clone(),
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
    let now = state.clock.now();
    let key_limits = KeyLimits {
        allowed_ips: req
            .allowed_ips
            .as_ref()
            .map(|l| limits::allowlist(&mut fields, l)),
        account_ids: match &req.account_ids {
            Some(l) => Some(limits::accounts(&state, &mut fields, &workspace_id, l).await?),
            None => None,
        },
        quota: req
            .quota
            .as_ref()
            .map(|q| limits::quota(&mut fields, q, now)),
        rate: req
            .rate_limit
            .as_ref()
            .map(|r| limits::rate(&mut fields, r)),
    };
    let Some(name) = name.filter(|_| fields.is_empty()) else {
        return Err(AppError::Validation(fields));
    };
    let mut scopes = req.scopes.clone();
    scopes.sort();
    scopes.dedup();
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
        &key_limits,
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

/// A change that lets a key do more than before.
struct Widening;
impl When for Widening {
    const WHEN: &'static str = "widening";
    const TEXT: &'static str = "the change widens what the key may do (an address or account it did not have, `null` for a restriction it had, more quota than is left, a more frequent refill, a higher rate) and the browser session last signed in or re-authenticated more than 10 minutes ago: `POST /api/v1/auth/reauth`, then retry. Narrowing and renaming never ask.";
}

/// Change a key without re-issuing it: its name, address allowlist, accounts, quota or rate
/// limit (an absent field stays as it is; `null` lifts the restriction). A revoked or expired
/// key may be renamed too (its name stays in the audit log's context).
///
/// **Step-up:** a change that widens what the key may do (an address or account it did not
/// have, `null` for a restriction it had, more quota than is left, a more frequent refill, a
/// higher rate) needs a browser session that signed in or re-authenticated within 10 minutes;
/// otherwise 403 `reauth_required` and nothing changes. Narrowing never asks. The new limits
/// hold from the next request, on every replica.
#[utoipa::path(patch, path = "/api/v1/keys/{id}", tag = "keys", operation_id = "updateKey",
    params(("id" = String, Path, description = "Key id", example = "0193b6f3-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    request_body = UpdateKeyRequest,
    responses(BodyErrors,
        (status = 200, description = "The key as changed", body = KeyBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn update_key(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: StepUpWhen<Widening>,
    Path(id): Path<String>,
    AppJson(req): AppJson<UpdateKeyRequest>,
) -> Result<Json<KeyBody>> {
    let row = managed(&state, &who.user.id, &id).await?;
    let mut fields = std::collections::BTreeMap::new();
    let name = match &req.name {
        Some(n) => check_name(n)
            .map_err(|m| fields.insert("name".into(), m.to_string()))
            .ok(),
        None => None,
    };
    let limits_change = req.allowed_ips.is_some()
        || req.account_ids.is_some()
        || req.quota.is_some()
        || req.rate_limit.is_some();
    if req.name.is_none() && !limits_change {
        fields.insert(
            "name".into(),
            "give a name, allowedIps, accountIds, quota or rateLimit to change".into(),
        );
    }
    let now = state.clock.now();
    let mut new = row.limits.clone();
    if let Some(ips) = &req.allowed_ips {
        new.allowed_ips = ips.as_ref().map(|l| limits::allowlist(&mut fields, l));
    }
    if let Some(ids) = &req.account_ids {
        new.account_ids = match ids {
            Some(l) => Some(limits::accounts(&state, &mut fields, &row.workspace_id, l).await?),
            None => None,
        };
    }
    if let Some(q) = &req.quota {
        new.quota = q.as_ref().map(|q| limits::quota(&mut fields, q, now));
    }
    if let Some(r) = &req.rate_limit {
        new.rate = r.as_ref().map(|r| limits::rate(&mut fields, r));
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    if limits::widens(&row.limits, &new, now) {
        who.require(now)?;
    }
    let mut tx = state.db.begin().await?;
    if let Some(name) = &name {
        db::keys::rename(&mut *tx, &row.id, name).await?;
        let ev = Event::own("key.renamed", &who.user.id, Outcome::Success).on("api_key", &row.id);
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    if limits_change {
        db::keys::set_limits(&mut tx, &row.id, &new, req.quota.is_some()).await?;
        let ev =
            Event::own("key.limits_changed", &who.user.id, Outcome::Success).on("api_key", &row.id);
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    let row = db::keys::get_managed(&mut *tx, &who.user.id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    tx.commit().await?;
    if limits_change {
        state.forget_key(&row.key_hash).await;
    }
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
        &old.limits,
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

/// Who is calling: the user, the key (if any), its scopes and workspace, and a key's limits: its
/// address allowlist, accounts, rate limit and what is left of its quota after this request.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "keys", operation_id = "whoami",
    responses(
        (status = 200, description = "The caller", body = WhoAmI,
            headers(("RateLimit-Limit" = u32, description = "Key requests: bucket size (burst)"),
                    ("RateLimit-Remaining" = u32, description = "Key requests: whole tokens left"),
                    ("RateLimit-Reset" = u64, description = "Key requests: seconds until the bucket is full"))),
        (status = 401, description = "`missing_key`, `malformed_key`, `invalid_key`, `key_revoked`, `key_expired` or `account_disabled`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: this key's rate limit; `quota_exhausted`: its quota; see `Retry-After`", body = ErrorBody)))]
async fn whoami(State(state): State<AppState>, caller: Caller) -> Response {
    match &caller.key {
        // With a quota, the answer says what is left after this request.
        Some(key) if key.limits.quota.is_some() => {
            let mut who = WhoAmI::clone(&caller);
            who.quota = key
                .limits
                .quota
                .map(|q| limits::quota_view(&q, caller.quota_left, state.clock.now()));
            Json(who).into_response()
        }
        // A key's answer is otherwise fixed while the key is cached: serialised once, when it
        // was cached.
        Some(key) => {
            let mut res = Response::new(Body::from(key.whoami_json.to_vec()));
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

//! The admin role (product.md §1): find users, disable and enable accounts, read any user's
//! audit log. Admin routes need an admin's browser session (keys get 403 `session_required`
//! from the route guard); every admin action is audited on the admin and on the user.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use shared::{
    admin::{AdminUser, AdminUserBody, AdminUserDetail},
    keys::AuditEvent,
    ErrorBody, Page, Role,
};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{Admin, Fresh},
    audit::{self, Event, Outcome},
    audit_log::{self, AuditQuery},
    clock::rfc3339,
    db::{self, users::UserRow},
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
    web::{pagination, AppQuery},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, delete_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(user_audit_log))
}

fn view(u: UserRow) -> AdminUser {
    AdminUser {
        role: if u.role == "admin" {
            Role::Admin
        } else {
            Role::User
        },
        email_verified: u.email_verified_at.is_some(),
        disabled_at: u.disabled_at.map(rfc3339),
        created_at: rfc3339(u.created_at),
        id: u.id,
        email: u.email,
        name: u.name,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UserQuery {
    /// Part of an email or name (case-insensitive).
    #[param(example = "layla")]
    q: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(example = 50, minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `nextCursor` from the previous page.
    #[param(example = "MTc5NTQyNjIwMDowMTkzYjZmNS0zYzRkLTdlNWYtYTA2Yi03YzhkOWUwZjFhMmI")]
    cursor: Option<String>,
}

/// Users, newest first, optionally filtered by part of their email or name.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", operation_id = "adminListUsers",
    params(UserQuery),
    responses((status = 200, description = "A page of users", body = Page<AdminUser>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–200 or `q` over 254 characters", body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    AppQuery(q): AppQuery<UserQuery>,
) -> Result<Json<Page<AdminUser>>> {
    let text = q.q.as_deref().map(str::trim).unwrap_or_default();
    if text.chars().count() > 254 {
        return Err(AppError::field("q", "must be at most 254 characters"));
    }
    let page = pagination::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = page.limit()?;
    let rows = db::users::search(&state.db.pool, text, page.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |u| (u.created_at, u.id.clone()));
    Ok(Json(Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

/// One user: status, sign-in methods, and how many live sessions and working keys they have.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", operation_id = "adminGetUser",
    params(("id" = String, Path, description = "User id", example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")),
    responses((status = 200, description = "The user", body = AdminUserDetail),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminUserDetail>> {
    let mut conn = state.db.pool.acquire().await?;
    let user = db::users::by_id(&mut *conn, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let now = state.clock.now();
    let idle = crate::access::session::IDLE_SECS;
    let active_sessions = db::sessions::count_live(&mut *conn, &id, now, idle).await?;
    let active_keys = db::keys::count_active(&mut *conn, &id, now).await?;
    Ok(Json(AdminUserDetail {
        has_password: user.password_hash.is_some(),
        linked_providers: db::users::linked_providers(&mut *conn, &id).await?,
        active_sessions: active_sessions.max(0) as u64,
        active_keys: active_keys.max(0) as u64,
        user: view(user),
    }))
}

/// Disables or enables an account and records it; drops the user's keys from the key cache
/// so the change holds on the very next request.
async fn set_disabled(
    state: &AppState,
    admin: &Admin,
    meta: &RequestMeta,
    id: &str,
    disable: bool,
) -> Result<AdminUserBody> {
    if disable && id == admin.0.user.id {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "cannot_disable_self",
            "You cannot disable your own account.",
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if db::users::by_id(&mut *tx, id).await?.is_none() {
        return Err(AppError::not_found());
    }
    let changed = db::users::set_disabled(&mut *tx, id, disable.then_some(now), now).await?;
    if changed {
        if disable {
            db::sessions::delete_all(&mut *tx, id, None).await?;
        }
        let kind = if disable {
            "admin.user_disabled"
        } else {
            "admin.user_enabled"
        };
        // On the admin's log (what they did) and on the user's (what was done to them).
        audit::record(
            &mut tx,
            &state.clock,
            meta,
            Event::own(kind, &admin.0.user.id, Outcome::Success).on("user", id),
        )
        .await?;
        audit::record(
            &mut tx,
            &state.clock,
            meta,
            Event {
                user_id: Some(id),
                ..Event::own(kind, &admin.0.user.id, Outcome::Success).on("user", id)
            },
        )
        .await?;
    }
    let hashes = db::users::key_hashes(&mut *tx, id).await?;
    let user = db::users::by_id(&mut *tx, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    tx.commit().await?;
    state.forget_user(id).await;
    // Cached keys carry the owner's state: forget them so the next request reads it afresh.
    for h in hashes {
        state.forget_key(&h).await;
    }
    Ok(AdminUserBody { user: view(user) })
}

/// Disable an account: its sessions end at once, its keys stop working (listed as `suspended`),
/// sign-in is refused. Repeating is harmless.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin", operation_id = "adminDisableUser",
    params(("id" = String, Path, description = "User id", example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")),
    responses((status = 200, description = "The user, disabled", body = AdminUserBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`cannot_disable_self`", body = ErrorBody)))]
async fn disable_user(
    State(state): State<AppState>,
    Fresh(admin): Fresh<Admin>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Json<AdminUserBody>> {
    Ok(Json(set_disabled(&state, &admin, &meta, &id, true).await?))
}

/// Delete an account, as its owner can (`DELETE /api/v1/auth/me`): everything that is only
/// theirs goes, their audit rows stay with them reduced to an opaque id, and a last mail tells
/// them. Refused while they are the only owner of a shared workspace (409 `sole_owner`).
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", operation_id = "adminDeleteUser",
    params(("id" = String, Path, description = "User id", example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`sole_owner` (the message names the workspaces), or `cannot_delete_self`: delete your own account from its settings", body = ErrorBody),
        crate::tarabut::UpstreamErrors))]
async fn delete_user(
    State(state): State<AppState>,
    Fresh(admin): Fresh<Admin>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if id == admin.0.user.id {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "cannot_delete_self",
            "Delete your own account from its settings.",
        ));
    }
    let user = db::users::by_id(&state.db.pool, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    crate::auth::deletion::delete_account(&state, &meta, &user, Some(&admin.0.user.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable an account again: sign-in works, and its keys work again unless they were revoked or
/// expired in the meantime. Repeating is harmless.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "admin", operation_id = "adminEnableUser",
    params(("id" = String, Path, description = "User id", example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")),
    responses((status = 200, description = "The user, enabled", body = AdminUserBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn enable_user(
    State(state): State<AppState>,
    Fresh(admin): Fresh<Admin>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Json<AdminUserBody>> {
    Ok(Json(set_disabled(&state, &admin, &meta, &id, false).await?))
}

/// Any user's security events, newest first (the same filters as `/api/v1/audit-log`). The
/// reading itself is audited.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}/audit-log", tag = "admin", operation_id = "adminUserAuditLog",
    params(("id" = String, Path, description = "User id", example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b"), AuditQuery),
    responses((status = 200, description = "A page of events", body = Page<AuditEvent>),
        (status = 400, description = "`invalid_cursor`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–200", body = ErrorBody)))]
async fn user_audit_log(
    State(state): State<AppState>,
    admin: Admin,
    meta: RequestMeta,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>> {
    if db::users::by_id(&state.db.pool, &id).await?.is_none() {
        return Err(AppError::not_found());
    }
    let page = audit_log::page(&state, &id, q).await?;
    let mut conn = state.db.pool.acquire().await?;
    audit::record(
        &mut conn,
        &state.clock,
        &meta,
        Event::own("admin.audit_viewed", &admin.0.user.id, Outcome::Success).on("user", &id),
    )
    .await?;
    Ok(Json(page))
}

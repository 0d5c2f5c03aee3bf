//! Workspaces: a personal one per user, shared ones with members (`owner`, `member`) and
//! invitations by email. Owners manage members and keys; members read and write finance data.
//! Session only.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use shared::{validate::check_name, workspaces::*, ErrorBody, Page, StatusBody, TokenRequest};
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use crate::{
    access::{
        session::SessionUser, Fresh, InWorkspace, OwnerOrSelf, WorkspaceMember, WorkspaceOwner,
    },
    audit::{self, Event, Outcome},
    clock::rfc3339,
    crypto::{random_token, sha256_hex},
    db::{self, workspaces as wdb},
    email::Email,
    error::{AppError, Result},
    mail::Template,
    request_meta::RequestMeta,
    state::AppState,
    web::{
        responses::BodyErrors,
        {pagination, AppJson, AppQuery},
    },
};

mod lifecycle;

const INVITATION_TTL: i64 = 7 * 24 * 3600;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workspaces, create_workspace))
        .routes(routes!(get_workspace, lifecycle::delete))
        .routes(routes!(lifecycle::transfer))
        .routes(routes!(list_members, invite_member))
        .routes(routes!(remove_member))
        .routes(routes!(list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
}

/// Re-reads, under the workspace's lock (taken before), that `user_id` is still one of its
/// owners: the extractor checked before the lock, and a co-owner may have demoted or removed
/// them meanwhile. 404 otherwise, as for someone who never was.
async fn still_owner(conn: &mut sqlx::AnyConnection, id: &str, user_id: &str) -> Result<()> {
    if wdb::role_of(&mut *conn, id, user_id).await?.as_deref() != Some("owner") {
        return Err(AppError::not_found());
    }
    Ok(())
}

fn view(w: wdb::WorkspaceRow) -> Workspace {
    Workspace {
        id: w.id,
        name: w.name,
        personal: w.personal,
        role: w.role,
        created_at: rfc3339(w.created_at),
    }
}

/// Your workspaces, newest first.
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces", operation_id = "listWorkspaces",
    params(pagination::PageQuery),
    responses(
        (status = 200, description = "A page of workspaces", body = Page<Workspace>)))]
async fn list_workspaces(
    State(state): State<AppState>,
    who: SessionUser,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<Workspace>>> {
    let limit = q.limit()?;
    let rows = wdb::list_for(&state.db.pool, &who.user.id, q.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |w| (w.created_at, w.id.clone()));
    Ok(Json(Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

/// Create a shared workspace; you are its owner.
#[utoipa::path(post, path = "/api/v1/workspaces", tag = "workspaces", operation_id = "createWorkspace",
    request_body = CreateWorkspaceRequest,
    responses(BodyErrors,
        (status = 201, description = "Created", body = WorkspaceBody)))]
async fn create_workspace(
    State(state): State<AppState>,
    who: SessionUser,
    AppJson(req): AppJson<CreateWorkspaceRequest>,
) -> Result<(StatusCode, Json<WorkspaceBody>)> {
    let name = check_name(&req.name).map_err(|m| AppError::field("name", m))?;
    let mut tx = state.db.begin().await?;
    let id = wdb::create_shared(&mut tx, &name, &who.user.id, state.clock.now()).await?;
    let row = wdb::get_for(&mut *tx, &id, &who.user.id)
        .await?
        .ok_or_else(AppError::not_found)?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkspaceBody {
            workspace: view(row),
        }),
    ))
}

/// One of your workspaces.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}", tag = "workspaces", operation_id = "getWorkspace",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    responses(
        (status = 200, description = "The workspace", body = WorkspaceBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn get_workspace(member: WorkspaceMember) -> Result<Json<WorkspaceBody>> {
    Ok(Json(WorkspaceBody {
        workspace: view(member.workspace),
    }))
}

/// The members of a workspace you belong to.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/members", tag = "workspaces", operation_id = "listMembers",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"), pagination::PageQuery),
    responses(
        (status = 200, description = "A page of members", body = Page<Member>),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    member: WorkspaceMember,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<Member>>> {
    let id = member.workspace.id;
    let limit = q.limit()?;
    let rows = wdb::members(&state.db.pool, &id, q.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |m| (m.joined_at, m.user_id.clone()));
    let items = rows
        .into_iter()
        .map(|m| Member {
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            role: m.role,
            joined_at: rfc3339(m.joined_at),
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// Invite someone by email (owners). Always 202 whatever the email: an invitation mail goes
/// out unless that person is already a member.
#[utoipa::path(post, path = "/api/v1/workspaces/{id}/members", tag = "workspaces", operation_id = "inviteMember",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    request_body = InviteRequest,
    responses(BodyErrors,
        (status = 202, description = "Accepted", body = StatusBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`personal_workspace`: a personal workspace has no other members", body = ErrorBody)))]
async fn invite_member(
    State(state): State<AppState>,
    Fresh(InWorkspace {
        who, workspace: w, ..
    }): Fresh<WorkspaceOwner>,
    AppJson(req): AppJson<InviteRequest>,
) -> Result<(StatusCode, Json<StatusBody>)> {
    let id = w.id.clone();
    if w.personal {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "personal_workspace",
            "A personal workspace has no other members.",
        ));
    }
    let email = Email::parse(&req.email).map_err(|m| AppError::field("email", m))?;
    if !matches!(req.role.as_str(), "owner" | "member") {
        return Err(AppError::field("role", "must be owner or member"));
    }
    let mut tx = state.db.begin().await?;
    let already = match db::users::by_email(&mut *tx, &email.normalized).await? {
        Some(u) => wdb::role_of(&mut *tx, &id, &u.id).await?.is_some(),
        None => false,
    };
    if !already {
        let token = random_token();
        let now = state.clock.now();
        let invitation = wdb::NewInvitation {
            workspace_id: &id,
            email_normalized: &email.normalized,
            role: &req.role,
            token_hash: &sha256_hex(token.as_bytes()),
            invited_by: &who.user.id,
            now,
            ttl: INVITATION_TTL,
        };
        wdb::insert_invitation(&mut *tx, invitation).await?;
        let template = Template::Invitation {
            inviter: who.user.name.clone(),
            workspace: w.name.clone(),
            token,
        };
        state
            .mail
            .enqueue(&mut tx, &email.display, template)
            .await?;
    }
    tx.commit().await?;
    state.mail.wake();
    Ok((StatusCode::ACCEPTED, Json(StatusBody::accepted())))
}

/// Remove a member (owners), or leave (anyone, removing themselves). The last owner cannot
/// leave or be removed. The removed member's keys for this workspace are revoked at once, and
/// the invitations they sent that are still pending are deleted.
#[utoipa::path(delete, path = "/api/v1/workspaces/{id}/members/{userId}", tag = "workspaces", operation_id = "removeMember",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"), ("userId" = String, Path, description = "Member's user id", example = "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`last_owner`", body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(InWorkspace { who, .. }): Fresh<InWorkspace<OwnerOrSelf>>,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    wdb::lock(&mut tx, state.db.backend, &id).await?;
    let Some(role) = wdb::role_of(&mut *tx, &id, &user_id).await? else {
        return Err(AppError::not_found());
    };
    if user_id != who.user.id {
        still_owner(&mut tx, &id, &who.user.id).await?;
    }
    if role == "owner" && wdb::owner_count(&mut *tx, &id).await? <= 1 {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "last_owner",
            "A workspace needs at least one owner.",
        ));
    }
    wdb::remove_member(&mut *tx, &id, &user_id).await?;
    let hashes = wdb::revoke_member_keys(&mut *tx, &id, &user_id, state.clock.now()).await?;
    // Their invitations go with them: a removed owner must not get back in through one.
    wdb::delete_invitations_by(&mut *tx, Some(&id), &user_id).await?;
    let ev =
        Event::own("workspace.member_removed", &user_id, Outcome::Success).on("workspace", &id);
    audit::record(
        &mut tx,
        &state.clock,
        &meta,
        Event {
            actor_user_id: Some(&who.user.id),
            ..ev
        },
    )
    .await?;
    tx.commit().await?;
    for h in hashes {
        state.forget_key(&h).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Your workspace's pending invitations (owners), newest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/invitations", tag = "workspaces", operation_id = "listInvitations",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"), pagination::PageQuery),
    responses(
        (status = 200, description = "A page of invitations", body = Page<Invitation>),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn list_invitations(
    State(state): State<AppState>,
    owner: WorkspaceOwner,
    AppQuery(q): AppQuery<pagination::PageQuery>,
) -> Result<Json<Page<Invitation>>> {
    let id = owner.workspace.id;
    let limit = q.limit()?;
    let now = state.clock.now();
    let rows = wdb::pending_invitations(&state.db.pool, &id, now, q.after()?, limit + 1).await?;
    let (rows, next_cursor) = pagination::finish(rows, limit, |i| (i.created_at, i.id.clone()));
    let items = rows
        .into_iter()
        .map(|i| Invitation {
            id: i.id,
            email: i.email_normalized,
            role: i.role,
            invited_by: i.invited_by,
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// Revoke a pending invitation (owners): its link stops working.
#[utoipa::path(delete, path = "/api/v1/workspaces/{id}/invitations/{invitationId}", tag = "workspaces", operation_id = "revokeInvitation",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d"),
        ("invitationId" = String, Path, description = "Invitation id", example = "0193b6fa-8b9c-7d0e-b56a-2b3c4d5e6f7a")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`not_found`: no such workspace, or no pending invitation with that id", body = ErrorBody)))]
async fn revoke_invitation(
    State(state): State<AppState>,
    meta: RequestMeta,
    InWorkspace { who, .. }: WorkspaceOwner,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !wdb::delete_invitation(&mut *tx, &id, &invitation_id).await? {
        return Err(AppError::not_found());
    }
    let ev = Event::own(
        "workspace.invitation_revoked",
        &who.user.id,
        Outcome::Success,
    )
    .on("invitation", &invitation_id);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation. The signed-in user's verified email must be the invited one.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "workspaces", operation_id = "acceptInvitation",
    request_body = TokenRequest,
    responses(BodyErrors,
        (status = 200, description = "You are a member now", body = WorkspaceBody),
        (status = 400, description = "`invalid_token`: unknown, used, revoked or expired (7 days), or its sender is no longer a member (an owner, for an owner invitation)", body = ErrorBody),
        (status = 403, description = "`invitation_email_mismatch` (your email is not the invited one) or `email_not_verified`", body = ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    AppJson(req): AppJson<TokenRequest>,
) -> Result<Json<WorkspaceBody>> {
    let hash = sha256_hex(req.token.as_bytes());
    let now = state.clock.now();
    let invitation = wdb::peek_invitation(&state.db.pool, &hash, now)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let (workspace_id, email, role) = (
        invitation.workspace_id,
        invitation.email_normalized,
        invitation.role,
    );
    if who.user.email_verified_at.is_none() {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "Verify your email address first.",
        ));
    }
    if crate::email::normalize(&who.user.email) != email {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "invitation_email_mismatch",
            "This invitation was sent to another email address. Sign in with that one.",
        ));
    }
    let mut tx = state.db.begin().await?;
    wdb::lock(&mut tx, state.db.backend, &workspace_id).await?;
    // An invitation is worth what its sender still is: an owner invitation from someone who is
    // no longer an owner (nor one from someone no longer a member) makes nobody anything.
    let inviter = wdb::role_of(&mut *tx, &workspace_id, &invitation.invited_by).await?;
    if inviter.is_none() || (role == "owner" && inviter.as_deref() != Some("owner")) {
        return Err(AppError::invalid_token());
    }
    if !wdb::accept_invitation(&mut *tx, &hash, now).await? {
        return Err(AppError::invalid_token());
    }
    if wdb::add_member(&mut *tx, &workspace_id, &who.user.id, &role, now).await? {
        let ev = Event::own("workspace.member_added", &who.user.id, Outcome::Success)
            .on("workspace", &workspace_id);
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    let row = wdb::get_for(&mut *tx, &workspace_id, &who.user.id)
        .await?
        .ok_or_else(AppError::not_found)?;
    tx.commit().await?;
    Ok(Json(WorkspaceBody {
        workspace: view(row),
    }))
}

//! The end of a shared workspace's life as it was: handing it to another member, or deleting
//! it with everything in it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use shared::{workspaces::TransferRequest, ErrorBody};

use crate::{
    access::{Fresh, WorkspaceOwner},
    audit::{self, Event, Outcome},
    db::workspaces as wdb,
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
    tarabut::UpstreamErrors,
    web::{responses::BodyErrors, AppJson},
};

fn personal() -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        "personal_workspace",
        "Your personal workspace is yours alone: it goes with your account.",
    )
}

/// Make another member the owner, and yourself a member (owners; step-up). Keys stay: they
/// belong to the workspace, and the new owner sees and manages them with the others.
#[utoipa::path(post, path = "/api/v1/workspaces/{id}/transfer", tag = "workspaces", operation_id = "transferWorkspace",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    request_body = TransferRequest,
    responses(BodyErrors,
        (status = 204, description = "Transferred: they are an owner, you a member"),
        (status = 409, description = "`personal_workspace`: a personal workspace has one owner", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `userId` is not another member of this workspace", body = ErrorBody)))]
pub(super) async fn transfer(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(owner): Fresh<WorkspaceOwner>,
    Path(id): Path<String>,
    AppJson(req): AppJson<TransferRequest>,
) -> Result<StatusCode> {
    if owner.workspace.personal {
        return Err(personal());
    }
    let me = &owner.who.user.id;
    let not_member = || AppError::field("userId", "must be another member of this workspace");
    if &req.user_id == me {
        return Err(not_member());
    }
    let mut tx = state.db.begin().await?;
    wdb::lock(&mut tx, state.db.backend, &id).await?;
    if wdb::role_of(&mut *tx, &id, &req.user_id).await?.is_none() {
        return Err(not_member());
    }
    super::still_owner(&mut tx, &id, me).await?;
    wdb::set_role(&mut *tx, &id, &req.user_id, "owner").await?;
    wdb::set_role(&mut *tx, &id, me, "member").await?;
    for (user, kind) in [
        (me.as_str(), "workspace.transferred"),
        (req.user_id.as_str(), "workspace.received"),
    ] {
        let ev = Event {
            actor_user_id: Some(me),
            ..Event::own(kind, user, Outcome::Success).on("workspace", &id)
        };
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a shared workspace and everything in it (owners; step-up): its bank connections'
/// consents are revoked at Tarabut first (when Tarabut fails, nothing is deleted: try again),
/// then its members, keys, accounts, transactions, budgets, invitations and bank data are
/// deleted. Not undoable.
#[utoipa::path(delete, path = "/api/v1/workspaces/{id}", tag = "workspaces", operation_id = "deleteWorkspace",
    params(("id" = String, Path, description = "Workspace id", example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")),
    responses(
        (status = 204, description = "Deleted; its keys stopped working"),
        (status = 409, description = "`personal_workspace`: deleting your account deletes it", body = ErrorBody),
        UpstreamErrors))]
pub(super) async fn delete(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(owner): Fresh<WorkspaceOwner>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if owner.workspace.personal {
        return Err(personal());
    }
    // The bank's consent goes first: a workspace gone from here must not leave access behind
    // at the bank.
    state.banks.revoke_consents_in(&state.db, &id).await?;
    let me = &owner.who.user.id;
    let mut tx = state.db.begin().await?;
    wdb::lock(&mut tx, state.db.backend, &id).await?;
    super::still_owner(&mut tx, &id, me).await?;
    let members = wdb::member_ids(&mut *tx, &id).await?;
    let hashes = wdb::delete(&mut tx, &id).await?;
    for user in &members {
        let ev = Event {
            actor_user_id: Some(me),
            ..Event::own("workspace.deleted", user, Outcome::Success).on("workspace", &id)
        };
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    tx.commit().await?;
    for h in hashes {
        state.forget_key(&h).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

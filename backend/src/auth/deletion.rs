//! Deleting an account, by its owner (`DELETE /api/v1/auth/me`) or an administrator: what
//! goes, in which order, and the one mail that follows.

use axum::{extract::State, http::StatusCode};
use shared::{DeleteAccountRequest, ErrorBody};

use crate::{
    access::{Fresh, SessionUser},
    audit::{self, Event, Outcome},
    db::{self, users::UserRow, workspaces as wdb},
    email::normalize as normalize_email,
    error::{AppError, Result},
    mail::Template,
    request_meta::RequestMeta,
    state::AppState,
    tarabut::UpstreamErrors,
    web::{responses::BodyErrors, AppJson},
};

/// Deletes `user` and everything that is only theirs; `admin` is the administrator doing it,
/// if it is not the user. Refused (409 `sole_owner`, naming them) while the user is the only
/// owner of a shared workspace. The personal workspace's bank consents are revoked at Tarabut
/// first; when Tarabut fails, nothing is deleted.
pub async fn delete_account(
    state: &AppState,
    meta: &RequestMeta,
    user: &UserRow,
    admin: Option<&str>,
) -> Result<()> {
    // Checked first so that nothing is revoked at Tarabut for a deletion that cannot happen;
    // checked again under the workspaces' locks below.
    refuse_if_sole_owner(wdb::solely_owned(&state.db.pool, &user.id).await?)?;
    let personal = wdb::personal_of(&state.db.pool, &user.id).await?;
    if let Some(ws) = &personal {
        state.banks.revoke_consents_in(&state.db, ws).await?;
    }
    let pseudonym = format!("deleted-{}", db::new_id());
    let mut tx = state.db.begin().await?;
    // Recorded first, so that it is pseudonymised with the rest.
    let ev = Event {
        actor_user_id: Some(admin.unwrap_or(&user.id)),
        ..Event::own("user.deleted", &user.id, Outcome::Success)
    };
    audit::record(&mut tx, &state.clock, meta, ev).await?;
    // A co-owner may have left one of these workspaces since the check above: under their
    // locks (and, on SQLite, the write lock the audit row took), no one can now.
    for ws in wdb::owned_shared(&mut *tx, &user.id).await? {
        wdb::lock(&mut tx, state.db.backend, &ws).await?;
    }
    refuse_if_sole_owner(wdb::solely_owned(&mut *tx, &user.id).await?)?;
    let mut hashes = match &personal {
        Some(ws) => wdb::delete(&mut tx, ws).await?,
        None => Vec::new(),
    };
    let email_key = normalize_email(&user.email);
    hashes.extend(db::users::forget(&mut tx, &user.id, &email_key, &pseudonym).await?);
    tx.commit().await?;
    state.forget_user(&user.id).await;
    for h in hashes {
        state.forget_key(&h).await;
    }
    // The last mail to the address, sent without the outbox so no row keeps it.
    let (mail, to) = (state.mail.clone(), user.email.clone());
    let template = Template::AccountDeleted {
        name: user.name.clone(),
        by_admin: admin.is_some(),
    };
    tokio::spawn(async move {
        if let Err(e) = mail.send_once(&to, template).await {
            tracing::warn!(error = %e, "the account-deleted mail was not sent");
        }
    });
    Ok(())
}

/// 409 `sole_owner`, naming the shared workspaces the account is the only owner of.
fn refuse_if_sole_owner(sole: Vec<String>) -> Result<()> {
    if sole.is_empty() {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::CONFLICT,
        "sole_owner",
        format!(
            "The account is the only owner of {}: hand each to another member, or delete it, first.",
            sole.join(", ")
        ),
    ))
}

/// Delete your account (step-up; send your email address to confirm). Your personal workspace
/// and its data, your keys (in every workspace), sessions, sign-in methods, second factors,
/// links, invitations and memberships go; the banks connected in your personal workspace stop
/// sharing data (their consents are revoked). Shared workspaces stay with their other members,
/// so one you are the only owner of blocks this (409 `sole_owner`): hand it over
/// (`POST /api/v1/workspaces/{id}/transfer`) or delete it first. Your audit rows stay, with you
/// reduced to an opaque id. A last mail confirms it. Not undoable.
#[utoipa::path(delete, path = "/api/v1/auth/me", tag = "auth", operation_id = "deleteMe",
    request_body = DeleteAccountRequest,
    responses(BodyErrors,
        (status = 204, description = "Deleted; the session cookie no longer works"),
        (status = 409, description = "`sole_owner`: the message names the shared workspaces to hand over or delete first", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `email` is not this account's address", body = ErrorBody),
        UpstreamErrors))]
pub(super) async fn delete_me(
    State(state): State<AppState>,
    meta: RequestMeta,
    Fresh(who): Fresh<SessionUser>,
    AppJson(req): AppJson<DeleteAccountRequest>,
) -> Result<StatusCode> {
    let user = &who.user;
    if normalize_email(&req.email) != normalize_email(&user.email) {
        return Err(AppError::field(
            "email",
            "must be this account's email address",
        ));
    }
    delete_account(&state, &meta, user, None).await?;
    who.session.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

//! What the signed-in user may change about their own account.

use axum::{extract::State, Json};
use shared::{validate::check_name, UpdateProfileRequest, UserBody};

use super::user_view;
use crate::{
    access::SessionUser,
    audit::{self, Event, Outcome},
    db,
    error::{AppError, Result},
    request_meta::RequestMeta,
    state::AppState,
    web::{responses::BodyErrors, AppJson},
};

/// Change the signed-in user's name (the rules of sign-up: 1–100 characters after trimming,
/// no control characters).
#[utoipa::path(patch, path = "/api/v1/auth/me", tag = "auth", operation_id = "updateMe",
    request_body = UpdateProfileRequest,
    responses(BodyErrors,
        (status = 200, description = "The user as changed", body = UserBody)))]
pub(super) async fn update_me(
    State(state): State<AppState>,
    meta: RequestMeta,
    who: SessionUser,
    AppJson(req): AppJson<UpdateProfileRequest>,
) -> Result<Json<UserBody>> {
    let name = check_name(&req.name).map_err(|m| AppError::field("name", m))?;
    let id = &who.user.id;
    let mut tx = state.db.begin().await?;
    db::users::set_name(&mut *tx, id, &name, state.clock.now()).await?;
    let ev = Event::own("user.profile_updated", id, Outcome::Success);
    audit::record(&mut tx, &state.clock, &meta, ev).await?;
    let user = db::users::by_id(&mut *tx, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let view = user_view(&mut tx, &user).await?;
    tx.commit().await?;
    // The cached user carries the name (and `GET /api/v1/auth/me`'s answer).
    state.forget_user(id).await;
    Ok(Json(UserBody { user: view }))
}

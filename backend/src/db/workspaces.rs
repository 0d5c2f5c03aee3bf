//! `workspaces` and `workspace_members`.

use sqlx::{Any, AnyConnection, Executor};

/// Creates the user's personal workspace with them as owner; returns its id.
pub async fn create_personal(
    conn: &mut AnyConnection,
    user_id: &str,
    now: i64,
) -> sqlx::Result<String> {
    let id = super::new_id();
    sqlx::query("insert into workspaces (id, name, personal_owner_id, created_at) values ($1, 'Personal', $2, $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("insert into workspace_members (workspace_id, user_id, role, created_at) values ($1, $2, 'owner', $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub async fn personal_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select id from workspaces where personal_owner_id = $1")
        .bind(user_id)
        .fetch_optional(e)
        .await
}

/// The user's role in the workspace, if they are a member.
pub async fn role_of<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    user_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select role from workspace_members where workspace_id = $1 and user_id = $2",
    )
    .bind(workspace_id)
    .bind(user_id)
    .fetch_optional(e)
    .await
}

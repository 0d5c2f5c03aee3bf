//! `bank_intents`: Connect flows in progress; and each workspace's Tarabut customer id.

use sqlx::{Any, AnyConnection, Executor, Row};

pub struct IntentRow {
    pub intent_id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub customer_user_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The connection the flow produced, once completed.
    pub connection_id: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_intent<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
    workspace_id: &str,
    user_id: &str,
    customer: &str,
    provider_id: Option<&str>,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into bank_intents (intent_id, workspace_id, user_id, customer_user_id, provider_id, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(intent_id)
    .bind(workspace_id)
    .bind(user_id)
    .bind(customer)
    .bind(provider_id)
    .bind(now)
    .bind(expires_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn intent<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
) -> sqlx::Result<Option<IntentRow>> {
    sqlx::query(
        "select intent_id, workspace_id, user_id, customer_user_id, expires_at, used_at, connection_id
         from bank_intents where intent_id = $1",
    )
    .bind(intent_id)
    .fetch_optional(e)
    .await?
    .map(|r| {
        Ok(IntentRow {
            intent_id: r.try_get("intent_id")?,
            workspace_id: r.try_get("workspace_id")?,
            user_id: r.try_get("user_id")?,
            customer_user_id: r.try_get("customer_user_id")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
            connection_id: r.try_get("connection_id")?,
        })
    })
    .transpose()
}

/// Marks the intent used; false when another callback got there first.
pub async fn use_intent<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update bank_intents set used_at = $2 where intent_id = $1 and used_at is null",
    )
    .bind(intent_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records the connection a completed intent produced.
pub async fn set_intent_connection<'c>(
    e: impl Executor<'c, Database = Any>,
    intent_id: &str,
    connection_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("update bank_intents set connection_id = $2 where intent_id = $1")
        .bind(intent_id)
        .bind(connection_id)
        .execute(e)
        .await?;
    Ok(())
}

/// The workspace's Tarabut customer id: the stored one, or a new random one stored now (the
/// first Connect of a workspace; concurrent first Connects agree on one).
pub async fn customer_of(conn: &mut AnyConnection, workspace_id: &str) -> sqlx::Result<String> {
    let fresh = format!("pfn{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "update workspaces set tarabut_customer_id = $2
         where id = $1 and tarabut_customer_id is null",
    )
    .bind(workspace_id)
    .bind(&fresh)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("select tarabut_customer_id from workspaces where id = $1")
        .bind(workspace_id)
        .fetch_one(&mut *conn)
        .await
}

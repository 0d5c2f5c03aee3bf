//! `audit_log`: append-only security events.

use sqlx::{Any, Executor};

pub struct AuditRow<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub occurred_at: i64,
    pub user_id: Option<&'a str>,
    pub actor_user_id: Option<&'a str>,
    pub actor_key_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
}

pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, r: AuditRow<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (id, type, occurred_at, user_id, actor_user_id, actor_key_id, ip,
                                user_agent, target_type, target_id, outcome)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(r.id)
    .bind(r.kind)
    .bind(r.occurred_at)
    .bind(r.user_id)
    .bind(r.actor_user_id)
    .bind(r.actor_key_id)
    .bind(r.ip)
    .bind(r.user_agent)
    .bind(r.target_type)
    .bind(r.target_id)
    .bind(r.outcome)
    .execute(e)
    .await?;
    Ok(())
}

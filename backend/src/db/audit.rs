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

pub struct AuditListRow {
    pub id: String,
    pub kind: String,
    pub occurred_at: i64,
    pub actor_user_id: Option<String>,
    pub actor_key_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
}

/// The user's events, newest first, optionally for one key and/or one type, after the cursor.
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    key_id: Option<&str>,
    kind: Option<&str>,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<AuditListRow>> {
    use sqlx::Row;
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    let rows = sqlx::query(
        "select id, type, occurred_at, actor_user_id, actor_key_id, ip, user_agent, target_type, target_id, outcome
         from audit_log
         where user_id = $1
           and ($2 = '' or actor_key_id = $2 or (target_type = 'api_key' and target_id = $2))
           and ($3 = '' or type = $3)
           and (occurred_at < $4 or (occurred_at = $4 and id < $5))
         order by occurred_at desc, id desc limit $6",
    )
    .bind(user_id)
    .bind(key_id.unwrap_or(""))
    .bind(kind.unwrap_or(""))
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AuditListRow {
                id: r.try_get("id")?,
                kind: r.try_get("type")?,
                occurred_at: r.try_get("occurred_at")?,
                actor_user_id: r.try_get("actor_user_id")?,
                actor_key_id: r.try_get("actor_key_id")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                target_type: r.try_get("target_type")?,
                target_id: r.try_get("target_id")?,
                outcome: r.try_get("outcome")?,
            })
        })
        .collect()
}

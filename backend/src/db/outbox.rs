//! `mail_outbox`: mail waiting to be sent, claimed by one worker at a time.

use sqlx::{Any, Executor, Row};

pub struct NewMail<'a> {
    pub id: &'a str,
    pub recipient: &'a str,
    pub recipient_key: &'a str,
    pub subject: &'a str,
    pub body_sealed: &'a str,
    pub now: i64,
}

pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, m: NewMail<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into mail_outbox (id, recipient, recipient_key, subject, body_sealed, created_at, next_attempt_at)
         values ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(m.id)
    .bind(m.recipient)
    .bind(m.recipient_key)
    .bind(m.subject)
    .bind(m.body_sealed)
    .bind(m.now)
    .execute(e)
    .await?;
    Ok(())
}

/// Mail queued for a recipient since `since` (the per-recipient hourly cap).
pub async fn count_recent<'c>(
    e: impl Executor<'c, Database = Any>,
    recipient_key: &str,
    since: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from mail_outbox where recipient_key = $1 and created_at > $2",
    )
    .bind(recipient_key)
    .bind(since)
    .fetch_one(e)
    .await
}

/// `(id, sealed body)` of every mail not sent and not given up on.
pub async fn unsent_bodies<'c>(
    e: impl Executor<'c, Database = Any>,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "select id, body_sealed from mail_outbox
         where sent_at is null and failed_at is null and body_sealed is not null",
    )
    .fetch_all(e)
    .await
}

/// Replaces a mail's sealed body, unless it changed meanwhile (it was sent and wiped).
pub async fn replace_body<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    old: &str,
    new: &str,
) -> sqlx::Result<()> {
    sqlx::query("update mail_outbox set body_sealed = $3 where id = $1 and body_sealed = $2")
        .bind(id)
        .bind(old)
        .bind(new)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn due_ids<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select id from mail_outbox
         where sent_at is null and failed_at is null and next_attempt_at <= $1
           and (locked_until is null or locked_until < $1)
         order by created_at limit $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await
}

pub struct ClaimedMail {
    pub recipient: String,
    pub subject: String,
    pub body_sealed: String,
    pub attempts: i64,
}

/// Takes a lease on one mail; `None` if another worker holds it or it is done.
pub async fn claim<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
    lease_secs: i64,
) -> sqlx::Result<Option<ClaimedMail>> {
    let row = sqlx::query(
        "update mail_outbox set locked_until = $2
         where id = $1 and sent_at is null and failed_at is null
           and (locked_until is null or locked_until < $3)
         returning recipient, subject, body_sealed, attempts",
    )
    .bind(id)
    .bind(now + lease_secs)
    .bind(now)
    .fetch_optional(e)
    .await?;
    row.map(|r| {
        Ok(ClaimedMail {
            recipient: r.try_get("recipient")?,
            subject: r.try_get("subject")?,
            body_sealed: r
                .try_get::<Option<String>, _>("body_sealed")?
                .unwrap_or_default(),
            attempts: r.try_get("attempts")?,
        })
    })
    .transpose()
}

/// Sent: the sealed body is wiped, the row stays as a record (and for the hourly cap).
pub async fn mark_sent<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update mail_outbox set sent_at = $2, body_sealed = null, locked_until = null,
                attempts = attempts + 1, last_error = null where id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// A failed attempt: retry at `retry_at`, or give up (`failed_at`, body wiped) when `None`.
pub async fn mark_failed<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
    retry_at: Option<i64>,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update mail_outbox set attempts = attempts + 1, locked_until = null, last_error = $4,
                next_attempt_at = coalesce($3, next_attempt_at),
                failed_at = case when $3 is null then $2 else null end,
                body_sealed = case when $3 is null then null else body_sealed end
         where id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(retry_at)
    .bind(error)
    .execute(e)
    .await?;
    Ok(())
}

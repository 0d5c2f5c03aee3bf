//! `email_tokens`: single-use, hashed, expiring tokens sent by mail.

use sqlx::{Any, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    token_hash: &str,
    user_id: &str,
    purpose: Purpose,
    now: i64,
    ttl_secs: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into email_tokens (token_hash, user_id, purpose, created_at, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(now + ttl_secs)
    .execute(e)
    .await?;
    Ok(())
}

/// The user a live token belongs to, without using it (to validate a new password first).
pub async fn peek<'c>(
    e: impl Executor<'c, Database = Any>,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select user_id from email_tokens
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(e)
    .await
}

/// Uses a token in one statement, so two concurrent uses cannot both succeed.
/// Returns the user id, or `None` if the token is unknown, used or expired.
pub async fn consume<'c>(
    e: impl Executor<'c, Database = Any>,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "update email_tokens set used_at = $3
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3
         returning user_id",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(e)
    .await
}

/// Retires every live link of the user, whatever its purpose.
pub async fn retire_every<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update email_tokens set used_at = $2 where user_id = $1 and used_at is null")
        .bind(user_id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// A new link supersedes older ones of the same purpose.
pub async fn retire_all<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    purpose: Purpose,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update email_tokens set used_at = $3
         where user_id = $1 and purpose = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

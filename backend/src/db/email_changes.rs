//! `email_changes`: requests to move an account to another address, with their two links.
//!
//! Each link is taken in one `update … returning`, so two uses of it (on any replica) cannot
//! both succeed.

use sqlx::{any::AnyRow, Any, Executor, Row};

/// What [`insert`] writes.
pub struct NewChange<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub old_email: &'a str,
    pub old_email_normalized: &'a str,
    pub new_email: &'a str,
    pub new_email_normalized: &'a str,
    pub confirm_hash: &'a str,
    pub cancel_hash: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub cancel_until: i64,
}

pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    c: NewChange<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into email_changes (id, user_id, old_email, old_email_normalized, new_email,
             new_email_normalized, confirm_hash, cancel_hash, created_at, expires_at, cancel_until)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(c.id)
    .bind(c.user_id)
    .bind(c.old_email)
    .bind(c.old_email_normalized)
    .bind(c.new_email)
    .bind(c.new_email_normalized)
    .bind(c.confirm_hash)
    .bind(c.cancel_hash)
    .bind(c.now)
    .bind(c.expires_at)
    .bind(c.cancel_until)
    .execute(e)
    .await?;
    Ok(())
}

/// A change whose confirmation link is still open: `(new_email, expires_at)`.
pub async fn pending<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(
        "select new_email, expires_at from email_changes
         where user_id = $1 and confirmed_at is null and closed_at is null and expires_at > $2
         order by created_at desc, id desc limit 1",
    )
    .bind(user_id)
    .bind(now)
    .fetch_optional(e)
    .await
}

/// Closes every change of the user that could still be confirmed (a newer request supersedes
/// them; a cancel or a withdrawal ends them); how many there were.
pub async fn close_pending<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "update email_changes set closed_at = $2
         where user_id = $1 and confirmed_at is null and closed_at is null",
    )
    .bind(user_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected())
}

/// A change whose link was just used.
#[derive(Debug)]
pub struct Taken {
    pub user_id: String,
    pub old_email: String,
    pub old_email_normalized: String,
    pub new_email: String,
    pub new_email_normalized: String,
}

fn taken(r: AnyRow) -> sqlx::Result<Taken> {
    Ok(Taken {
        user_id: r.try_get("user_id")?,
        old_email: r.try_get("old_email")?,
        old_email_normalized: r.try_get("old_email_normalized")?,
        new_email: r.try_get("new_email")?,
        new_email_normalized: r.try_get("new_email_normalized")?,
    })
}

const TAKEN: &str =
    "returning user_id, old_email, old_email_normalized, new_email, new_email_normalized";

/// Uses a confirmation link: open, not closed, not expired. `None` when it is unknown, used,
/// closed or expired.
pub async fn confirm<'c>(
    e: impl Executor<'c, Database = Any>,
    confirm_hash: &str,
    now: i64,
) -> sqlx::Result<Option<Taken>> {
    sqlx::query(&format!(
        "update email_changes set confirmed_at = $2
         where confirm_hash = $1 and confirmed_at is null and closed_at is null
               and expires_at > $2
         {TAKEN}"
    ))
    .bind(confirm_hash)
    .bind(now)
    .fetch_optional(e)
    .await?
    .map(taken)
    .transpose()
}

/// Uses a "this wasn't me" link: once, within its window, whether or not the change was
/// confirmed (or superseded). `None` when it is unknown, used or past its window.
pub async fn cancel<'c>(
    e: impl Executor<'c, Database = Any>,
    cancel_hash: &str,
    now: i64,
) -> sqlx::Result<Option<Taken>> {
    sqlx::query(&format!(
        "update email_changes set cancelled_at = $2, closed_at = coalesce(closed_at, $2)
         where cancel_hash = $1 and cancelled_at is null and cancel_until > $2
         {TAKEN}"
    ))
    .bind(cancel_hash)
    .bind(now)
    .fetch_optional(e)
    .await?
    .map(taken)
    .transpose()
}

/// After the old address was restored: every other link of the user stops working (each
/// would move the account again).
pub async fn close_all<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update email_changes set closed_at = coalesce(closed_at, $2),
                                  cancelled_at = coalesce(cancelled_at, $2)
         where user_id = $1",
    )
    .bind(user_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Who holds an address: the account using it now (`current`), or one that moved away from it
/// and can still take it back.
pub struct Holder {
    pub user_id: String,
    pub current: bool,
}

/// The account that holds `email_normalized`, leaving `except` out: an address held this way
/// is not free for anyone else (sign-up, another account's email change).
pub async fn holder(
    conn: &mut sqlx::AnyConnection,
    email_normalized: &str,
    except: Option<&str>,
    now: i64,
) -> sqlx::Result<Option<Holder>> {
    if let Some(u) = super::users::by_email(&mut *conn, email_normalized).await? {
        return Ok((Some(u.id.as_str()) != except).then_some(Holder {
            user_id: u.id,
            current: true,
        }));
    }
    let reserved = reserved_by(&mut *conn, email_normalized, except, now).await?;
    Ok(reserved.map(|user_id| Holder {
        user_id,
        current: false,
    }))
}

/// The account (other than `except`) that holds `email_normalized` as an address it moved
/// away from and can still take back.
async fn reserved_by<'c>(
    e: impl Executor<'c, Database = Any>,
    email_normalized: &str,
    except: Option<&str>,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select user_id from email_changes
         where old_email_normalized = $1 and confirmed_at is not null and cancelled_at is null
               and cancel_until > $2 and user_id <> $3
         limit 1",
    )
    .bind(email_normalized)
    .bind(now)
    .bind(except.unwrap_or(""))
    .fetch_optional(e)
    .await
}

/// Retention: rows whose links no longer work (past the cancel window, or cancelled).
pub async fn sweep<'c>(e: impl Executor<'c, Database = Any>, now: i64) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "delete from email_changes where cancel_until <= $1 or cancelled_at is not null",
    )
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected())
}

//! `users` and `identities`.

use sqlx::{any::AnyRow, Any, Executor, Row};

#[derive(Debug, Clone, Default)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub email_verified_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, email, name, password_hash, role, email_verified_at, disabled_at, created_at";

fn from_row(r: AnyRow) -> sqlx::Result<UserRow> {
    Ok(UserRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        email_verified_at: r.try_get("email_verified_at")?,
        disabled_at: r.try_get("disabled_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query(&format!("select {COLUMNS} from users where id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(from_row)
        .transpose()
}

pub async fn by_email<'c>(
    e: impl Executor<'c, Database = Any>,
    email_normalized: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from users where email_normalized = $1"
    ))
    .bind(email_normalized)
    .fetch_optional(e)
    .await?
    .map(from_row)
    .transpose()
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    pub email_verified_at: Option<i64>,
    pub now: i64,
}

pub async fn insert<'c>(e: impl Executor<'c, Database = Any>, u: NewUser<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into users (id, email, email_normalized, name, password_hash, role,
                            email_verified_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(u.id)
    .bind(u.email)
    .bind(u.email_normalized)
    .bind(u.name)
    .bind(u.password_hash)
    .bind(u.role)
    .bind(u.email_verified_at)
    .bind(u.now)
    .execute(e)
    .await?;
    Ok(())
}

/// Renames the user.
pub async fn set_name<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    name: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update users set name = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Sets a new password hash; a completed reset also proves the mailbox, so it may verify.
pub async fn set_password<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    hash: &str,
    mark_verified: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update users set password_hash = $2, updated_at = $3,
                email_verified_at = case when $4 = 1 then coalesce(email_verified_at, $3)
                                         else email_verified_at end
         where id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(now)
    .bind(i64::from(mark_verified))
    .execute(e)
    .await?;
    Ok(())
}

/// Replaces the password only if it is still `expected` (the hash the caller verified against);
/// false when a concurrent reset or change got there first.
pub async fn replace_password<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    expected: &str,
    hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update users set password_hash = $3, updated_at = $4 where id = $1 and password_hash = $2",
    )
    .bind(id)
    .bind(expected)
    .bind(hash)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes the password: the account can only be entered through a set-password link or a
/// linked provider.
pub async fn clear_password<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update users set password_hash = null, updated_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Moves the account to another address, verified (a link sent there proved it).
pub async fn set_email<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    email: &str,
    email_normalized: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update users set email = $2, email_normalized = $3, updated_at = $4,
                email_verified_at = coalesce(email_verified_at, $4)
         where id = $1",
    )
    .bind(id)
    .bind(email)
    .bind(email_normalized)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// The user's linked identities of `provider` with the address each was linked with.
pub async fn identity_emails<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    provider: &str,
) -> sqlx::Result<Vec<(String, Option<String>)>> {
    sqlx::query_as("select subject, email from identities where user_id = $1 and provider = $2")
        .bind(user_id)
        .bind(provider)
        .fetch_all(e)
        .await
}

/// Unlinks one identity of the user.
pub async fn unlink_subject<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    provider: &str,
    subject: &str,
) -> sqlx::Result<()> {
    sqlx::query("delete from identities where user_id = $1 and provider = $2 and subject = $3")
        .bind(user_id)
        .bind(provider)
        .bind(subject)
        .execute(e)
        .await?;
    Ok(())
}

/// Marks the email verified; returns false if it already was.
pub async fn mark_verified<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update users set email_verified_at = $2, updated_at = $2
         where id = $1 and email_verified_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_role<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    role: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update users set role = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(role)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn linked_providers<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select provider from identities where user_id = $1 order by provider")
        .bind(user_id)
        .fetch_all(e)
        .await
}

/// Users whose email or name contains `q` (case-insensitive; empty = everyone), newest first,
/// after the cursor `(created_at, id)`.
pub async fn search<'c>(
    e: impl Executor<'c, Database = Any>,
    q: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<UserRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    // LIKE wildcards in the query are matched literally.
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = if q.is_empty() {
        String::new()
    } else {
        format!("%{escaped}%")
    };
    sqlx::query(&format!(
        "select {COLUMNS} from users
         where ($1 = '' or email_normalized like $1 escape '\\' or lower(name) like $1 escape '\\')
           and (created_at < $2 or (created_at = $2 and id < $3))
         order by created_at desc, id desc limit $4"
    ))
    .bind(pattern)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Disables (`Some(now)`) or enables (`None`) an account; false when nothing changed.
pub async fn set_disabled<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    disabled_at: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update users set disabled_at = $2, updated_at = $3
         where id = $1 and ((disabled_at is null) <> ($2 is null))",
    )
    .bind(user_id)
    .bind(disabled_at)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The stored hashes of every key the user made (to drop them from key caches).
pub async fn key_hashes<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select key_hash from api_keys where user_id = $1")
        .bind(user_id)
        .fetch_all(e)
        .await
}

/// The user an external identity belongs to.
pub async fn by_identity<'c>(
    e: impl Executor<'c, Database = Any>,
    provider: &str,
    subject: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select user_id from identities where provider = $1 and subject = $2")
        .bind(provider)
        .bind(subject)
        .fetch_optional(e)
        .await
}

/// Links an external identity; false when it is already linked (to anyone).
pub async fn link_identity<'c>(
    e: impl Executor<'c, Database = Any>,
    provider: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into identities (provider, subject, user_id, email, created_at) values ($1, $2, $3, $4, $5)
         on conflict (provider, subject) do nothing",
    )
    .bind(provider)
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Unlinks every external identity of the user; how many there were.
pub async fn unlink_all_identities<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from identities where user_id = $1")
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

pub async fn unlink_identity<'c>(
    e: impl Executor<'c, Database = Any>,
    provider: &str,
    user_id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from identities where provider = $1 and user_id = $2")
        .bind(provider)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Forgets a user: every row that names them goes (sessions, keys, identities, factors,
/// tokens, memberships and devices through the foreign keys; their sign-in failure count and
/// the mail addressed to them by `email_key`; invitations they sent or were sent), and their
/// audit rows keep their shape under `pseudonym`, without the addresses and browsers they came
/// from. Answers the hashes of the keys that went (to drop from caches).
pub async fn forget(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    email_key: &str,
    pseudonym: &str,
) -> sqlx::Result<Vec<String>> {
    let hashes = sqlx::query_scalar("select key_hash from api_keys where user_id = $1")
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    for sql in [
        "update audit_log set ip = null, user_agent = null, user_id = $2 where user_id = $1",
        "update audit_log set actor_user_id = $2 where actor_user_id = $1",
        "update audit_log set target_id = $2 where target_type = 'user' and target_id = $1",
    ] {
        sqlx::query(sql)
            .bind(user_id)
            .bind(pseudonym)
            .execute(&mut *conn)
            .await?;
    }
    for sql in [
        "delete from login_throttle where email_key = $1",
        "delete from mail_outbox where recipient_key = $1",
        "delete from invitations where email_normalized = $1",
    ] {
        sqlx::query(sql).bind(email_key).execute(&mut *conn).await?;
    }
    for sql in [
        "delete from invitations where invited_by = $1",
        "delete from users where id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
    }
    Ok(hashes)
}

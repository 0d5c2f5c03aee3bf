//! Second factors: `totp_factors` (an authenticator app per account), `recovery_codes` and
//! `mfa_challenges` (sign-ins waiting for a second factor).

use sqlx::{Any, AnyConnection, Executor, Row};

/// An account's authenticator app.
pub struct TotpRow {
    pub secret_sealed: String,
    pub confirmed_at: Option<i64>,
}

pub async fn totp<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<Option<TotpRow>> {
    sqlx::query("select secret_sealed, confirmed_at from totp_factors where user_id = $1")
        .bind(user_id)
        .fetch_optional(e)
        .await?
        .map(|r| {
            Ok(TotpRow {
                secret_sealed: r.try_get("secret_sealed")?,
                confirmed_at: r.try_get("confirmed_at")?,
            })
        })
        .transpose()
}

/// Whether the account has a confirmed second factor (a sign-in then waits for it).
pub async fn has_factor<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "select count(*) from totp_factors where user_id = $1 and confirmed_at is not null",
    )
    .bind(user_id)
    .fetch_one(e)
    .await?;
    Ok(n > 0)
}

/// Starts (or restarts) an enrolment: a new unconfirmed secret. Refused (false) while a
/// confirmed one exists.
pub async fn begin_totp(
    conn: &mut AnyConnection,
    user_id: &str,
    secret_sealed: &str,
    now: i64,
) -> sqlx::Result<bool> {
    sqlx::query("delete from totp_factors where user_id = $1 and confirmed_at is null")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let r = sqlx::query(
        "insert into totp_factors (user_id, secret_sealed, confirmed_at, last_step, created_at)
         values ($1, $2, null, 0, $3)
         on conflict (user_id) do nothing",
    )
    .bind(user_id)
    .bind(secret_sealed)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records that the code of `step` was accepted; false when that step (or a later one) already
/// was — a code is accepted once, whichever replica sees it.
pub async fn use_step<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    step: i64,
) -> sqlx::Result<bool> {
    let r =
        sqlx::query("update totp_factors set last_step = $2 where user_id = $1 and last_step < $2")
            .bind(user_id)
            .bind(step)
            .execute(e)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// Activates a pending enrolment; false when there was none.
pub async fn confirm_totp<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update totp_factors set confirmed_at = $2 where user_id = $1 and confirmed_at is null",
    )
    .bind(user_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The secret sealed again (under the current server secret, after a rotation).
pub async fn reseal_totp<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    secret_sealed: &str,
) -> sqlx::Result<()> {
    sqlx::query("update totp_factors set secret_sealed = $2 where user_id = $1")
        .bind(user_id)
        .bind(secret_sealed)
        .execute(e)
        .await?;
    Ok(())
}

/// Removes the authenticator, its recovery codes and any sign-in waiting for them; false
/// when there was no confirmed authenticator.
pub async fn remove_factors(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from totp_factors where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for table in ["recovery_codes", "mfa_challenges"] {
        sqlx::query(&format!("delete from {table} where user_id = $1"))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(r.rows_affected() > 0)
}

/// Replaces the account's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: &str,
    hashes: &[String],
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("delete from recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query(
            "insert into recovery_codes (user_id, code_hash, used_at, created_at)
             values ($1, $2, null, $3)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Uses one recovery code; false when it is not one of the account's unused codes.
pub async fn use_recovery_code<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    code_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update recovery_codes set used_at = $3
         where user_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn recovery_codes_left<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from recovery_codes where user_id = $1 and used_at is null")
        .bind(user_id)
        .fetch_one(e)
        .await
}

/// A sign-in waiting for its second factor.
pub struct Challenge {
    pub user_id: String,
    /// How the first step went: `password` or `google`.
    pub how: String,
}

pub async fn insert_challenge<'c>(
    e: impl Executor<'c, Database = Any>,
    id_hash: &str,
    c: &Challenge,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into mfa_challenges (id_hash, user_id, how, expires_at)
         values ($1, $2, $3, $4)",
    )
    .bind(id_hash)
    .bind(&c.user_id)
    .bind(&c.how)
    .bind(expires_at)
    .execute(e)
    .await?;
    Ok(())
}

/// The live challenge with this hash.
pub async fn challenge<'c>(
    e: impl Executor<'c, Database = Any>,
    id_hash: &str,
    now: i64,
) -> sqlx::Result<Option<Challenge>> {
    sqlx::query(
        "select user_id, how from mfa_challenges
         where id_hash = $1 and expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(e)
    .await?
    .map(|r| {
        Ok(Challenge {
            user_id: r.try_get("user_id")?,
            how: r.try_get("how")?,
        })
    })
    .transpose()
}

/// Ends a live challenge (used, or its account locked); true for the one caller that ended
/// it. Expired challenges are swept at the same time.
pub async fn take_challenge(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from mfa_challenges where id_hash = $1 and expires_at > $2")
        .bind(id_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from mfa_challenges where expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

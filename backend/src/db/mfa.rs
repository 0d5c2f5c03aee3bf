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

/// Whether the account has a confirmed authenticator app.
pub async fn has_totp<'c>(
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

/// Whether the account has a second factor — a confirmed authenticator app or a passkey — so
/// that a sign-in with the password (or Google) waits for it.
pub async fn has_factor<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "select (select count(*) from totp_factors where user_id = $1 and confirmed_at is not null)
              + (select count(*) from passkeys where user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(e)
    .await?;
    Ok(n > 0)
}

/// What completes this account's two-step sign-in: `totp`, `webauthn`, `recovery_code`.
pub async fn methods(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<Vec<String>> {
    let mut methods = Vec::new();
    if has_totp(&mut *conn, user_id).await? {
        methods.push("totp".to_string());
    }
    if crate::db::passkeys::count(&mut *conn, user_id).await? > 0 {
        methods.push("webauthn".to_string());
    }
    if recovery_codes_left(&mut *conn, user_id).await? > 0 {
        methods.push("recovery_code".to_string());
    }
    Ok(methods)
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

/// Removes the authenticator app; false when there was none. Recovery codes and waiting
/// sign-ins go too once no second factor is left ([`forget_if_no_factor`]).
pub async fn remove_totp(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from totp_factors where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    forget_if_no_factor(conn, user_id).await?;
    Ok(r.rows_affected() > 0)
}

/// Removes every second factor of the account: authenticator app, passkeys, recovery codes and
/// sign-ins waiting for them.
pub async fn remove_factors(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<()> {
    for table in ["totp_factors", "passkeys", "webauthn_ceremonies"] {
        sqlx::query(&format!("delete from {table} where user_id = $1"))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    forget_if_no_factor(conn, user_id).await
}

/// When the account has no second factor left, its recovery codes and the sign-ins waiting
/// for a second factor go: two-step sign-in is off.
pub async fn forget_if_no_factor(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<()> {
    if has_factor(&mut *conn, user_id).await? {
        return Ok(());
    }
    for table in ["recovery_codes", "mfa_challenges"] {
        sqlx::query(&format!("delete from {table} where user_id = $1"))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
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
    sweep_challenges(&mut *conn, now).await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the challenges that expired by `now`; how many.
pub async fn sweep_challenges<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query("delete from mfa_challenges where expires_at <= $1")
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

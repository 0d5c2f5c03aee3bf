//! `login_throttle`: consecutive failures and lockout per normalised email.

use sqlx::{Any, Executor};

/// `Some(until)` while locked.
pub async fn locked_until<'c>(
    e: impl Executor<'c, Database = Any>,
    email_key: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let until: Option<Option<i64>> =
        sqlx::query_scalar("select locked_until from login_throttle where email_key = $1")
            .bind(email_key)
            .fetch_optional(e)
            .await?;
    Ok(until.flatten().filter(|&t| t > now))
}

/// Counts one failure atomically; when it reaches `max`, locks until `now + lock_secs` and starts
/// counting afresh. Returns true when this failure caused the lock.
pub async fn record_failure<'c>(
    e: impl Executor<'c, Database = Any>,
    email_key: &str,
    now: i64,
    max: i64,
    lock_secs: i64,
) -> sqlx::Result<bool> {
    // One statement, so concurrent failures on several replicas cannot lose counts.
    let failures: i64 = sqlx::query_scalar(
        "insert into login_throttle (email_key, failures, locked_until, updated_at)
         values ($1, 1, null, $2)
         on conflict (email_key) do update set
             failures = case when login_throttle.failures + 1 >= $3 then 0
                             else login_throttle.failures + 1 end,
             locked_until = case when login_throttle.failures + 1 >= $3 then $4
                                 else login_throttle.locked_until end,
             updated_at = $2
         returning case when failures = 0 then $3 else failures end",
    )
    .bind(email_key)
    .bind(now)
    .bind(max)
    .bind(now + lock_secs)
    .fetch_one(e)
    .await?;
    Ok(failures >= max)
}

pub async fn clear<'c>(e: impl Executor<'c, Database = Any>, email_key: &str) -> sqlx::Result<()> {
    sqlx::query("delete from login_throttle where email_key = $1")
        .bind(email_key)
        .execute(e)
        .await?;
    Ok(())
}

/// The account moved from the address `from` to `to`: its failure count and lockout go with it
/// (the stricter of the two addresses' states), and `from` starts afresh.
pub async fn carry(conn: &mut sqlx::AnyConnection, from: &str, to: &str) -> sqlx::Result<()> {
    let old: Option<(i64, Option<i64>, i64)> = sqlx::query_as(
        "select failures, locked_until, updated_at from login_throttle where email_key = $1",
    )
    .bind(from)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((failures, locked_until, updated_at)) = old else {
        return Ok(());
    };
    clear(&mut *conn, from).await?;
    sqlx::query(
        "insert into login_throttle (email_key, failures, locked_until, updated_at)
         values ($1, $2, $3, $4)
         on conflict (email_key) do update set
             failures = case when login_throttle.failures > excluded.failures
                             then login_throttle.failures else excluded.failures end,
             locked_until = case when login_throttle.locked_until is null then excluded.locked_until
                                 when excluded.locked_until is null then login_throttle.locked_until
                                 when login_throttle.locked_until > excluded.locked_until
                                 then login_throttle.locked_until
                                 else excluded.locked_until end,
             updated_at = excluded.updated_at",
    )
    .bind(to)
    .bind(failures)
    .bind(locked_until)
    .bind(updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! Retention: what pfn stops keeping, once an hour, on one replica at a time (a lease in
//! `job_leases`). Expired and idle sessions; used or expired emailed links (email changes
//! once their 14-day "this wasn't me" link is used or over); sent or abandoned
//! mail older than 30 days (its address and subject; bodies are wiped when sent); sign-in
//! failure counts idle for a day and not locking anything (they are keyed by email); finished
//! or expired second-step and passkey ceremonies; audit rows older than
//! `PFN_AUDIT_RETENTION_DAYS` (default 400; 0 keeps them forever). Each run logs what it
//! removed.

use sqlx::{Any, Executor};

use crate::{db::Db, state::AppState};

const DAY: i64 = 86_400;
/// How long sent mail is kept (for "did the mail go out?" support questions).
pub const MAIL_DAYS: i64 = 30;
/// How long one replica holds the job once it ran it: the others skip it meanwhile.
const LEASE_SECS: i64 = 55 * 60;
const JOB: &str = "retention";

/// What a run removed, per kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub sessions: u64,
    pub tokens: u64,
    pub mail: u64,
    pub throttles: u64,
    pub challenges: u64,
    pub audit: u64,
    /// Deletions the change feed no longer reports.
    pub tombstones: u64,
}

/// `sql` with its `$n` parameters bound to `binds`; the rows it deleted.
async fn delete<'c>(
    e: impl Executor<'c, Database = Any>,
    sql: &str,
    binds: &[i64],
) -> sqlx::Result<u64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    Ok(q.execute(e).await?.rows_affected())
}

/// Removes what is past keeping at `now`.
pub async fn sweep(
    db: &Db,
    now: i64,
    idle_secs: i64,
    audit_days: u32,
    changes_days: u32,
) -> sqlx::Result<Removed> {
    let pool = &db.pool;
    let mut removed = Removed {
        sessions: crate::db::sessions::delete_expired(pool, now, idle_secs).await?,
        ..Removed::default()
    };
    removed.tokens = delete(
        pool,
        "delete from email_tokens where used_at is not null or expires_at <= $1",
        &[now],
    )
    .await?
        + crate::db::email_changes::sweep(pool, now).await?;
    removed.mail = delete(
        pool,
        "delete from mail_outbox where sent_at < $1 or failed_at < $1",
        &[now - MAIL_DAYS * DAY],
    )
    .await?;
    removed.throttles = delete(
        pool,
        "delete from login_throttle
         where updated_at < $1 and (locked_until is null or locked_until <= $2)",
        &[now - DAY, now],
    )
    .await?;
    removed.challenges = crate::db::mfa::sweep_challenges(pool, now).await?
        + crate::db::passkeys::sweep_ceremonies(pool, now).await?;
    if changes_days > 0 {
        let mut conn = pool.acquire().await?;
        removed.tombstones =
            crate::db::changes::compact(&mut conn, now - i64::from(changes_days) * DAY).await?;
    }
    if audit_days > 0 {
        removed.audit = delete(
            pool,
            "delete from audit_log where occurred_at < $1",
            &[now - i64::from(audit_days) * DAY],
        )
        .await?;
    }
    Ok(removed)
}

/// Takes the job's lease for `holder` when it is free (or its time ran out); false when
/// another replica holds it.
pub async fn take_lease(db: &Db, holder: &str, now: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into job_leases (name, holder, until) values ($1, $2, $3)
         on conflict (name) do update set holder = excluded.holder, until = excluded.until
         where job_leases.until <= $4",
    )
    .bind(JOB)
    .bind(holder)
    .bind(now + LEASE_SECS)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// One hourly turn on one replica: sweeps if this replica (`holder`) gets the lease, and logs
/// what went. None when another replica has the turn. Sessions idle for `session_idle_secs`
/// go too.
pub async fn run(
    state: &AppState,
    holder: &str,
    session_idle_secs: i64,
) -> sqlx::Result<Option<Removed>> {
    let now = state.clock.now();
    if !take_lease(&state.db, holder, now).await? {
        return Ok(None);
    }
    let removed = sweep(
        &state.db,
        now,
        session_idle_secs,
        state.config.audit_retention_days,
        state.config.changes_retention_days,
    )
    .await?;
    tracing::info!(
        sessions = removed.sessions,
        tokens = removed.tokens,
        mail = removed.mail,
        throttles = removed.throttles,
        challenges = removed.challenges,
        audit = removed.audit,
        tombstones = removed.tombstones,
        "retention: removed what is past keeping"
    );
    Ok(Some(removed))
}

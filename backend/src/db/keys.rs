//! `api_keys`.

use shared::key_limits::QuotaRefill;
use sqlx::{any::AnyRow, Any, Executor, Row};

/// What a key is limited to beyond its scopes (migration 0016).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLimits {
    /// CIDRs in canonical form; `None`: anywhere.
    pub allowed_ips: Option<Vec<String>>,
    /// `None`: the whole workspace.
    pub account_ids: Option<Vec<String>>,
    pub quota: Option<QuotaRow>,
    /// `(per minute, burst)`; `None`: the server's setting.
    pub rate: Option<(i64, i64)>,
}

/// A key's quota: `limit` uses per period, `remaining` of them left in the period that began
/// at `period` (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaRow {
    pub limit: i64,
    pub refill: Option<QuotaRefill>,
    pub remaining: i64,
    pub period: i64,
}

fn list(s: Option<String>) -> Option<Vec<String>> {
    s.map(|s| s.split_whitespace().map(str::to_string).collect())
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub name: String,
    pub key_hash: String,
    pub hint: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub expiry_days: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    /// The owner's account is disabled: the key is suspended.
    pub owner_disabled: bool,
    pub owner_email: String,
    /// The maker's role in the key's workspace (`owner` or `member`): the key acts with it.
    pub role: String,
    pub limits: KeyLimits,
}

const COLUMNS: &str = "k.id, k.workspace_id, k.user_id, k.name, k.key_hash, k.hint, k.scopes, k.created_at,
    k.expires_at, k.expiry_days, k.revoked_at, k.last_used_at, k.last_used_ip, k.last_used_user_agent,
    k.allowed_ips, k.account_ids, k.quota_limit, k.quota_refill, k.quota_remaining, k.quota_period,
    k.rate_per_min, k.rate_burst,
    u.disabled_at, u.email as owner_email,
    coalesce((select m.role from workspace_members m where m.workspace_id = k.workspace_id and m.user_id = k.user_id),
             'member') as member_role";

/// Keys visible to user `$1`: those of the workspaces they own.
const MANAGED_BY: &str = "from api_keys k join users u on u.id = k.user_id
    join workspace_members m on m.workspace_id = k.workspace_id and m.user_id = $1 and m.role = 'owner'";

fn from_row(r: AnyRow) -> sqlx::Result<KeyRow> {
    let scopes: String = r.try_get("scopes")?;
    Ok(KeyRow {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        key_hash: r.try_get("key_hash")?,
        hint: r.try_get("hint")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        expiry_days: r.try_get("expiry_days")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
        last_used_ip: r.try_get("last_used_ip")?,
        last_used_user_agent: r.try_get("last_used_user_agent")?,
        owner_disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        owner_email: r.try_get("owner_email")?,
        role: r.try_get("member_role")?,
        limits: KeyLimits {
            allowed_ips: list(r.try_get("allowed_ips")?),
            account_ids: list(r.try_get("account_ids")?),
            quota: match r.try_get::<Option<i64>, _>("quota_limit")? {
                Some(limit) => Some(QuotaRow {
                    limit,
                    refill: r
                        .try_get::<Option<String>, _>("quota_refill")?
                        .as_deref()
                        .and_then(QuotaRefill::parse),
                    remaining: r.try_get::<Option<i64>, _>("quota_remaining")?.unwrap_or(0),
                    period: r.try_get::<Option<i64>, _>("quota_period")?.unwrap_or(0),
                }),
                None => None,
            },
            rate: match (
                r.try_get::<Option<i64>, _>("rate_per_min")?,
                r.try_get::<Option<i64>, _>("rate_burst")?,
            ) {
                (Some(per_min), Some(burst)) => Some((per_min, burst)),
                _ => None,
            },
        },
    })
}

pub struct NewKey<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub hint: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<i64>,
    pub expiry_days: Option<i64>,
    pub rotated_from: Option<&'a str>,
    pub now: i64,
    pub limits: &'a KeyLimits,
}

pub async fn insert(e: &mut sqlx::AnyConnection, k: NewKey<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into api_keys (id, workspace_id, user_id, name, key_hash, hint, scopes, created_at,
                               expires_at, expiry_days, rotated_from)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(k.id)
    .bind(k.workspace_id)
    .bind(k.user_id)
    .bind(k.name)
    .bind(k.key_hash)
    .bind(k.hint)
    .bind(k.scopes.join(" "))
    .bind(k.now)
    .bind(k.expires_at)
    .bind(k.expiry_days)
    .bind(k.rotated_from)
    .execute(&mut *e)
    .await?;
    set_limits(&mut *e, k.id, k.limits, true).await
}

/// Sets a key's allowlist, accounts and rate limit, and (`with_quota`) its quota as given
/// (what is left of it included).
pub async fn set_limits(
    e: &mut sqlx::AnyConnection,
    key_id: &str,
    l: &KeyLimits,
    with_quota: bool,
) -> sqlx::Result<()> {
    let joined = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(" "));
    sqlx::query(
        "update api_keys set allowed_ips = $2, account_ids = $3, rate_per_min = $4, rate_burst = $5
         where id = $1",
    )
    .bind(key_id)
    .bind(joined(&l.allowed_ips))
    .bind(joined(&l.account_ids))
    .bind(l.rate.map(|r| r.0))
    .bind(l.rate.map(|r| r.1))
    .execute(&mut *e)
    .await?;
    if with_quota {
        let q = l.quota;
        sqlx::query(
            "update api_keys set quota_limit = $2, quota_refill = $3, quota_remaining = $4,
                 quota_period = $5
             where id = $1",
        )
        .bind(key_id)
        .bind(q.map(|q| q.limit))
        .bind(q.and_then(|q| q.refill).map(QuotaRefill::as_str))
        .bind(q.map(|q| q.remaining))
        .bind(q.map(|q| q.period))
        .execute(&mut *e)
        .await?;
    }
    Ok(())
}

/// Spends one use of a key's quota, atomically (one conditional update: exact across
/// replicas). `period`: when the current refill period began (`i64::MIN` for a quota that does
/// not refill); a quota last used in an earlier period starts again at its limit. What is left
/// after this use, or `None` when nothing was left.
pub async fn take_quota<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    period: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "update api_keys set
             quota_remaining = case when quota_period < $2 then quota_limit - 1
                                    else quota_remaining - 1 end,
             quota_period = case when quota_period < $2 then $2 else quota_period end
         where id = $1 and quota_limit is not null
           and (quota_period < $2 or quota_remaining > 0)
         returning quota_remaining",
    )
    .bind(key_id)
    .bind(period)
    .fetch_optional(e)
    .await
}

/// The key behind a hash, with its owner's state: the Bearer lookup.
pub async fn by_hash<'c>(
    e: impl Executor<'c, Database = Any>,
    key_hash: &str,
) -> sqlx::Result<Option<KeyRow>> {
    one_where(e, "k.key_hash", key_hash).await
}

/// A key by id, whoever owns it (for the usage writer's notices).
pub async fn by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
) -> sqlx::Result<Option<KeyRow>> {
    one_where(e, "k.id", key_id).await
}

/// The key whose `column` (a unique one) is `value`.
async fn one_where<'c>(
    e: impl Executor<'c, Database = Any>,
    column: &str,
    value: &str,
) -> sqlx::Result<Option<KeyRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from api_keys k join users u on u.id = k.user_id where {column} = $1"
    ))
    .bind(value)
    .fetch_optional(e)
    .await?
    .map(from_row)
    .transpose()
}

/// A key in a workspace that `user_id` owns (the only keys a user may see or manage).
pub async fn get_managed<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    key_id: &str,
) -> sqlx::Result<Option<KeyRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} {MANAGED_BY}
         where k.id = $2"
    ))
    .bind(user_id)
    .bind(key_id)
    .fetch_optional(e)
    .await?
    .map(from_row)
    .transpose()
}

/// Keys in workspaces `user_id` owns, newest first, after the cursor.
pub async fn list_managed<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<KeyRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(&format!(
        "select {COLUMNS} {MANAGED_BY}
         where k.created_at < $2 or (k.created_at = $2 and k.id < $3)
         order by k.created_at desc, k.id desc limit $4"
    ))
    .bind(user_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Revokes; false if it already was (revocation is idempotent).
/// How many of the user's keys still work (not revoked, not expired), in any workspace.
pub async fn count_active<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from api_keys
         where user_id = $1 and revoked_at is null and (expires_at is null or expires_at > $2)",
    )
    .bind(user_id)
    .bind(now)
    .fetch_one(e)
    .await
}

/// Revokes every working key of the user in every workspace; returns their hashes (to drop
/// them from key caches).
pub async fn revoke_all_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "update api_keys set revoked_at = $2 where user_id = $1 and revoked_at is null
         returning key_hash",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(e)
    .await
}

/// The user's working keys, `(name, hint)`, for telling them what can reach their account.
pub async fn active_names<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "select name, hint from api_keys
         where user_id = $1 and revoked_at is null and (expires_at is null or expires_at > $2)
         order by created_at",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(e)
    .await
}

pub async fn revoke<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query("update api_keys set revoked_at = $2 where id = $1 and revoked_at is null")
        .bind(key_id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn rename<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query("update api_keys set name = $2 where id = $1")
        .bind(key_id)
        .bind(name)
        .execute(e)
        .await?;
    Ok(())
}

/// Ends a rotated key's life at `until` (never extends it).
pub async fn expire_by<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    until: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update api_keys set expires_at = case when expires_at is null or expires_at > $2 then $2 else expires_at end
         where id = $1",
    )
    .bind(key_id)
    .bind(until)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn record_use<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    at: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("update api_keys set last_used_at = $2, last_used_ip = $3, last_used_user_agent = $4 where id = $1")
        .bind(key_id)
        .bind(at)
        .bind(ip)
        .bind(user_agent)
        .execute(e)
        .await?;
    Ok(())
}

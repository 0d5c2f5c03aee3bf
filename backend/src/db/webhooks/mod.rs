//! Webhooks (migrations/0015_webhooks.sql): endpoints here, the events every change records in
//! [`events`], and each endpoint's deliveries in [`deliveries`].

pub mod deliveries;
pub mod events;

use sqlx::{any::AnyRow, Any, AnyConnection, Executor, Row};

/// An endpoint as stored.
#[derive(Clone)]
pub struct EndpointRow {
    pub id: String,
    pub workspace_id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_until: Option<i64>,
    pub cursor_seq: i64,
    pub paused_until: i64,
    pub fail_streak: i64,
    pub failing_since: Option<i64>,
    pub last_success_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for EndpointRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRow")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, workspace_id, url, description, event_types, enabled, disabled_reason,
    secret_sealed, previous_secret_sealed, previous_until, cursor_seq, paused_until, fail_streak,
    failing_since, last_success_at, created_at, updated_at";

fn row(r: AnyRow) -> sqlx::Result<EndpointRow> {
    let types: String = r.try_get("event_types")?;
    Ok(EndpointRow {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        event_types: types.split_whitespace().map(str::to_string).collect(),
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        secret_sealed: r.try_get("secret_sealed")?,
        previous_secret_sealed: r.try_get("previous_secret_sealed")?,
        previous_until: r.try_get("previous_until")?,
        cursor_seq: r.try_get("cursor_seq")?,
        paused_until: r.try_get("paused_until")?,
        fail_streak: r.try_get("fail_streak")?,
        failing_since: r.try_get("failing_since")?,
        last_success_at: r.try_get("last_success_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A new endpoint; it receives events numbered after `cursor_seq` (the workspace's change
/// number when it was made).
pub async fn insert<'c>(
    e: impl Executor<'c, Database = Any>,
    ep: &EndpointRow,
    created_by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into webhook_endpoints (id, workspace_id, created_by, url, description, event_types,
             enabled, secret_sealed, cursor_seq, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&ep.id)
    .bind(&ep.workspace_id)
    .bind(created_by)
    .bind(&ep.url)
    .bind(&ep.description)
    .bind(ep.event_types.join(" "))
    .bind(ep.enabled as i64)
    .bind(&ep.secret_sealed)
    .bind(ep.cursor_seq)
    .bind(ep.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_endpoints where workspace_id = $1 and id = $2"
    ))
    .bind(workspace_id)
    .bind(id)
    .fetch_optional(e)
    .await?
    .map(row)
    .transpose()
}

/// The endpoint the worker holds (any workspace).
pub async fn by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_endpoints where id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?
    .map(row)
    .transpose()
}

/// The workspace's endpoints, oldest first.
pub async fn list<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<Vec<EndpointRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_endpoints where workspace_id = $1 order by created_at, id"
    ))
    .bind(workspace_id)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(row)
    .collect()
}

pub async fn count<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from webhook_endpoints where workspace_id = $1")
        .bind(workspace_id)
        .fetch_one(e)
        .await
}

/// Writes what an owner may change. Enabling a disabled endpoint (`restart_at`: the workspace's
/// change number now) starts it afresh: events from then on, no failure streak.
pub async fn update<'c>(
    e: impl Executor<'c, Database = Any>,
    ep: &EndpointRow,
    restart_at: Option<i64>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update webhook_endpoints set url = $3, description = $4, event_types = $5, enabled = $6,
             disabled_reason = case when $6 = 1 then null else disabled_reason end,
             cursor_seq = coalesce($7, cursor_seq),
             fail_streak = case when $7 is null then fail_streak else 0 end,
             paused_until = case when $7 is null then paused_until else 0 end,
             failing_since = case when $7 is null then failing_since else null end,
             updated_at = $8
         where workspace_id = $1 and id = $2",
    )
    .bind(&ep.workspace_id)
    .bind(&ep.id)
    .bind(&ep.url)
    .bind(&ep.description)
    .bind(ep.event_types.join(" "))
    .bind(ep.enabled as i64)
    .bind(restart_at)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// A new signing secret; the previous one keeps signing until `previous_until`.
pub async fn rotate_secret<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
    sealed: &str,
    previous_sealed: &str,
    previous_until: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update webhook_endpoints set secret_sealed = $3, previous_secret_sealed = $4,
             previous_until = $5, updated_at = $6
         where workspace_id = $1 and id = $2",
    )
    .bind(workspace_id)
    .bind(id)
    .bind(sealed)
    .bind(previous_sealed)
    .bind(previous_until)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from webhook_endpoints where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// `(id, sealed secret, sealed previous secret)` of every endpoint: for a `PFN_SECRET` rotation.
pub async fn sealed_secrets<'c>(
    e: impl Executor<'c, Database = Any>,
) -> sqlx::Result<Vec<(String, String, Option<String>)>> {
    sqlx::query_as("select id, secret_sealed, previous_secret_sealed from webhook_endpoints")
        .fetch_all(e)
        .await
}

/// Replaces an endpoint's sealed secrets, unless they changed meanwhile.
pub async fn reseal<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    old: &str,
    new: &str,
    new_previous: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update webhook_endpoints set secret_sealed = $3, previous_secret_sealed = $4
         where id = $1 and secret_sealed = $2",
    )
    .bind(id)
    .bind(old)
    .bind(new)
    .bind(new_previous)
    .execute(e)
    .await?;
    Ok(())
}

/// Enabled endpoints, not resting and not held by a worker, with something to do now: events
/// after their cursor, or deliveries due.
pub async fn with_work<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select p.id from webhook_endpoints p
         where p.enabled = 1 and p.lease_until < $1 and p.paused_until <= $1
           and (exists (select 1 from webhook_events v
                        where v.workspace_id = p.workspace_id and v.seq > p.cursor_seq)
                or exists (select 1 from webhook_deliveries d
                           where d.endpoint_id = p.id and d.status = 'pending'
                             and d.next_attempt_at <= $1))
         order by p.lease_until limit $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await
}

/// Takes the endpoint for `holder` until `until`, unless another worker holds it. One
/// statement, so two replicas cannot both win.
pub async fn claim<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update webhook_endpoints set lease_owner = $2, lease_until = $4
         where id = $1 and enabled = 1 and (lease_until < $3 or lease_owner = $2)",
    )
    .bind(id)
    .bind(holder)
    .bind(now)
    .bind(until)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn release<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    holder: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update webhook_endpoints set lease_owner = null, lease_until = 0
         where id = $1 and lease_owner = $2",
    )
    .bind(id)
    .bind(holder)
    .execute(e)
    .await?;
    Ok(())
}

/// After a pass: the endpoint accepted a message (`ok`), so it is healthy; or every attempt
/// failed, so it rests until `paused_until`. Returns since when it has been failing.
pub async fn record_pass<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    ok: bool,
    paused_until: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    if ok {
        sqlx::query(
            "update webhook_endpoints set fail_streak = 0, failing_since = null,
                 paused_until = 0, last_success_at = $2 where id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
        return Ok(None);
    }
    sqlx::query_scalar(
        "update webhook_endpoints set fail_streak = fail_streak + 1, paused_until = $2,
             failing_since = coalesce(failing_since, $3)
         where id = $1 returning failing_since",
    )
    .bind(id)
    .bind(paused_until)
    .bind(now)
    .fetch_optional(e)
    .await
    .map(Option::flatten)
}

/// Disables a failing endpoint and gives up its pending messages (they stay in the log, to be
/// retried by hand: once enabled again it receives events from then on); true when this call
/// disabled it (so its owners are told once). In the caller's transaction.
pub async fn disable_failing(conn: &mut AnyConnection, id: &str, now: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update webhook_endpoints set enabled = 0, disabled_reason = 'failing', updated_at = $2
         where id = $1 and enabled = 1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    deliveries::give_up_pending(&mut *conn, id).await?;
    Ok(true)
}

/// `(email, name)` of the workspace's owners.
pub async fn owners<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "select u.email, u.name from workspace_members m join users u on u.id = m.user_id
         where m.workspace_id = $1 and m.role = 'owner'",
    )
    .bind(workspace_id)
    .fetch_all(e)
    .await
}

/// A manual retry or test wants the endpoint tried now, resting or not.
pub async fn wake_now<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> sqlx::Result<()> {
    sqlx::query("update webhook_endpoints set paused_until = 0 where id = $1")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

//! Deliveries: one row per event and endpoint, made by the worker that holds the endpoint
//! ([`fan_out`]), tried in order, kept as the endpoint's delivery log. Times in milliseconds.

use sqlx::{any::AnyRow, Any, AnyConnection, Executor, Row};

/// Which message of an endpoint: its event's number, type and resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub seq: i64,
    pub event_type: String,
    pub resource_id: String,
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub key: Key,
    pub workspace_id: String,
    pub detail: Option<String>,
    pub event_at: i64,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub expires_at: i64,
    pub first_failed_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub response_status: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "seq, type, resource_id, workspace_id, detail, event_at, status, attempts,
    next_attempt_at, expires_at, first_failed_at, last_attempt_at, response_status, duration_ms,
    error, delivered_at, created_at";

fn row(r: AnyRow) -> sqlx::Result<DeliveryRow> {
    Ok(DeliveryRow {
        key: Key {
            seq: r.try_get("seq")?,
            event_type: r.try_get("type")?,
            resource_id: r.try_get("resource_id")?,
        },
        workspace_id: r.try_get("workspace_id")?,
        detail: r.try_get("detail")?,
        event_at: r.try_get("event_at")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        expires_at: r.try_get("expires_at")?,
        first_failed_at: r.try_get("first_failed_at")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        response_status: r.try_get("response_status")?,
        duration_ms: r.try_get("duration_ms")?,
        error: r.try_get("error")?,
        delivered_at: r.try_get("delivered_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Fans the workspace's next events (up to about `batch`, whole changes only) out to the
/// endpoint: a pending delivery for each event of a subscribed type, and the cursor moved past
/// them, in one transaction (the caller's). The new cursor, if there were events to pass.
pub async fn fan_out(
    conn: &mut AnyConnection,
    endpoint: &super::EndpointRow,
    cursor: i64,
    now: i64,
    give_up_at: i64,
    batch: i64,
) -> sqlx::Result<Option<i64>> {
    let (endpoint_id, workspace_id, types) =
        (&endpoint.id, &endpoint.workspace_id, &endpoint.event_types);
    // The newest number among the next `batch` events: events sharing it go in the same batch.
    let newest: Option<i64> = sqlx::query_scalar(
        "select max(seq) from (select seq from webhook_events where workspace_id = $1 and seq > $2
                                order by seq limit $3) n",
    )
    .bind(workspace_id)
    .bind(cursor)
    .bind(batch)
    .fetch_one(&mut *conn)
    .await?;
    let Some(upto) = newest else {
        return Ok(None);
    };
    let placeholders: Vec<String> = (0..types.len()).map(|i| format!("${}", i + 7)).collect();
    let sql = format!(
        "insert into webhook_deliveries (endpoint_id, workspace_id, seq, type, resource_id, detail,
             event_at, status, attempts, next_attempt_at, expires_at, created_at)
         select $1, v.workspace_id, v.seq, v.type, v.resource_id, v.detail, v.created_at,
                'pending', 0, $5, $6, $5
         from webhook_events v
         where v.workspace_id = $2 and v.seq > $3 and v.seq <= $4 and v.type in ({})",
        if placeholders.is_empty() {
            "''".to_string()
        } else {
            placeholders.join(", ")
        }
    );
    let mut q = sqlx::query(&sql)
        .bind(endpoint_id)
        .bind(workspace_id)
        .bind(cursor)
        .bind(upto)
        .bind(now)
        .bind(give_up_at);
    for t in types {
        q = q.bind(t);
    }
    q.execute(&mut *conn).await?;
    sqlx::query("update webhook_endpoints set cursor_seq = $2 where id = $1")
        .bind(endpoint_id)
        .bind(upto)
        .execute(&mut *conn)
        .await?;
    Ok(Some(upto))
}

/// A ping for the endpoint, due now.
pub async fn insert_ping<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
    workspace_id: &str,
    resource_id: &str,
    now: i64,
    give_up_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into webhook_deliveries (endpoint_id, workspace_id, seq, type, resource_id,
             detail, event_at, status, attempts, next_attempt_at, expires_at, created_at)
         values ($1, $2, 0, 'ping', $3, $6, $4, 'pending', 0, $4, $5, $4)",
    )
    .bind(endpoint_id)
    .bind(workspace_id)
    .bind(resource_id)
    .bind(now)
    .bind(give_up_at)
    .bind(serde_json::json!({ "endpointId": endpoint_id }).to_string())
    .execute(e)
    .await?;
    Ok(())
}

/// The endpoint's oldest pending deliveries, due or not, in event order.
pub async fn pending<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_deliveries where endpoint_id = $1 and status = 'pending'
         order by seq, type, resource_id limit $2"
    ))
    .bind(endpoint_id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(row)
    .collect()
}

/// What an attempt did to a delivery.
pub struct Outcome<'a> {
    pub key: &'a Key,
    pub status: &'static str,
    pub response_status: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<&'a str>,
    pub next_attempt_at: i64,
    pub at: i64,
}

/// Records attempts; all in one transaction (the caller's).
pub async fn record(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    outcomes: &[Outcome<'_>],
) -> sqlx::Result<()> {
    for o in outcomes {
        sqlx::query(
            "update webhook_deliveries set status = $5, attempts = attempts + 1,
                 last_attempt_at = $6, response_status = $7, duration_ms = $8, error = $9,
                 next_attempt_at = $10,
                 delivered_at = case when $5 = 'delivered' then $6 else null end,
                 first_failed_at = case when $5 = 'delivered' then first_failed_at
                                        else coalesce(first_failed_at, $6) end
             where endpoint_id = $1 and seq = $2 and type = $3 and resource_id = $4",
        )
        .bind(endpoint_id)
        .bind(o.key.seq)
        .bind(&o.key.event_type)
        .bind(&o.key.resource_id)
        .bind(o.status)
        .bind(o.at)
        .bind(o.response_status)
        .bind(o.duration_ms)
        .bind(o.error)
        .bind(o.next_attempt_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A page of the endpoint's log, newest first, after `before` (`(created_at, key)` of the last
/// row of the previous page).
pub async fn log<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
    before: Option<(i64, &Key)>,
    status: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    let (at, seq, ty, res) = match before {
        Some((at, k)) => (at, k.seq, k.event_type.as_str(), k.resource_id.as_str()),
        None => (i64::MAX, i64::MAX, "", ""),
    };
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_deliveries
         where endpoint_id = $1 and ($7 is null or status = $7)
           and (created_at < $2 or (created_at = $2 and (seq < $3 or (seq = $3 and (type < $4
                or (type = $4 and resource_id < $5))))))
         order by created_at desc, seq desc, type desc, resource_id desc limit $6"
    ))
    .bind(endpoint_id)
    .bind(at)
    .bind(seq)
    .bind(ty)
    .bind(res)
    .bind(limit)
    .bind(status)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(row)
    .collect()
}

pub async fn get<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
    key: &Key,
) -> sqlx::Result<Option<DeliveryRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_deliveries
         where endpoint_id = $1 and seq = $2 and type = $3 and resource_id = $4"
    ))
    .bind(endpoint_id)
    .bind(key.seq)
    .bind(&key.event_type)
    .bind(&key.resource_id)
    .fetch_optional(e)
    .await?
    .map(row)
    .transpose()
}

/// A manual retry: pending again, due now, with a new 3-day window.
pub async fn retry<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
    key: &Key,
    now: i64,
    give_up_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update webhook_deliveries set status = 'pending', next_attempt_at = $5, expires_at = $6,
             delivered_at = null
         where endpoint_id = $1 and seq = $2 and type = $3 and resource_id = $4",
    )
    .bind(endpoint_id)
    .bind(key.seq)
    .bind(&key.event_type)
    .bind(&key.resource_id)
    .bind(now)
    .bind(give_up_at)
    .execute(e)
    .await?;
    Ok(())
}

/// Retention: finished deliveries made before `before` go.
pub async fn prune<'c>(e: impl Executor<'c, Database = Any>, before: i64) -> sqlx::Result<u64> {
    let r =
        sqlx::query("delete from webhook_deliveries where status <> 'pending' and created_at < $1")
            .bind(before)
            .execute(e)
            .await?;
    Ok(r.rows_affected())
}

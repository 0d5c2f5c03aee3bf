//! Deliveries: the endpoint's log, one row per message tried, and its queue of messages to try
//! again. A message goes straight from its event ([`fresh`]) to the receiver and is then stored
//! with its outcome ([`store`]), in the transaction that moves the endpoint's cursor past it:
//! one write per message on the way that succeeds. Times in milliseconds.

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

/// The endpoint's next events (whole changes, about `min` of them or more, of the types it
/// wants) as deliveries not stored yet, due now and given up `give_up_ms` after the event; and
/// the number to move its cursor to once they are stored (`None`: nothing new).
pub async fn fresh<'c, E>(
    e: E,
    endpoint: &super::EndpointRow,
    now: i64,
    give_up_ms: i64,
    min: i64,
) -> sqlx::Result<(Vec<DeliveryRow>, Option<i64>)>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let (workspace_id, types) = (&endpoint.workspace_id, &endpoint.event_types);
    // The newest number among the next `min` events: events sharing it come along.
    let newest: Option<i64> = sqlx::query_scalar(
        "select max(seq) from (select seq from webhook_events where workspace_id = $1 and seq > $2
                                order by seq limit $3) n",
    )
    .bind(workspace_id)
    .bind(endpoint.cursor_seq)
    .bind(min)
    .fetch_one(e)
    .await?;
    let Some(upto) = newest else {
        return Ok((Vec::new(), None));
    };
    if types.is_empty() {
        return Ok((Vec::new(), Some(upto)));
    }
    let placeholders: Vec<String> = (0..types.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "select seq, type, resource_id, detail, created_at from webhook_events
         where workspace_id = $1 and seq > $2 and seq <= $3 and type in ({})
         order by seq, type, resource_id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(&sql)
        .bind(workspace_id)
        .bind(endpoint.cursor_seq)
        .bind(upto);
    for t in types {
        q = q.bind(t);
    }
    let rows = q
        .fetch_all(e)
        .await?
        .into_iter()
        .map(|r| {
            let event_at: i64 = r.try_get("created_at")?;
            Ok(DeliveryRow {
                key: Key {
                    seq: r.try_get("seq")?,
                    event_type: r.try_get("type")?,
                    resource_id: r.try_get("resource_id")?,
                },
                workspace_id: workspace_id.clone(),
                detail: r.try_get("detail")?,
                event_at,
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                expires_at: event_at + give_up_ms,
                first_failed_at: None,
                last_attempt_at: None,
                response_status: None,
                duration_ms: None,
                error: None,
                delivered_at: None,
                created_at: now,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok((rows, Some(upto)))
}

/// Stores deliveries [`fresh`] made, in the state the worker left them (tried or still to
/// try), and moves the endpoint's cursor to `upto`; in the caller's transaction. A row already
/// there (a pass cut short after storing) stays.
pub async fn store(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    rows: &[DeliveryRow],
    upto: i64,
) -> sqlx::Result<()> {
    const FIELDS: usize = 17;
    for chunk in rows.chunks(crate::db::rows_per_statement(conn, FIELDS)) {
        let values = crate::db::value_rows(chunk.len(), FIELDS, 2, "$1, ");
        let sql = format!(
            "insert into webhook_deliveries (endpoint_id, {COLUMNS}) values {values}
             on conflict (endpoint_id, seq, type, resource_id) do nothing"
        );
        let mut q = sqlx::query(&sql).bind(endpoint_id);
        for d in chunk {
            q = q
                .bind(d.key.seq)
                .bind(&d.key.event_type)
                .bind(&d.key.resource_id)
                .bind(&d.workspace_id)
                .bind(&d.detail)
                .bind(d.event_at)
                .bind(&d.status)
                .bind(d.attempts)
                .bind(d.next_attempt_at)
                .bind(d.expires_at)
                .bind(d.first_failed_at)
                .bind(d.last_attempt_at)
                .bind(d.response_status)
                .bind(d.duration_ms)
                .bind(&d.error)
                .bind(d.delivered_at)
                .bind(d.created_at);
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query("update webhook_endpoints set cursor_seq = $2 where id = $1 and cursor_seq < $2")
        .bind(endpoint_id)
        .bind(upto)
        .execute(&mut *conn)
        .await?;
    Ok(())
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

/// The endpoint's stored deliveries that matter to a pass, in event order: those due, and
/// those that hold their resource's later messages back (tried, not due, and not set aside:
/// fewer than 3 attempts, or no success since they first failed; `last_success` is the
/// endpoint's last).
pub async fn pending<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
    now: i64,
    last_success: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query(&format!(
        "select {COLUMNS} from webhook_deliveries where endpoint_id = $1 and status = 'pending'
           and (next_attempt_at <= $2
                or (attempts > 0 and not (attempts >= 3 and first_failed_at < $3)))
         order by seq, type, resource_id limit $4"
    ))
    .bind(endpoint_id)
    .bind(now)
    .bind(last_success.unwrap_or(i64::MIN))
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(row)
    .collect()
}

/// Writes what a pass did to stored deliveries (their attempt fields as the worker left them),
/// many a statement (`update … from (values …)`, which SQLite and PostgreSQL both read); in the
/// caller's transaction.
pub async fn record(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    rows: &[DeliveryRow],
) -> sqlx::Result<()> {
    const FIELDS: usize = 12;
    for chunk in rows.chunks(crate::db::rows_per_statement(conn, FIELDS)) {
        let values = crate::db::value_rows(chunk.len(), FIELDS, 2, "");
        // v: 1 seq, 2 type, 3 resource, 4 status, 5 attempts, 6 next attempt, 7 first failed,
        // 8 last attempt, 9 response, 10 duration, 11 error, 12 delivered.
        let sql = format!(
            "update webhook_deliveries set status = v.column4, attempts = v.column5,
                 next_attempt_at = v.column6, first_failed_at = v.column7,
                 last_attempt_at = v.column8, response_status = v.column9,
                 duration_ms = v.column10, error = v.column11, delivered_at = v.column12
             from (values {values}) v
             where webhook_deliveries.endpoint_id = $1 and webhook_deliveries.seq = v.column1
               and webhook_deliveries.type = v.column2
               and webhook_deliveries.resource_id = v.column3"
        );
        let mut q = sqlx::query(&sql).bind(endpoint_id);
        for d in chunk {
            q = q
                .bind(d.key.seq)
                .bind(&d.key.event_type)
                .bind(&d.key.resource_id)
                .bind(&d.status)
                .bind(d.attempts)
                .bind(d.next_attempt_at)
                .bind(d.first_failed_at)
                .bind(d.last_attempt_at)
                .bind(d.response_status)
                .bind(d.duration_ms)
                .bind(&d.error)
                .bind(d.delivered_at);
        }
        q.execute(&mut *conn).await?;
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

/// The endpoint's pending deliveries are given up (`failed`), keeping their last error; one
/// never tried says why it was not sent. When pfn disables a failing endpoint.
pub async fn give_up_pending<'c>(
    e: impl Executor<'c, Database = Any>,
    endpoint_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update webhook_deliveries set status = 'failed',
             error = coalesce(error, 'not sent: the endpoint was disabled')
         where endpoint_id = $1 and status = 'pending'",
    )
    .bind(endpoint_id)
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

//! Events: one row per change, written in the change's own database transaction and numbered
//! with the workspace's change number (`db::changes::next`), which commits in order; only while
//! the workspace has an enabled endpoint that wants the type. The worker reads them after each
//! endpoint's cursor (`deliveries::fresh`).

use sqlx::{Any, AnyConnection, Executor};

/// The event types the workspace's enabled endpoints want (empty: write no events).
pub async fn wanted(conn: &mut AnyConnection, workspace_id: &str) -> sqlx::Result<Wanted> {
    let rows: Vec<String> = sqlx::query_scalar(
        "select event_types from webhook_endpoints where workspace_id = $1 and enabled = 1",
    )
    .bind(workspace_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut types: Vec<String> = rows
        .iter()
        .flat_map(|r| r.split_whitespace().map(str::to_string))
        .collect();
    types.sort();
    types.dedup();
    Ok(Wanted(types))
}

pub struct Wanted(Vec<String>);

impl Wanted {
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
    pub fn wants(&self, event_type: &str) -> bool {
        self.0.iter().any(|t| t == event_type)
    }
    fn wants_transactions(&self) -> bool {
        self.0.iter().any(|t| t.starts_with("transaction."))
    }
}

/// One event.
pub async fn record(
    conn: &mut AnyConnection,
    workspace_id: &str,
    seq: i64,
    event_type: &str,
    resource_id: &str,
    detail: Option<&serde_json::Value>,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into webhook_events (workspace_id, seq, type, resource_id, detail, created_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(workspace_id)
    .bind(seq)
    .bind(event_type)
    .bind(resource_id)
    .bind(detail.map(|d| d.to_string()))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One event about `resource_id` (not a transaction), under a change number of its own, if an
/// enabled endpoint of the workspace wants its type. Whether it was written (so the caller
/// wakes the worker after the commit).
pub async fn record_one(
    conn: &mut AnyConnection,
    workspace_id: &str,
    event_type: &str,
    resource_id: &str,
    detail: Option<&serde_json::Value>,
    now_ms: i64,
) -> sqlx::Result<bool> {
    if !wanted(conn, workspace_id).await?.wants(event_type) {
        return Ok(false);
    }
    let seq = super::super::changes::next(conn, workspace_id).await?;
    record(
        conn,
        workspace_id,
        seq,
        event_type,
        resource_id,
        detail,
        now_ms,
    )
    .await?;
    Ok(true)
}

/// The events of the transactions change numbered `seq`: `transaction.created` for rows made
/// by it, `transaction.removed` for rows it removed or deleted (their tombstones), and
/// `transaction.updated` for the rest; then `budget.exceeded` for budgets it pushed over their
/// limit. Call after the change's writes, before the commit. Whether it wrote any (so the
/// caller wakes the worker after the commit).
pub async fn record_transactions(
    conn: &mut AnyConnection,
    workspace_id: &str,
    seq: i64,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let wanted = wanted(conn, workspace_id).await?;
    if !wanted.any() {
        return Ok(false);
    }
    let mut wrote = 0;
    if wanted.wants_transactions() {
        wrote += sqlx::query(
            "insert into webhook_events (workspace_id, seq, type, resource_id, created_at)
             select t.workspace_id, $2,
                    case when t.removed_at is not null then 'transaction.removed'
                         when t.created_seq = $2 then 'transaction.created'
                         else 'transaction.updated' end,
                    t.id, $3
             from transactions t where t.workspace_id = $1 and t.change_seq = $2",
        )
        .bind(workspace_id)
        .bind(seq)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        wrote += sqlx::query(
            "insert into webhook_events (workspace_id, seq, type, resource_id, created_at)
             select g.workspace_id, $2, 'transaction.removed', g.transaction_id, $3
             from transaction_tombstones g where g.workspace_id = $1 and g.seq = $2",
        )
        .bind(workspace_id)
        .bind(seq)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    if wanted.wants("budget.exceeded") {
        wrote += budgets_exceeded(conn, workspace_id, Some(seq), seq, now_ms).await?;
    }
    Ok(wrote > 0)
}

/// Budgets (not flagged yet) that are now over their limit: flagged, and one
/// `budget.exceeded` each at `seq`. `touched`: only budgets whose category and currency the
/// transactions change numbered so touched; `None`: every budget of the workspace (after a
/// budget's own change).
pub async fn budgets_exceeded(
    conn: &mut AnyConnection,
    workspace_id: &str,
    touched: Option<i64>,
    seq: i64,
    now_ms: i64,
) -> sqlx::Result<u64> {
    let candidates: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "select b.id, b.category, b.currency, b.month, b.limit_minor from budgets b
         where b.workspace_id = $1 and b.exceeded_at is null
           and ($2 is null or exists (
               select 1 from transactions t
               where t.workspace_id = $1 and t.change_seq = $2 and t.amount_minor < 0
                 and t.currency = b.currency
                 and coalesce(t.category_override, t.category) = b.category))",
    )
    .bind(workspace_id)
    .bind(touched)
    .fetch_all(&mut *conn)
    .await?;
    let mut wrote = 0;
    for (id, category, currency, month, limit) in candidates {
        let Some((from, to)) = month_bounds(&month) else {
            continue;
        };
        let spent =
            super::super::finance::spent(&mut *conn, workspace_id, &category, &currency, from, to)
                .await?;
        if spent <= i128::from(limit) {
            continue;
        }
        let flagged = sqlx::query(
            "update budgets set exceeded_at = $2 where id = $1 and exceeded_at is null",
        )
        .bind(&id)
        .bind(now_ms / 1000)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if flagged == 1 {
            let detail = serde_json::json!({ "month": month });
            record(
                conn,
                workspace_id,
                seq,
                "budget.exceeded",
                &id,
                Some(&detail),
                now_ms,
            )
            .await?;
            wrote += 1;
        }
    }
    Ok(wrote)
}

/// After a budget was made or replaced: `budget.exceeded` for budgets already over their limit,
/// if an endpoint wants it. Whether it wrote an event.
pub async fn check_budgets(
    conn: &mut AnyConnection,
    workspace_id: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    if !wanted(conn, workspace_id).await?.wants("budget.exceeded") {
        return Ok(false);
    }
    let seq = super::super::changes::next(conn, workspace_id).await?;
    Ok(budgets_exceeded(conn, workspace_id, None, seq, now_ms).await? > 0)
}

/// `YYYY-MM` → the month's first second and the next month's, UTC.
fn month_bounds(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u8) = (y.parse().ok()?, m.parse().ok()?);
    let start = |y: i32, m: u8| -> Option<i64> {
        let month = time::Month::try_from(m).ok()?;
        let date = time::Date::from_calendar_date(y, month, 1).ok()?;
        Some(date.midnight().assume_utc().unix_timestamp())
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((start(y, m)?, start(ny, nm)?))
}

/// A key [`keys_expiring`] found: id, workspace, expiry, name, hint, maker.
pub type ExpiringKey = (String, String, i64, String, String, String);

/// Keys that expire within `days` and were not told so at that distance yet: marked, and
/// returned ([`ExpiringKey`]). 7 then 1: a key made 3 days before its expiry
/// gets only the 1-day notice when its time comes. A key replaced by rotation (in its grace
/// period) is not expiring in this sense.
pub async fn keys_expiring(
    conn: &mut AnyConnection,
    now: i64,
    days: i64,
) -> sqlx::Result<Vec<ExpiringKey>> {
    sqlx::query_as(
        "update api_keys set expiry_notice_days = $3
         where revoked_at is null and expires_at is not null and expires_at > $1
           and expires_at <= $2 and (expiry_notice_days is null or expiry_notice_days > $3)
           and not exists (select 1 from api_keys n where n.rotated_from = api_keys.id)
         returning id, workspace_id, expires_at, name, hint, user_id",
    )
    .bind(now)
    .bind(now + days * 86_400)
    .bind(days)
    .fetch_all(&mut *conn)
    .await
}

/// Events fanned out to every endpoint of their workspace (or with no endpoint left) go.
pub async fn prune<'c>(e: impl Executor<'c, Database = Any>) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "delete from webhook_events where not exists (
             select 1 from webhook_endpoints p
             where p.workspace_id = webhook_events.workspace_id and p.enabled = 1
               and p.cursor_seq < webhook_events.seq)",
    )
    .execute(e)
    .await?;
    Ok(r.rows_affected())
}

#[cfg(test)]
mod tests {
    #[test]
    fn month_bounds_cover_the_month_in_utc() {
        assert_eq!(
            super::month_bounds("2026-12"),
            Some((1_796_083_200, 1_798_761_600))
        );
        assert_eq!(super::month_bounds("2026-13"), None);
        assert_eq!(super::month_bounds("x"), None);
    }
}

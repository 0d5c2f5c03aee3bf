//! `key_usage` (requests per key, day and outcome) and `key_networks` (where each key has been
//! used from).

use sqlx::{Any, AnyConnection, Executor};

/// Adds `count` requests with `outcome` to a key's day (`YYYY-MM-DD`, UTC). Replicas add to the
/// same row: one upsert, no read.
pub async fn add(
    conn: &mut AnyConnection,
    key_id: &str,
    day: &str,
    outcome: &str,
    count: i64,
) -> sqlx::Result<()> {
    // A key deleted meanwhile (its account went) has no row to count for: nothing is added.
    sqlx::query(
        "insert into key_usage (key_id, day, outcome, count)
         select $1, $2, $3, $4 where exists (select 1 from api_keys where id = $1)
         on conflict (key_id, day, outcome) do update set count = key_usage.count + excluded.count",
    )
    .bind(key_id)
    .bind(day)
    .bind(outcome)
    .bind(count)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `(day, outcome, count)` of a key in `[from, to]` (days, inclusive), by day.
pub async fn days<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    from: &str,
    to: &str,
) -> sqlx::Result<Vec<(String, String, i64)>> {
    sqlx::query_as(
        "select day, outcome, count from key_usage
         where key_id = $1 and day >= $2 and day <= $3 order by day, outcome",
    )
    .bind(key_id)
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
}

/// Records that a key was used from `network`; true when it had not been before.
pub async fn note_network(
    conn: &mut AnyConnection,
    key_id: &str,
    network: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into key_networks (key_id, network, first_seen)
         select $1, $2, $3 where exists (select 1 from api_keys where id = $1)
         on conflict (key_id, network) do nothing",
    )
    .bind(key_id)
    .bind(network)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// How many networks a key has been used from.
pub async fn network_count<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from key_networks where key_id = $1")
        .bind(key_id)
        .fetch_one(e)
        .await
}

/// Claims the key's new-network alert for now, unless one was sent in the last day (one
/// conditional update: one replica wins). True when this caller should send it.
pub async fn claim_network_alert<'c>(
    e: impl Executor<'c, Database = Any>,
    key_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update api_keys set network_alerted_at = $2
         where id = $1 and (network_alerted_at is null or network_alerted_at <= $2 - 86400)",
    )
    .bind(key_id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

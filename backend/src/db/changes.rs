//! The transactions change feed's bookkeeping (see migrations/0014_changes.sql): each change
//! takes the workspace's next number ([`next`]), deleted rows leave tombstones ([`bury`]), and
//! [`page`] reads what changed after a position.

use super::BindReach;
use sqlx::{any::AnyRow, Any, AnyConnection, Executor, Row};

use super::finance::{tx_row, TransactionRow, TX_COLUMNS};

/// Takes the workspace's next change number. The update holds the workspace's row (PostgreSQL;
/// SQLite's write lock holds everything) until the transaction ends, so the workspace's changes
/// commit in the order of their numbers: a reader that has seen a number has seen every smaller
/// one. Call it before the change it numbers, in the same transaction.
pub async fn next(conn: &mut AnyConnection, workspace_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "update workspaces set change_seq = change_seq + 1 where id = $1 returning change_seq",
    )
    .bind(workspace_id)
    .fetch_one(&mut *conn)
    .await
}

/// Marks a transaction changed at `seq` (an overlay edit, a bank's correction).
pub async fn touch<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
    seq: i64,
) -> sqlx::Result<()> {
    sqlx::query("update transactions set change_seq = $3 where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .bind(seq)
        .execute(e)
        .await?;
    Ok(())
}

/// Leaves tombstones at `seq` for the transactions `rows` selects (a `from … where …` over
/// `transactions t` whose `$1` is the workspace and `$2` is `arg`), before they are deleted.
async fn bury_where(
    conn: &mut AnyConnection,
    workspace_id: &str,
    rows: &str,
    arg: &str,
    seq: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "insert into transaction_tombstones (workspace_id, transaction_id, account_id, seq, deleted_at)
         select t.workspace_id, t.id, t.account_id, $3, $4 {rows}"
    ))
    .bind(workspace_id)
    .bind(arg)
    .bind(seq)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A tombstone for one transaction about to be deleted.
pub async fn bury(
    conn: &mut AnyConnection,
    workspace_id: &str,
    id: &str,
    seq: i64,
    now: i64,
) -> sqlx::Result<()> {
    let rows = "from transactions t where t.workspace_id = $1 and t.id = $2";
    bury_where(conn, workspace_id, rows, id, seq, now).await
}

/// Tombstones for every transaction of an account about to be deleted.
pub async fn bury_account(
    conn: &mut AnyConnection,
    workspace_id: &str,
    account_id: &str,
    seq: i64,
    now: i64,
) -> sqlx::Result<()> {
    let rows = "from transactions t where t.workspace_id = $1 and t.account_id = $2";
    bury_where(conn, workspace_id, rows, account_id, seq, now).await
}

/// Tombstones for every transaction of a bank connection's accounts about to be deleted.
pub async fn bury_connection(
    conn: &mut AnyConnection,
    workspace_id: &str,
    connection_id: &str,
    seq: i64,
    now: i64,
) -> sqlx::Result<()> {
    let rows = "from transactions t join bank_accounts b on b.account_id = t.account_id
                where t.workspace_id = $1 and b.connection_id = $2";
    bury_where(conn, workspace_id, rows, connection_id, seq, now).await
}

/// The workspace's newest change number and the newest one compacted away.
pub async fn bounds<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as("select change_seq, changes_floor from workspaces where id = $1")
        .bind(workspace_id)
        .fetch_one(e)
        .await
}

/// A row of the feed: a transaction as it is now, or a tombstone.
pub enum Change {
    Row {
        row: Box<TransactionRow>,
        created_seq: i64,
        change_seq: i64,
        removed: bool,
    },
    Gone {
        id: String,
        seq: i64,
    },
}

impl Change {
    /// Its position in the feed.
    pub fn position(&self) -> (i64, &str) {
        match self {
            Change::Row {
                row, change_seq, ..
            } => (*change_seq, &row.id),
            Change::Gone { id, seq } => (*seq, id),
        }
    }
}

/// Up to `limit` changes after position `(seq, id)` to transactions of accounts the caller
/// reaches, in feed order (rows and tombstones merged), and whether more follow. (Tombstones
/// written before migration 0016 name no account: a restricted caller does not see them.)
pub async fn page(
    conn: &mut AnyConnection,
    workspace_id: &str,
    reach: super::Reach<'_>,
    after: (i64, &str),
    limit: usize,
) -> sqlx::Result<(Vec<Change>, bool)> {
    let (seq, id) = after;
    let take = limit as i64 + 1;
    let rows: Vec<AnyRow> = sqlx::query(&format!(
        "select {TX_COLUMNS}, created_seq, change_seq, removed_at from transactions
         where workspace_id = $1 and (change_seq > $2 or (change_seq = $2 and id > $3)){}
         order by change_seq, id limit $4",
        super::reach_sql("account_id", 5, reach)
    ))
    .bind(workspace_id)
    .bind(seq)
    .bind(id)
    .bind(take)
    .bind_reach(reach)
    .fetch_all(&mut *conn)
    .await?;
    let gone: Vec<(String, i64)> = sqlx::query_as(&format!(
        "select transaction_id, seq from transaction_tombstones
         where workspace_id = $1 and (seq > $2 or (seq = $2 and transaction_id > $3)){}
         order by seq, transaction_id limit $4",
        super::reach_sql("account_id", 5, reach)
    ))
    .bind(workspace_id)
    .bind(seq)
    .bind(id)
    .bind(take)
    .bind_reach(reach)
    .fetch_all(&mut *conn)
    .await?;
    let mut all = Vec::with_capacity(rows.len() + gone.len());
    for r in rows {
        let created_seq = r.try_get("created_seq")?;
        let change_seq = r.try_get("change_seq")?;
        let removed = r.try_get::<Option<i64>, _>("removed_at")?.is_some();
        all.push(Change::Row {
            row: Box::new(tx_row(r)?),
            created_seq,
            change_seq,
            removed,
        });
    }
    all.extend(gone.into_iter().map(|(id, seq)| Change::Gone { id, seq }));
    // Ids compare as bytes here and in both databases' `>` on these (ASCII) UUIDs.
    all.sort_by(|a, b| a.position().cmp(&b.position()));
    let more = all.len() > limit;
    all.truncate(limit);
    Ok((all, more))
}

/// Retention: tombstones deleted before `before` go, and each workspace remembers the newest
/// number it compacted (positions before it answer 410). How many went.
pub async fn compact(conn: &mut AnyConnection, before: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "update workspaces set changes_floor = (
             select max(seq) from transaction_tombstones g
             where g.workspace_id = workspaces.id and g.deleted_at < $1)
         where exists (select 1 from transaction_tombstones g
                       where g.workspace_id = workspaces.id and g.deleted_at < $1)",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query("delete from transaction_tombstones where deleted_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

//! The transactions a sync writes: the stored rows read once, then inserts, updates and
//! removals in batches.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Executor, Row};

/// One upstream transaction, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedTransaction {
    pub external_id: String,
    pub amount_minor: i64,
    pub description: String,
    pub booked_at: i64,
    pub category: Option<String>,
    pub merchant: Option<String>,
    /// Not booked yet (the bank said `Pending`).
    pub pending: bool,
}

/// When a sync batch writes: the time and the batch's change number (`db::changes::next`).
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub now: i64,
    pub seq: i64,
}

/// What an account holds now, keyed by Tarabut's transaction id: the sync compares upstream
/// rows with this in memory and writes only what differs.
pub struct Stored {
    pub row: SyncedTransaction,
    pub removed: bool,
}

/// Every stored transaction of an account (one indexed range read).
pub async fn stored_rows<'c>(
    e: impl Executor<'c, Database = Any>,
    account_id: &str,
) -> sqlx::Result<HashMap<String, Stored>> {
    let rows = sqlx::query(
        "select external_id, amount_minor, description, booked_at, category, merchant, pending,
             removed_at
         from transactions where account_id = $1",
    )
    .bind(account_id)
    .fetch_all(e)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let row = SyncedTransaction {
            external_id: r.try_get("external_id")?,
            amount_minor: r.try_get("amount_minor")?,
            description: r.try_get("description")?,
            booked_at: r.try_get("booked_at")?,
            category: r.try_get("category")?,
            merchant: r.try_get("merchant")?,
            pending: r.try_get::<i64, _>("pending")? != 0,
        };
        let removed = r.try_get::<Option<i64>, _>("removed_at")?.is_some();
        out.insert(row.external_id.clone(), Stored { row, removed });
    }
    Ok(out)
}

/// Inserts new upstream rows, many to a statement ([`crate::db::finance::insert_new`]). A row
/// that already exists is left alone.
pub async fn insert_synced(
    conn: &mut AnyConnection,
    workspace_id: &str,
    account_id: &str,
    currency: &str,
    rows: &[&SyncedTransaction],
    at: Stamp,
) -> sqlx::Result<()> {
    let rows: Vec<crate::db::finance::NewTransaction> = rows
        .iter()
        .map(|r| crate::db::finance::NewTransaction {
            account_id,
            external_id: &r.external_id,
            amount_minor: r.amount_minor,
            currency,
            description: &r.description,
            booked_at: r.booked_at,
            category: r.category.as_deref(),
            merchant: r.merchant.as_deref(),
            pending: r.pending,
        })
        .collect();
    crate::db::finance::insert_new(conn, workspace_id, &rows, at.now, at.seq).await?;
    Ok(())
}

/// Rewrites a row's source fields after the bank changed it (the user's category, note, tags
/// and exclusion are separate columns and stay), and restores it if it had been removed.
pub async fn update_synced(
    conn: &mut AnyConnection,
    account_id: &str,
    r: &SyncedTransaction,
    at: Stamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "update transactions set amount_minor = $3, description = $4, booked_at = $5,
             category = $6, merchant = $7, pending = $9, removed_at = null, updated_at = $8,
             change_seq = $10, text_sig = $11
         where account_id = $1 and external_id = $2",
    )
    .bind(account_id)
    .bind(&r.external_id)
    .bind(r.amount_minor)
    .bind(&r.description)
    .bind(r.booked_at)
    .bind(&r.category)
    .bind(&r.merchant)
    .bind(at.now)
    .bind(i64::from(r.pending))
    .bind(at.seq)
    .bind(crate::db::finance::row_signature(
        &r.description,
        r.merchant.as_deref(),
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Hides rows the bank no longer shows (kept, not deleted, so the user's notes and categories
/// come back if the bank shows the row again).
pub async fn mark_removed(
    conn: &mut AnyConnection,
    account_id: &str,
    external_ids: &[&str],
    at: Stamp,
) -> sqlx::Result<()> {
    for chunk in external_ids.chunks(50) {
        let placeholders = (0..chunk.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "update transactions set removed_at = $2, updated_at = $2, change_seq = $3
             where account_id = $1 and removed_at is null and external_id in ({placeholders})"
        );
        let mut q = sqlx::query(&sql).bind(account_id).bind(at.now).bind(at.seq);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

//! Data changes SQL cannot make, and checks whose findings an operator must read, run once
//! each after the SQL migrations (`pfn migrate` prints what they found; `pfn serve` logs it).
//! The `maintenance` table records that a task ran and keeps its report; the task and that
//! record commit together, so a task runs exactly once even when replicas start at once.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::email;

/// One task: its name (never reused) and what it does in the given transaction; returns its
/// report, one finding per line ("" when there was nothing to say).
struct Task {
    name: &'static str,
    run: for<'a> fn(
        &'a mut AnyConnection,
    ) -> futures_util::future::BoxFuture<'a, sqlx::Result<String>>,
}

const TASKS: &[Task] = &[
    Task {
        name: "0006_email_keys_nfkc_casefold",
        run: |c| Box::pin(rekey_emails(c)),
    },
    Task {
        name: "0006_amounts_within_bound",
        run: |c| Box::pin(report_amounts_beyond_bound(c)),
    },
    Task {
        name: "0017_transaction_rollups",
        run: |c| Box::pin(super::finance::rollups::rebuild(c)),
    },
    Task {
        name: "0018_sqlite_rollups_without_rowid",
        run: |c| Box::pin(super::finance::rollups::cluster_on_sqlite(c)),
    },
    Task {
        name: "0019_postgres_rollups_hot_updates",
        run: |c| Box::pin(super::finance::rollups::hot_updates_on_postgres(c)),
    },
    Task {
        name: "0020_postgres_one_account_key",
        run: |c| Box::pin(super::finance::one_account_key_on_postgres(c)),
    },
    Task {
        name: "0021_sqlite_list_index_holds_checked_columns",
        run: |c| Box::pin(super::finance::checked_columns_in_list_index_on_sqlite(c)),
    },
    Task {
        name: "0022_sqlite_account_index_holds_checked_columns",
        run: |c| {
            Box::pin(super::finance::checked_columns_in_account_index_on_sqlite(
                c,
            ))
        },
    },
    Task {
        name: "0023_text_signatures",
        run: |c| Box::pin(super::finance::text_signatures(c)),
    },
    Task {
        name: "0024_postgres_account_rows_without_keys",
        run: |c| Box::pin(super::finance::account_rows_without_keys_on_postgres(c)),
    },
];

/// Runs every task not run yet; returns `(name, report)` of those that ran now and found
/// something.
pub async fn run(db: &Db, now: i64) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut reports = Vec::new();
    for task in TASKS {
        let mut tx = db.begin().await?;
        let claimed = sqlx::query(
            "insert into maintenance (name, ran_at, report) values ($1, $2, '')
             on conflict (name) do nothing",
        )
        .bind(task.name)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            continue;
        }
        let report = (task.run)(&mut tx).await?;
        sqlx::query("update maintenance set report = $2 where name = $1")
            .bind(task.name)
            .bind(&report)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if !report.is_empty() {
            reports.push((task.name, report));
        }
    }
    Ok(reports)
}

/// Recomputes every account's and pending invitation's email key under the current rules
/// (`crate::email`: NFKC, case folding, IDNA). Two accounts whose keys would become equal are
/// reported and left as they are: merging accounts is a decision for a person.
async fn rekey_emails(conn: &mut AnyConnection) -> sqlx::Result<String> {
    let users: Vec<(String, String, String)> =
        sqlx::query_as("select id, email, email_normalized from users order by created_at, id")
            .fetch_all(&mut *conn)
            .await?;
    let mut holders: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, email, _)) in users.iter().enumerate() {
        holders.entry(email::normalize(email)).or_default().push(i);
    }
    let mut report = Vec::new();
    let mut moves = Vec::new();
    for (key, ids) in &holders {
        if ids.len() > 1 {
            let who: Vec<String> = ids
                .iter()
                .map(|&i| format!("{} <{}>", users[i].0, users[i].1))
                .collect();
            report.push(format!(
                "accounts {} now share the email key {key:?}; neither was changed: keep the real \
                 one, then delete or re-address the others",
                who.join(" and ")
            ));
        } else if users[ids[0]].2 != *key {
            moves.push((users[ids[0]].0.clone(), key.clone()));
        }
    }
    report.sort();
    // Two passes: a key may move to a row whose key another row holds until it moves too.
    for (id, _) in &moves {
        sqlx::query("update users set email_normalized = $2 where id = $1")
            .bind(id)
            .bind(format!("rekeying:{id}"))
            .execute(&mut *conn)
            .await?;
    }
    for (id, key) in &moves {
        sqlx::query("update users set email_normalized = $2 where id = $1")
            .bind(id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    let invitations: Vec<(String, String)> =
        sqlx::query_as("select id, email_normalized from invitations where accepted_at is null")
            .fetch_all(&mut *conn)
            .await?;
    for (id, old) in invitations {
        let key = email::normalize(&old);
        if key != old {
            sqlx::query("update invitations set email_normalized = $2 where id = $1")
                .bind(id)
                .bind(key)
                .execute(&mut *conn)
                .await?;
        }
    }
    if !moves.is_empty() {
        report.push(format!("{} account email keys recomputed", moves.len()));
    }
    Ok(report.join("\n"))
}

/// Amounts are bounded by `shared::money::MAX_MINOR` since this release; rows stored before
/// beyond it are counted (and a few named), not changed: only their owner knows what they meant.
async fn report_amounts_beyond_bound(conn: &mut AnyConnection) -> sqlx::Result<String> {
    let max = shared::money::MAX_MINOR;
    let mut report = Vec::new();
    for (table, id, column) in [
        ("transactions", "id", "amount_minor"),
        ("budgets", "id", "limit_minor"),
        ("bank_accounts", "account_id", "balance_minor"),
        ("balance_history", "account_id", "balance_minor"),
    ] {
        let rows = sqlx::query(&format!(
            "select {id} from {table} where {column} > $1 or {column} < $2 order by {id} limit 11"
        ))
        .bind(max)
        .bind(-max)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            continue;
        }
        let count: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where {column} > $1 or {column} < $2"
        ))
        .bind(max)
        .bind(-max)
        .fetch_one(&mut *conn)
        .await?;
        let ids: Vec<String> = rows
            .iter()
            .take(10)
            .filter_map(|r| r.try_get::<String, _>(0).ok())
            .collect();
        report.push(format!(
            "{count} rows of {table} hold a {column} beyond 10^12 minor units (sums stay exact; \
             the API refuses such amounts from now on), e.g. {}",
            ids.join(", ")
        ));
    }
    Ok(report.join("\n"))
}

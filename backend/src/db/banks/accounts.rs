//! `bank_accounts` and `balance_history`: the accounts a connection reads and their daily
//! balances.

use crate::db::BindReach;
use sqlx::{Any, AnyConnection, Executor, Row};

#[derive(Debug, Clone)]
pub struct BankAccountRow {
    pub account_id: String,
    pub tarabut_account_id: String,
    pub name: String,
    pub kind: String,
    pub currency: String,
    pub identifier_hint: Option<String>,
    pub balance_minor: Option<i64>,
    pub balance_at: Option<i64>,
}

pub async fn accounts_of<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
) -> sqlx::Result<Vec<BankAccountRow>> {
    sqlx::query(
        "select b.account_id, b.tarabut_account_id, a.name, a.kind, a.currency, b.identifier_hint,
                b.balance_minor, b.balance_at
         from bank_accounts b join accounts a on a.id = b.account_id
         where b.connection_id = $1 order by b.tarabut_account_id",
    )
    .bind(connection_id)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(|r| {
        Ok(BankAccountRow {
            account_id: r.try_get("account_id")?,
            tarabut_account_id: r.try_get("tarabut_account_id")?,
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            currency: r.try_get("currency")?,
            identifier_hint: r.try_get("identifier_hint")?,
            balance_minor: r.try_get("balance_minor")?,
            balance_at: r.try_get("balance_at")?,
        })
    })
    .collect()
}

pub struct NewBankAccount<'a> {
    pub workspace_id: &'a str,
    pub connection_id: &'a str,
    pub tarabut_account_id: &'a str,
    pub provider_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub currency: &'a str,
    pub identifier_hint: Option<&'a str>,
    pub now: i64,
}

/// Our account for a Tarabut account: created on first sight, re-linked to this connection when
/// the bank was connected before (history kept, nothing duplicated). Returns our account id.
pub async fn link_account(
    conn: &mut AnyConnection,
    a: &NewBankAccount<'_>,
) -> sqlx::Result<String> {
    let existing: Option<String> = sqlx::query_scalar(
        "select account_id from bank_accounts where workspace_id = $1 and tarabut_account_id = $2",
    )
    .bind(a.workspace_id)
    .bind(a.tarabut_account_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = existing {
        sqlx::query("update bank_accounts set connection_id = $2, identifier_hint = $3 where account_id = $1")
            .bind(&id)
            .bind(a.connection_id)
            .bind(a.identifier_hint)
            .execute(&mut *conn)
            .await?;
        sqlx::query("update accounts set name = $2, updated_at = $3 where id = $1")
            .bind(&id)
            .bind(a.name)
            .bind(a.now)
            .execute(&mut *conn)
            .await?;
        return Ok(id);
    }
    let id = crate::db::new_id();
    sqlx::query(
        "insert into accounts (id, workspace_id, name, currency, kind, source, created_at, updated_at)
         values ($1, $2, $3, $4, $5, 'bank', $6, $6)",
    )
    .bind(&id)
    .bind(a.workspace_id)
    .bind(a.name)
    .bind(a.currency)
    .bind(a.kind)
    .bind(a.now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into bank_accounts (account_id, workspace_id, connection_id, tarabut_account_id, provider_id, identifier_hint)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(a.workspace_id)
    .bind(a.connection_id)
    .bind(a.tarabut_account_id)
    .bind(a.provider_id)
    .bind(a.identifier_hint)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The latest balance, and the day's point in the history (the last reading of a day wins).
pub async fn record_balance(
    conn: &mut AnyConnection,
    account_id: &str,
    balance_minor: i64,
    currency: &str,
    day: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update bank_accounts set balance_minor = $2, balance_at = $3 where account_id = $1",
    )
    .bind(account_id)
    .bind(balance_minor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into balance_history (account_id, day, balance_minor, currency, recorded_at)
         values ($1, $2, $3, $4, $5)
         on conflict (account_id, day) do update set balance_minor = excluded.balance_minor,
             currency = excluded.currency, recorded_at = excluded.recorded_at",
    )
    .bind(account_id)
    .bind(day)
    .bind(balance_minor)
    .bind(currency)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Balance history of the workspace's bank accounts in `[from_day, to_day)`.
pub async fn balance_history<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: crate::db::Reach<'_>,
    account_id: Option<&str>,
    from_day: &str,
    to_day: &str,
) -> sqlx::Result<Vec<(String, String, String, i64)>> {
    sqlx::query(&format!(
        "select h.account_id, h.day, h.currency, h.balance_minor from balance_history h
         join accounts a on a.id = h.account_id
         where a.workspace_id = $1 and ($2 = '' or h.account_id = $2) and h.day >= $3 and h.day < $4{}
         order by h.account_id, h.day",
        crate::db::reach_sql("h.account_id", 5, reach)
    ))
    .bind(workspace_id)
    .bind(account_id.unwrap_or_default())
    .bind(from_day)
    .bind(to_day)
    .bind_reach(reach)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
    .collect()
}

/// Deletes the accounts (and so their transactions and history) linked to a connection.
pub async fn delete_accounts_of<'c>(
    e: impl Executor<'c, Database = Any>,
    connection_id: &str,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "delete from accounts where id in (select account_id from bank_accounts where connection_id = $1)",
    )
    .bind(connection_id)
    .execute(e)
    .await?;
    Ok(r.rows_affected())
}

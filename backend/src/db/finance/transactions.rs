//! `transactions`: one row each, with the user's overlays.

use sqlx::{any::AnyRow, Any, Executor, Row};

use crate::db::{reach_sql, BindReach, Reach};

#[derive(Debug, Clone)]
pub struct TransactionRow {
    pub id: String,
    pub account_id: String,
    pub external_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub booked_at: i64,
    pub category: Option<String>,
    pub merchant: Option<String>,
    pub note: Option<String>,
    pub tags: Option<String>,
    pub excluded: bool,
    pub pending: bool,
    pub updated_at: i64,
}

pub(in crate::db) const TX_COLUMNS: &str =
    "id, account_id, external_id, amount_minor, currency, description, booked_at,
    coalesce(category_override, category) as category, merchant, note, tags, excluded,
    pending, updated_at";

pub(in crate::db) fn tx_row(r: AnyRow) -> sqlx::Result<TransactionRow> {
    Ok(TransactionRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        external_id: r.try_get("external_id")?,
        amount_minor: r.try_get("amount_minor")?,
        currency: r.try_get("currency")?,
        description: r.try_get("description")?,
        booked_at: r.try_get("booked_at")?,
        category: r.try_get("category")?,
        merchant: r.try_get("merchant")?,
        note: r.try_get("note")?,
        tags: r.try_get("tags")?,
        excluded: r.try_get::<i64, _>("excluded")? != 0,
        pending: r.try_get::<i64, _>("pending")? != 0,
        updated_at: r.try_get("updated_at")?,
    })
}

pub struct NewTransaction<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub account_id: &'a str,
    pub external_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub description: &'a str,
    pub booked_at: i64,
    pub category: Option<&'a str>,
    pub merchant: Option<&'a str>,
    pub now: i64,
    /// The change number of the push (`db::changes::next`).
    pub seq: i64,
}

/// Inserts unless `(account, external id)` exists; returns the stored id and whether it is new.
pub async fn insert_transaction(
    conn: &mut sqlx::AnyConnection,
    t: NewTransaction<'_>,
) -> sqlx::Result<(String, bool)> {
    let inserted: Option<String> = sqlx::query_scalar(
        "insert into transactions (id, workspace_id, account_id, external_id, amount_minor, currency,
                                   description, booked_at, category, merchant, created_at, updated_at,
                                   created_seq, change_seq)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12)
         on conflict (account_id, external_id) do nothing
         returning id",
    )
    .bind(t.id)
    .bind(t.workspace_id)
    .bind(t.account_id)
    .bind(t.external_id)
    .bind(t.amount_minor)
    .bind(t.currency)
    .bind(t.description)
    .bind(t.booked_at)
    .bind(t.category)
    .bind(t.merchant)
    .bind(t.now)
    .bind(t.seq)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok((id, true));
    }
    let existing: String = sqlx::query_scalar(
        "select id from transactions where account_id = $1 and external_id = $2",
    )
    .bind(t.account_id)
    .bind(t.external_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((existing, false))
}

pub struct TransactionFilter<'a> {
    pub workspace_id: &'a str,
    /// The accounts the caller reaches.
    pub reach: Reach<'a>,
    pub account_id: Option<&'a str>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub category: Option<&'a str>,
    /// Text in the description or the merchant, ignoring the case of ASCII letters.
    pub text: Option<&'a str>,
    /// Amounts from and to these (inclusive), in thousandths of the transaction's currency.
    pub min_thousandths: Option<i64>,
    pub max_thousandths: Option<i64>,
    /// Only pending (`Some(true)`) or only booked (`Some(false)`) transactions.
    pub pending: Option<bool>,
}

/// `amount_minor` in thousandths of its currency (exact: 10^12 minor units × 1000 fits `i64`),
/// so that one decimal bound compares with amounts of every currency.
static THOUSANDTHS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    // Most currencies have two digits: the `else`; a case for each other exponent in use.
    let mut cases = String::new();
    for e in [0u32, 1, 3] {
        let list: Vec<String> = shared::money::currencies_with_exponent(e)
            .map(|c| format!("'{c}'"))
            .collect();
        if !list.is_empty() {
            let factor = 10i64.pow(3 - e);
            cases.push_str(&format!(
                " when currency in ({}) then {factor}",
                list.join(", ")
            ));
        }
    }
    format!("amount_minor * case{cases} else 10 end")
});

/// `%text%` for `like`, with `\`, `%` and `_` taken literally and ASCII letters in lower case
/// (both databases then compare the rest byte for byte).
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c.to_ascii_lowercase());
    }
    p.push('%');
    p
}

/// Newest first by booking time, after the cursor `(booked_at, id)`.
pub async fn list_transactions<'c>(
    e: impl Executor<'c, Database = Any>,
    backend: crate::db::Backend,
    f: TransactionFilter<'_>,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<TransactionRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    // SQLite's lower() changes ASCII letters only; PostgreSQL's does so in the C collation.
    let c = match backend {
        crate::db::Backend::Postgres => " collate \"C\"",
        crate::db::Backend::Sqlite => "",
    };
    let thousandths = &*THOUSANDTHS;
    sqlx::query(&format!(
        "select {TX_COLUMNS} from transactions
         where workspace_id = $1 and removed_at is null
           and ($2 = '' or account_id = $2)
           and booked_at >= $3 and booked_at < $4
           and ($5 = '' or coalesce(category_override, category) = $5)
           and (booked_at < $6 or (booked_at = $6 and id < $7))
           and ($9 = '' or lower(description{c}) like $9 escape '\\'
                or lower(coalesce(merchant, ''){c}) like $9 escape '\\')
           and {thousandths} between $10 and $11
           and ($12 < 0 or pending = $12){}
         order by booked_at desc, id desc limit $8",
        reach_sql("account_id", 13, f.reach)
    ))
    .bind(f.workspace_id)
    .bind(f.account_id.unwrap_or(""))
    .bind(f.from.unwrap_or(i64::MIN))
    .bind(f.to.unwrap_or(i64::MAX))
    .bind(f.category.unwrap_or(""))
    .bind(ts)
    .bind(id)
    .bind(limit)
    .bind(f.text.map(like_pattern).unwrap_or_default())
    .bind(f.min_thousandths.unwrap_or(i64::MIN))
    .bind(f.max_thousandths.unwrap_or(i64::MAX))
    .bind(f.pending.map_or(-1, i64::from))
    .bind_reach(f.reach)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(tx_row)
    .collect()
}

/// A live transaction of the workspace, on an account the caller reaches.
pub async fn get_transaction<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
    id: &str,
) -> sqlx::Result<Option<TransactionRow>> {
    sqlx::query(&format!(
        "select {TX_COLUMNS} from transactions where workspace_id = $1 and id = $2 and removed_at is null{}",
        reach_sql("account_id", 3, reach)
    ))
        .bind(workspace_id)
        .bind(id)
        .bind_reach(reach)
        .fetch_optional(e)
        .await?
        .map(tx_row)
        .transpose()
}

/// Where a live transaction on an account the caller reaches came from: `Some("manual")` for a
/// pushed one, `Some("bank")` for a synced one.
pub async fn transaction_source<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
    id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(&format!(
        "select a.source from transactions t join accounts a on a.id = t.account_id
         where t.workspace_id = $1 and t.id = $2 and t.removed_at is null{}",
        reach_sql("t.account_id", 3, reach)
    ))
    .bind(workspace_id)
    .bind(id)
    .bind_reach(reach)
    .fetch_optional(e)
    .await
}

/// Deletes a transaction; its `(account id, amount)`, or `None` when there was none.
pub async fn delete_transaction<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(
        "delete from transactions where workspace_id = $1 and id = $2
         returning account_id, amount_minor",
    )
    .bind(workspace_id)
    .bind(id)
    .fetch_optional(e)
    .await
}

/// Sets the overlays given as `Some` (inner `None` clears), on a transaction of an account the
/// caller reaches.
#[allow(clippy::too_many_arguments)]
pub async fn patch_transaction_overlays<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    reach: Reach<'_>,
    id: &str,
    category: Option<Option<&str>>,
    note: Option<Option<&str>>,
    tags: Option<Option<&str>>,
    excluded: Option<bool>,
    now: i64,
    seq: i64,
) -> sqlx::Result<bool> {
    // $n = 1 means "set this column to the bound value" (which may be null).
    let r = sqlx::query(&format!(
        "update transactions set
             category_override = case when $3 = 1 then $4 else category_override end,
             note = case when $5 = 1 then $6 else note end,
             tags = case when $7 = 1 then $8 else tags end,
             excluded = case when $9 = 1 then $10 else excluded end,
             updated_at = $11, change_seq = $12
         where workspace_id = $1 and id = $2 and removed_at is null{}",
        reach_sql("account_id", 13, reach)
    ))
    .bind(workspace_id)
    .bind(id)
    .bind(i64::from(category.is_some()))
    .bind(category.flatten())
    .bind(i64::from(note.is_some()))
    .bind(note.flatten())
    .bind(i64::from(tags.is_some()))
    .bind(tags.flatten())
    .bind(i64::from(excluded.is_some()))
    .bind(i64::from(excluded.unwrap_or(false)))
    .bind(now)
    .bind(seq)
    .bind_reach(reach)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

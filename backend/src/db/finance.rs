//! `accounts`, `transactions`, `budgets`, `idempotency_keys`.

use sqlx::{any::AnyRow, Any, Executor, Row};

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub currency: String,
    pub kind: String,
    pub source: String,
    pub created_at: i64,
    /// A manual account's running total; a bank account's last reported balance (none until
    /// the bank reports one).
    pub balance_minor: Option<i64>,
    /// When the bank reported its balance (bank accounts).
    pub balance_at: Option<i64>,
}

/// An account's columns, with its balance: `a` is `accounts`, `b` its `bank_accounts` row.
const ACCOUNT_COLUMNS: &str = "a.id, a.workspace_id, a.name, a.currency, a.kind, a.source,
    a.created_at, case when a.source = 'manual' then a.balance_minor else b.balance_minor end
    as balance_minor, b.balance_at
    from accounts a left join bank_accounts b on b.account_id = a.id";

fn account(r: AnyRow) -> sqlx::Result<AccountRow> {
    Ok(AccountRow {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        name: r.try_get("name")?,
        currency: r.try_get("currency")?,
        kind: r.try_get("kind")?,
        source: r.try_get("source")?,
        created_at: r.try_get("created_at")?,
        balance_minor: r.try_get("balance_minor")?,
        balance_at: r.try_get("balance_at")?,
    })
}

pub async fn insert_account<'c>(
    e: impl Executor<'c, Database = Any>,
    a: &AccountRow,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into accounts (id, workspace_id, name, currency, kind, source, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&a.id)
    .bind(&a.workspace_id)
    .bind(&a.name)
    .bind(&a.currency)
    .bind(&a.kind)
    .bind(&a.source)
    .bind(a.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn get_account<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query(&format!(
        "select {ACCOUNT_COLUMNS} where a.workspace_id = $1 and a.id = $2"
    ))
    .bind(workspace_id)
    .bind(id)
    .fetch_optional(e)
    .await?
    .map(account)
    .transpose()
}

/// Renames an account or changes its kind.
pub async fn update_account<'c>(
    e: impl Executor<'c, Database = Any>,
    a: &AccountRow,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("update accounts set name = $3, kind = $4, updated_at = $5 where workspace_id = $1 and id = $2")
        .bind(&a.workspace_id)
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.kind)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// How far a manual account's balance may go either side of zero, in minor units: far beyond
/// any real account, and far enough inside `i64` that adding one transaction (at most 10^12)
/// cannot overflow.
pub const MAX_BALANCE: i64 = 9_000_000_000_000_000_000;

/// Adds `delta` to a manual account's balance; false (nothing changed) when the balance would
/// leave ±[`MAX_BALANCE`].
pub async fn add_to_balance<'c>(
    e: impl Executor<'c, Database = Any>,
    account_id: &str,
    delta: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update accounts set balance_minor = balance_minor + $2
         where id = $1 and source = 'manual'
           and balance_minor + $2 between $3 and $4",
    )
    .bind(account_id)
    .bind(delta)
    .bind(-MAX_BALANCE)
    .bind(MAX_BALANCE)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// How many transactions an account holds (those a sync marked removed too).
pub async fn account_transaction_count<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from transactions where account_id = $1")
        .bind(id)
        .fetch_one(e)
        .await
}

/// Deletes an account and, through the foreign key, its transactions.
pub async fn delete_account<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from accounts where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn accounts_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<AccountRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(&format!(
        "select {ACCOUNT_COLUMNS}
         where a.workspace_id = $1 and (a.created_at < $2 or (a.created_at = $2 and a.id < $3))
         order by a.created_at desc, a.id desc limit $4"
    ))
    .bind(workspace_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(account)
    .collect()
}

/// Every account of the workspace (to validate a push against).
pub async fn all_accounts<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
) -> sqlx::Result<Vec<AccountRow>> {
    sqlx::query(&format!(
        "select {ACCOUNT_COLUMNS} where a.workspace_id = $1"
    ))
    .bind(workspace_id)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(account)
    .collect()
}

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

pub(super) const TX_COLUMNS: &str =
    "id, account_id, external_id, amount_minor, currency, description, booked_at,
    coalesce(category_override, category) as category, merchant, note, tags, excluded,
    pending, updated_at";

pub(super) fn tx_row(r: AnyRow) -> sqlx::Result<TransactionRow> {
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
    backend: super::Backend,
    f: TransactionFilter<'_>,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<TransactionRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    // SQLite's lower() changes ASCII letters only; PostgreSQL's does so in the C collation.
    let c = match backend {
        super::Backend::Postgres => " collate \"C\"",
        super::Backend::Sqlite => "",
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
           and ($12 < 0 or pending = $12)
         order by booked_at desc, id desc limit $8"
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
    .fetch_all(e)
    .await?
    .into_iter()
    .map(tx_row)
    .collect()
}

pub async fn get_transaction<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<TransactionRow>> {
    sqlx::query(&format!("select {TX_COLUMNS} from transactions where workspace_id = $1 and id = $2 and removed_at is null"))
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(tx_row)
        .transpose()
}

/// Where a live transaction came from: `Some("manual")` for a pushed one, `Some("bank")` for a
/// synced one.
pub async fn transaction_source<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select a.source from transactions t join accounts a on a.id = t.account_id
         where t.workspace_id = $1 and t.id = $2 and t.removed_at is null",
    )
    .bind(workspace_id)
    .bind(id)
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

/// Sets the overlays given as `Some` (inner `None` clears).
#[allow(clippy::too_many_arguments)]
pub async fn patch_transaction_overlays<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
    category: Option<Option<&str>>,
    note: Option<Option<&str>>,
    tags: Option<Option<&str>>,
    excluded: Option<bool>,
    now: i64,
    seq: i64,
) -> sqlx::Result<bool> {
    // $n = 1 means "set this column to the bound value" (which may be null).
    let r = sqlx::query(
        "update transactions set
             category_override = case when $3 = 1 then $4 else category_override end,
             note = case when $5 = 1 then $6 else note end,
             tags = case when $7 = 1 then $8 else tags end,
             excluded = case when $9 = 1 then $10 else excluded end,
             updated_at = $11, change_seq = $12
         where workspace_id = $1 and id = $2 and removed_at is null",
    )
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
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Money out (positive) in a category, currency and `[from, to)` window, exactly.
pub async fn spent<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    category: &str,
    currency: &str,
    from: i64,
    to: i64,
) -> sqlx::Result<i128> {
    let (high, low): (i64, i64) = sqlx::query_as(&format!(
        "select {} from transactions
         where workspace_id = $1 and coalesce(category_override, category) = $2 and currency = $3
           and booked_at >= $4 and booked_at < $5 and amount_minor < 0
           and excluded = 0 and removed_at is null",
        exact_sum("amount_minor")
    ))
    .bind(workspace_id)
    .bind(category)
    .bind(currency)
    .bind(from)
    .bind(to)
    .fetch_one(e)
    .await?;
    Ok(-total(high, low))
}

/// The two halves of an exact `sum(column)` for [`total`]. A plain `sum` of amounts overflows
/// `bigint` (SQLite raises, PostgreSQL's numeric fails the cast) once a window holds enough
/// large amounts; amounts are bounded by 10^12 minor units (`shared::money::MAX_MINOR`), so
/// each half below stays far inside `bigint` for any number of rows a database can hold.
/// Integer division and remainder truncate toward zero on both databases, so
/// `amount = high * 10^6 + low` holds for every row.
pub fn exact_sum(column: &str) -> String {
    format!(
        "cast(coalesce(sum({column} / {SPLIT}), 0) as bigint), cast(coalesce(sum({column} % {SPLIT}), 0) as bigint)"
    )
}

const SPLIT: i64 = 1_000_000;

/// Joins the halves [`exact_sum`] selected.
pub fn total(high: i64, low: i64) -> i128 {
    i128::from(high) * i128::from(SPLIT) + i128::from(low)
}

/// One counted transaction of an insight: (currency, category, booked at, amount in minor units).
pub type FlowRow = (String, String, i64, i64);

/// The transactions an insight counts: money out (`outflow`) or in, booked in `[from, to)`,
/// not excluded nor removed, of one account (`account_id`) or all; the category is the
/// caller's override, else the bank's, else `uncategorized`.
pub async fn flows<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    account_id: Option<&str>,
    from: i64,
    to: i64,
    outflow: bool,
) -> sqlx::Result<Vec<FlowRow>> {
    let rows = sqlx::query(&format!(
        "select currency, coalesce(category_override, category, 'uncategorized') as category, booked_at, amount_minor
         from transactions
         where workspace_id = $1 and ($2 = '' or account_id = $2) and booked_at >= $3 and booked_at < $4
           and excluded = 0 and removed_at is null and amount_minor {} 0",
        if outflow { "<" } else { ">" }
    ))
    .bind(workspace_id)
    .bind(account_id.unwrap_or_default())
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct BudgetRow {
    pub id: String,
    pub category: String,
    pub month: String,
    pub limit_minor: i64,
    pub currency: String,
    pub created_at: i64,
}

fn budget(r: AnyRow) -> sqlx::Result<BudgetRow> {
    Ok(BudgetRow {
        id: r.try_get("id")?,
        category: r.try_get("category")?,
        month: r.try_get("month")?,
        limit_minor: r.try_get("limit_minor")?,
        currency: r.try_get("currency")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn budgets_in<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    before: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<BudgetRow>> {
    let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
    sqlx::query(
        "select id, category, month, limit_minor, currency, created_at from budgets
         where workspace_id = $1 and (created_at < $2 or (created_at = $2 and id < $3))
         order by created_at desc, id desc limit $4",
    )
    .bind(workspace_id)
    .bind(ts)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?
    .into_iter()
    .map(budget)
    .collect()
}

pub async fn get_budget<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<Option<BudgetRow>> {
    sqlx::query("select id, category, month, limit_minor, currency, created_at from budgets where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(budget)
        .transpose()
}

/// Inserts or (with `id` of an existing budget) replaces; false on a duplicate
/// (category, month, currency).
pub async fn upsert_budget<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    b: &BudgetRow,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into budgets (id, workspace_id, category, month, limit_minor, currency, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (id) do update set category = excluded.category, month = excluded.month,
             limit_minor = excluded.limit_minor, currency = excluded.currency, updated_at = excluded.updated_at,
             exceeded_at = null",
    )
    .bind(&b.id)
    .bind(workspace_id)
    .bind(&b.category)
    .bind(&b.month)
    .bind(b.limit_minor)
    .bind(&b.currency)
    .bind(b.created_at)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_budget<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("delete from budgets where workspace_id = $1 and id = $2")
        .bind(workspace_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub enum Idempotency {
    /// Ours: go ahead, then [`finish_idempotent`].
    Started,
    /// Same key and body, already answered: replay this.
    Replay(u16, String),
    /// Same key, another body.
    Mismatch,
    /// Same key, still being processed.
    InProgress,
}

/// Claims `(workspace, owner, key)` for a request whose body hashes to `request_hash`.
pub async fn begin_idempotent(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    owner: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    ttl: i64,
) -> sqlx::Result<Idempotency> {
    sqlx::query("delete from idempotency_keys where workspace_id = $1 and owner = $2 and idem_key = $3 and expires_at <= $4")
        .bind(workspace_id)
        .bind(owner)
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let claimed = sqlx::query(
        "insert into idempotency_keys (workspace_id, owner, idem_key, request_hash, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6) on conflict (workspace_id, owner, idem_key) do nothing",
    )
    .bind(workspace_id)
    .bind(owner)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(now + ttl)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        return Ok(Idempotency::Started);
    }
    let row = sqlx::query(
        "select request_hash, status_code, response_body from idempotency_keys
         where workspace_id = $1 and owner = $2 and idem_key = $3",
    )
    .bind(workspace_id)
    .bind(owner)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let hash: String = row.try_get("request_hash")?;
    let status: Option<i64> = row.try_get("status_code")?;
    let body: Option<String> = row.try_get("response_body")?;
    Ok(match (hash == request_hash, status, body) {
        (false, _, _) => Idempotency::Mismatch,
        (true, Some(s), Some(b)) => Idempotency::Replay(s as u16, b),
        _ => Idempotency::InProgress,
    })
}

pub async fn finish_idempotent<'c>(
    e: impl Executor<'c, Database = Any>,
    workspace_id: &str,
    owner: &str,
    key: &str,
    status: u16,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update idempotency_keys set status_code = $4, response_body = $5
         where workspace_id = $1 and owner = $2 and idem_key = $3",
    )
    .bind(workspace_id)
    .bind(owner)
    .bind(key)
    .bind(i64::from(status))
    .bind(body)
    .execute(e)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use num_bigint::BigInt;
    use proptest::prelude::*;
    use shared::money::MAX_MINOR;

    use super::{total, SPLIT};

    /// Amounts at, next to and anywhere within the bound, either sign.
    fn amount() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(MAX_MINOR),
            Just(-MAX_MINOR),
            (MAX_MINOR - 1_000_000)..=MAX_MINOR,
            -MAX_MINOR..=(-MAX_MINOR + 1_000_000),
            -MAX_MINOR..=MAX_MINOR,
        ]
    }

    proptest! {
        /// What the database computes for [`super::exact_sum`] (integer division and remainder
        /// truncating toward zero, summed in bigint) joined by [`total`] is the exact sum.
        #[test]
        fn split_sums_equal_the_big_integer_sum(amounts in prop::collection::vec(amount(), 0..1000)) {
            let (mut high, mut low) = (0i64, 0i64);
            for a in &amounts {
                high = high.checked_add(a / SPLIT).expect("the high half stays in bigint");
                low = low.checked_add(a % SPLIT).expect("the low half stays in bigint");
            }
            let reference: BigInt = amounts.iter().map(|&a| BigInt::from(a)).sum();
            prop_assert_eq!(BigInt::from(total(high, low)), reference);
        }
    }
}

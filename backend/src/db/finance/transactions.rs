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

/// A pushed transaction to store.
pub struct NewTransaction<'a> {
    pub account_id: &'a str,
    pub external_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub description: &'a str,
    pub booked_at: i64,
    pub category: Option<&'a str>,
    pub merchant: Option<&'a str>,
    /// Not booked yet (only a bank says so).
    pub pending: bool,
}

/// Inserts the rows whose `(account, external id)` does not exist yet, many to a statement
/// ([`crate::db::insert_rows`]: one round trip per batch on PostgreSQL), as change `seq`;
/// returns the ids given to the rows, in order, and how many rows were stored. A pair given
/// twice is stored once.
pub async fn insert_new(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    rows: &[NewTransaction<'_>],
    now: i64,
    seq: i64,
) -> sqlx::Result<(Vec<String>, u64)> {
    use crate::db::Field::{Int, MaybeText, Text};
    let ids: Vec<String> = rows.iter().map(|_| crate::db::new_id()).collect();
    let values: Vec<[crate::db::Field; 16]> = rows
        .iter()
        .zip(&ids)
        .map(|(t, id)| {
            [
                Text(workspace_id),
                Int(now),
                Int(now),
                Int(seq),
                Int(seq),
                Text(id),
                Text(t.account_id),
                Text(t.external_id),
                Int(t.amount_minor),
                Text(t.currency),
                Text(t.description),
                Int(t.booked_at),
                MaybeText(t.category),
                MaybeText(t.merchant),
                Int(i64::from(t.pending)),
                Int(super::row_signature(t.description, t.merchant)),
            ]
        })
        .collect();
    let stored = crate::db::insert_rows(
        conn,
        "transactions",
        &[
            ("workspace_id", "text"),
            ("created_at", "bigint"),
            ("updated_at", "bigint"),
            ("created_seq", "bigint"),
            ("change_seq", "bigint"),
            ("id", "text"),
            ("account_id", "text"),
            ("external_id", "text"),
            ("amount_minor", "bigint"),
            ("currency", "text"),
            ("description", "text"),
            ("booked_at", "bigint"),
            ("category", "text"),
            ("merchant", "text"),
            ("pending", "bigint"),
            ("text_sig", "bigint"),
        ],
        &values,
        "on conflict (account_id, external_id) do nothing",
    )
    .await?;
    Ok((ids, stored))
}

/// What [`insert_transactions`] stored.
pub enum Inserted {
    /// Every row (the usual case): their ids, in the rows' order. They are the ones given by
    /// [`insert_new`], so nothing is read back.
    All(Vec<String>),
    /// Not every row (the others exist already, or were given twice): the ids of the stored
    /// ones by `(account id, external id)`, read back as the rows of this change, which are
    /// exactly the ones this call stored.
    Some(std::collections::HashMap<(String, String), String>),
}

/// [`insert_new`], saying which rows were stored.
pub async fn insert_transactions(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    rows: &[NewTransaction<'_>],
    now: i64,
    seq: i64,
) -> sqlx::Result<Inserted> {
    let (ids, stored) = insert_new(conn, workspace_id, rows, now, seq).await?;
    if stored == rows.len() as u64 {
        return Ok(Inserted::All(ids));
    }
    let created: Vec<(String, String, String)> = sqlx::query_as(
        "select account_id, external_id, id from transactions
         where workspace_id = $1 and change_seq = $2",
    )
    .bind(workspace_id)
    .bind(seq)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Inserted::Some(
        created.into_iter().map(|(a, e, id)| ((a, e), id)).collect(),
    ))
}

/// The ids of an account's transactions with these external ids, by external id.
pub async fn ids_by_external(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    external_ids: &[&str],
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    let mut found = std::collections::HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(crate::db::rows_per_statement(conn, 1)) {
        let sql = format!(
            "select external_id, id from transactions where account_id = $1 and external_id in {}",
            crate::db::value_rows(1, chunk.len(), 2, "")
        );
        let mut q = sqlx::query_as(&sql).bind(account_id);
        for id in chunk {
            q = q.bind(*id);
        }
        let rows: Vec<(String, String)> = q.fetch_all(&mut *conn).await?;
        found.extend(rows);
    }
    Ok(found)
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

/// How many rows one window of a list with text, amount or pending filters reads, and how
/// many windows one page may read: a page reads at most 10,000 rows however rare the match.
const WINDOW: i64 = 2_000;
const WINDOWS_PER_PAGE: usize = 5;
/// The rows a page of a list with checks reads at most.
const PAGE_BUDGET: i64 = WINDOW * WINDOWS_PER_PAGE as i64;

/// A page of [`list_transactions`]: the rows, and where to go on when the page stopped at its
/// reading budget before it was full (a text, amount or pending filter that matches rarely):
/// the position after the last row read, which the next page starts from.
pub struct ListedPage {
    pub rows: Vec<TransactionRow>,
    pub resume: Option<Position>,
}

#[derive(Clone)]
enum Value<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
}

/// SQL conditions with their parameters, numbered as they are added.
#[derive(Clone)]
struct Conditions<'a> {
    sql: String,
    values: Vec<Value<'a>>,
}

impl<'a> Conditions<'a> {
    /// Adds ` and <template>`; the template numbers its parameters ?1, ?2…, which follow the
    /// ones so far.
    fn and(&mut self, template: &str, vs: Vec<Value<'a>>) {
        let mut t = template.to_string();
        for i in (1..=vs.len()).rev() {
            t = t.replace(&format!("?{i}"), &format!("${}", self.values.len() + i));
        }
        self.sql.push_str(" and ");
        self.sql.push_str(&t);
        self.values.extend(vs);
    }

    /// Adds [`reach_sql`]'s condition on `account_id`, with its ids.
    fn and_reach(&mut self, reach: Reach<'a>) {
        self.sql
            .push_str(&reach_sql("account_id", self.values.len() + 1, reach));
        self.values.extend(
            reach
                .unwrap_or_default()
                .iter()
                .map(|id| Value::Text(id.as_str())),
        );
    }

    /// `checks` as a condition of their own (`true and …`), whose parameters follow the ones
    /// so far and join them; these conditions stay as they were. A statement that tests
    /// several groups of conditions apart (PostgreSQL's [`ListPlan::page`]) takes each group
    /// this way and binds [`Conditions::values`] once.
    fn part<'c>(&mut self, checks: impl IntoIterator<Item = &'c Check<'a>>) -> String
    where
        'a: 'c,
    {
        let own = std::mem::replace(&mut self.sql, "true".into());
        self.and_all(checks);
        std::mem::replace(&mut self.sql, own)
    }

    /// Adds each of `checks` with [`Conditions::and`].
    fn and_all<'c>(&mut self, checks: impl IntoIterator<Item = &'c Check<'a>>)
    where
        'a: 'c,
    {
        for (sql, values) in checks {
            self.and(sql, values.clone());
        }
    }

    /// `select <columns> from transactions where <these> <tail>`.
    fn select(self, columns: &str, tail: &str) -> Statement<'a> {
        Statement {
            sql: format!(
                "select {columns} from transactions where {} {tail}",
                self.sql
            ),
            values: self.values,
        }
    }
}

/// One statement a list sends, with its parameters.
pub struct Statement<'a> {
    pub sql: String,
    values: Vec<Value<'a>>,
}

impl Statement<'_> {
    /// `sql` (this statement's own, or one that holds it, as `explain …` does) with this
    /// statement's parameters bound.
    pub fn bind<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for v in &self.values {
            q = match v {
                Value::Text(s) => q.bind(*s),
                Value::Owned(s) => q.bind(s.as_str()),
                Value::Int(i) => q.bind(*i),
            };
        }
        q
    }

    fn query(&self) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
        self.bind(&self.sql)
    }
}

/// A position in a list: `(booked_at, id)`.
pub type Position = (i64, String);

/// The statements [`list_transactions`] sends for one filter: what they are is apart from
/// sending them, so that tests read the plans of the very statements a list sends.
///
/// Newest first by booking time, after the cursor `(booked_at, id)`. Only the filters given
/// are in the SQL, so the planner sees what it can use: the account's or the category's index
/// in `(booked_at, id)` order, or the workspace's; a page then reads its own rows and the
/// cursor's position, whatever the depth. Text, amount and pending filters have no index of
/// their own: they are checked on windows of [`WINDOW`] rows read in that order, at most
/// [`WINDOWS_PER_PAGE`] a page ([`ListedPage::resume`]); on SQLite the workspace's and the
/// account's indexes hold the columns they read, so a window checks its rows there and reads
/// from the table only the rows that pass ([`checked_columns_in_list_index_on_sqlite`],
/// [`checked_columns_in_account_index_on_sqlite`]). Where an index cannot hold the text (every
/// list index on PostgreSQL, the category's on SQLite) it holds the text's signature, which
/// skips there the rows that cannot hold the text ([`super::text_signature`],
/// [`text_signatures`]).
pub struct ListPlan<'a> {
    /// The conditions an index serves, with the caller's reach.
    indexed: Conditions<'a>,
    /// The checks on the rows read that the list's index holds (the text's signature where
    /// the index holds it, the amount, pending), cheapest first.
    checked: Vec<Check<'a>>,
    /// The text's own check, made after them.
    text: Option<Check<'a>>,
}

/// A condition a list checks on each row it reads: its template (parameters `?1`, `?2`…) and
/// their values.
type Check<'a> = (String, Vec<Value<'a>>);

const ORDER: &str = "order by booked_at desc, id desc";

impl<'a> ListPlan<'a> {
    pub fn new(backend: crate::db::Backend, f: &TransactionFilter<'a>) -> Self {
        let mut indexed = Conditions {
            sql: "removed_at is null".into(),
            values: Vec::new(),
        };
        // The account, if it is the caller's workspace's (none else: no row, no position),
        // found once; then its rows, whose own workspace is not checked row by row, so that
        // the account's index serves the list alone. A row's workspace is its account's: the
        // one writer, [`insert_new`], is given only accounts its callers found and hold in
        // the workspace ([`super::hold_accounts`]).
        if let Some(a) = f.account_id {
            indexed.and(
                "account_id = (select id from accounts where id = ?1 and workspace_id = ?2)",
                vec![Value::Text(a), Value::Text(f.workspace_id)],
            );
        }
        // The category's index leads with the workspace, and may serve a list of one account
        // and a category.
        if f.account_id.is_none() || f.category.is_some() {
            indexed.and("workspace_id = ?1", vec![Value::Text(f.workspace_id)]);
        }
        if let Some(category) = f.category {
            indexed.and(
                "coalesce(category_override, category) = ?1",
                vec![Value::Text(category)],
            );
        }
        if let Some(from) = f.from {
            indexed.and("booked_at >= ?1", vec![Value::Int(from)]);
        }
        if let Some(to) = f.to {
            indexed.and("booked_at < ?1", vec![Value::Int(to)]);
        }
        indexed.and_reach(f.reach);
        // The pattern's ASCII letters are in lower case: SQLite's `like` itself ignores the
        // case of ASCII letters, and of those only (no lower() to copy each row's text: a page
        // that reads 10,000 rows spent ~2.5 ms of ~18 on it); PostgreSQL's lower() changes
        // ASCII letters only in the C collation.
        let folded = |column: &str| match backend {
            crate::db::Backend::Postgres => format!("lower({column} collate \"C\")"),
            crate::db::Backend::Sqlite => column.to_string(),
        };
        // The checks the list's index holds come before the text's own (SQLite defers reading
        // the table until a column the index lacks is needed; PostgreSQL reads a page's rows
        // from the table only once they have passed them, [`ListPlan::page`]).
        let mut checked: Vec<Check> = Vec::new();
        if let Some(text) = f.text {
            // The rows that cannot hold the text, skipped by their signature: every list index
            // holds it on PostgreSQL, the category's on SQLite (whose other two hold the text
            // itself).
            let q = super::query_signature(text);
            if q != 0 && (backend == crate::db::Backend::Postgres || f.category.is_some()) {
                checked.push(("(text_sig & ?1) = ?1".into(), vec![Value::Int(q)]));
            }
        }
        if f.min_thousandths.is_some() || f.max_thousandths.is_some() {
            checked.push((
                format!("{} between ?1 and ?2", &*THOUSANDTHS),
                vec![
                    Value::Int(f.min_thousandths.unwrap_or(i64::MIN)),
                    Value::Int(f.max_thousandths.unwrap_or(i64::MAX)),
                ],
            ));
        }
        if let Some(pending) = f.pending {
            checked.push(("pending = ?1".into(), vec![Value::Int(i64::from(pending))]));
        }
        let text = f.text.map(|text| {
            (
                format!(
                    "({} like ?1 escape '\\' or {} like ?1 escape '\\')",
                    folded("description"),
                    folded("coalesce(merchant, '')")
                ),
                vec![Value::Owned(like_pattern(text))],
            )
        });
        ListPlan {
            indexed,
            checked,
            text,
        }
    }

    /// Whether rows are checked in windows: a text, amount or pending filter is given.
    pub fn windowed(&self) -> bool {
        !self.checked.is_empty() || self.text.is_some()
    }

    /// The conditions an index serves, for rows after `pos`. Positions compare as row values,
    /// which both databases take as a range of the index (an `or` of two comparisons makes
    /// PostgreSQL filter from the top of the list instead).
    fn after(&self, pos: &Option<Position>) -> Conditions<'a> {
        let mut c = self.indexed.clone();
        if let Some((ts, id)) = pos {
            c.and(
                "(booked_at, id) < (?1, ?2)",
                vec![Value::Int(*ts), Value::Owned(id.clone())],
            );
        }
        c
    }

    /// Up to `limit` rows after `pos` (a list without checks).
    pub fn rows(&self, pos: &Option<Position>, limit: i64) -> Statement<'a> {
        self.after(pos)
            .select(TX_COLUMNS, &format!("{ORDER} limit {limit}"))
    }

    /// Where the window after `pos` ends: its [`WINDOW`]-th row (none: the list ends first).
    pub fn window_end(&self, pos: &Option<Position>) -> Statement<'a> {
        self.after(pos).select(
            "booked_at, id",
            &format!("{ORDER} limit 1 offset {}", WINDOW - 1),
        )
    }

    /// Up to `limit` rows of the window after `pos` that ends at `end` (none: at the list's
    /// end) which pass the checks.
    pub fn window_rows(
        &self,
        pos: &Option<Position>,
        end: &Option<Position>,
        limit: i64,
    ) -> Statement<'a> {
        let mut c = self.after(pos);
        if let Some((ts, id)) = end {
            c.and(
                "(booked_at, id) >= (?1, ?2)",
                vec![Value::Int(*ts), Value::Owned(id.clone())],
            );
        }
        c.and_all(self.checked.iter().chain(&self.text));
        c.select(TX_COLUMNS, &format!("{ORDER} limit {limit}"))
    }

    /// PostgreSQL's page of a list with checks, in one statement: up to `limit` rows after
    /// `pos` that pass the checks among the next [`PAGE_BUDGET`] rows of the list, and, when
    /// it comes before the page is full, the budget's last row (`w_k` = [`PAGE_BUDGET`],
    /// its `id` null unless it passed), where the next page resumes.
    ///
    /// PostgreSQL checks conditions in an index only in an index-only scan, and a plain index
    /// scan reads each row from the table before checking it. So the budget's positions are
    /// read in an index-only scan with the checks the index holds (the text's signature, the
    /// amount, pending: `w_pass`) and numbered; those that fail are dropped before the join
    /// (but the budget's last), and only the rows that pass are read from the table, by their
    /// key, to check the text itself (a lateral subquery, kept apart by `offset 0`). The rows
    /// come in list order, and the scan stops once the page is full. One scan instead of
    /// [`WINDOWS_PER_PAGE`] windows of two statements, or of a statement for the budget's end
    /// and one for its rows (two scans of it: as fast for a rare text, slower for a common one
    /// and for an amount range, whose page the end's scan does not serve: docs/benchmarks.md).
    pub fn page(&self, pos: &Option<Position>, limit: i64) -> Statement<'a> {
        let mut c = self.after(pos);
        let pass = c.part(&self.checked);
        let text = c.part(&self.text);
        Statement {
            sql: format!(
                "select t.*, w_at, w_id, w_k from (
                     select w_at, w_id, w_pass, w_k from (
                         select w_at, w_id, w_pass,
                                row_number() over (order by w_at desc, w_id desc) as w_k
                         from (select booked_at as w_at, id as w_id, ({pass}) as w_pass
                               from transactions where {indexed} {ORDER} limit {PAGE_BUDGET}) s
                     ) n where w_pass or w_k = {PAGE_BUDGET}
                 ) w left join lateral (
                     select {TX_COLUMNS} from transactions
                     where w.w_pass and id = w.w_id and {text} offset 0
                 ) t on true
                 where t.id is not null or w_k = {PAGE_BUDGET}
                 order by w_at desc, w_id desc limit {}",
                limit + 1,
                indexed = c.sql,
            ),
            values: c.values,
        }
    }
}

/// A page of the list `f` after `before`: the statements of [`ListPlan`], sent.
pub async fn list_transactions(
    pool: &sqlx::AnyPool,
    backend: crate::db::Backend,
    f: TransactionFilter<'_>,
    before: Option<Position>,
    limit: i64,
) -> sqlx::Result<ListedPage> {
    let plan = ListPlan::new(backend, &f);
    let limit = limit.clamp(0, 10_000);
    if !plan.windowed() {
        let rows = plan
            .rows(&before, limit)
            .query()
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(tx_row)
            .collect::<sqlx::Result<_>>()?;
        return Ok(ListedPage { rows, resume: None });
    }
    if backend == crate::db::Backend::Postgres {
        let mut rows: Vec<TransactionRow> = Vec::new();
        let mut budget_end = None;
        for r in plan.page(&before, limit).query().fetch_all(pool).await? {
            if r.try_get::<i64, _>("w_k")? == PAGE_BUDGET {
                budget_end = Some((r.try_get("w_at")?, r.try_get("w_id")?));
            }
            if r.try_get::<Option<String>, _>("id")?.is_some() {
                rows.push(tx_row(r)?);
            }
        }
        if rows.len() as i64 >= limit {
            rows.truncate(limit as usize);
            return Ok(ListedPage { rows, resume: None });
        }
        return Ok(ListedPage {
            rows,
            resume: budget_end,
        });
    }
    let mut rows: Vec<TransactionRow> = Vec::new();
    let mut pos = before;
    for _ in 0..WINDOWS_PER_PAGE {
        let end: Option<Position> = plan
            .window_end(&pos)
            .query()
            .fetch_optional(pool)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .transpose()?;
        let window = plan.window_rows(&pos, &end, limit - rows.len() as i64);
        for r in window.query().fetch_all(pool).await? {
            rows.push(tx_row(r)?);
        }
        if rows.len() as i64 >= limit || end.is_none() {
            return Ok(ListedPage { rows, resume: None });
        }
        pos = end;
    }
    Ok(ListedPage { rows, resume: pos })
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

/// The tables whose rows each belong to one account of one workspace: `transactions` and the
/// three rollup tables.
pub const ACCOUNT_ROW_TABLES: [&str; 4] = [
    "transactions",
    "transaction_rollups",
    "transaction_rollups_weekly",
    "transaction_rollups_monthly",
];

/// On PostgreSQL, gives each of [`ACCOUNT_ROW_TABLES`] one foreign key, `(workspace_id,
/// account_id)` to `accounts (workspace_id, id)`, in place of migrations 0003 and 0017's two
/// (`workspace_id` to `workspaces`, `account_id` to `accounts`). The one key says more: a row's
/// account is in the row's workspace, not merely somewhere. It costs half: PostgreSQL checks a
/// foreign key with a query and a row lock per inserted row (a push of 1,000 rows ran 2,000 of
/// them), while a workspace's deletion still reaches the rows through its accounts. SQLite keeps
/// the two keys: there a check is one lookup in a B-tree already in the page cache, and changing
/// a key means copying the whole table. The maintenance task `0020_postgres_one_account_key`.
///
/// Rows that already name an account of another workspace (none that pfn wrote) are reported
/// and kept: their table's key then holds for new rows only (`not valid`), for the operator to
/// decide. Task `0024` drops the key again ([`account_rows_without_keys_on_postgres`]).
pub async fn one_account_key_on_postgres(conn: &mut sqlx::AnyConnection) -> sqlx::Result<String> {
    if crate::db::Backend::of(conn) != crate::db::Backend::Postgres {
        return Ok(String::new());
    }
    sqlx::query(
        "alter table accounts add constraint accounts_workspace_id_key unique (workspace_id, id)",
    )
    .execute(&mut *conn)
    .await?;
    let mut report = Vec::new();
    for table in ACCOUNT_ROW_TABLES {
        let astray: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} r
             where not exists (select 1 from accounts a
                               where a.id = r.account_id and a.workspace_id = r.workspace_id)"
        ))
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query(&format!(
            "alter table {table}
                 drop constraint {table}_workspace_fkey,
                 drop constraint {table}_account_fkey,
                 add constraint {table}_account_fkey foreign key (workspace_id, account_id)
                     references accounts (workspace_id, id) on delete cascade{}",
            if astray == 0 { "" } else { " not valid" }
        ))
        .execute(&mut *conn)
        .await?;
        if astray > 0 {
            report.push(format!(
                "{table}: {astray} row(s) name an account of another workspace; they were kept, \
                 and {table}_account_fkey holds for new rows only (NOT VALID) until they are \
                 mended and it is validated"
            ));
        }
    }
    Ok(report.join("\n"))
}

/// On PostgreSQL, drops [`one_account_key_on_postgres`]'s foreign key from each of
/// [`ACCOUNT_ROW_TABLES`] and deletes an account's rows there with a trigger on `accounts`
/// (`accounts_delete_rows`, after each deleted row) instead of the key's cascade.
///
/// PostgreSQL checks a foreign key with one query and one row lock per inserted row: 14.5 ms of
/// a 38 ms insert of 1,000 rows into the real table, the largest part of a push's cost and the
/// same at 10k rows as at 1M (docs/benchmarks.md, 2026-12-07). Without the key, writers hold
/// their accounts once a batch ([`super::hold_accounts`], the same `for key share` lock the
/// key took per row), and the rare deletion pays per row instead of every insert. Every path
/// that deletes an account (the account, its bank connection, its workspace, its owner) goes
/// through `delete from accounts`, directly or by the workspace's cascade, so the trigger sees
/// each; it runs after the writers holding the account have committed, and each of its
/// statements reads what they committed. What the key also said, that a row's account is in
/// the row's workspace, the writers now hold alone: each writes only for accounts it found in
/// its own workspace. SQLite keeps its keys: there a check is a lookup in a page already in
/// its cache. The maintenance task `0024_postgres_account_rows_without_keys`.
pub async fn account_rows_without_keys_on_postgres(
    conn: &mut sqlx::AnyConnection,
) -> sqlx::Result<String> {
    if crate::db::Backend::of(conn) != crate::db::Backend::Postgres {
        return Ok(String::new());
    }
    let deletes: String = ACCOUNT_ROW_TABLES
        .iter()
        .map(|table| format!("delete from {table} where account_id = old.id; "))
        .collect();
    let drops = ACCOUNT_ROW_TABLES
        .map(|table| format!("alter table {table} drop constraint if exists {table}_account_fkey"));
    for sql in [
        format!(
            "create function accounts_delete_rows() returns trigger language plpgsql as $$
             begin {deletes}return null; end $$"
        ),
        "create trigger accounts_delete_rows after delete on accounts
             for each row execute function accounts_delete_rows()"
            .to_string(),
    ]
    .into_iter()
    .chain(drops)
    {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(String::new())
}

/// The keys of the three list indexes (migration 0018): the workspace's, the account's and
/// the category's, each in the list's order with `removed_at`. The maintenance tasks that
/// rebuild them to hold more columns build them on these keys.
const WORKSPACE_LIST_KEY: &str = "workspace_id, booked_at, id, removed_at";
const ACCOUNT_LIST_KEY: &str = "account_id, booked_at, id, removed_at";
const CATEGORY_LIST_KEY: &str =
    "workspace_id, (coalesce(category_override, category)), booked_at, id, removed_at";

/// The columns a list's checks read ([`ListPlan`]: text, amount, pending), which SQLite's
/// workspace and account list indexes hold after their keys.
const CHECKED_COLUMNS: &str = "description, merchant, amount_minor, currency, pending";

/// On SQLite, the workspace's list index also holds [`CHECKED_COLUMNS`], after migration 0018's
/// key: a list with a text, amount or pending filter then checks each row of a window in the
/// index and reads the table only for the rows that pass (SQLite defers a row's table read
/// until a column the index lacks is needed). A text that no row matches read 10,000 table
/// rows a page before. PostgreSQL's indexes cannot hold the text (an entry of its B-trees may
/// not pass ~2.7 kB, and a description and a merchant of 500 characters each can): they hold
/// its signature ([`text_signatures`]). The maintenance task
/// `0021_sqlite_list_index_holds_checked_columns`.
pub async fn checked_columns_in_list_index_on_sqlite(
    conn: &mut sqlx::AnyConnection,
) -> sqlx::Result<String> {
    checked_columns_on_sqlite(
        conn,
        "transactions_workspace_booked_idx",
        WORKSPACE_LIST_KEY,
    )
    .await
}

/// On SQLite, the account's list index also holds [`CHECKED_COLUMNS`], after migration 0018's
/// key, as the workspace's does ([`checked_columns_in_list_index_on_sqlite`]): a list of one
/// account with a text, amount or pending filter then checks each row of a window in the
/// index ([`ListPlan`] checks the account's workspace once, not each row's). Such a page that
/// found nothing read 20,000 table rows before: 35.7 ms at 1M rows. The maintenance task
/// `0022_sqlite_account_index_holds_checked_columns`.
pub async fn checked_columns_in_account_index_on_sqlite(
    conn: &mut sqlx::AnyConnection,
) -> sqlx::Result<String> {
    checked_columns_on_sqlite(conn, "transactions_account_booked_idx", ACCOUNT_LIST_KEY).await
}

/// On SQLite, `index` of `transactions` built anew on `key` and then [`CHECKED_COLUMNS`].
async fn checked_columns_on_sqlite(
    conn: &mut sqlx::AnyConnection,
    index: &str,
    key: &str,
) -> sqlx::Result<String> {
    if crate::db::Backend::of(conn) != crate::db::Backend::Sqlite {
        return Ok(String::new());
    }
    for sql in [
        format!("drop index {index}"),
        format!("create index {index} on transactions ({key}, {CHECKED_COLUMNS})"),
    ] {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(String::new())
}

/// What a list index holds after its key for a window's checks where it does not hold the text
/// itself: the text's signature ([`super::row_signature`]), the amount and pending.
const SIGNED_COLUMNS: &str = "text_sig, amount_minor, currency, pending";

/// The maintenance task `0023_text_signatures`: every row's text signature
/// ([`super::row_signature`], which migration 0019's rows lack: `-1`), and the list indexes
/// that hold it with the other columns a list checks ([`ListPlan::window_rows`] on SQLite,
/// [`ListPlan::page`] on PostgreSQL):
/// - on SQLite the category's (the workspace's and the account's hold the text itself, 0021
///   and 0022): a text that no row matches within a category read its page's 10,000 rows from
///   the table, ~34 ms at 1M rows;
/// - on PostgreSQL all three (their entries cannot hold the text, ~2.7 kB at most), the
///   category's with the two columns its expression reads, without which PostgreSQL reads the
///   table for any scan of that index: a text that no row matches read 10,000 rows from the
///   table a page, 15 ms at 1M rows.
///
/// The indexes are dropped before the rows are updated, so that on PostgreSQL each row's new
/// version enters three indexes rather than six, and built after.
pub async fn text_signatures(conn: &mut sqlx::AnyConnection) -> sqlx::Result<String> {
    use crate::db::Backend;
    let backend = Backend::of(conn);
    let indexes = match backend {
        Backend::Sqlite => vec![(
            "transactions_category_booked_idx",
            format!("{CATEGORY_LIST_KEY}, {SIGNED_COLUMNS}"),
        )],
        Backend::Postgres => vec![
            (
                "transactions_workspace_booked_idx",
                format!("{WORKSPACE_LIST_KEY}, {SIGNED_COLUMNS}"),
            ),
            (
                "transactions_account_booked_idx",
                format!("{ACCOUNT_LIST_KEY}, {SIGNED_COLUMNS}"),
            ),
            (
                "transactions_category_booked_idx",
                format!("{CATEGORY_LIST_KEY}, category_override, category, {SIGNED_COLUMNS}"),
            ),
        ],
    };
    for (index, _) in &indexes {
        sqlx::query(&format!("drop index {index}"))
            .execute(&mut *conn)
            .await?;
    }
    let mut after = String::new();
    loop {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "select id, description, merchant from transactions
             where id > $1 and text_sig = $2 order by id limit 1000",
        )
        .bind(&after)
        .bind(super::NOT_COMPUTED)
        .fetch_all(&mut *conn)
        .await?;
        let Some((last, ..)) = rows.last() else {
            break;
        };
        after = last.clone();
        let signed: Vec<(&str, i64)> = rows
            .iter()
            .map(|(id, description, merchant)| {
                (
                    id.as_str(),
                    super::row_signature(description, merchant.as_deref()),
                )
            })
            .collect();
        if backend == Backend::Postgres {
            use crate::db::Field::{Int, Text};
            let fields: Vec<_> = signed
                .iter()
                .map(|&(id, sig)| [Text(id), Int(sig)])
                .collect();
            let [ids, sigs] = crate::db::array_columns(&fields);
            sqlx::query(&format!(
                "update transactions t set text_sig = r.sig from {} where t.id = r.id",
                crate::db::unnest_columns(&[("id", "text"), ("sig", "bigint")], 1)
            ))
            .bind(ids)
            .bind(sigs)
            .execute(&mut *conn)
            .await?;
        } else {
            // One statement a batch, of anonymous parameters ([`crate::db::insert_rows`] says
            // why): a statement a row took 27–52 s at 1M rows, this 7 s (docs/benchmarks.md).
            let sql = format!(
                "update transactions set text_sig = v.column2
                 from (values {}) as v where transactions.id = v.column1",
                crate::db::anonymous_rows(signed.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for &(id, sig) in &signed {
                q = q.bind(id).bind(sig);
            }
            q.execute(&mut *conn).await?;
        }
    }
    for (index, columns) in &indexes {
        sqlx::query(&format!("create index {index} on transactions ({columns})"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(String::new())
}

//! The database: one `sqlx::Any` pool over SQLite (default) or PostgreSQL, one migration set.
//!
//! SQL lives in the submodules as free functions taking an executor, so a handler can pass the
//! pool or a transaction.

pub mod audit;
pub mod banks;
pub mod changes;
pub mod devices;
pub mod email_changes;
pub mod export;
pub mod finance;
pub mod invalidations;
pub mod key_usage;
pub mod keys;
pub mod maintenance;
pub mod mfa;
pub mod outbox;
pub mod passkeys;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workspaces;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use sqlx::{any::AnyPoolOptions, AnyPool, Executor, Transaction};
use tokio::sync::{watch, Notify};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database behind a connection.
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name() == "SQLite" {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Where write transactions ([`Db::begin`]) run. On SQLite, one connection of its own with
    /// a larger page cache: SQLite lets one writer in at a time anyway, and a connection's
    /// cache stays valid between its own transactions, so a stream of pushes finds the index
    /// pages it changed last time in memory rather than reading them again (from the OS) for
    /// every row, and a large batch's changed pages are not spilled to the WAL half-way.
    /// Elsewhere (PostgreSQL, in-memory SQLite) the pool itself.
    writer: AnyPool,
    /// Wakes [`Db::run_checkpointer`] after a write transaction starts (SQLite).
    wrote: Arc<Notify>,
    /// The WAL file of an SQLite database on disk, which [`Db::run_checkpointer`] cuts back
    /// once writes pause ([`WAL_IDLE_TRUNCATE_BYTES`]).
    wal: Option<PathBuf>,
}

/// Pages (of 4 KiB) the WAL may hold before the committing connection copies them into the
/// database itself (SQLite's `wal_autocheckpoint`, 1,000 by default). [`Db::run_checkpointer`]
/// does that copy beside the requests, but under a steady stream of writes it never finishes
/// between two of them, and SQLite starts the WAL over from its beginning only after a
/// checkpoint that had copied everything before a write began: so the commit that passes this
/// bound pays for the rest of the copy and its `fsync`, 100–350 ms at 1M rows, once per
/// bound's worth of WAL. That rest is what the last pass of the checkpointer left, whatever the
/// bound, so a larger bound makes the wait rarer, not longer: a push of 1,000 rows at 1M adds
/// 10–15 MiB (each row enters three indexes at scattered places, each page a whole frame), and
/// 1 GiB makes the wait once per ~80 pushes. At 256 MiB (once per ~20) those waits were 19 % of
/// the time of 250 pushes, at 1 GiB 4 % (docs/benchmarks.md, 2026-12-07T12:00Z). Once writes
/// pause the checkpointer cuts the file back ([`WAL_IDLE_TRUNCATE_BYTES`]).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 262_144;
/// The WAL file is cut back to this size after a checkpoint has emptied it: more than one
/// cycle of [`WAL_AUTOCHECKPOINT_PAGES`] fills (4 KiB pages, plus each frame's header and the
/// commit that passes the bound: 1.25 GiB), so that under a stream of writes the file is written
/// over rather than cut and grown again every cycle. At 64 MiB the push after each stall took
/// ~90 ms longer, cutting the file and allocating its blocks again (docs/benchmarks.md).
const WAL_SIZE_LIMIT_BYTES: i64 = WAL_AUTOCHECKPOINT_PAGES * 4096 * 5 / 4;
/// A WAL file larger than this is cut to nothing (`wal_checkpoint(TRUNCATE)`) once writes
/// pause: every frame in it is in the database and none was committed since the
/// checkpointer's last look. A large import leaves no 1 GiB file behind it, while the few pages
/// of everyday writes do not make the file be cut and grown again each time.
const WAL_IDLE_TRUNCATE_BYTES: u64 = 4 << 20;
/// How long an SQLite connection waits for a lock before it answers busy.
const BUSY_TIMEOUT_MS: u32 = 5_000;
/// The writer connection's page cache, in KiB (SQLite's default is 2 MiB a connection).
const WRITER_CACHE_KIB: i64 = 32 << 10;
/// The writer keeps its statement journals in memory. A statement that writes many rows and
/// may fail part way (a push's multi-row insert: a foreign key, a `not null`) copies each page
/// it changes, before the change, into a journal of its own, so that it can be undone alone.
/// SQLite keeps the first 64 KiB of that journal in memory and writes the rest to a temporary
/// file: a 1,000-row push at 1M rows wrote as much there as to the WAL, ~70 MB in 5 s beside
/// ~62 MB (docs/benchmarks.md). In memory, a journal lasts one statement and holds the pages
/// it changed (a few MiB). The setting also keeps the writer's other temporary storage
/// (temporary tables and indexes) in memory: its statements work on a batch at a time, except
/// the maintenance tasks that rebuild a table once, at an upgrade (`rollups::rebuild` groups
/// every transaction).
const WRITER_TEMP_STORE: &str = "PRAGMA temp_store = MEMORY";
/// How long [`Db::run_checkpointer`] waits after a write starts, so a burst of writes is
/// copied into the database once.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(250);

pub type Tx = Transaction<'static, sqlx::Any>;

/// Which of a workspace's accounts a caller reaches: `None`, all of them; `Some(ids)`, only
/// those (an API key restricted to accounts; `access::Caller::reach`). Fails closed: an empty
/// list, or ids of deleted accounts, reach nothing.
pub type Reach<'a> = Option<&'a [String]>;

/// `and <column> in ($first, …)` for a restricted reach (`and 1 = 0` for an empty list), nothing
/// for the whole workspace. Bind the ids with [`bind_reach`] after the query's other
/// parameters (`first` is the next parameter's number).
pub fn reach_sql(column: &str, first: usize, reach: Reach) -> String {
    match reach {
        None => String::new(),
        Some([]) => " and 1 = 0".into(),
        Some(ids) => {
            let params: Vec<String> = (0..ids.len()).map(|i| format!("${}", first + i)).collect();
            format!(" and {column} in ({})", params.join(", "))
        }
    }
}

/// Binds what [`reach_sql`] numbered: `.bind_reach(reach)` after the query's other binds.
pub trait BindReach<'q>: Sized {
    fn bind_reach(self, reach: Reach<'q>) -> Self;
}

macro_rules! bind_reach {
    ($([$($generic:ident)?] $ty:ty),*) => {$(
        impl<'q, $($generic)?> BindReach<'q> for $ty {
            fn bind_reach(mut self, reach: Reach<'q>) -> Self {
                for id in reach.unwrap_or_default() {
                    self = self.bind(id);
                }
                self
            }
        }
    )*};
}

bind_reach!(
    [] sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    [O] sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    [O] sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
);

/// `($a, $b, …), (…)`: `rows` rows of `fields` numbered parameters each, numbered from
/// `first`, each row opened with `lead` (such as `"$1, "` for a parameter every row shares).
/// Keep such statements to [`rows_per_statement`] rows; large inserts use [`insert_rows`].
pub fn value_rows(rows: usize, fields: usize, first: usize, lead: &str) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        out.push_str(lead);
        for f in 0..fields {
            if f > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", first + r * fields + f));
        }
        out.push(')');
    }
    out
}

/// Rows per multi-row statement of `fields` numbered parameters each ([`value_rows`]).
/// SQLite looks a numbered parameter (`$N`, which PostgreSQL needs too) up by a linear scan
/// and sqlx asks for every one, so a statement's binding costs the square of its parameters
/// there: about 256 a statement; on PostgreSQL fewer round trips win, within its 65,535
/// parameters.
pub fn rows_per_statement(conn: &sqlx::AnyConnection, fields: usize) -> usize {
    let params = match Backend::of(conn) {
        Backend::Sqlite => 256,
        Backend::Postgres => 16_384,
    };
    (params / fields.max(1)).max(1)
}

/// One value of a row of [`insert_rows`].
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Int(i64),
}

/// Parameters of one [`insert_rows`] statement on SQLite (its limit is 32,766): a 1,000-row
/// push in four statements, each a few hundred KiB of prepared statement.
const INSERT_PARAMS_SQLITE: usize = 4_096;

/// Inserts `rows` into `table`'s `columns` (each a name and its PostgreSQL type), with `tail`
/// after the rows (`on conflict …`); returns the rows the database reports affected.
///
/// On SQLite: multi-row `values` of anonymous parameters (`?`), [`INSERT_PARAMS_SQLITE`] a
/// statement. SQLite scans its list of parameter names to bind a numbered one (`$N`), so
/// binding thousands of them costs their square; anonymous ones have no name to look for.
/// Only full statements are kept prepared: the writer holds one per insert rather than one of
/// a few hundred KiB per remainder size.
///
/// On PostgreSQL: one statement whatever the count, each column one array parameter
/// ([`array_columns`]) read by `unnest`. sqlx keeps every statement prepared there, and a
/// `values` list is a different statement for each count of rows, each holding its thousands of
/// parameters' metadata: pushes of varying sizes (and rollups of varying counts of days) filled
/// the server with them (295 MB at 1M rows; docs/benchmarks.md). One shape per insert keeps
/// that to one statement, and a batch to one round trip. Arrays rather than one JSON document
/// of objects (`json_to_recordset`, until 2026-12-08): the server reads a 1,000-row push's
/// columns in about half the time, with no field names to look up row by row.
pub async fn insert_rows<const N: usize>(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[(&str, &str); N],
    rows: &[[Field<'_>; N]],
    tail: &str,
) -> sqlx::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    if Backend::of(conn) == Backend::Postgres {
        let sql = unnest_insert(table, columns, 1, tail);
        let mut q = sqlx::query(&sql);
        for column in array_columns(rows) {
            q = q.bind(column);
        }
        return Ok(q.execute(&mut *conn).await?.rows_affected());
    }
    let names: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let names = names.join(", ");
    let per_statement = (INSERT_PARAMS_SQLITE / N.max(1)).max(1);
    let mut affected = 0;
    for chunk in rows.chunks(per_statement) {
        let sql = format!(
            "insert into {table} ({names}) values {} {tail}",
            anonymous_rows(chunk.len(), N)
        );
        let mut q = sqlx::query(&sql).persistent(chunk.len() == per_statement);
        for values in chunk {
            for value in values {
                q = match *value {
                    Field::Text(s) => q.bind(s),
                    Field::MaybeText(s) => q.bind(s),
                    Field::Int(n) => q.bind(n),
                };
            }
        }
        affected += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}

/// `(?, ?), (?, ?)`: `rows` rows of `fields` anonymous parameters each, for SQLite's
/// multi-row statements ([`insert_rows`] says why not numbered ones).
pub fn anonymous_rows(rows: usize, fields: usize) -> String {
    let row = format!("({})", vec!["?"; fields].join(", "));
    vec![row.as_str(); rows].join(", ")
}

/// `unnest(cast($1 as text[]), …) as r("a", …)`: the rows of [`array_columns`]' parameters on
/// PostgreSQL, by the columns' names and types, the first being parameter `$first`.
pub fn unnest_columns(columns: &[(&str, &str)], first: usize) -> String {
    let arrays: Vec<String> = (first..)
        .zip(columns)
        .map(|(i, (_, ty))| format!("cast(${i} as {ty}[])"))
        .collect();
    let names: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    format!("unnest({}) as r({})", arrays.join(", "), names.join(", "))
}

/// [`insert_rows`]' statement on PostgreSQL: the rows of [`unnest_columns`] (from parameter
/// `$first`) into `table`, `tail` after them.
pub fn unnest_insert(table: &str, columns: &[(&str, &str)], first: usize, tail: &str) -> String {
    let names: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let names = names.join(", ");
    format!(
        "insert into {table} ({names}) select {names} from {} {tail}",
        unnest_columns(columns, first)
    )
}

/// Each column of `rows` as one PostgreSQL array literal (`{"a","b\\"c",NULL}`, `{1,-2}`):
/// the parameters of [`unnest_columns`]. Every text is quoted, with `"` and `\` escaped, so
/// no value reads as `NULL`, a separator or a brace.
pub fn array_columns<const N: usize>(rows: &[[Field<'_>; N]]) -> [String; N] {
    std::array::from_fn(|column| {
        let mut out = String::with_capacity(rows.len() * 24 + 2);
        out.push('{');
        for (i, values) in rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match values[column] {
                Field::Text(s) | Field::MaybeText(Some(s)) => {
                    out.push('"');
                    let mut rest = s;
                    while let Some(at) = rest.find(['"', '\\']) {
                        out.push_str(&rest[..at]);
                        out.push('\\');
                        out.push_str(&rest[at..at + 1]);
                        rest = &rest[at + 1..];
                    }
                    out.push_str(rest);
                    out.push('"');
                }
                Field::MaybeText(None) => out.push_str("NULL"),
                Field::Int(n) => out.push_str(itoa::Buffer::new().format(n)),
            }
        }
        out.push('}');
        out
    })
}

/// The file of a `sqlite:` URL; None for other databases and for in-memory SQLite.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:") && !path.starts_with("file:"))
        .then_some(path)
}

impl Db {
    /// Connects (creating the SQLite file and its directory if missing) without migrating.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(&url) {
                if let Some(dir) = Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty() && !d.exists())
                {
                    crate::files::private_dir(dir).with_context(|| {
                        format!("creating database directory {}", dir.display())
                    })?;
                }
                // SQLite gives its -wal and -shm files the database file's mode.
                crate::files::private_file(Path::new(path))
                    .with_context(|| format!("making {path} private"))?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let on_disk = backend == Backend::Sqlite && sqlite_path(&url).is_some();
        let pool = Self::pool_options(if backend == Backend::Sqlite { 8 } else { 16 }, false)
            .connect(&url)
            .await
            .context("connecting to the database")?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL")
                .await
                .context("enabling WAL")?;
        }
        let writer = if on_disk {
            Self::pool_options(1, true).connect_lazy(&url)?
        } else {
            pool.clone()
        };
        let wal = on_disk
            .then(|| sqlite_path(&url).map(|p| PathBuf::from(format!("{p}-wal"))))
            .flatten();
        Ok(Self {
            pool,
            backend,
            writer,
            wrote: Arc::new(Notify::new()),
            wal,
        })
    }

    /// The pool's settings; `writer`: SQLite's writer connection ([`WRITER_CACHE_KIB`],
    /// [`WRITER_TEMP_STORE`]).
    fn pool_options(max: u32, writer: bool) -> AnyPoolOptions {
        AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if Backend::of(conn) == Backend::Sqlite {
                        conn.execute(&*format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))
                            .await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute(&*format!(
                            "PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}"
                        ))
                        .await?;
                        conn.execute(&*format!(
                            "PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}"
                        ))
                        .await?;
                        if writer {
                            conn.execute(&*format!("PRAGMA cache_size = -{WRITER_CACHE_KIB}"))
                                .await?;
                            conn.execute(WRITER_TEMP_STORE).await?;
                        }
                    } else {
                        // sqlx prepares every statement. A generic plan made while a table was
                        // small (a fresh deployment, a first bank sync) stays a sequential scan
                        // as the table grows past autovacuum's next analyze: a bank sync into
                        // PostgreSQL ran at 1,500 rows/s that way. Custom plans always see the
                        // real parameters and current statistics.
                        conn.execute("SET plan_cache_mode = force_custom_plan")
                            .await?;
                    }
                    Ok(())
                })
            })
    }

    /// Applies the SQL migrations, then the maintenance tasks not run yet; returns what those
    /// found, `(task, report)`, for the operator.
    pub async fn migrate(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying migrations")?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        maintenance::run(self, now)
            .await
            .context("running maintenance tasks")
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads and then writes fails with "database is locked" under
    /// concurrency, which busy_timeout cannot fix.
    ///
    /// On SQLite they queue for the writer connection rather than spinning on SQLite's lock,
    /// so a write transaction must not start another before it ends (it would wait for
    /// itself until the pool's 10-second timeout).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self.backend {
            Backend::Sqlite => {
                let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
                self.wrote.notify_one();
                Ok(tx)
            }
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Closes the pool and the writer (the last SQLite connection to close checkpoints the
    /// WAL and removes it).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// On SQLite, copies what write transactions added to the WAL into the database file
    /// (a passive checkpoint, which waits for no reader or writer) shortly after they start,
    /// on a connection of the pool: the copy and its `fsync` happen beside the requests,
    /// where SQLite would do them inside the commit of whichever write passed
    /// [`WAL_AUTOCHECKPOINT_PAGES`]. Returns when `stop` turns true; does nothing on
    /// PostgreSQL.
    pub async fn run_checkpointer(&self, mut stop: watch::Receiver<bool>) {
        if self.backend != Backend::Sqlite {
            return;
        }
        // After a checkpoint that found work, look again a little later: a transaction that
        // was still open then has committed since.
        let mut again = false;
        let mut seen = None;
        loop {
            tokio::select! {
                _ = self.wrote.notified() => {}
                _ = tokio::time::sleep(CHECKPOINT_DELAY * 4), if again => {}
                _ = stop.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(CHECKPOINT_DELAY) => {}
                _ = stop.changed() => return,
            }
            match self.checkpoint().await {
                Ok((frames, copied)) => {
                    // Every frame copied, and none committed since the last look: writes
                    // have paused.
                    let paused = frames == copied && seen == Some(frames);
                    again = !paused;
                    seen = Some(frames);
                    if paused && self.wal_bytes() > WAL_IDLE_TRUNCATE_BYTES {
                        match self.truncate_wal().await {
                            Ok(true) => seen = Some(0),
                            // A write or a read of an older snapshot was in the way: try
                            // again in a second.
                            Ok(false) => again = true,
                            Err(e) => tracing::warn!(error = %e, "WAL truncation failed"),
                        }
                    }
                }
                Err(e) => {
                    again = false;
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        }
    }

    /// The WAL file's size in bytes (0 without one).
    fn wal_bytes(&self) -> u64 {
        self.wal
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// Cuts the WAL file to nothing, called once every frame in it is in the database; whether
    /// it did. It waits for nobody: a write or an older snapshot's read in progress makes it
    /// give up (a checkpoint that waits holds new writes back meanwhile).
    async fn truncate_wal(&self) -> sqlx::Result<bool> {
        let mut conn = self.pool.acquire().await?;
        conn.execute("PRAGMA busy_timeout = 0").await?;
        let cut: sqlx::Result<(i64, i64, i64)> = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await;
        let restored = conn
            .execute(&*format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))
            .await;
        if restored.is_err() {
            // Not back into the pool without its busy timeout.
            conn.close_on_drop();
        }
        let (busy, _, _) = cut?;
        restored?;
        Ok(busy == 0)
    }

    /// A passive checkpoint: `(WAL frames, frames copied)`.
    pub async fn checkpoint(&self) -> sqlx::Result<(i64, i64)> {
        let (_busy, frames, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await?;
        Ok((frames, copied))
    }

    /// True when the database answers and every migration we ship is applied.
    pub async fn ready(&self) -> bool {
        let applied: Result<i64, _> =
            sqlx::query_scalar("select count(*) from _sqlx_migrations where success = true")
                .fetch_one(&self.pool)
                .await;
        matches!(applied, Ok(n) if n as usize >= MIGRATOR.migrations.len())
    }
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_rows_number_their_parameters_row_by_row() {
        assert_eq!(
            super::value_rows(2, 2, 2, "$1, "),
            "($1, $2, $3), ($1, $4, $5)"
        );
        assert_eq!(super::value_rows(1, 3, 1, ""), "($1, $2, $3)");
        assert_eq!(super::value_rows(0, 3, 1, ""), "");
    }

    #[test]
    fn anonymous_rows_repeat_one_row_of_question_marks() {
        assert_eq!(super::anonymous_rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(super::anonymous_rows(1, 3), "(?, ?, ?)");
        assert_eq!(super::anonymous_rows(0, 3), "");
    }

    #[test]
    fn array_columns_quote_every_text_and_escape_quotes_and_backslashes() {
        use super::Field::*;
        let rows = [
            [
                Text("a\"b\\c,{}\u{1}é NULL"),
                Int(-9_223_372_036_854_775_808),
                MaybeText(None),
            ],
            [Text(""), Int(7), MaybeText(Some("NULL"))],
        ];
        assert_eq!(
            super::array_columns(&rows),
            [
                "{\"a\\\"b\\\\c,{}\u{1}é NULL\",\"\"}".to_string(),
                "{-9223372036854775808,7}".to_string(),
                r#"{NULL,"NULL"}"#.to_string(),
            ]
        );
        assert_eq!(super::array_columns::<2>(&[]), ["{}", "{}"]);
        assert_eq!(
            super::unnest_columns(&[("id", "text"), ("n", "bigint")], 3),
            r#"unnest(cast($3 as text[]), cast($4 as bigint[])) as r("id", "n")"#
        );
    }
}

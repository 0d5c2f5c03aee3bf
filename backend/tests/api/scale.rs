//! Data at scale: the daily totals insights and budgets read (`transaction_rollups`) always
//! equal a recomputation from the transactions, whatever sequence of pushes, overlay edits,
//! deletions and account deletions made them; and the insights they give equal the old
//! row-by-row computation for any window, whole days or not.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use backend::db::finance::{ListPlan, TransactionFilter};

use crate::helpers::{personal_workspace, TestApp};

/// 2026-11-01T00:00:00Z.
const BASE: i64 = 1_793_491_200;

#[derive(Debug, Clone)]
struct Item {
    account: usize,
    external: u8,
    minor: i64,
    at: i64,
    category: Option<u8>,
}

#[derive(Debug, Clone)]
enum Op {
    Push(Vec<Item>),
    /// Overlays on the `pick`-th listed transaction: a category (`Some(None)` clears it) and
    /// the exclusion.
    Patch {
        pick: usize,
        category: Option<Option<u8>>,
        excluded: Option<bool>,
    },
    Delete {
        pick: usize,
    },
    /// Deletes account `account` with its transactions and makes a new one in its place.
    ReplaceAccount {
        account: usize,
    },
}

/// Booking times around `BASE`, and some before 1970 (days round down there).
fn booked_at() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => (-3 * 86_400..6 * 86_400i64).prop_map(|s| BASE + s),
        1 => -2 * 86_400..86_400i64,
    ]
}

/// The first second of year 1: pushes compute their rows' totals themselves from there on,
/// and leave a batch with an earlier row to the SQL (`rollups::add_inserted`).
const YEAR_1: i64 = -62_135_596_800;

/// Booking times of pushed rows: [`booked_at`], and some on either side of year 1.
fn pushed_at() -> impl Strategy<Value = i64> {
    prop_oneof![
        9 => booked_at(),
        1 => YEAR_1 - 3 * 86_400..YEAR_1 + 3 * 86_400,
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (
        0..3usize,
        0..12u8,
        prop_oneof![
            -5_000..5_000i64,
            Just(0i64),
            Just(-1_000_000_000_000i64),
            Just(999_999_999_999i64)
        ],
        pushed_at(),
        proptest::option::of(0..3u8),
    )
        .prop_map(|(account, external, minor, at, category)| Item {
            account,
            external,
            minor,
            at,
            category,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec(item(), 1..12).prop_map(Op::Push),
        3 => (
            any::<usize>(),
            proptest::option::of(proptest::option::of(0..3u8)),
            proptest::option::of(any::<bool>())
        )
            .prop_map(|(pick, category, excluded)| Op::Patch { pick, category, excluded }),
        1 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
        1 => (0..3usize).prop_map(|account| Op::ReplaceAccount { account }),
    ]
}

/// The currency of account slot `i`: two of BHD (3 digits), one of USD (2 digits).
fn currency(i: usize) -> &'static str {
    if i == 2 {
        "USD"
    } else {
        "BHD"
    }
}

/// `minor` units as the API writes an amount of `currency`.
fn decimal(minor: i64, currency: &str) -> String {
    let digits = if currency == "USD" { 2 } else { 3 };
    let sign = if minor < 0 { "-" } else { "" };
    let abs = format!("{:0width$}", minor.unsigned_abs(), width = digits + 1);
    let (int, frac) = abs.split_at(abs.len() - digits);
    format!("{sign}{int}.{frac}")
}

async fn new_account(app: &TestApp, slot: usize) -> String {
    crate::helpers::manual_account(app, &format!("Slot {slot}"), currency(slot)).await
}

/// A new user's personal workspace and its one BHD account, into which `n` rows are pushed:
/// row `i` of `amount(i)`, dining or fuel in turn, booked `step` seconds after the one before;
/// `(app, workspace, account)`.
async fn pushed_rows(
    email: &str,
    n: usize,
    step: i64,
    amount: impl Fn(usize) -> String,
) -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    app.signed_in_user(email).await;
    let workspace = personal_workspace(&app, &app.client).await;
    let account = new_account(&app, 0).await;
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let category = ["dining", "fuel"][i % 2];
            json!({"accountId": account, "externalId": format!("r{i}"),
                   "amount": {"amount": amount(i), "currency": currency(0)},
                   "description": "Pushed", "category": category,
                   "bookedAt": rfc3339(BASE + i as i64 * step)})
        })
        .collect();
    let res = app
        .post("/api/v1/transactions", json!({ "transactions": items }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    (app, workspace, account)
}

fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn apply(app: &TestApp, accounts: &mut [String], op: &Op) {
    match op {
        Op::Push(items) => {
            let body: Vec<Value> = items
                .iter()
                .map(|i| {
                    let cur = currency(i.account);
                    json!({
                        "accountId": accounts[i.account],
                        "externalId": format!("e{}", i.external),
                        "amount": {"amount": decimal(i.minor, cur), "currency": cur},
                        "description": "x",
                        "bookedAt": rfc3339(i.at),
                        "category": i.category.map(|c| format!("c{c}")),
                    })
                })
                .collect();
            let res = app
                .post("/api/v1/transactions", json!({"transactions": body}))
                .await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{}",
                res.text().await.unwrap()
            );
        }
        Op::Patch {
            pick,
            category,
            excluded,
        } => {
            let Some(id) = pick_transaction(app, *pick).await else {
                return;
            };
            let mut body = json!({});
            if let Some(c) = category {
                body["category"] = json!(c.map(|c| format!("c{c}")));
            }
            if let Some(e) = excluded {
                body["excluded"] = json!(e);
            }
            let res = app
                .client
                .patch(app.url(&format!("/api/v1/transactions/{id}")))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        Op::Delete { pick } => {
            let Some(id) = pick_transaction(app, *pick).await else {
                return;
            };
            let res = app.delete(&format!("/api/v1/transactions/{id}")).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        }
        Op::ReplaceAccount { account } => {
            let res = app
                .delete(&format!(
                    "/api/v1/accounts/{}?deleteTransactions=true",
                    accounts[*account]
                ))
                .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            accounts[*account] = new_account(app, *account).await;
        }
    }
}

async fn pick_transaction(app: &TestApp, pick: usize) -> Option<String> {
    let list: Value = app.get_json("/api/v1/transactions?limit=200").await;
    let items = list["items"].as_array().unwrap();
    (!items.is_empty()).then(|| {
        items[pick % items.len()]["id"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

/// Asserts the stored daily, weekly and monthly totals of `workspace` equal a recomputation.
pub async fn assert_rollups_match(app: &TestApp, workspace: &str) {
    use backend::db::finance::rollups::{workspace_rollups, Grain};
    let (pool, backend) = (&app.state.db.pool, app.state.db.backend);
    for grain in Grain::ALL {
        let stored = workspace_rollups(pool, backend, grain, workspace, false)
            .await
            .unwrap();
        let recomputed = workspace_rollups(pool, backend, grain, workspace, true)
            .await
            .unwrap();
        assert_eq!(
            stored, recomputed,
            "the {grain:?} totals drifted from the transactions"
        );
    }
}

/// The spending or income insight for `[from, to)` the way pfn computed it before the
/// rollups: every counted row read and summed per currency, category and month.
async fn reference_insight(
    app: &TestApp,
    workspace: &str,
    from: i64,
    to: i64,
    outflow: bool,
) -> Insight {
    let rows = sqlx::query(
        "select currency, coalesce(category_override, category, 'uncategorized'), booked_at, amount_minor
         from transactions where workspace_id = $1 and booked_at >= $2 and booked_at < $3
           and excluded = 0 and removed_at is null",
    )
    .bind(workspace)
    .bind(from)
    .bind(to)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut out: BTreeMap<_, (i128, u64, BTreeMap<_, _>, BTreeMap<_, _>)> = BTreeMap::new();
    for r in rows {
        let amount: i64 = r.get(3);
        if amount == 0 || (amount < 0) != outflow {
            continue;
        }
        let abs = i128::from(amount).abs();
        let month = rfc3339(r.get(2))[..7].to_string();
        let acc = out.entry(r.get::<String, _>(0)).or_default();
        acc.0 += abs;
        acc.1 += 1;
        let c: &mut (i128, u64) = acc.2.entry(r.get::<String, _>(1)).or_default();
        c.0 += abs;
        c.1 += 1;
        *acc.3.entry(month).or_default() += abs;
    }
    out
}

fn minor_of(v: &Value) -> i128 {
    let s = v["amount"].as_str().unwrap();
    s.replace('.', "").parse().unwrap()
}

/// The insight the API gives, in the reference's shape.
fn shape(insight: &Value) -> Insight {
    let mut out = BTreeMap::new();
    for c in insight["currencies"].as_array().unwrap() {
        let categories = c["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["category"].as_str().unwrap().to_string(),
                    (
                        minor_of(&k["total"]),
                        k["transactionCount"].as_u64().unwrap(),
                    ),
                )
            })
            .collect();
        let months = c["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["month"].as_str().unwrap().to_string(),
                    minor_of(&m["total"]),
                )
            })
            .collect();
        out.insert(
            c["currency"].as_str().unwrap().to_string(),
            (
                minor_of(&c["total"]),
                c["transactionCount"].as_u64().unwrap(),
                categories,
                months,
            ),
        );
    }
    out
}

/// The insight as the route makes it from `flow_totals` read with `present` as the time of
/// the request, in the reference's shape.
async fn flows_as_insight(
    app: &TestApp,
    workspace: &str,
    from: i64,
    to: i64,
    outflow: bool,
    present: i64,
) -> Insight {
    use backend::db::finance::rollups::{flow_totals, FlowGroup, FlowQuery};
    let q = FlowQuery {
        workspace_id: workspace,
        reach: None,
        account_id: None,
        category: None,
        currency: None,
        from,
        to,
        outflow,
        present,
    };
    let pool = &app.state.db.pool;
    let totals = flow_totals(pool, &q, FlowGroup::CategoryAndMonth)
        .await
        .unwrap();
    let insight = backend::insights::insight_of(from, to, totals);
    let out = shape(&serde_json::to_value(insight).unwrap());
    // The totals by category alone (a budget's) agree.
    let by_category: BTreeMap<(String, String), (i128, u64)> = out
        .iter()
        .flat_map(|(currency, acc)| {
            acc.2
                .iter()
                .map(move |(category, t)| ((currency.clone(), category.clone()), *t))
        })
        .collect();
    let alone: BTreeMap<(String, String), (i128, u64)> = flow_totals(pool, &q, FlowGroup::Category)
        .await
        .unwrap()
        .into_iter()
        .map(|t| ((t.currency, t.category), (t.total.abs(), t.count as u64)))
        .collect();
    assert_eq!(alone, by_category, "by category alone");
    out
}

/// Per currency: total, count, per category (total, count), per month total.
type Insight = BTreeMap<
    String,
    (
        i128,
        u64,
        BTreeMap<String, (i128, u64)>,
        BTreeMap<String, i128>,
    ),
>;

#[test]
fn daily_totals_always_equal_a_recomputation_and_insights_the_row_by_row_sums() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, workspace, accounts) = rt.block_on(async {
        let app = TestApp::spawn().await;
        app.signed_in_user("rollups@example.com").await;
        let workspace = personal_workspace(&app, &app.client).await;
        let mut accounts = Vec::new();
        for slot in 0..3 {
            accounts.push(new_account(&app, slot).await);
        }
        (app, workspace, accounts)
    });
    // The account slots (an account deleted by one case is replaced for the next).
    let slots = std::sync::Mutex::new(accounts);
    // Windows of parts of days to over two months (so some hold whole months), some starting
    // at midnight; some end at the present, as the default window does, with rows booked
    // after it (read through `flow_totals` with that present: the app's clock cannot go back
    // to the rows' days without ending the test's session).
    let windows = proptest::collection::vec(
        (
            booked_at(),
            prop_oneof![1..8 * 86_400i64, 20 * 86_400..80 * 86_400i64],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(from, len, midnight, outflow, present)| {
                let from = if midnight {
                    from - from.rem_euclid(86_400)
                } else {
                    from
                };
                (from, len, outflow, present)
            }),
        3,
    );
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(proptest::collection::vec(op(), 1..8), windows),
            |(ops, windows)| {
                rt.block_on(async {
                    let mut accounts = slots.lock().unwrap().clone();
                    for op in &ops {
                        apply(&app, &mut accounts, op).await;
                        assert_rollups_match(&app, &workspace).await;
                    }
                    for (from, len, outflow, present) in windows {
                        let kind = if outflow { "spending" } else { "income" };
                        let to = from + len;
                        let insight = if present {
                            // The window ends at the present, rows booked after it: what the
                            // insight reads with the request's time as `present` (the HTTP
                            // route passes its clock's).
                            flows_as_insight(&app, &workspace, from, to, outflow, to - 1).await
                        } else {
                            let insight: Value = app
                                .get_json(&format!(
                                    "/api/v1/insights/{kind}?from={}&to={}",
                                    rfc3339(from),
                                    rfc3339(to)
                                ))
                                .await;
                            shape(&insight)
                        };
                        let reference =
                            reference_insight(&app, &workspace, from, to, outflow).await;
                        assert_eq!(
                            insight, reference,
                            "{kind} over [{from}, {to}), present {present}"
                        );
                    }
                    *slots.lock().unwrap() = accounts;
                });
                Ok(())
            },
        )
        .unwrap();
}

/// A text filter that matches rarely reads at most 10,000 rows a page: the page comes back
/// short with a cursor from where it stopped, and following the cursors finds every match.
#[tokio::test]
async fn a_rare_text_match_is_found_by_following_cursors_through_short_pages() {
    let app = TestApp::spawn().await;
    app.signed_in_user("needle@example.com").await;
    let account = new_account(&app, 0).await;
    // 10,500 rows, newest first in the list; the two that match are the oldest.
    for batch in 0..11 {
        let items: Vec<Value> = (0..1000)
            .filter_map(|i| {
                let n = batch * 1000 + i;
                (n < 10_500).then(|| {
                    let needle = n < 2;
                    json!({
                        "accountId": account, "externalId": format!("r{n}"),
                        "amount": {"amount": if needle { "-7.125" } else { "-1.000" }, "currency": "BHD"},
                        "description": if needle { format!("Needle {n}") } else { format!("Hay {n}") },
                        "bookedAt": rfc3339(BASE + n),
                    })
                })
            })
            .collect();
        let res = app
            .post("/api/v1/transactions", json!({"transactions": items}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    for filter in ["q=needle", "minAmount=-7.2&maxAmount=-7"] {
        let (mut found, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
        loop {
            let path = format!(
                "/api/v1/transactions?{filter}&limit=5{}",
                cursor
                    .as_ref()
                    .map(|c| format!("&cursor={c}"))
                    .unwrap_or_default()
            );
            let page: Value = app.get_json(&path).await;
            pages += 1;
            for t in page["items"].as_array().unwrap() {
                found.push(t["externalId"].as_str().unwrap().to_string());
            }
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(found, ["r1", "r0"], "{filter}");
        assert_eq!(pages, 2, "{filter}: a short first page, then the matches");
    }
}

/// Pushes from several clients at once all land (on SQLite they queue for the one writer
/// connection), and on SQLite what they wrote reaches the database file shortly after,
/// copied out of the WAL by the server's checkpointer, not by some later request's commit; the
/// writer connection has its own settings.
#[tokio::test]
async fn parallel_pushes_all_land_and_reach_the_database_file() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.signed_in_user("writers@example.com").await;
    let account = new_account(&app, 0).await;
    let mut pushes = Vec::new();
    for p in 0..6 {
        let (app, account) = (app.clone(), account.clone());
        pushes.push(tokio::spawn(async move {
            let items: Vec<Value> = (0..300)
                .map(|i| {
                    json!({"accountId": account, "externalId": format!("p{p}-{i}"),
                           "amount": {"amount": "-1.000", "currency": "BHD"},
                           "description": format!("Push {p} row {i}"),
                           "bookedAt": rfc3339(BASE + p * 1000 + i)})
                })
                .collect();
            let res = app
                .post("/api/v1/transactions", json!({ "transactions": items }))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let body: Value = res.json().await.unwrap();
            body["created"].as_array().unwrap().len()
        }));
    }
    let mut created = 0;
    for p in pushes {
        created += p.await.unwrap();
    }
    assert_eq!(created, 1800);
    let ws = personal_workspace(&app, &app.client).await;
    let count: i64 =
        sqlx::query_scalar("select count(*) from transactions where workspace_id = $1")
            .bind(&ws)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(count, 1800);

    let Some(path) = backend::db::sqlite_path(&app.state.config.database_url) else {
        return;
    };
    // The writer's own settings: a larger page cache, and statement journals in memory rather
    // than in a temporary file (docs/benchmarks.md, 2026-12-06T12:00Z).
    let mut tx = app.state.db.begin().await.unwrap();
    let store: i64 = sqlx::query_scalar("pragma temp_store")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let cache: i64 = sqlx::query_scalar("pragma cache_size")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!((store, cache), (2, -32 * 1024), "temp_store MEMORY, 32 MiB");
    // A checkpoint that copied every frame leaves the file exactly `page_count` pages long;
    // until then the new pages exist only in the WAL (SQLite itself would copy them only
    // once the WAL holds `db::WAL_AUTOCHECKPOINT_PAGES`).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        let size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        let file = std::fs::metadata(path).unwrap().len() as i64;
        if file == pages * size {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database file holds {file} bytes of {pages} pages of {size}: not checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// On SQLite, a WAL file that writes left larger than a few MiB is cut to nothing once they
/// pause (by the server's checkpointer, after it copied every frame), and writes go on after
/// it with every row kept: a large import leaves no file of up to 1.25 GiB behind.
#[tokio::test]
async fn a_large_wal_is_cut_to_nothing_once_writes_pause() {
    let app = TestApp::spawn().await;
    let Some(path) = backend::db::sqlite_path(&app.state.config.database_url) else {
        return;
    };
    let wal = std::path::PathBuf::from(format!("{path}-wal"));
    app.signed_in_user("importer@example.com").await;
    let account = new_account(&app, 0).await;
    let push = |batch: usize| {
        let (app, account) = (&app, &account);
        async move {
            // Long descriptions: each row's text is in the table and in two list indexes.
            let items: Vec<Value> = (0..1000)
                .map(|i| {
                    json!({"accountId": account, "externalId": format!("b{batch}-{i}"),
                           "amount": {"amount": "-1.000", "currency": "BHD"},
                           "description": format!("{batch} {i} {}", "imported ".repeat(50)),
                           "bookedAt": rfc3339(BASE + (batch * 1000 + i) as i64)})
                })
                .collect();
            let res = app
                .post("/api/v1/transactions", json!({ "transactions": items }))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    };
    for batch in 0..4 {
        push(batch).await;
    }
    let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let grown = size();
    assert!(grown > 4 << 20, "the pushes left a WAL of {grown} bytes");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while size() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL still holds {} bytes (it held {grown})",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    push(4).await;
    let count: i64 = sqlx::query_scalar("select count(*) from transactions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 5000);
}

/// The rollup tables as the maintenance tasks lay them out, and laying them out again keeps
/// every row: on SQLite `WITHOUT ROWID` tables with only their account index (task
/// `0018_sqlite_rollups_without_rowid`); on PostgreSQL without the covering indexes and with
/// room for in-place updates (task `0019_postgres_rollups_hot_updates`).
#[tokio::test]
async fn rollup_tables_are_laid_out_for_their_writes_and_keep_their_rows() {
    use backend::db::finance::rollups::{
        cluster_on_sqlite, hot_updates_on_postgres, workspace_rollups, Grain,
    };
    let (app, workspace, _) = pushed_rows("clustered@example.com", 40, 40_000, |i| {
        format!("{}.250", i as i64 - 30)
    })
    .await;
    let (pool, backend) = (&app.state.db.pool, app.state.db.backend);
    let mut before = Vec::new();
    for grain in Grain::ALL {
        let rows = workspace_rollups(pool, backend, grain, &workspace, false)
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{grain:?}");
        before.push(rows);
    }
    // As `pfn migrate` left them.
    for table in [
        "transaction_rollups",
        "transaction_rollups_weekly",
        "transaction_rollups_monthly",
    ] {
        if backend == backend::db::Backend::Sqlite {
            let sql: String = sqlx::query_scalar(
                "select sql from sqlite_master where type = 'table' and name = $1",
            )
            .bind(table)
            .fetch_one(pool)
            .await
            .unwrap();
            assert!(
                sql.to_lowercase().ends_with("without rowid"),
                "{table}: {sql}"
            );
            let indexes: Vec<String> = sqlx::query_scalar(
                "select name from sqlite_master where type = 'index' and tbl_name = $1
                 and sql is not null order by name",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
            assert_eq!(indexes, [format!("{table}_account_idx")]);
        } else {
            let indexes: Vec<String> = sqlx::query_scalar(
                "select cast(indexname as text) from pg_indexes where tablename = $1 order by 1",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
            assert_eq!(
                indexes,
                [format!("{table}_account_idx"), format!("{table}_pkey")]
            );
            let options: Option<String> = sqlx::query_scalar(
                "select array_to_string(reloptions, ',') from pg_class where relname = $1",
            )
            .bind(table)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(options.as_deref(), Some("fillfactor=70"), "{table}");
        }
    }
    // Made again over tables that hold rows: the same rows come out.
    let mut conn = pool.acquire().await.unwrap();
    cluster_on_sqlite(&mut conn).await.unwrap();
    hot_updates_on_postgres(&mut conn).await.unwrap();
    drop(conn);
    for (grain, rows) in Grain::ALL.into_iter().zip(before) {
        let after = workspace_rollups(pool, backend, grain, &workspace, false)
            .await
            .unwrap();
        assert_eq!(after, rows, "{grain:?}");
    }
    assert_rollups_match(&app, &workspace).await;
}

/// Every row of `transactions` and of the rollup tables names an account of its own workspace.
/// SQLite keeps migration 0003 and 0017's two keys, one to the workspace and one to the
/// account. On PostgreSQL task `0020_postgres_one_account_key` made them one foreign key,
/// `(workspace_id, account_id)` to `accounts (workspace_id, id)`, which refuses a row that names
/// another workspace's account (rows already astray when the task runs are reported and kept,
/// and that table's key then holds for new rows only); task
/// `0024_postgres_account_rows_without_keys` then dropped it for the writers' holds and a
/// trigger that deletes an account's rows with it
/// (`a_push_racing_an_accounts_deletion_leaves_no_row_without_it`).
#[tokio::test]
async fn rows_name_an_account_of_their_own_workspace() {
    use backend::db::finance::{one_account_key_on_postgres, ACCOUNT_ROW_TABLES};
    use backend::db::Backend;
    let app = TestApp::spawn().await;
    app.signed_in_user("one-key@example.com").await;
    let workspace = personal_workspace(&app, &app.client).await;
    let other = crate::helpers::shared_workspace(&app, "Other").await;
    let account = new_account(&app, 0).await;
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [{"accountId": account, "externalId": "k1",
                "amount": {"amount": "-1.250", "currency": currency(0)},
                "description": "Keyed", "bookedAt": rfc3339(BASE)}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (pool, backend) = (&app.state.db.pool, app.state.db.backend);
    let astray = |id: &'static str| {
        sqlx::query(
            "insert into transactions (id, workspace_id, account_id, external_id, amount_minor,
                 currency, description, booked_at, created_at, updated_at)
             values ($1, $2, $3, $1, -5, 'BHD', 'astray', 0, 0, 0)",
        )
        .bind(id)
        .bind(other.clone())
        .bind(account.clone())
    };
    if backend == Backend::Sqlite {
        for table in ACCOUNT_ROW_TABLES {
            let parents: Vec<String> = sqlx::query_scalar(
                "select \"table\" || '(' || \"from\" || ')' from pragma_foreign_key_list($1)
                 order by 1",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
            assert_eq!(
                parents,
                ["accounts(account_id)", "workspaces(workspace_id)"],
                "{table}"
            );
        }
        return;
    }
    let keys = |table: &'static str| async move {
        sqlx::query(
            "select cast(conname as text) as name, pg_get_constraintdef(oid) as def,
                    case when convalidated then 1 else 0 end as valid
             from pg_constraint
             where conrelid = cast($1 as regclass) and contype = 'f' order by 1",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.get::<String, _>("name"),
                r.get::<String, _>("def"),
                r.get::<i32, _>("valid") == 1,
            )
        })
        .collect::<Vec<_>>()
    };
    for table in ACCOUNT_ROW_TABLES {
        assert_eq!(keys(table).await, [], "{table}");
    }
    let trigger: String = sqlx::query_scalar(
        "select pg_get_triggerdef(oid) from pg_trigger
         where tgrelid = cast('accounts' as regclass) and tgname = 'accounts_delete_rows'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        trigger,
        "CREATE TRIGGER accounts_delete_rows AFTER DELETE ON public.accounts \
         FOR EACH ROW EXECUTE FUNCTION accounts_delete_rows()"
    );
    let refused = |e: sqlx::Error| {
        assert!(
            matches!(&e, sqlx::Error::Database(d) if d.is_foreign_key_violation()),
            "{e}"
        )
    };

    // Task 0020 on a database whose rows went astray before it ran: it reports them, keeps
    // them, and its key still refuses new ones.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("alter table accounts drop constraint accounts_workspace_id_key cascade")
        .execute(&mut *conn)
        .await
        .unwrap();
    for table in ACCOUNT_ROW_TABLES {
        sqlx::query(&format!(
            "alter table {table}
                 add constraint {table}_workspace_fkey foreign key (workspace_id)
                     references workspaces (id) on delete cascade,
                 add constraint {table}_account_fkey foreign key (account_id)
                     references accounts (id) on delete cascade"
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    astray("astray-2").execute(&mut *conn).await.unwrap();
    let report = one_account_key_on_postgres(&mut conn).await.unwrap();
    assert_eq!(
        report,
        "transactions: 1 row(s) name an account of another workspace; they were kept, and \
         transactions_account_fkey holds for new rows only (NOT VALID) until they are mended \
         and it is validated"
    );
    drop(conn);
    let mut valid = Vec::new();
    for table in ACCOUNT_ROW_TABLES {
        let k = keys(table).await;
        assert_eq!(k.len(), 1, "{table}: {k:?}");
        valid.push(k[0].2);
    }
    assert_eq!(valid, [false, true, true, true]);
    refused(astray("astray-3").execute(pool).await.unwrap_err());
    let kept: i64 = sqlx::query_scalar("select count(*) from transactions where workspace_id = $1")
        .bind(&other)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    // The account's own rows still go with it.
    let res = app
        .delete(&format!(
            "/api/v1/accounts/{account}?deleteTransactions=true"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for table in ACCOUNT_ROW_TABLES {
        let left: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where workspace_id = $1"
        ))
        .bind(&workspace)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(left, 0, "{table}");
    }
}

/// On PostgreSQL the rows of an account keep no foreign key to it (task
/// `0024_postgres_account_rows_without_keys`): a push holds its accounts in its transaction
/// (`db::finance::hold_accounts`), and a trigger deletes an account's rows with it. Both orders
/// of a push racing the account's deletion, forced by locks and seen in `pg_stat_activity`,
/// leave no row without its account:
/// - deleted while the push waits at its hold: the push answers as if it came after the
///   deletion (`accountId`: no such account) and stores nothing;
/// - pushed while the deletion waits for the push's hold: the deletion takes the pushed rows,
///   committed after it began, with the rest.
///
/// The deletions here are bare `delete from accounts`, without the workspace's row that the
/// API's deletions also take, so only the hold and the trigger stand between the two. On
/// SQLite, whose one writer holds the whole database, the two orders are the serial ones. A
/// workspace's deletion then takes every row of its accounts.
#[tokio::test]
async fn a_push_racing_an_accounts_deletion_leaves_no_row_without_it() {
    let on_postgres = crate::helpers::on_postgres();
    let app = TestApp::spawn().await;
    app.signed_in_user("racing-push@example.com").await;
    let workspace = personal_workspace(&app, &app.client).await;
    let push = |account: &str, externals: &[&str]| {
        let items: Vec<Value> = externals
            .iter()
            .enumerate()
            .map(|(i, e)| {
                json!({"accountId": account, "externalId": e,
                       "amount": {"amount": format!("-{}.250", i + 1), "currency": currency(0)},
                       "description": "Racing", "bookedAt": rfc3339(BASE + i as i64 * 86_400)})
            })
            .collect();
        let request = app
            .client
            .post(app.url("/api/v1/transactions"))
            .json(&json!({ "transactions": items }));
        async move { request.send().await.unwrap() }
    };
    let delete = "delete from accounts where id = $1";
    // A statement in a write transaction of its own, committed.
    let write = |sql: &'static str, id: String| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    };

    // The deletion first: it commits while the push waits at its hold.
    let first = new_account(&app, 0).await;
    assert_eq!(push(&first, &["a", "b"]).await.status(), StatusCode::OK);
    let mut deleting = app.state.db.begin().await.unwrap();
    sqlx::query(delete)
        .bind(&first)
        .execute(&mut *deleting)
        .await
        .unwrap();
    let pushing = tokio::spawn(push(&first, &["c", "d", "e"]));
    if on_postgres {
        crate::helpers::lock_waits(&app, 1).await;
    } else {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    deleting.commit().await.unwrap();
    let res = pushing.await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (code, fields) = crate::helpers::error_of(res).await;
    assert_eq!(code, "validation_failed", "{fields}");
    assert_eq!(
        fields["transactions[0].accountId"], "no such account in this workspace",
        "{fields}"
    );
    for (table, astray, own) in crate::helpers::rows_left(&app, &first).await {
        assert_eq!((astray, own), (0, 0), "{table}");
    }

    // The push first: the deletion waits for its hold, then takes what it wrote. (On
    // PostgreSQL the push is kept from committing by a row of its batch that another
    // transaction inserted and has not committed.)
    let second = new_account(&app, 0).await;
    assert_eq!(push(&second, &["a", "b"]).await.status(), StatusCode::OK);
    let res = if on_postgres {
        let mut holding = app.state.db.begin().await.unwrap();
        sqlx::query(
            "insert into transactions (id, workspace_id, account_id, external_id, amount_minor,
                 currency, description, booked_at, created_at, updated_at)
             values ('held', $1, $2, 'e', -5, 'BHD', 'held', 0, 0, 0)",
        )
        .bind(&workspace)
        .bind(&second)
        .execute(&mut *holding)
        .await
        .unwrap();
        let pushing = tokio::spawn(push(&second, &["c", "d", "e"]));
        crate::helpers::lock_waits(&app, 1).await;
        let deleting = tokio::spawn(write(delete, second.clone()));
        crate::helpers::lock_waits(&app, 2).await;
        holding.rollback().await.unwrap();
        let res = pushing.await.unwrap();
        deleting.await.unwrap();
        res
    } else {
        let res = push(&second, &["c", "d", "e"]).await;
        write(delete, second.clone()).await;
        res
    };
    assert_eq!(res.status(), StatusCode::OK);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["created"].as_array().unwrap().len(), 3, "{created}");
    for (table, astray, own) in crate::helpers::rows_left(&app, &second).await {
        assert_eq!((astray, own), (0, 0), "{table}");
    }

    // A workspace's deletion takes every row of its accounts.
    let third = new_account(&app, 0).await;
    assert_eq!(push(&third, &["a", "b"]).await.status(), StatusCode::OK);
    write("delete from workspaces where id = $1", workspace).await;
    for (table, astray, own) in crate::helpers::rows_left(&app, &third).await {
        assert_eq!((astray, own), (0, 0), "{table}");
    }
}

/// On SQLite a list with a text, amount or pending filter checks its rows in windows, and
/// finds where a window ends (`db::finance::ListPlan::window_end`) in the index it reads in
/// alone: the workspace's and the category's hold the workspace, `removed_at` and the position
/// (migration 0018), and the account's `removed_at` and the position; a list of one account
/// finds the account in the workspace once and checks no row's workspace. So only the rows
/// checked are read from the table. (PostgreSQL reads a page in one statement:
/// `a_page_reads_only_the_rows_that_pass_its_index_on_postgres`.)
#[tokio::test]
async fn a_window_of_a_filtered_list_ends_where_its_index_alone_says() {
    use backend::db::Backend;
    if crate::helpers::on_postgres() {
        return;
    }
    let (app, workspace, account) =
        pushed_rows("windows@example.com", 200, 600, |_| "-2.500".into()).await;
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    for (index, filter) in lists_by_index(&workspace, &account, false) {
        let end = ListPlan::new(Backend::Sqlite, &filter).window_end(&None);
        let explain = format!("explain {}", end.sql);
        let rows = end.bind(&explain).fetch_all(&mut *conn).await.unwrap();
        // SQLite's program: it opens the index, and reads nothing through the table's cursor
        // (its seek to a row is deferred until a column of the row is read, and none is).
        let (ops, cursors) = sqlite_program(&mut conn, rows, index).await;
        assert!(!cursors.index.is_empty(), "{index} is read: {ops:?}");
        let table_reads: Vec<_> = ops
            .iter()
            .filter(|op| {
                cursors.table.contains(&op.p1)
                    && [
                        "Column",
                        "Rowid",
                        "Seek",
                        "SeekRowid",
                        "NotExists",
                        "Next",
                        "Prev",
                    ]
                    .contains(&op.opcode.as_str())
            })
            .collect();
        assert!(
            table_reads.is_empty(),
            "{index}: {table_reads:?} in {ops:?}"
        );
    }
}

/// A list of one account finds the account in the caller's workspace once and then reads the
/// account's rows without checking each row's workspace (`db::finance::ListPlan`): named from
/// another workspace, the account gives no row and no position, with every kind of filter.
#[tokio::test]
async fn a_list_of_another_workspaces_account_finds_nothing() {
    let (app, _, account) = pushed_rows("owner@example.com", 200, 600, |_| "-2.500".into()).await;
    let stranger = app.other_user("stranger@example.com").await;
    let own = crate::helpers::manual_account(&app, "Own", currency(0)).await;
    for filters in [
        "",
        "&q=pushed",
        "&q=rare",
        "&category=dining",
        "&category=dining&q=pushed",
        "&minAmount=-3&maxAmount=-2",
        "&pending=false",
        "&from=2000-01-01&to=2100-01-01",
    ] {
        let path = format!("/api/v1/transactions?accountId={account}{filters}");
        let page: Value = app.get_json_as(&stranger, &path).await;
        assert_eq!(page["items"], json!([]), "{filters}: {page}");
        assert_eq!(page["nextCursor"], Value::Null, "{filters}: {page}");
        // The owner finds them (none for a text that no row holds).
        let page: Value = app.get_json(&path).await;
        assert_eq!(
            page["items"].as_array().unwrap().is_empty(),
            filters == "&q=rare",
            "{filters}"
        );
    }
    // Nor can the stranger write rows into it, the one way a row's workspace could differ
    // from its account's (no database key refuses that since task 0024: the push finds and
    // holds only accounts of the caller's workspace, `finance::hold_accounts`).
    let res = stranger
        .post(app.url("/api/v1/transactions"))
        .json(
            &json!({"transactions": [{"accountId": account, "externalId": "astray",
            "amount": {"amount": "-1.000", "currency": currency(0)},
            "description": "Astray", "bookedAt": rfc3339(BASE)}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for (table, astray, _) in crate::helpers::rows_left(&app, &account).await {
        assert_eq!(astray, 0, "{table}");
    }
    // An account of the workspace without rows, and no account at all.
    for id in [own.as_str(), "no-such-account"] {
        let page: Value = app
            .get_json(&format!("/api/v1/transactions?accountId={id}&q=pushed"))
            .await;
        assert_eq!(page["items"], json!([]), "{id}: {page}");
        assert_eq!(page["nextCursor"], Value::Null, "{id}: {page}");
    }
}

/// Each list index, with a list that reads it (the workspace's, one account's, a category's)
/// and a text that no row holds; with `checks`, amount and pending filters as well.
fn lists_by_index<'a>(
    workspace: &'a str,
    account: &'a str,
    checks: bool,
) -> [(&'static str, TransactionFilter<'a>); 3] {
    let filter = |account_id, category| TransactionFilter {
        account_id,
        category,
        text: Some("rare"),
        min_thousandths: checks.then_some(-5_000),
        max_thousandths: checks.then_some(5_000),
        pending: checks.then_some(false),
        ..all_of(workspace)
    };
    [
        ("transactions_workspace_booked_idx", filter(None, None)),
        (
            "transactions_account_booked_idx",
            filter(Some(account), None),
        ),
        (
            "transactions_category_booked_idx",
            filter(None, Some("dining")),
        ),
    ]
}

/// The whole workspace `workspace`, unfiltered, as the caller with its whole reach lists it.
fn all_of(workspace: &str) -> TransactionFilter<'_> {
    TransactionFilter {
        workspace_id: workspace,
        reach: None,
        account_id: None,
        from: None,
        to: None,
        category: None,
        text: None,
        min_thousandths: None,
        max_thousandths: None,
        pending: None,
    }
}

/// One op of SQLite's program for a statement (`explain`).
#[derive(Debug)]
struct VmOp {
    addr: i64,
    opcode: String,
    p1: i64,
    p2: i64,
}

/// The cursors a SQLite program opens on `transactions` and on one of its indexes.
struct Cursors {
    table: Vec<i64>,
    index: Vec<i64>,
}

/// SQLite's program, from the rows of `explain`, and the cursors it reads `transactions` and
/// `index` with.
async fn sqlite_program(
    conn: &mut sqlx::AnyConnection,
    rows: Vec<sqlx::any::AnyRow>,
    index: &str,
) -> (Vec<VmOp>, Cursors) {
    let ops: Vec<VmOp> = rows
        .iter()
        .map(|r| VmOp {
            addr: r.get("addr"),
            opcode: r.get("opcode"),
            p1: r.get("p1"),
            p2: r.get("p2"),
        })
        .collect();
    let mut opened = Vec::new();
    for name in ["transactions", index] {
        let root: i64 = sqlx::query_scalar("select rootpage from sqlite_master where name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        opened.push(
            ops.iter()
                .filter(|op| op.opcode == "OpenRead" && op.p2 == root)
                .map(|op| op.p1)
                .collect::<Vec<_>>(),
        );
    }
    let index = opened.pop().unwrap();
    let table = opened.pop().unwrap();
    (ops, Cursors { table, index })
}

/// On SQLite, a window of a list with text, amount and pending filters checks each row in the
/// workspace's index, or in the account's for a list of one account, which hold the columns
/// those checks read (maintenance tasks `0021_sqlite_list_index_holds_checked_columns` and
/// `0022_sqlite_account_index_holds_checked_columns`): a row is read from the table only once
/// it has passed them. In SQLite's program every jump that skips a row (to the loop's `Prev`)
/// comes before the first column read through the table's cursor. The category's index holds
/// the text's signature instead of the text (`0023_text_signatures`): there the signature,
/// amount and pending checks skip a row before the table is read, and the text's own check
/// after. PostgreSQL's side: `a_page_reads_only_the_rows_that_pass_its_index_on_postgres`.
#[tokio::test]
async fn a_window_checks_its_rows_in_the_index_on_sqlite() {
    use backend::db::Backend;
    if crate::helpers::on_postgres() {
        return;
    }
    let (app, workspace, account) =
        pushed_rows("checks@example.com", 200, 600, |_| "-2.500".into()).await;
    assert_eq!(app.state.db.backend, Backend::Sqlite);
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    // As an upgrade runs the tasks: over rows already there.
    backend::db::finance::checked_columns_in_list_index_on_sqlite(&mut conn)
        .await
        .unwrap();
    backend::db::finance::checked_columns_in_account_index_on_sqlite(&mut conn)
        .await
        .unwrap();
    backend::db::finance::text_signatures(&mut conn)
        .await
        .unwrap();
    for (index, filter) in lists_by_index(&workspace, &account, true) {
        let window = ListPlan::new(Backend::Sqlite, &filter).window_rows(
            &Some((9_999_999_999, "z".into())),
            &Some((0, String::new())),
            50,
        );
        let explain = format!("explain {}", window.sql);
        let rows = window.bind(&explain).fetch_all(&mut *conn).await.unwrap();
        let (ops, cursors) = sqlite_program(&mut conn, rows, index).await;
        assert!(!cursors.index.is_empty(), "{index} is read: {ops:?}");
        let step = ops
            .iter()
            .find(|op| op.opcode == "Prev" && cursors.index.contains(&op.p1))
            .unwrap_or_else(|| panic!("the rows are read backwards in {index}: {ops:?}"));
        let skips: Vec<&VmOp> = ops
            .iter()
            .filter(|op| op.p2 == step.addr && op.addr != step.addr)
            .collect();
        let first_table_read = ops
            .iter()
            .find(|op| op.opcode == "Column" && cursors.table.contains(&op.p1))
            .unwrap_or_else(|| panic!("{index}: the answer reads the table: {ops:?}"));
        let before_table: Vec<&&VmOp> = skips
            .iter()
            .filter(|op| op.addr < first_table_read.addr)
            .collect();
        assert!(
            before_table.len() >= 3,
            "{index}: a jump past the row for each check the index holds, before \
             {first_table_read:?} reads the table: {skips:?} in {ops:?}"
        );
        if filter.category.is_none() {
            assert_eq!(
                before_table.len(),
                skips.len(),
                "{index}: a row is skipped after {first_table_read:?} read the table: \
                 {skips:?} in {ops:?}"
            );
        }
    }
    lists_find_what_they_should(&app, &account).await;
}

/// What [`pushed_rows`]'s 200 rows (`Pushed`, -2.500, dining and fuel in turn) give to lists
/// with text, amount and pending filters, of the workspace, one account and one category.
async fn lists_find_what_they_should(app: &TestApp, account: &str) {
    for (list, per_page) in [
        (String::new(), 50),
        (format!("accountId={account}&"), 50),
        ("category=dining&".to_string(), 50),
    ] {
        for (filters, found) in [
            ("q=pUsH&minAmount=-3&maxAmount=-2&pending=false", per_page),
            ("q=pushed&minAmount=-2", 0),
            ("q=rare", 0),
            ("q=shed", per_page),
        ] {
            let page: Value = app
                .get_json(&format!(
                    "/api/v1/transactions?{list}{filters}&from=2000-01-01"
                ))
                .await;
            assert_eq!(
                page["items"].as_array().unwrap().len(),
                found,
                "{list}{filters}"
            );
        }
    }
}

/// On PostgreSQL a page of a list with text, amount and pending filters is one statement
/// (`ListPlan::page`): it reads the page's budget of positions in the list's index alone, an
/// index-only scan that checks there what the index holds (the text's signature, the amount,
/// pending: `0023_text_signatures`), and reads from the table, by their key, only the rows
/// that pass, to check the text itself; in list order, without sorting. A plain index scan
/// would read every row of the budget from the table before checking it.
#[tokio::test]
async fn a_page_reads_only_the_rows_that_pass_its_index_on_postgres() {
    use backend::db::Backend;
    if !crate::helpers::on_postgres() {
        return;
    }
    let (app, workspace, account) =
        pushed_rows("pgchecks@example.com", 200, 600, |_| "-2.500".into()).await;
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    for sql in [
        "vacuum (analyze) transactions",
        "set enable_seqscan = off",
        "set enable_bitmapscan = off",
    ] {
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }
    for (index, filter) in lists_by_index(&workspace, &account, true) {
        let page = ListPlan::new(Backend::Postgres, &filter).page(&None, 50);
        let explain = format!("explain {}", page.sql);
        let plan: Vec<String> = page
            .bind(&explain)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        for expected in [
            format!("Index Only Scan Backward using {index} "),
            "Index Scan using transactions_pkey ".to_string(),
        ] {
            assert!(
                plan.iter().any(|line| line.contains(&expected)),
                "{expected}: {plan:#?}"
            );
        }
        assert!(
            !plan.iter().any(|line| line.contains("Sort")),
            "in list order without sorting: {plan:#?}"
        );
    }
    drop(conn);
    lists_find_what_they_should(&app, &account).await;
}

/// Migration 0019 gives the rows it finds the signature -1, which every text's signature
/// passes: lists find them as before. The maintenance task `0023_text_signatures` then computes
/// each row's, which is the one a push stores.
#[tokio::test]
async fn the_rows_an_upgrade_finds_get_their_text_signatures() {
    let (app, _, account) =
        pushed_rows("signatures@example.com", 200, 600, |_| "-2.500".into()).await;
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [{"accountId": account, "externalId": "shop",
                "amount": {"amount": "-4.000", "currency": currency(0)},
                "description": "Card purchase", "merchant": "The Corner SHOP",
                "category": "dining", "bookedAt": rfc3339(BASE)}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let pool = &app.state.db.pool;
    let signatures = || async {
        let rows: Vec<(String, Option<String>, i64)> =
            sqlx::query_as("select description, merchant, text_sig from transactions order by id")
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(rows.len(), 201);
        rows
    };
    let pushed = signatures().await;
    for (description, merchant, sig) in &pushed {
        assert_eq!(
            *sig,
            backend::db::finance::row_signature(description, merchant.as_deref()),
            "{description} {merchant:?}"
        );
    }
    sqlx::query("update transactions set text_sig = -1")
        .execute(pool)
        .await
        .unwrap();
    let shop = |filters: &'static str| {
        let app = &app;
        async move {
            let page: Value = app
                .get_json(&format!("/api/v1/transactions?{filters}"))
                .await;
            page["items"].as_array().unwrap().len()
        }
    };
    for _ in 0..2 {
        assert_eq!(shop("category=dining&q=corner%20s").await, 1);
        assert_eq!(shop("q=corner%20s").await, 1);
        assert_eq!(shop("category=fuel&q=corner%20s").await, 0);
        assert_eq!(shop("category=dining&q=nowhere").await, 0);
        lists_find_what_they_should(&app, &account).await;
        let mut conn = pool.acquire().await.unwrap();
        backend::db::finance::text_signatures(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(signatures().await, pushed);
}

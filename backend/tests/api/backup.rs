//! `pfn backup` and `pfn restore`, through the binary, on the database the suite runs on: a
//! backup taken while writers run restores into another server's place and serves; a backup
//! of a quiet server restores to the same rows, table by table.

use std::{
    collections::BTreeMap,
    process::{Command, Output},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use backend::db::{Backend, Db};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::helpers::{create_key, tables_and_columns, with_key, TestApp, PASSWORD};

/// Runs `pfn` on `app`'s data directory and database.
async fn pfn(app: &TestApp, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pfn"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PFN_DATA_DIR", &app.data_dir)
        .env("PFN_DATABASE_URL", &app.state.config.database_url)
        .current_dir(&app.data_dir);
    tokio::task::spawn_blocking(move || cmd.output().expect("pfn runs"))
        .await
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "pfn failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every table's row count and a SHA-256 of its rows (each column as text, rows sorted).
async fn digests(url: &str) -> BTreeMap<String, (usize, String)> {
    let db = Db::connect(url).await.unwrap();
    let mut out = BTreeMap::new();
    for (table, columns) in tables_and_columns(&db).await {
        // As text: SQLite's quote() also spells blobs (X'…'), which are not UTF-8.
        let select: Vec<String> = columns
            .iter()
            .map(|c| match db.backend {
                Backend::Sqlite => format!("quote(\"{c}\")"),
                Backend::Postgres => format!("cast(\"{c}\" as text)"),
            })
            .collect();
        let sql = format!("select {} from \"{table}\"", select.join(", "));
        let mut rows: Vec<String> = sqlx::query(&sql)
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (0..columns.len())
                    .map(|i| {
                        r.try_get::<Option<String>, _>(i)
                            .unwrap()
                            .unwrap_or_else(|| "\u{0}null".into())
                    })
                    .collect::<Vec<_>>()
                    .join("\u{1}")
            })
            .collect();
        rows.sort();
        let hash = hex::encode(Sha256::digest(rows.join("\u{2}").as_bytes()));
        out.insert(table, (rows.len(), hash));
    }
    db.close().await;
    out
}

async fn users(pool: &sqlx::AnyPool) -> i64 {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Another server's place, stopped, its connections closed: where a backup goes back.
async fn empty_place() -> TestApp {
    let mut target = TestApp::spawn().await;
    target.stop_serving().await;
    target.state.db.close().await;
    target
}

#[tokio::test]
async fn a_backup_taken_while_writers_run_restores_and_serves() {
    // The writers sign up as fast as they can: no per-IP sign-up limit.
    let app = TestApp::spawn_with(&[("PFN_SIGNUP_RATE_PER_IP_PER_HOUR", "0")]).await;
    let email = "backed-up@example.com";
    app.signed_in_user(email).await;
    let (_, key) = create_key(
        &app,
        json!({"name": "agent", "scopes": ["read:transactions"]}),
    )
    .await;
    let before = users(&app.state.db.pool).await;

    // Sign-ups keep writing while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let writers = {
        let (stop, base, origin) = (stop.clone(), app.base.clone(), app.origin.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let res = client
                    .post(format!("{base}/api/v1/auth/signup"))
                    .header("Origin", &origin)
                    .json(&json!({"email": format!("writer{n}@example.com"), "password": PASSWORD, "name": "Writer"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::ACCEPTED);
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let file = app.data_dir.join("online.zip");
    let said = ok(&pfn(&app, &["backup", "--to", file.to_str().unwrap()]).await);
    assert!(
        said.contains("the development secret is in the backup"),
        "{said}"
    );
    stop.store(true, Ordering::Relaxed);
    let written = writers.await.unwrap();
    assert!(written > 0, "the writers wrote during the backup");
    let after = users(&app.state.db.pool).await;
    // The live server is unharmed by the copy.
    assert_eq!(app.login(email, PASSWORD).await.status(), StatusCode::OK);

    let target = empty_place().await;
    // A database pfn has used is not replaced without --force.
    let refused = pfn(&target, &["restore", "--from", file.to_str().unwrap()]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    ok(&pfn(
        &target,
        &["restore", "--from", file.to_str().unwrap(), "--force"],
    )
    .await);
    let restored_db = Db::connect(&target.state.config.database_url)
        .await
        .unwrap();
    let restored = users(&restored_db.pool).await;
    restored_db.close().await;
    assert!(
        (before..=after).contains(&restored),
        "a consistent copy: {before} ≤ {restored} ≤ {after}"
    );
    assert_eq!(
        std::fs::read(app.data_dir.join("secret")).unwrap(),
        std::fs::read(target.data_dir.join("secret")).unwrap(),
        "the development secret came along"
    );

    // The restored place serves: the account signs in, the key works.
    let target = target.restart_with(&[]).await;
    assert_eq!(target.login(email, PASSWORD).await.status(), StatusCode::OK);
    let res = with_key(&target, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_quiet_servers_backup_restores_every_table_row_for_row() {
    let mut app = TestApp::spawn().await;
    app.signed_in_user("quiet@example.com").await;
    create_key(&app, json!({"name": "k", "scopes": ["read:transactions"]})).await;
    app.stop_serving().await;
    let file = app.data_dir.join("quiet.zip");
    ok(&pfn(&app, &["backup", "--to", file.to_str().unwrap()]).await);
    let live = digests(&app.state.config.database_url).await;
    assert!(live["users"].0 > 0 && live["api_keys"].0 > 0, "{live:?}");

    let target = empty_place().await;
    ok(&pfn(
        &target,
        &["restore", "--from", file.to_str().unwrap(), "--force"],
    )
    .await);
    let restored = digests(&target.state.config.database_url).await;
    assert_eq!(restored, live);

    // Not a backup: refused, nothing touched.
    let junk = target.data_dir.join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let out = pfn(
        &target,
        &["restore", "--from", junk.to_str().unwrap(), "--force"],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pfn backup"));
    assert_eq!(digests(&target.state.config.database_url).await, live);
}

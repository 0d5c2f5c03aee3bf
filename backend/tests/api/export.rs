//! The account is the user's: `GET /api/v1/export`, everything they can see in one ZIP.

use std::io::Read;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{create_key, error_of, join, personal_workspace, TestApp, PASSWORD};

/// Every entry of the archive: `(name, contents)`, in the archive's order.
fn entries(bytes: &[u8]) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a readable ZIP");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (f.name().to_string(), text)
        })
        .collect()
}

fn file<'a>(entries: &'a [(String, String)], name: &str) -> &'a str {
    let full = format!("pfn-export/{name}");
    entries
        .iter()
        .find(|(n, _)| *n == full)
        .map(|(_, t)| t.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no {full} in {:?}",
                entries.iter().map(|e| &e.0).collect::<Vec<_>>()
            )
        })
}

fn json_of(entries: &[(String, String)], name: &str) -> Value {
    serde_json::from_str(file(entries, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A manual account in `ws` holding `items`.
async fn push(app: &TestApp, client: &reqwest::Client, ws: &str, items: Value) {
    let acc: Value = client
        .post(app.url(&format!("/api/v1/accounts?workspaceId={ws}")))
        .json(&json!({"name": "Wallet", "currency": "BHD", "kind": "cash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let acc = acc["account"]["id"].as_str().unwrap().to_string();
    let items: Vec<Value> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t["accountId"] = json!(acc);
            t
        })
        .collect();
    let res = client
        .post(app.url(&format!("/api/v1/transactions?workspaceId={ws}")))
        .json(&json!({ "transactions": items }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

fn tx(ext: &str, amount: &str, description: &str) -> Value {
    json!({"externalId": ext, "amount": {"amount": amount, "currency": "BHD"},
           "description": description, "bookedAt": "2026-11-20T10:00:00Z", "category": "groceries"})
}

#[tokio::test]
async fn the_archive_holds_what_the_user_sees_and_nothing_else() {
    let app = TestApp::spawn().await;
    let me = "exporter@example.com";
    app.signed_in_user(me).await;
    let mine = personal_workspace(&app, &app.client).await;
    push(
        &app,
        &app.client,
        &mine,
        json!([
            tx("a", "-12.500", "Lulu Hypermarket"),
            tx("b", "1500", "Salary, \"November\""),
            tx("c", "-0.125", "Coffee"),
        ]),
    )
    .await;
    let list: Value = app.get_json("/api/v1/transactions").await;
    let coffee = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["description"] == "Coffee")
        .unwrap();
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/transactions/{}", coffee["id"].as_str().unwrap())))
        .json(&json!({"category": "treats", "note": "for the team", "tags": ["work"], "excluded": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.post("/api/v1/budgets", json!({"category": "groceries", "month": "2026-11", "limit": {"amount": "150", "currency": "BHD"}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, secret) = create_key(
        &app,
        json!({"name": "exporter-key", "scopes": ["read:transactions"]}),
    )
    .await;
    let res = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/pfn", "eventTypes": ["sync.failed"], "enabled": false}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hook: Value = res.json().await.unwrap();
    let hook_secret = hook["secret"].as_str().unwrap().to_string();

    // A friend's club, where the exporter is a member; and the friend's own money.
    let friend = app.other_user("friend@example.com").await;
    let club: Value = friend
        .post(app.url("/api/v1/workspaces"))
        .json(&json!({"name": "Club"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let club = club["workspace"]["id"].as_str().unwrap().to_string();
    join(&app, &friend, &app.client, &club, me, "member", 2).await;
    push(&app, &friend, &club, json!([tx("d", "-30", "Club dinner")])).await;
    let friends = personal_workspace(&app, &friend).await;
    push(
        &app,
        &friend,
        &friends,
        json!([tx("e", "-99", "friend-secret-purchase")]),
    )
    .await;
    let res = friend
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "friend-club-key", "scopes": ["read:transactions"], "workspaceId": club}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let friend_secret = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();

    let res = app.get("/api/v1/export").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"pfn-export-"),
        "{disposition}"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let bytes = res.bytes().await.unwrap();
    let all = entries(&bytes);

    // Python's zipfile (not ours) reads it and finds every entry's CRC right.
    let path = app.data_dir.join("export.zip");
    std::fs::write(&path, &bytes).unwrap();
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        all.len().to_string()
    );

    let profile = json_of(&all, "profile.json");
    assert_eq!(profile["email"], me);
    assert_eq!(profile["hasPassword"], true);
    let workspaces = json_of(&all, "workspaces.json");
    let roles: Vec<(String, String)> = workspaces
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_string(),
                w["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 2, "{workspaces}");
    assert!(roles.contains(&(mine.clone(), "owner".into())));
    assert!(roles.contains(&(club.clone(), "member".into())));
    assert!(file(&all, "README.txt").contains("transactions.csv"));
    let sessions = json_of(&all, "sessions.json");
    assert_eq!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["current"] == true)
            .count(),
        1
    );
    assert!(json_of(&all, "audit-log.json")
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "key.created"));

    let txs = json_of(&all, &format!("workspaces/{mine}/transactions.json"));
    let txs = txs.as_array().unwrap();
    assert_eq!(txs.len(), 3);
    let ids: Vec<&str> = txs.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by id");
    let coffee = txs.iter().find(|t| t["description"] == "Coffee").unwrap();
    assert_eq!(coffee["amount"], "-0.125");
    assert_eq!(coffee["currency"], "BHD");
    assert_eq!(coffee["category"], "groceries", "the source's category");
    assert_eq!(coffee["categoryOverride"], "treats", "the user's");
    assert_eq!(coffee["note"], "for the team");
    assert_eq!(coffee["tags"], json!(["work"]));
    assert_eq!(coffee["excluded"], true);
    let csv = file(&all, &format!("workspaces/{mine}/transactions.csv"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..5],
        ["id", "accountId", "externalId", "bookedAt", "amount"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let salary = rows
        .iter()
        .find(|r| r.get(6) == Some("Salary, \"November\""))
        .expect("quoted as CSV");
    assert_eq!(salary.get(4), Some("1500.000"));
    let budgets = json_of(&all, &format!("workspaces/{mine}/budgets.json"));
    assert_eq!(budgets[0]["limit"], "150.000");
    let keys = json_of(&all, &format!("workspaces/{mine}/keys.json"));
    assert_eq!(keys[0]["name"], "exporter-key");
    assert_eq!(keys[0]["scopes"], json!(["read:transactions"]));
    let hooks = json_of(&all, &format!("workspaces/{mine}/webhooks.json"));
    assert_eq!(hooks[0]["url"], "https://hooks.example.com/pfn");
    assert_eq!(hooks[0]["eventTypes"], json!(["sync.failed"]));
    assert_eq!(hooks[0]["enabled"], false);
    assert_eq!(
        json_of(&all, &format!("workspaces/{club}/webhooks.json")),
        json!([]),
        "webhooks are for owners"
    );
    let club_txs = json_of(&all, &format!("workspaces/{club}/transactions.json"));
    assert_eq!(club_txs[0]["description"], "Club dinner");
    let club_info = json_of(&all, &format!("workspaces/{club}/workspace.json"));
    assert_eq!(club_info["role"], "member");
    assert_eq!(club_info["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        json_of(&all, &format!("workspaces/{club}/keys.json")),
        json!([]),
        "a member sees their own keys only"
    );

    // Nothing that is not the user's to see, and no secret.
    let text: String = all.iter().map(|(_, t)| t.as_str()).collect();
    for absent in [
        secret.as_str(),
        hook_secret.as_str(),
        friend_secret.as_str(),
        "friend-secret-purchase",
        "friend-club-key",
        &friends,
        "key_hash",
        PASSWORD,
    ] {
        assert!(!text.contains(absent), "the archive holds {absent}");
    }
    let hash: String =
        sqlx::query_scalar("select key_hash from api_keys where name = 'exporter-key'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(!text.contains(&hash));
    let sealed: String = sqlx::query_scalar("select secret_sealed from webhook_endpoints")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(!text.contains(&sealed));
    assert!(app.audit_kinds().await.iter().any(|k| k == "user.exported"));
}

#[tokio::test]
async fn only_a_fresh_browser_session_exports() {
    let app = TestApp::spawn().await;
    app.signed_in_user("fresh-export@example.com").await;
    let (_, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:transactions"]})).await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/export"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "session_required");
    let res = app
        .browser()
        .get(app.url("/api/v1/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(11 * 60);
    let res = app.get("/api/v1/export").await;
    assert_eq!(error_of(res).await.0, "reauth_required");
    let res = app
        .post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get("/api/v1/export").await.status(), StatusCode::OK);
}

/// The same rows on SQLite and on PostgreSQL give the same bytes. The ids are chosen so that
/// byte order and a language's collation disagree ("B" < "_" < "a" in bytes; a, B, _ in
/// en_US): the archive must not depend on the database's collation.
#[tokio::test]
async fn sqlite_and_postgresql_write_the_same_archive() {
    let dir = std::env::temp_dir().join(format!("pfn-export-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = backend::db::Db::connect(&format!("sqlite://{}/pfn.db", dir.display()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let admin = crate::helpers::postgres_admin_url();
    let name = format!("pfn_export_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    // A language's collation (ICU en-US, where "_" < "a" < "B"): a database whose text order
    // is not byte order, as many are.
    let create =
        format!("create database {name} template template0 locale_provider icu icu_locale 'en-US'");
    sqlx::Executor::execute(&mut conn, create.as_str())
        .await
        .unwrap();
    let pg_url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let pg = backend::db::Db::connect(&pg_url).await.unwrap();
    pg.migrate().await.unwrap();

    let mut archives = Vec::new();
    for db in [&sqlite, &pg] {
        for sql in SEED {
            sqlx::query(sql)
                .execute(&db.pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        for i in 0..300 {
            sqlx::query(
                "insert into transactions (id, workspace_id, account_id, external_id, amount_minor,
                     currency, description, booked_at, category, tags, excluded, created_at, updated_at)
                 values ($1, 'w-1', 'a-1', $2, $3, 'BHD', $4, $5, 'groceries', $6, $7, 1, 2)",
            )
            .bind(format!("{}-{i:03}", ["a", "B", "_", "Z", "b"][i % 5]))
            .bind(format!("ext-{i}"))
            .bind(-(i as i64) * 1_234_567 + 5)
            .bind(format!("Purchase #{i}, \"quoted\" é"))
            .bind(1_795_000_000 + i as i64)
            .bind((i % 3 == 0).then_some(r#"["x","y"]"#))
            .bind((i % 7 == 0) as i64)
            .execute(&db.pool)
            .await
            .unwrap();
        }
        let bytes =
            backend::export::write_archive(db, "u-1", Some("s-1"), 1_796_000_000, Vec::new())
                .await
                .unwrap();
        archives.push(bytes);
    }
    assert!(
        archives[0] == archives[1],
        "SQLite and PostgreSQL archives differ"
    );
    let all = entries(&archives[0]);
    let txs = json_of(&all, "workspaces/w-1/transactions.json");
    let ids: Vec<&str> = txs
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 300);
    let mut bytewise = ids.clone();
    bytewise.sort_unstable();
    assert_eq!(ids, bytewise, "rows in byte order of their ids");
    assert_eq!(txs[0]["id"], "B-001");
    let accounts = json_of(&all, "workspaces/w-1/accounts.json");
    assert_eq!(accounts[0]["id"], "A-0", "byte order: A before a");
    assert_eq!(accounts[1]["balance"], "-1234.567");
    assert_eq!(accounts[1]["identifierHint"], "1234");
    let text: String = all.iter().map(|(_, t)| t.as_str()).collect();
    assert!(!text.contains("consent-secret-id"), "no consent ids");

    pg.close().await;
    sqlx::Executor::execute(
        &mut conn,
        format!("drop database {name} with (force)").as_str(),
    )
    .await
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

const SEED: &[&str] = &[
    "insert into users (id, email, email_normalized, name, password_hash, role, email_verified_at, created_at, updated_at)
     values ('u-1', 'Same@Example.com', 'same@example.com', 'Zoë Same', 'x', 'user', 10, 1, 2)",
    "insert into workspaces (id, name, personal_owner_id, created_at) values ('w-1', 'Personal', 'u-1', 1)",
    "insert into workspaces (id, name, personal_owner_id, created_at) values ('W-2', 'Shared', null, 1)",
    "insert into workspace_members (workspace_id, user_id, role, created_at) values ('w-1', 'u-1', 'owner', 1)",
    "insert into workspace_members (workspace_id, user_id, role, created_at) values ('W-2', 'u-1', 'member', 3)",
    "insert into accounts (id, workspace_id, name, currency, kind, source, created_at, updated_at)
     values ('a-1', 'w-1', 'Current', 'BHD', 'current', 'bank', 1, 2)",
    "insert into accounts (id, workspace_id, name, currency, kind, source, created_at, updated_at)
     values ('A-0', 'w-1', 'Cash', 'SAR', 'cash', 'manual', 1, 2)",
    "insert into bank_connections (id, workspace_id, user_id, customer_user_id, provider_id, consent_id, status, created_at, updated_at)
     values ('c-1', 'w-1', 'u-1', 'cust', 'BANK', 'consent-secret-id', 'active', 1, 2)",
    "insert into bank_accounts (account_id, workspace_id, connection_id, tarabut_account_id, provider_id, identifier_hint, balance_minor, balance_at)
     values ('a-1', 'w-1', 'c-1', 't-1', 'BANK', '1234', -1234567, 5)",
    "insert into budgets (id, workspace_id, category, month, limit_minor, currency, created_at, updated_at)
     values ('b-1', 'w-1', 'groceries', '2026-11', 150000, 'BHD', 1, 2)",
    "insert into audit_log (id, type, occurred_at, user_id, outcome) values ('e-b', 'user.login', 5, 'u-1', 'success')",
    "insert into audit_log (id, type, occurred_at, user_id, outcome) values ('E-a', 'user.signup', 4, 'u-1', 'success')",
];

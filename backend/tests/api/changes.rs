//! The transactions change feed: a client that applies it ends with exactly what the list shows.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    cash_account, connect_and_sync, create_key, error_of, sandbox_control, wait_for_sync, with_key,
    TestApp,
};

const FAST: &[(&str, &str)] = &[
    ("PFN_TARABUT_RETRY_BASE_MS", "5"),
    ("PFN_TARABUT_TIMEOUT_MS", "400"),
    ("PFN_TARABUT_RATE_PER_SEC", "0"),
];

/// Every transaction the list shows, by id.
async fn listed(app: &TestApp) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .get_json(&format!(
                "/api/v1/transactions?limit=200&from=2000-01-01{cursor}"
            ))
            .await;
        for t in page["items"].as_array().unwrap() {
            out.insert(t["id"].as_str().unwrap().to_string(), t.clone());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

/// A client of the feed: what it holds and where it is.
#[derive(Default)]
struct Replica {
    rows: BTreeMap<String, Value>,
    cursor: Option<String>,
}

impl Replica {
    /// Reads the feed until `hasMore` is false, `limit` changes a page, applying each page.
    async fn catch_up(&mut self, app: &TestApp, limit: usize) {
        loop {
            let url = match &self.cursor {
                Some(c) => format!("/api/v1/transactions/changes?limit={limit}&cursor={c}"),
                None => format!("/api/v1/transactions/changes?limit={limit}"),
            };
            let page: Value = app.get_json(&url).await;
            let mut seen = BTreeSet::new();
            let total = ["added", "modified", "removed"]
                .iter()
                .map(|k| page[k].as_array().unwrap().len())
                .sum::<usize>();
            assert!(total <= limit, "{page}");
            for kind in ["added", "modified"] {
                for t in page[kind].as_array().unwrap() {
                    let id = t["id"].as_str().unwrap().to_string();
                    assert!(seen.insert(id.clone()), "{id} twice in one page");
                    if kind == "added" {
                        assert!(!self.rows.contains_key(&id), "{id} added again");
                    }
                    self.rows.insert(id, t.clone());
                }
            }
            for t in page["removed"].as_array().unwrap() {
                let id = t["id"].as_str().unwrap().to_string();
                assert!(seen.insert(id.clone()), "{id} twice in one page");
                self.rows.remove(&id);
            }
            let next = page["nextCursor"]
                .as_str()
                .expect("nextCursor is never null");
            self.cursor = Some(next.to_string());
            if page["hasMore"] == false {
                return;
            }
        }
    }
}

async fn sync_now(app: &TestApp, id: &str) {
    app.clock
        .advance(backend::banks::sync::MANUAL_SYNC_EVERY_SECS);
    let res = app
        .post(&format!("/api/v1/banks/connections/{id}/sync"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    wait_for_sync(app, id).await;
}

/// Random interleavings of pushes (new and repeated), overlay edits, deletions, and bank
/// syncs that add, change, book and remove rows; a client reading the feed in small pages now
/// and then, and one replaying it from the start, both end with exactly the list.
#[tokio::test]
async fn replaying_the_feed_gives_exactly_the_list() {
    let app = TestApp::spawn_with(FAST).await;
    app.signed_in_user("feed@example.com").await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    sandbox_control(
        &sandbox,
        reqwest::Method::POST,
        "/__sandbox/config",
        json!({"transactionsPerAccount": 12}),
    )
    .await;
    let connection = connect_and_sync(&app, &sandbox, "BLUE").await;
    let upstream: Vec<String> = sqlx::query_scalar(
        "select tarabut_account_id from bank_accounts where connection_id = $1 order by tarabut_account_id",
    )
    .bind(&connection)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let cash = cash_account(&app).await;

    let seed = rand::random::<u64>();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut follower = Replica::default();
    let mut next_ext = 0u32;
    for step in 0..60 {
        match rng.gen_range(0..10) {
            0..=2 => {
                let items: Vec<Value> = (0..rng.gen_range(1..4))
                    .map(|_| {
                        let ext = if next_ext > 0 && rng.gen_bool(0.2) {
                            rng.gen_range(0..next_ext)
                        } else {
                            next_ext += 1;
                            next_ext
                        };
                        json!({"accountId": cash, "externalId": format!("p{ext}"),
                               "amount": {"amount": format!("-{}.5", rng.gen_range(1..100)), "currency": "BHD"},
                               "description": format!("push {ext}"), "bookedAt": "2026-11-20T10:00:00Z"})
                    })
                    .collect();
                let res = app
                    .post("/api/v1/transactions", json!({ "transactions": items }))
                    .await;
                assert_eq!(res.status(), StatusCode::OK, "seed {seed}");
            }
            3 | 4 => {
                let all = listed(&app).await;
                if let Some(id) = all.keys().nth(rng.gen_range(0..all.len().max(1))) {
                    let res = app
                        .client
                        .patch(app.url(&format!("/api/v1/transactions/{id}")))
                        .json(
                            &json!({"note": format!("step {step}"), "excluded": rng.gen_bool(0.5)}),
                        )
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::OK, "seed {seed}");
                }
            }
            5 => {
                let all = listed(&app).await;
                let pushed: Vec<&String> = all
                    .iter()
                    .filter(|(_, t)| t["accountId"] == json!(cash))
                    .map(|(id, _)| id)
                    .collect();
                if !pushed.is_empty() {
                    let id = pushed[rng.gen_range(0..pushed.len())];
                    let res = app.delete(&format!("/api/v1/transactions/{id}")).await;
                    assert_eq!(res.status(), StatusCode::NO_CONTENT, "seed {seed}");
                }
            }
            6..=8 => {
                // The bank changes: new rows (some pending), a correction, a booking, a removal.
                let account = &upstream[rng.gen_range(0..upstream.len())];
                let view: Value = sandbox_control(
                    &sandbox,
                    reqwest::Method::GET,
                    &format!("/__sandbox/accounts/{account}/transactions"),
                    json!({}),
                )
                .await;
                let txs = view["transactions"].as_array().unwrap().clone();
                match rng.gen_range(0..4) {
                    0 => {
                        sandbox_control(
                            &sandbox,
                            reqwest::Method::POST,
                            &format!("/__sandbox/accounts/{account}/transactions"),
                            json!({"count": rng.gen_range(1..4), "pending": rng.gen_bool(0.5)}),
                        )
                        .await;
                    }
                    1 if !txs.is_empty() => {
                        let t = &txs[rng.gen_range(0..txs.len())];
                        sandbox_control(
                            &sandbox,
                            reqwest::Method::PATCH,
                            &format!(
                                "/__sandbox/transactions/{}",
                                t["transactionId"].as_str().unwrap()
                            ),
                            json!({"description": format!("corrected {step}"), "pending": false}),
                        )
                        .await;
                    }
                    2 if !txs.is_empty() => {
                        // The newest rows, inside the window a sync compares.
                        let t = &txs[txs.len() - 1 - rng.gen_range(0..txs.len().min(3))];
                        sandbox_control(
                            &sandbox,
                            reqwest::Method::DELETE,
                            &format!(
                                "/__sandbox/transactions/{}",
                                t["transactionId"].as_str().unwrap()
                            ),
                            json!({}),
                        )
                        .await;
                    }
                    _ => {}
                }
                sync_now(&app, &connection).await;
            }
            _ => follower.catch_up(&app, rng.gen_range(1..8)).await,
        }
    }
    follower.catch_up(&app, 5).await;
    let truth = listed(&app).await;
    assert_eq!(follower.rows, truth, "the following client, seed {seed}");
    let mut fresh = Replica::default();
    fresh.catch_up(&app, 7).await;
    assert_eq!(fresh.rows, truth, "a replay from the start, seed {seed}");

    // Nothing new: the same cursor comes back, with nothing in it.
    let cursor = fresh.cursor.clone().unwrap();
    let page: Value = app
        .get_json(&format!("/api/v1/transactions/changes?cursor={cursor}"))
        .await;
    assert_eq!(page["nextCursor"], json!(cursor));
    assert_eq!(
        (
            page["added"].as_array().unwrap().len(),
            page["hasMore"].as_bool()
        ),
        (0, Some(false))
    );
}

/// Writers in parallel (pushes and overlay edits) while a client keeps reading: no change is
/// skipped, whatever order the writers commit in.
#[tokio::test]
async fn a_reader_during_concurrent_writes_misses_nothing() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.signed_in_user("concurrent-feed@example.com").await;
    let cash = cash_account(&app).await;
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, cash) = (app.clone(), cash.clone());
        writers.push(tokio::spawn(async move {
            // The signed-in browser (sessions are not rate-limited as keys are).
            let client = app.client.clone();
            for b in 0..8 {
                let items: Vec<Value> = (0..3)
                    .map(|i| {
                        json!({"accountId": cash, "externalId": format!("w{w}b{b}i{i}"),
                                    "amount": {"amount": "-1", "currency": "BHD"},
                                    "description": "x", "bookedAt": "2026-11-20T10:00:00Z"})
                    })
                    .collect();
                let res = client
                    .post(app.url("/api/v1/transactions"))
                    .json(&json!({ "transactions": items }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                let created: Value = res.json().await.unwrap();
                let id = created["created"][0]["id"].as_str().unwrap().to_string();
                let res = client
                    .patch(app.url(&format!("/api/v1/transactions/{id}")))
                    .json(&json!({"note": format!("w{w}b{b}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK);
            }
        }));
    }
    let mut reader = Replica::default();
    while !writers.iter().all(|w| w.is_finished()) {
        reader.catch_up(&app, 4).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    reader.catch_up(&app, 4).await;
    let truth = listed(&app).await;
    assert_eq!(truth.len(), 4 * 8 * 3);
    assert_eq!(reader.rows, truth);
}

#[tokio::test]
async fn cursors_belong_to_one_workspace_and_expire_with_the_deletions_they_need() {
    let app = TestApp::spawn().await;
    app.signed_in_user("cursors@example.com").await;
    let cash = cash_account(&app).await;
    let push = |ext: &str| {
        json!({"transactions": [{"accountId": cash, "externalId": ext, "amount": {"amount": "-1", "currency": "BHD"},
                                 "description": "x", "bookedAt": "2026-11-20T10:00:00Z"}]})
    };
    let res = app.post("/api/v1/transactions", push("a")).await;
    let id = res.json::<Value>().await.unwrap()["created"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first: Value = app.get_json("/api/v1/transactions/changes").await;
    assert_eq!(first["added"].as_array().unwrap().len(), 1);
    let cursor = first["nextCursor"].as_str().unwrap().to_string();

    let long = "A".repeat(40);
    for bad in ["garbage", "djE6eDox", long.as_str()] {
        let res = app
            .get(&format!("/api/v1/transactions/changes?cursor={bad}"))
            .await;
        assert_eq!(error_of(res).await.0, "invalid_cursor", "{bad}");
    }
    let res = app.get("/api/v1/transactions/changes?limit=0").await;
    assert_eq!(error_of(res).await.0, "validation_failed");
    // Another workspace's cursor is not this one's.
    let other = app.other_user("other-feed@example.com").await;
    let res = other
        .get(app.url(&format!("/api/v1/transactions/changes?cursor={cursor}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invalid_cursor");
    // A key with read:transactions reads it; without, no.
    let (_, reader) = create_key(&app, json!({"name": "r", "scopes": ["read:transactions"]})).await;
    let res = with_key(
        &app,
        &reader,
        &format!("/api/v1/transactions/changes?cursor={cursor}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, accounts) = create_key(&app, json!({"name": "a", "scopes": ["read:accounts"]})).await;
    let res = with_key(&app, &accounts, "/api/v1/transactions/changes").await;
    assert_eq!(error_of(res).await.0, "insufficient_scope");

    // A deletion is remembered for PFN_CHANGES_RETENTION_DAYS; a cursor from before it was
    // compacted away must start over.
    assert_eq!(
        app.delete(&format!("/api/v1/transactions/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    app.post("/api/v1/transactions", push("b")).await;
    let page: Value = app
        .get_json(&format!("/api/v1/transactions/changes?cursor={cursor}"))
        .await;
    assert_eq!(page["removed"], json!([{"id": id}]));
    assert_eq!(page["added"].as_array().unwrap().len(), 1);
    let after = page["nextCursor"].as_str().unwrap().to_string();
    app.clock.advance(91 * 86_400);
    backend::retention::sweep(&app.state.db, app.clock.now(), 7 * 86_400, 400, 90)
        .await
        .unwrap();
    // (The session ended meanwhile: sign in again.)
    app.login("cursors@example.com", crate::helpers::PASSWORD)
        .await;
    let res = app
        .get(&format!("/api/v1/transactions/changes?cursor={cursor}"))
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_of(res).await.0, "cursor_expired");
    let res = app
        .get(&format!("/api/v1/transactions/changes?cursor={after}"))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a cursor past the compacted deletions still works"
    );
    let fresh: Value = app.get_json("/api/v1/transactions/changes").await;
    assert_eq!(
        fresh["added"].as_array().unwrap().len(),
        1,
        "starting over lists what is there"
    );
}

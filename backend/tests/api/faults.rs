//! Fault tests: PostgreSQL and Redis go away under load and come back. A TCP proxy in front of
//! each (the shared test servers stay up for the other tests) cuts every open connection and
//! refuses new ones for a while, which is what a restart looks like to pfn.

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use tokio::{net::TcpListener, sync::watch};

use crate::helpers::{create_key, error_of, postgres_admin_url, TestApp};

/// A TCP proxy to `target` that can be cut (open connections dropped, new ones closed at once)
/// and restored.
pub struct FaultProxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
}

impl FaultProxy {
    pub async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accept_up, accept_cuts) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused as soon as it opens
                }
                let mut cut = accept_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self { port, up, cuts }
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_under_load_loses_no_acknowledged_write_and_the_service_recovers() {
    // A database of its own, reached through the proxy.
    let admin = postgres_admin_url();
    let name = format!("pfn_fault_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable: {e}"));
    conn.execute(format!("create database {name}").as_str())
        .await
        .unwrap();
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let url = format!("postgres://postgres@127.0.0.1:{}/{name}", proxy.port);
    let app = TestApp::spawn_with(&[
        ("PFN_DATABASE_URL", url.as_str()),
        ("PFN_KEY_RATE_LIMIT_PER_MIN", "0"),
    ])
    .await;
    app.signed_in_user("faults@example.com").await;
    let (_, key) = create_key(
        &app,
        json!({"name": "load", "scopes": ["write:accounts", "write:transactions"]}),
    )
    .await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/accounts"))
        .bearer_auth(&key)
        .json(&json!({"name": "Cash", "currency": "BHD"}))
        .send()
        .await
        .unwrap();
    let account: Value = res.json().await.unwrap();
    let account = account["account"]["id"].as_str().unwrap().to_string();

    // Eight writers for six seconds; the database is away from the second to the fourth.
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut writers = Vec::new();
    for w in 0..8 {
        let (key, account) = (key.clone(), account.clone());
        let origin = app.origin.clone();
        writers.push(tokio::spawn(async move {
            let app = AppRef(origin);
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                if let Some(id) = app.push(&key, &account, format!("w{w}-{i}")).await {
                    acknowledged.push(id);
                }
                i += 1;
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();
    let mut acknowledged = BTreeSet::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(
        acknowledged.len() > 50,
        "the load ran: {}",
        acknowledged.len()
    );

    // Recovered without help: a write goes through within a few seconds of the restart.
    let mut recovered = false;
    for i in 0..50 {
        let pusher = AppRef(app.origin.clone());
        if pusher
            .push(&key, &account, format!("after-{i}"))
            .await
            .is_some()
        {
            acknowledged.insert(format!("after-{i}"));
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "pfn did not recover after PostgreSQL came back");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);

    // Every acknowledged write is there (read straight from the database, not through pfn).
    let rows: Vec<(String,)> = sqlx::query_as("select external_id from transactions")
        .fetch_all(
            &mut sqlx::PgConnection::connect(&format!(
                "{}/{name}",
                admin.rsplit_once('/').unwrap().0
            ))
            .await
            .unwrap(),
        )
        .await
        .unwrap();
    let stored: BTreeSet<String> = rows.into_iter().map(|(id,)| id).collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );

    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = conn
        .execute(format!("drop database if exists {name} with (force)").as_str())
        .await;
}

/// A server's origin, for the writer tasks (a `TestApp` is not `Clone`).
struct AppRef(String);

impl AppRef {
    /// Pushes one transaction with the key; `Some(externalId)` when pfn acknowledged it. A
    /// refusal during the outage must be a JSON error with a 5xx status, never a bare failure.
    async fn push(&self, key: &str, account: &str, external_id: String) -> Option<String> {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/transactions", self.0))
            .bearer_auth(key)
            .json(&json!({"transactions": [{
                "accountId": account, "externalId": external_id,
                "amount": {"amount": "-1.000", "currency": "BHD"},
                "description": "fault test", "bookedAt": "2026-11-24T08:00:00Z"}]}))
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .ok()?;
        let status = res.status();
        if status == StatusCode::OK {
            return Some(external_id);
        }
        let (code, _) = error_of(res).await;
        assert!(status.is_server_error(), "{status} {code}");
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_going_away_degrades_to_local_limits_without_failing_requests() {
    let proxy = FaultProxy::start("127.0.0.1:6379").await;
    let redis = format!("redis://127.0.0.1:{}", proxy.port);
    let app = TestApp::spawn_with(&[("PFN_REDIS_URL", redis.as_str())]).await;
    let ready: Value = app.get_json("/readyz").await;
    assert_eq!(ready["checks"]["redis"], "ok", "{ready}");
    app.signed_in_user("redis-faults@example.com").await;
    let (_, key) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    let whoami = || async {
        reqwest::Client::new()
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(&key)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(whoami().await.status(), StatusCode::OK);

    proxy.cut();
    // Requests keep succeeding, still rate limited (by this replica alone).
    for _ in 0..20 {
        let res = whoami().await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().contains_key("ratelimit-remaining"));
    }
    let mut degraded = false;
    for _ in 0..50 {
        let ready: Value = app.get_json("/readyz").await;
        if ready["status"] == "degraded" && ready["checks"]["redis"] == "down" {
            degraded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(degraded, "/readyz does not say that Redis is down");

    proxy.restore();
    let mut back = false;
    for _ in 0..100 {
        let ready: Value = app.get_json("/readyz").await;
        if ready["checks"]["redis"] == "ok" {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "/readyz does not see Redis again");
    assert_eq!(whoami().await.status(), StatusCode::OK);
}

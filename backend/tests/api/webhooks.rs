//! Webhooks: endpoints for owners only, signed Standard Webhooks messages for every change, in
//! order per resource, retried until they land, never sent anywhere but a public address (or,
//! here, loopback).

use std::{
    collections::{BTreeMap, HashSet},
    net::IpAddr,
    sync::{
        atomic::{AtomicU8, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode as AxumStatus},
    response::IntoResponse,
};
use backend::outbound::guard::{Lookup, LookupFuture};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{cash_account, create_key, error_of, shared_workspace, TestApp};

/// How the receiver answers.
const OK: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;
const THROTTLE: u8 = 3;
const REDIRECT: u8 = 4;
/// Drops the connection without an answer.
const CLOSE: u8 = 5;
/// Fails `transaction.created` messages only.
const FAIL_CREATED: u8 = 6;

/// A webhook receiver on loopback: records every request, answers as `mode` says.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    mode: Arc<AtomicU8>,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start() -> Self {
        let r = Receiver {
            url: String::new(),
            got: Default::default(),
            mode: Default::default(),
            hits: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let state = r.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                state.hits.fetch_add(1, Ordering::SeqCst);
                match state.mode.load(Ordering::SeqCst) {
                    FAIL => return AxumStatus::INTERNAL_SERVER_ERROR.into_response(),
                    HANG => {
                        tokio::time::sleep(Duration::from_secs(12)).await;
                        return AxumStatus::OK.into_response();
                    }
                    THROTTLE => {
                        return (AxumStatus::TOO_MANY_REQUESTS, [("retry-after", "1")])
                            .into_response()
                    }
                    CLOSE => {
                        // Ends the connection's task: the connection closes unanswered.
                        std::panic::resume_unwind(Box::new("closing the connection"));
                    }
                    REDIRECT => {
                        return (AxumStatus::TEMPORARY_REDIRECT, [("location", "/elsewhere")])
                            .into_response()
                    }
                    FAIL_CREATED
                        if serde_json::from_slice::<Value>(&body).unwrap()["type"]
                            == "transaction.created" =>
                    {
                        return AxumStatus::INTERNAL_SERVER_ERROR.into_response()
                    }
                    _ => {}
                }
                state.got.lock().unwrap().push((headers, body));
                AxumStatus::NO_CONTENT.into_response()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, ..r }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// Every message received, verified with `secrets` (any may have signed it) by the
    /// Standard Webhooks authors' library: `(webhook-id, body)`.
    fn messages(&self, secrets: &[&str]) -> Vec<(String, Value)> {
        let got = self.got.lock().unwrap();
        got.iter()
            .map(|(headers, body)| {
                let verified = secrets.iter().any(|s| {
                    standardwebhooks::Webhook::new(s)
                        .unwrap()
                        .verify(body, headers)
                        .is_ok()
                });
                assert!(
                    verified,
                    "a message whose signature does not verify: {headers:?}"
                );
                (
                    headers["webhook-id"].to_str().unwrap().to_string(),
                    serde_json::from_slice(body).unwrap(),
                )
            })
            .collect()
    }

    /// Waits until `n` distinct messages arrived; returns them deduplicated, in arrival order.
    async fn wait_for(&self, secrets: &[&str], n: usize) -> Vec<Value> {
        for _ in 0..600 {
            let mut seen = HashSet::new();
            let unique: Vec<Value> = self
                .messages(secrets)
                .into_iter()
                .filter(|(id, _)| seen.insert(id.clone()))
                .map(|(_, v)| v)
                .collect();
            if unique.len() >= n {
                return unique;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {n} messages arrived: {:?}",
            self.messages(secrets)
        );
    }
}

const ALLOW_LOOPBACK: &[(&str, &str)] = &[
    ("PFN_WEBHOOK_ALLOW_PRIVATE", "1"),
    ("PFN_WEBHOOK_RETRY_SCALE", "0.0002"),
];

async fn create(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let res = app
        .post(
            "/api/v1/webhooks",
            json!({"url": url, "eventTypes": types, "description": "test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    assert!(v["secret"].as_str().unwrap().starts_with("whsec_"));
    (
        v["webhook"]["id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

async fn push(app: &TestApp, account: &str, n: usize, tag: &str) -> Vec<String> {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({"accountId": account, "externalId": format!("{tag}-{i}"),
                   "amount": {"amount": "-1.000", "currency": "BHD"},
                   "description": "Coffee", "bookedAt": "2026-12-01T09:00:00Z", "category": "food"})
        })
        .collect();
    let res = app
        .post("/api/v1/transactions", json!({"transactions": items}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    v["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn patch(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn endpoints_are_for_owners_and_refuse_private_addresses() {
    let app = TestApp::spawn().await;
    app.signed_in_user("hooks-owner@example.com").await;
    for (url, types) in [
        ("ftp://hooks.example.com/", json!(["transaction.created"])),
        ("http://127.0.0.1:9/hooks", json!(["transaction.created"])),
        ("http://10.0.0.1/hooks", json!(["transaction.created"])),
        (
            "http://169.254.169.254/latest",
            json!(["transaction.created"]),
        ),
        ("http://[::ffff:127.0.0.1]/", json!(["transaction.created"])),
        ("http://[fd00::1]/", json!(["transaction.created"])),
        ("http://localhost:8080/", json!(["transaction.created"])),
        (
            "https://user:pw@hooks.example.com/",
            json!(["transaction.created"]),
        ),
        ("https://hooks.example.com/", json!([])),
        (
            "https://hooks.example.com/",
            json!(["transaction.exploded"]),
        ),
    ] {
        let res = app
            .post("/api/v1/webhooks", json!({"url": url, "eventTypes": types}))
            .await;
        let (code, body) = error_of(res).await;
        assert_eq!(code, "validation_failed", "{url}: {body}");
    }
    let (id, _) = create(
        &app,
        "https://hooks.example.com/pfn",
        &["transaction.created"],
    )
    .await;
    let listed: Value = app.get_json("/api/v1/webhooks").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains("whsec_"),
        "the secret is shown once"
    );
    let one: Value = app.get_json(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(one["url"], "https://hooks.example.com/pfn");

    // Keys: the scope decides, and only an owner's key.
    let (_, reader) = create_key(&app, json!({"name": "r", "scopes": ["read:transactions"]})).await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/webhooks"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "insufficient_scope");
    let (_, writer) = create_key(&app, json!({"name": "w", "scopes": ["write:webhooks"]})).await;
    let res = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&writer)
        .json(&json!({"description": "by key", "eventTypes": ["sync.failed", "sync.completed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["eventTypes"], json!(["sync.completed", "sync.failed"]));

    // A member of a shared workspace is not an owner there.
    let ws = shared_workspace(&app, "Family").await;
    let member = app.other_user("hooks-member@example.com").await;
    crate::helpers::join(
        &app,
        &app.client,
        &member,
        &ws,
        "hooks-member@example.com",
        "member",
        2,
    )
    .await;
    let res = member
        .get(app.url(&format!("/api/v1/webhooks?workspaceId={ws}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "forbidden");
    // Another workspace's endpoint does not exist for this one.
    let res = app
        .get(&format!("/api/v1/webhooks/{id}?workspaceId={ws}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = app.delete(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let kinds = app.audit_kinds().await;
    for k in ["webhook.created", "webhook.updated", "webhook.deleted"] {
        assert!(kinds.iter().any(|x| x == k), "{k} audited: {kinds:?}");
    }
}

/// Pushes, an overlay edit, a deletion, a budget going over: each a signed message, in order
/// per transaction, with the small payload the document describes.
#[tokio::test]
async fn changes_arrive_signed_and_in_order_per_resource() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-events@example.com").await;
    let receiver = Receiver::start().await;
    let (_, secret) = create(
        &app,
        &receiver.url,
        &[
            "transaction.created",
            "transaction.updated",
            "transaction.removed",
            "budget.exceeded",
        ],
    )
    .await;
    let account = cash_account(&app).await;
    let res = app
        .post(
            "/api/v1/budgets",
            json!({"category": "food", "month": "2026-12", "limit": {"amount": "2.500", "currency": "BHD"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let budget = res.json::<Value>().await.unwrap()["budget"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = push(&app, &account, 3, "a").await;
    let res = patch(
        &app,
        &format!("/api/v1/transactions/{}", ids[0]),
        json!({"note": "x"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .delete(&format!("/api/v1/transactions/{}", ids[0]))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("/api/v1/transactions/{}", ids[1]))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let got = receiver.wait_for(&[&secret], 7).await;
    let ws = crate::helpers::personal_workspace(&app, &app.client).await;
    let mut per_resource: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &got {
        assert_eq!(m["data"]["workspaceId"], ws.as_str());
        let t = m["type"].as_str().unwrap().to_string();
        let resource = match t.as_str() {
            "budget.exceeded" => {
                assert_eq!(m["data"]["month"], "2026-12");
                m["data"]["budgetId"].as_str().unwrap()
            }
            _ => m["data"]["transactionId"].as_str().unwrap(),
        };
        per_resource
            .entry(resource.to_string())
            .or_default()
            .push(t);
    }
    assert_eq!(
        per_resource[&ids[0]],
        [
            "transaction.created",
            "transaction.updated",
            "transaction.removed"
        ]
    );
    assert_eq!(
        per_resource[&ids[1]],
        ["transaction.created", "transaction.removed"]
    );
    assert_eq!(per_resource[&ids[2]], ["transaction.created"]);
    assert_eq!(per_resource[&budget], ["budget.exceeded"]);
    assert_eq!(got.len(), 7, "{got:?}");
}

/// A change to a resource whose earlier message is failing waits behind it (stored, held
/// back) while the receiver would accept it, so the receiver sees the resource's events in
/// order once the earlier one goes through.
#[tokio::test]
async fn a_later_change_waits_behind_its_resources_failing_message() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-held@example.com").await;
    let receiver = Receiver::start().await;
    let (id, secret) = create(
        &app,
        &receiver.url,
        &["transaction.created", "transaction.updated"],
    )
    .await;
    let account = cash_account(&app).await;
    receiver.set(FAIL_CREATED);
    let ids = push(&app, &account, 1, "h").await;
    until(
        &app,
        &format!("/api/v1/webhooks/{id}/deliveries?status=pending"),
        |v| v["items"][0]["attempts"].as_i64().unwrap_or(0) >= 1,
    )
    .await;
    for note in ["one", "two"] {
        let res = patch(
            &app,
            &format!("/api/v1/transactions/{}", ids[0]),
            json!({ "note": note }),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    receiver.set(OK);
    let got = receiver.wait_for(&[&secret], 3).await;
    let types: Vec<&str> = got.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "transaction.created",
            "transaction.updated",
            "transaction.updated"
        ]
    );
    let log = until(&app, &format!("/api/v1/webhooks/{id}/deliveries"), |v| {
        let items = v["items"].as_array().unwrap();
        items.len() == 3 && items.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 3, "{log}");
}

/// The receiver fails, hangs and throttles for a while; once it recovers every message has
/// arrived, exactly once by `webhook-id`; the log shows the attempts.
#[tokio::test]
async fn a_failing_receiver_gets_everything_once_it_recovers() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-faults@example.com").await;
    let receiver = Receiver::start().await;
    let (id, secret) = create(&app, &receiver.url, &["transaction.created"]).await;
    let account = cash_account(&app).await;
    receiver.set(FAIL);
    let mut ids = push(&app, &account, 10, "f").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    receiver.set(THROTTLE);
    ids.extend(push(&app, &account, 10, "g").await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let failed: Value = app
        .get_json(&format!("/api/v1/webhooks/{id}/deliveries?status=pending"))
        .await;
    assert!(!failed["items"].as_array().unwrap().is_empty(), "{failed}");
    let endpoint: Value = app.get_json(&format!("/api/v1/webhooks/{id}")).await;
    assert!(endpoint["failingSince"].is_string(), "{endpoint}");
    receiver.set(OK);
    let got = receiver.wait_for(&[&secret], 20).await;
    let delivered: HashSet<&str> = got
        .iter()
        .map(|m| m["data"]["transactionId"].as_str().unwrap())
        .collect();
    assert_eq!(delivered, ids.iter().map(String::as_str).collect());
    // The worker records an attempt after the receiver has answered it.
    let log = until(
        &app,
        &format!("/api/v1/webhooks/{id}/deliveries?limit=200"),
        |v| {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "delivered")
        },
    )
    .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert!(items.iter().all(|d| d["status"] == "delivered"), "{log}");
    assert!(
        items.iter().any(|d| d["attempts"].as_i64().unwrap() > 1),
        "{log}"
    );
    let endpoint = until(&app, &format!("/api/v1/webhooks/{id}"), |v| {
        v["failingSince"].is_null()
    })
    .await;
    assert!(endpoint["failingSince"].is_null(), "{endpoint}");

    // A manual retry sends the same message again (same webhook-id).
    let first = &items[0];
    let before = receiver.messages(&[&secret]).len();
    let res = app
        .post(
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/retry",
                first["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    for _ in 0..200 {
        if receiver.messages(&[&secret]).len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let again = receiver.messages(&[&secret]);
    assert_eq!(
        again.last().unwrap().0,
        first["messageId"].as_str().unwrap()
    );
}

/// Two replicas push while the receiver fails, drops connections and hangs; once it recovers
/// every message has arrived, and by `webhook-id` exactly once.
#[tokio::test]
async fn two_replicas_and_a_flaky_receiver_lose_nothing() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-replicas@example.com").await;
    let other = app.spawn_replica(&[]).await;
    let receiver = Receiver::start().await;
    let (_, secret) = create(&app, &receiver.url, &["transaction.created"]).await;
    let account = cash_account(&app).await;
    let (_, key) = create_key(&app, json!({"name": "w", "scopes": ["write:transactions"]})).await;
    let push_to = |replica: &TestApp, tag: &str| {
        let url = replica.url("/api/v1/transactions");
        let items: Vec<Value> = (0..10)
            .map(|i| {
                json!({"accountId": account, "externalId": format!("{tag}-{i}"),
                       "amount": {"amount": "-2.000", "currency": "BHD"},
                       "description": "Fuel", "bookedAt": "2026-12-02T09:00:00Z"})
            })
            .collect();
        let key = key.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .json(&json!({"transactions": items}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let v: Value = res.json().await.unwrap();
            v["created"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let mut ids = Vec::new();
    for (mode, pause_ms) in [(FAIL, 300), (CLOSE, 300), (HANG, 10_500)] {
        receiver.set(mode);
        let (a, b) = tokio::join!(
            push_to(&app, &format!("a{mode}")),
            push_to(&other, &format!("b{mode}"))
        );
        ids.extend(a);
        ids.extend(b);
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
    }
    receiver.set(OK);
    let got = receiver.wait_for(&[&secret], 60).await;
    let delivered: Vec<&str> = got
        .iter()
        .map(|m| m["data"]["transactionId"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = delivered.iter().copied().collect();
    assert_eq!(delivered.len(), 60, "each message once by webhook-id");
    assert_eq!(unique, ids.iter().map(String::as_str).collect());
}

/// Hangs past the 10-second timeout, then a redirect: neither counts as delivered, the
/// redirect is not followed, and the endpoint rests, then delivers.
#[tokio::test]
async fn timeouts_and_redirects_are_failures() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-slow@example.com").await;
    let receiver = Receiver::start().await;
    let (id, secret) = create(&app, &receiver.url, &["transaction.created"]).await;
    let account = cash_account(&app).await;
    receiver.set(REDIRECT);
    push(&app, &account, 1, "r").await;
    let log = until(&app, &format!("/api/v1/webhooks/{id}/deliveries"), |v| {
        v["items"][0]["attempts"].as_i64() >= Some(1)
    })
    .await;
    assert_eq!(log["items"][0]["responseStatus"], 307, "{log}");
    assert!(log["items"][0]["error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));
    receiver.set(HANG);
    tokio::time::sleep(Duration::from_millis(11_000)).await;
    receiver.set(OK);
    let got = receiver.wait_for(&[&secret], 1).await;
    assert_eq!(got[0]["type"], "transaction.created");
    let log = until(&app, &format!("/api/v1/webhooks/{id}/deliveries"), |v| {
        v["items"][0]["status"] == "delivered"
    })
    .await;
    assert_eq!(log["items"][0]["status"], "delivered", "{log}");
}

/// `GET path` until `done` holds for the answer (the worker records an attempt after the
/// receiver answered it); the last answer.
async fn until(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        last = app.get_json(path).await;
        if done(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    last
}

/// Answers the addresses a test names, without DNS.
struct Fixed(Vec<IpAddr>);
impl Lookup for Fixed {
    fn lookup(&self, _host: &str) -> LookupFuture {
        let ips = self.0.clone();
        Box::pin(async move { Ok(ips) })
    }
}

/// A host name that resolves to private addresses is refused when dialled (every time, so a
/// name that changes its answer later is caught): nothing is dialled, the log says why.
#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_never_dialled() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-ssrf@example.com").await;
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .to_string();
    app.state.outbound.set_lookup(Arc::new(Fixed(vec![
        "169.254.169.254".parse().unwrap(),
        "10.0.0.7".parse().unwrap(),
    ])));
    let url = format!("http://hooks.internal.test:{port}/hooks");
    let (id, secret) = create(&app, &url, &["transaction.created"]).await;
    let account = cash_account(&app).await;
    push(&app, &account, 1, "s").await;
    let log = until(&app, &format!("/api/v1/webhooks/{id}/deliveries"), |v| {
        v["items"][0]["attempts"].as_i64() >= Some(1)
    })
    .await;
    assert_eq!(
        log["items"][0]["error"], "refused: 169.254.169.254 is not a public address",
        "{log}"
    );
    assert!(log["items"][0]["responseStatus"].is_null());
    assert_eq!(
        receiver.hits.load(Ordering::SeqCst),
        0,
        "nothing was dialled"
    );
    // The same name now answering loopback (allowed here) is delivered to.
    app.state.outbound.set_lookup(Arc::new(Fixed(vec![
        "10.0.0.7".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
    ])));
    let got = receiver.wait_for(&[&secret], 1).await;
    assert_eq!(got[0]["type"], "transaction.created");
}

/// After a rotation both secrets sign for a day, then only the new one; a ping tests the
/// endpoint; a key about to expire is announced.
#[tokio::test]
async fn rotation_ping_and_key_expiry() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-rotate@example.com").await;
    let receiver = Receiver::start().await;
    let (id, old) = create(&app, &receiver.url, &["key.expiring"]).await;
    let res = app
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    let new = v["secret"].as_str().unwrap().to_string();
    assert!(v["webhook"]["previousSecretExpiresAt"].is_string());
    let res = app
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for(&[&new], 1).await;
    assert_eq!(got[0]["type"], "ping");
    assert_eq!(got[0]["data"]["endpointId"], id.as_str());
    // Signed by both: each secret alone verifies it.
    receiver.messages(&[&old]);
    receiver.messages(&[&new]);

    let (key, _) = create_key(
        &app,
        json!({"name": "short", "scopes": ["read:accounts"], "expiresInDays": 5}),
    )
    .await;
    app.clock.advance(86_400 + 60);
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    let got = receiver.wait_for(&[&new], 2).await;
    assert_eq!(got[1]["type"], "key.expiring");
    assert_eq!(got[1]["data"]["keyId"], key.as_str());
    // A day later only the new secret signs.
    app.clock.advance(4 * 86_400 - 3_600);
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    receiver.wait_for(&[&new], 3).await;
    let (headers, _) = receiver.got.lock().unwrap().last().cloned().unwrap();
    let sig = headers["webhook-signature"].to_str().unwrap().to_string();
    assert_eq!(sig.split(' ').count(), 1, "{sig}");
}

/// An endpoint that fails for 5 days (scaled) is disabled and its owner told; its messages still
/// pending are given up with it.
#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled() {
    let app = TestApp::spawn_with(ALLOW_LOOPBACK).await;
    app.signed_in_user("hooks-dead@example.com").await;
    let receiver = Receiver::start().await;
    receiver.set(FAIL);
    let (id, _) = create(&app, &receiver.url, &["transaction.created"]).await;
    let account = cash_account(&app).await;
    // Four messages: a pass ends after 3 failures in a row, so one may be left untried.
    push(&app, &account, 4, "d").await;
    // The first pass fails at once, on the clock as it stands.
    let ep = until(&app, &format!("/api/v1/webhooks/{id}"), |e| {
        e["failingSince"].is_string()
    })
    .await;
    assert!(ep["failingSince"].is_string(), "{ep}");
    // Then 100 s at once, past both the messages' 3 days (52 s at this scale) and the
    // endpoint's 5 (86 s): the next failure disables the endpoint. (Moving the clock in small
    // steps let a loaded machine's worker try the messages between 52 s and 86 s, give them up,
    // and then have nothing left to fail with: the endpoint stayed enabled.)
    app.clock.advance(100);
    let ep = until(&app, &format!("/api/v1/webhooks/{id}"), |e| {
        e["enabled"] == false
    })
    .await;
    assert_eq!(ep["enabled"], false, "{ep}");
    assert_eq!(ep["disabledReason"], "failing");
    let mail = app.wait_for_mail("hooks-dead@example.com", 2).await;
    assert!(mail.contains("disabled"), "{mail}");
    // Every message is given up with it, the ones its last pass did not reach included.
    let log: Value = app
        .get_json(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{log}");
    assert!(items.iter().all(|d| d["status"] == "failed"), "{log}");
    // Enabled again: from then on, and a test ping works once the receiver does.
    receiver.set(OK);
    let res = patch(
        &app,
        &format!("/api/v1/webhooks/{id}"),
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

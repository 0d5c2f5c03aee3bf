//! Several replicas behind one database and one Redis behave as one: revocation reaches every
//! replica's key cache within a second, and so does the end of a session (sign-out, ended
//! sessions, a password change) every replica's session cache, rate limits and lockouts are shared, a sync runs on one
//! replica at a time, and without Redis a replica degrades to its own limits and says so.
//! Needs Redis at 127.0.0.1:6379 (`PFN_TEST_REDIS_URL` overrides): these tests fail, not skip,
//! without it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    faults::FaultProxy,
    helpers::{
        connect_and_sync, create_key, error_of, postgres_admin_url, session_cookie, with_key,
        TestApp, PASSWORD,
    },
};

fn redis_url() -> String {
    std::env::var("PFN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Two replicas sharing a database and Redis, with `settings`.
async fn pair(settings: &[(&str, &str)]) -> (TestApp, TestApp) {
    pair_through(&redis_url(), settings, &[]).await
}

/// [`pair`] with Redis at `url`, and `b_settings` for the second replica only.
async fn pair_through(
    url: &str,
    settings: &[(&str, &str)],
    b_settings: &[(&str, &str)],
) -> (TestApp, TestApp) {
    let url = url.to_string();
    // Tests share one Redis: each pair gets its own keys and channel.
    let prefix = format!("pfn-test-{}", uuid::Uuid::new_v4().simple());
    let mut all = vec![
        ("PFN_REDIS_URL", url.as_str()),
        ("PFN_REDIS_PREFIX", prefix.as_str()),
    ];
    all.extend_from_slice(settings);
    let a = TestApp::spawn_with(&all).await;
    let b = a.spawn_replica(b_settings).await;
    for app in [&a, &b] {
        let ready: Value = app.get_json("/readyz").await;
        assert_eq!(
            ready["checks"]["redis"], "ok",
            "Redis must be running at {url} for these tests: {ready}"
        );
    }
    (a, b)
}

#[tokio::test]
async fn a_key_revoked_on_one_replica_is_refused_on_another_within_a_second() {
    let (a, b) = pair(&[]).await;
    a.signed_in_user("fanout@example.com").await;
    let (id, key) = create_key(&a, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    // B has the key cached (30 s TTL) before the revocation
    assert_eq!(
        with_key(&b, &key, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    revocation_reaches(&a, &b, &id, &key, Duration::from_secs(1)).await;
    let res = with_key(&b, &key, "/api/v1/whoami").await;
    assert_eq!(error_of(res).await.0, "key_revoked");
}

/// `method path` on `app` with this session cookie only (as its browser would send it).
async fn with_cookie(
    app: &TestApp,
    method: reqwest::Method,
    cookie: &str,
    path: &str,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .header("cookie", format!("pfn_session={cookie}"))
        .header("origin", app.url(""));
    if path == "/api/v1/auth/password/change" {
        req = req.json(&json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}));
    }
    req.send().await.unwrap()
}

const NEW_PASSWORD: &str = "another fine passphrase";

/// Waits until `app` refuses the session (it must, within a second of `after`).
async fn refused_within_a_second(app: &TestApp, cookie: &str, after: &str) {
    let start = Instant::now();
    loop {
        let res = with_cookie(app, reqwest::Method::GET, cookie, "/api/v1/auth/me").await;
        if res.status() == StatusCode::UNAUTHORIZED {
            return;
        }
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "replica B still accepts the session 1 s after {after}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_session_ended_on_one_replica_is_refused_on_another_within_a_second() {
    let (a, b) = pair(&[]).await;
    let email = "session-fanout@example.com";
    a.signed_in_user(email).await;
    let mut cookies = Vec::new();
    for _ in 0..3 {
        cookies.push(session_cookie(
            &a.login_with(&a.browser(), email, PASSWORD).await,
        ));
    }
    let (signs_out, changes_password, ended) = (&cookies[0], &cookies[1], &cookies[2]);
    // B has every session (and the user) cached before anything ends
    for c in &cookies {
        let res = with_cookie(&b, reqwest::Method::GET, c, "/api/v1/auth/me").await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    let res = with_cookie(&a, reqwest::Method::POST, signs_out, "/api/v1/auth/logout").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    refused_within_a_second(&b, signs_out, "signing out on A").await;

    // A password change on A ends every other session, and keeps the one that made it, on B too
    let res = with_cookie(
        &a,
        reqwest::Method::POST,
        changes_password,
        "/api/v1/auth/password/change",
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    refused_within_a_second(&b, ended, "a password change on A").await;
    let res = with_cookie(
        &b,
        reqwest::Method::GET,
        changes_password,
        "/api/v1/auth/me",
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the session that changed the password lives on"
    );
    assert_eq!(
        a.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "the first browser's session ended with the change"
    );

    // Ending the others from the surviving session ends them on B as well
    let again = session_cookie(&b.login_with(&b.browser(), email, NEW_PASSWORD).await);
    assert_eq!(
        with_cookie(&b, reqwest::Method::GET, &again, "/api/v1/auth/me")
            .await
            .status(),
        StatusCode::OK
    );
    let res = with_cookie(
        &a,
        reqwest::Method::DELETE,
        changes_password,
        "/api/v1/auth/sessions",
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    refused_within_a_second(&b, &again, "ending other sessions on A").await;
}

#[tokio::test]
async fn replicas_share_a_keys_rate_limit() {
    let (a, b) = pair(&[
        ("PFN_KEY_RATE_BURST", "4"),
        ("PFN_KEY_RATE_LIMIT_PER_MIN", "1"),
    ])
    .await;
    a.signed_in_user("shared-limit@example.com").await;
    let (_, key) = create_key(&a, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b, &a, &b] {
        statuses.push(with_key(app, &key, "/api/v1/whoami").await.status());
    }
    assert_eq!(statuses[..4], [StatusCode::OK; 4], "{statuses:?}");
    assert_eq!(
        statuses[4..],
        [StatusCode::TOO_MANY_REQUESTS; 2],
        "{statuses:?}"
    );
    let res = with_key(&b, &key, "/api/v1/whoami").await;
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_lockout_on_one_replica_holds_on_another() {
    let (a, b) = pair(&[]).await;
    a.signed_in_user("locked@example.com").await;
    for _ in 0..5 {
        let res = a
            .login_with(&a.browser(), "locked@example.com", "wrong-password-xyz")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = b
        .login_with(&b.browser(), "locked@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_of(res).await.0, "too_many_attempts");
}

#[tokio::test]
async fn without_redis_a_replica_keeps_serving_with_its_own_limits_and_says_so() {
    let app = TestApp::spawn_with(&[("PFN_REDIS_URL", "redis://127.0.0.1:1")]).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["checks"]["redis"], "down");
    app.signed_in_user("no-redis@example.com").await;
    let (id, key) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    let res = with_key(&app, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().contains_key("ratelimit-limit"),
        "local limits still apply"
    );
    // revocation still holds on this replica at once
    app.delete(&format!("/api/v1/keys/{id}")).await;
    assert_eq!(
        error_of(with_key(&app, &key, "/api/v1/whoami").await)
            .await
            .0,
        "key_revoked"
    );
}

#[tokio::test]
async fn two_replicas_never_run_the_same_sync_at_once() {
    use backend::banks::sync::{run, Ran};
    // both replicas talk to one Tarabut (a sandbox started here)
    let sandbox = tarabut_sandbox::Sandbox::start(
        "127.0.0.1:0",
        tarabut_sandbox::SandboxConfig {
            clients: vec![tarabut_sandbox::ClientConfig {
                client_id: "replicas".into(),
                client_secret: "replicas-secret".into(),
                redirect_urls: vec![],
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = sandbox.url().to_string();
    let (a, b) = pair(&[
        ("PFN_TARABUT_URL", &url),
        ("PFN_TARABUT_CLIENT_ID", "replicas"),
        ("PFN_TARABUT_CLIENT_SECRET", "replicas-secret"),
    ])
    .await;
    a.signed_in_user("lease@example.com").await;
    let connection = connect_and_sync(&a, &url, "BLUE").await;
    // one sync, both replicas asked to run it at the same moment
    for _ in 0..5 {
        let sync_id = backend::db::new_id();
        backend::db::banks::insert_sync(
            &a.state.db.pool,
            &sync_id,
            &connection,
            "manual",
            a.state.clock.now(),
        )
        .await
        .unwrap();
        let (ra, rb) = tokio::join!(run(&a.state, &sync_id, None), run(&b.state, &sync_id, None));
        let outcomes = [ra.unwrap(), rb.unwrap()];
        assert_eq!(
            outcomes.iter().filter(|o| **o == Ran::Finished).count(),
            1,
            "{outcomes:?}"
        );
        let s: Value = a.get_json(&format!("/api/v1/banks/syncs/{sync_id}")).await;
        assert_eq!(s["sync"]["status"], "succeeded", "{s}");
        assert_eq!(s["sync"]["rowsAdded"], 0);
    }
}

/// Revokes key `id` on `a`; returns how long until `b` refuses `key`, asserting it never
/// accepts it again after `bound`.
async fn revocation_reaches(
    a: &TestApp,
    b: &TestApp,
    id: &str,
    key: &str,
    bound: Duration,
) -> Duration {
    let res = a
        .client
        .delete(a.url(&format!("/api/v1/keys/{id}")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let revoked_at = Instant::now();
    loop {
        let status = with_key(b, key, "/api/v1/whoami").await.status();
        if status != StatusCode::OK {
            let took = revoked_at.elapsed();
            // and it stays refused
            for _ in 0..10 {
                assert_ne!(
                    with_key(b, key, "/api/v1/whoami").await.status(),
                    StatusCode::OK
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            return took;
        }
        assert!(
            revoked_at.elapsed() < bound,
            "replica B still accepts the revoked key after {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_holds_on_every_replica_when_redis_is_cut_during_it() {
    // Both replicas reach Redis through a proxy that the test cuts.
    let proxy = FaultProxy::start("127.0.0.1:6379").await;
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let (a, b) = pair_through(&url, &[], &[]).await;
    a.signed_in_user("cut@example.com").await;
    let (id, key) = create_key(&a, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    assert_eq!(
        with_key(&b, &key, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    proxy.cut();
    // The publish is lost; the database's invalidation feed carries it (read every 0.5 s;
    // docs/deploy.md promises 2 s).
    let took = revocation_reaches(&a, &b, &id, &key, Duration::from_secs(2)).await;
    eprintln!("revocation reached the other replica without Redis in {took:?}");
    proxy.restore();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_cannot_read_the_invalidation_feed_stops_serving_from_its_caches() {
    // PostgreSQL, whichever suite runs: the second replica reaches the shared database through
    // a proxy the test cuts, so it cannot learn of a revocation made on the first.
    let admin = postgres_admin_url();
    let name = format!("pfn_feed_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable: {e}"));
    sqlx::Executor::execute(&mut conn, format!("create database {name}").as_str())
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    let direct = format!("{base}/{name}");
    let proxy = FaultProxy::start("127.0.0.1:5432").await;
    let through = format!("postgres://postgres@127.0.0.1:{}/{name}", proxy.port);
    let redis_proxy = FaultProxy::start("127.0.0.1:6379").await;
    let b_redis = format!("redis://127.0.0.1:{}", redis_proxy.port);
    let (a, b) = pair_through(
        &redis_url(),
        &[("PFN_DATABASE_URL", direct.as_str())],
        &[
            ("PFN_DATABASE_URL", through.as_str()),
            ("PFN_REDIS_URL", b_redis.as_str()),
        ],
    )
    .await;
    a.signed_in_user("stale@example.com").await;
    let (id, key) = create_key(&a, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    assert_eq!(
        with_key(&b, &key, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    // Cut B off the database and off Redis: it hears nothing of the revocation.
    proxy.cut();
    redis_proxy.cut();
    let bound = backend::cache::coherence::STALE_AFTER + Duration::from_secs(1);
    let took = revocation_reaches(&a, &b, &id, &key, bound).await;
    eprintln!("a replica cut off the feed stopped answering from its cache after {took:?}");
    proxy.restore();
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = sqlx::Executor::execute(
        &mut conn,
        format!("drop database if exists {name} with (force)").as_str(),
    )
    .await;
}

/// An MCP client behind one address that reaches either replica: every call is answered
/// alike (no MCP session lives on a replica).
#[tokio::test]
async fn mcp_calls_go_to_either_replica() {
    use crate::mcp::{call, rpc};
    let (a, b) = pair(&[]).await;
    a.signed_in_user("mcp-replicas@example.com").await;
    let account = crate::helpers::cash_account(&a).await;
    let (_, key) = create_key(
        &a,
        json!({"name": "agent", "scopes": ["write:transactions", "read:accounts"]}),
    )
    .await;
    let init = json!({"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}});
    let (status, hello) = rpc(&a, &key, "initialize", init).await;
    assert_eq!(status, StatusCode::OK, "{hello}");
    assert_eq!(hello["result"]["serverInfo"]["name"], "pfn");
    let (_, listed) = rpc(&b, &key, "tools/list", json!({})).await;
    assert!(listed.to_string().contains("push_transactions"), "{listed}");
    let item = json!({"accountId": account, "externalId": "r1", "description": "Tea",
        "amount": {"amount": "-0.500", "currency": "BHD"}, "bookedAt": "2026-11-20T10:00:00Z"});
    let args = json!({"transactions": [item], "idempotencyKey": "replicas-1"});
    let first = call(&b, &key, "push_transactions", args.clone()).await;
    let again = call(&a, &key, "push_transactions", args).await;
    assert_eq!(first["structuredContent"], again["structuredContent"]);
    for app in [&a, &b] {
        let page = call(app, &key, "list_transactions", json!({})).await;
        assert_eq!(
            page["structuredContent"]["items"].as_array().unwrap().len(),
            1,
            "{page}"
        );
    }
}

/// A quota is one count in the database: 20 clients spread over two replicas, 200 requests in
/// all, get exactly 100 answers and 100 `quota_exhausted`, and both replicas' usage counts add
/// up to the same.
#[tokio::test]
async fn a_quota_of_100_holds_exactly_across_two_replicas_and_20_clients() {
    let (a, b) = pair(&[]).await;
    crate::helpers::clear_of_midnight(&a);
    crate::helpers::clear_of_midnight(&b);
    a.signed_in_user("quota-pair@example.com").await;
    let (id, key) = create_key(
        &a,
        json!({"name": "metered", "scopes": ["read:accounts"],
               "quota": {"limit": 100, "refill": "daily"},
               "rateLimit": {"perMinute": 100000, "burst": 10000}}),
    )
    .await;
    let (a_url, b_url) = (a.url("/api/v1/whoami"), b.url("/api/v1/whoami"));
    let clients = (0..20).map(|i| {
        let url = if i % 2 == 0 {
            a_url.clone()
        } else {
            b_url.clone()
        };
        let key = key.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut got = Vec::new();
            for _ in 0..10 {
                let res = client.get(&url).bearer_auth(&key).send().await.unwrap();
                let status = res.status();
                let code = if status == StatusCode::OK {
                    "ok".to_string()
                } else {
                    res.json::<Value>().await.unwrap()["error"]["code"]
                        .as_str()
                        .unwrap()
                        .to_string()
                };
                got.push(code);
            }
            got
        })
    });
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.unwrap());
    }
    let ok = all.iter().filter(|c| *c == "ok").count();
    let exhausted = all.iter().filter(|c| *c == "quota_exhausted").count();
    assert_eq!((ok, exhausted), (100, 100), "{all:?}");
    let left: i64 = sqlx::query_scalar("select quota_remaining from api_keys where id = $1")
        .bind(&id)
        .fetch_one(&a.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    for app in [&a, &b] {
        backend::keys::usage::flush_counts(&app.state)
            .await
            .unwrap();
    }
    let usage: Value = a.get_json(&format!("/api/v1/keys/{id}/usage")).await;
    let today = &usage["days"][29];
    assert_eq!(today["ok"], 100, "{usage}");
    assert_eq!(today["denied"]["quota"], 100, "{usage}");
}

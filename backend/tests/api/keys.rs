//! API keys: lifecycle, formats and error codes, rate limits, tenancy, audit.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{captured_logs, create_key, error_of, with_key, TestApp};

const ALL_TABLES: &[&str] = &[
    "users",
    "sessions",
    "email_tokens",
    "audit_log",
    "mail_outbox",
    "api_keys",
    "workspaces",
];

#[tokio::test]
async fn full_key_lifecycle_create_use_rotate_revoke() {
    let logs = captured_logs();
    let app = TestApp::spawn().await;
    app.signed_in_user("agent-owner@example.com").await;
    let (id, secret) = create_key(
        &app,
        json!({"name": "Agent", "scopes": ["read:transactions"]}),
    )
    .await;
    assert!(
        // the bundled Tarabut sandbox is in use: test keys
        secret.starts_with("pfn_test_") && secret.len() == 58,
        "{secret}"
    );

    let res = with_key(&app, &secret, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.unwrap();
    assert_eq!(
        (who["auth"].as_str(), who["keyId"].as_str()),
        (Some("key"), Some(id.as_str()))
    );
    assert_eq!(who["scopes"], json!(["read:transactions"]));

    // last used is recorded off the request path, shortly after
    let mut key = Value::Null;
    for _ in 0..100 {
        key = app
            .get(&format!("/api/v1/keys/{id}"))
            .await
            .json::<Value>()
            .await
            .unwrap()["key"]
            .clone();
        if key["lastUsedAt"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(key["lastUsedIp"], "127.0.0.1", "{key}");
    assert_eq!(key["status"], "active");
    assert!(key.get("keyHash").is_none() && !key.to_string().contains(&secret));

    let res = app
        .post(
            &format!("/api/v1/keys/{id}/rotate"),
            json!({"gracePeriodSeconds": 60}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rotated: Value = res.json().await.unwrap();
    let (new_id, new_secret) = (
        rotated["key"]["id"].as_str().unwrap().to_string(),
        rotated["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(rotated["key"]["name"], "Agent");
    assert_eq!(rotated["key"]["scopes"], json!(["read:transactions"]));
    assert_eq!(
        with_key(&app, &secret, "/api/v1/whoami").await.status(),
        StatusCode::OK,
        "grace period"
    );
    assert_eq!(
        with_key(&app, &new_secret, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    app.clock.advance(61);
    assert_eq!(
        error_of(with_key(&app, &secret, "/api/v1/whoami").await)
            .await
            .0,
        "key_expired"
    );

    let res = app.delete(&format!("/api/v1/keys/{new_id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = with_key(&app, &new_secret, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_of(res).await.0,
        "key_revoked",
        "refused on the very next request"
    );
    let res = app.delete(&format!("/api/v1/keys/{new_id}")).await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "revoking twice is fine"
    );

    let list: Value = app.get_json("/api/v1/keys").await;
    let statuses: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["revoked", "expired"]);

    // The secrets are nowhere in the database or the logs.
    let dump = dump_database(&app).await;
    assert!(
        dump.contains("Agent") && dump.contains(&id),
        "the dump reads the key rows"
    );
    for s in [&secret, &new_secret] {
        assert!(!dump.contains(s.as_str()), "secret stored in clear");
        assert!(!dump.contains(&s[9..52]), "secret body stored in clear");
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(logs.contains("/api/v1/whoami"), "log capture works");
    for s in [&secret, &new_secret] {
        assert!(!logs.contains(&s[9..52]), "secret in the logs");
    }
}

/// Every text column of every row, concatenated.
async fn dump_database(app: &TestApp) -> String {
    use sqlx::Row;
    let mut out = String::new();
    for table in ALL_TABLES {
        let rows = sqlx::query(&format!("select * from {table}"))
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
        for row in rows {
            for i in 0..row.len() {
                if let Ok(Some(v)) = row.try_get::<Option<String>, _>(i) {
                    out.push_str(&v);
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn bad_keys_get_specific_401_codes() {
    let app = TestApp::spawn().await;
    app.signed_in_user("codes@example.com").await;
    let (_, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    let mut typo = secret.clone().into_bytes();
    typo[30] = if typo[30] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    // This server uses the bundled sandbox, so live keys are the wrong kind here.
    let test_key = shared::keys::format_key(shared::keys::KeyEnv::Live, [1u8; 32]);
    let unknown = shared::keys::format_key(shared::keys::KeyEnv::Test, [2u8; 32]);
    let plain = reqwest::Client::new();
    let no_header = plain.get(app.url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(error_of(no_header).await.0, "missing_key");
    let basic = plain
        .get(app.url("/api/v1/whoami"))
        .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"pfn\""
    );
    assert_eq!(error_of(basic).await.0, "malformed_key");
    for (key, code) in [
        (typo.as_str(), "malformed_key"),
        ("pfn_test_short", "malformed_key"),
        (unknown.as_str(), "invalid_key"),
        (test_key.as_str(), "invalid_key"),
    ] {
        let res = with_key(&app, key, "/api/v1/whoami").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{key}");
        assert_eq!(error_of(res).await.0, code, "{key}");
    }
    // A session still works on key-accepting routes; a key is judged alone even with a cookie.
    let who: Value = app.get_json("/api/v1/whoami").await;
    assert_eq!(who["auth"], "session");
    let res = app
        .client
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invalid_key");
}

#[tokio::test]
async fn keys_cannot_manage_keys_or_use_session_routes() {
    let app = TestApp::spawn().await;
    app.signed_in_user("nokeys@example.com").await;
    let (_, secret) =
        create_key(&app, json!({"name": "k", "scopes": ["write:transactions"]})).await;
    let plain = reqwest::Client::new();
    let res = plain
        .post(app.url("/api/v1/keys"))
        .bearer_auth(&secret)
        .json(&json!({"name": "escalate", "scopes": ["write:budgets"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "session_required");
    for path in [
        "/api/v1/keys",
        "/api/v1/auth/me",
        "/api/v1/audit-log",
        "/api/v1/scopes",
    ] {
        assert_eq!(
            error_of(with_key(&app, &secret, path).await).await.0,
            "session_required",
            "{path}"
        );
    }
    // A method no route has is 405 there, as everywhere, key or not.
    let res = plain
        .request(reqwest::Method::TRACE, app.url("/api/v1/auth/login"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "method_not_allowed");
}

#[tokio::test]
async fn key_creation_validates_every_field() {
    let app = TestApp::spawn().await;
    app.signed_in_user("strict@example.com").await;
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "", "scopes": ["read:accounts", "admin:all"], "expiresInDays": 0}),
        )
        .await;
    let (code, fields) = error_of(res).await;
    assert_eq!(code, "validation_failed");
    for f in ["name", "scopes[1]", "expiresInDays"] {
        assert!(fields[f].is_string(), "{f} missing: {fields}");
    }
    let res = app
        .post("/api/v1/keys", json!({"name": "x", "scopes": []}))
        .await;
    assert!(error_of(res).await.1["scopes"].is_string());

    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "forever", "scopes": ["read:accounts"], "expiresInDays": null}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["key"]["expiresAt"], Value::Null, "null means never");
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "default", "scopes": ["read:accounts"]}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    let expires = body["key"]["expiresAt"].as_str().unwrap();
    let created = body["key"]["createdAt"].as_str().unwrap();
    assert_ne!(expires, created, "omitted means 90 days");

    let scopes: Value = app.get_json("/api/v1/scopes").await;
    assert_eq!(scopes["scopes"].as_array().unwrap().len(), 11);
    let res = app
        .post(
            "/api/v1/keys/nope/rotate",
            json!({"gracePeriodSeconds": 90000}),
        )
        .await;
    assert!(error_of(res).await.1["gracePeriodSeconds"].is_string());
}

#[tokio::test]
async fn a_key_over_its_rate_limit_gets_429_with_ratelimit_headers() {
    let app = TestApp::spawn_with(&[
        ("PFN_KEY_RATE_BURST", "3"),
        ("PFN_KEY_RATE_LIMIT_PER_MIN", "60"),
    ])
    .await;
    app.signed_in_user("busy-agent@example.com").await;
    let (_, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    for remaining in ["2", "1", "0"] {
        let res = with_key(&app, &secret, "/api/v1/whoami").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(res.headers()["ratelimit-remaining"], remaining);
    }
    // Refused credentials do not spend this key's tokens (and get no RateLimit headers).
    let bad = shared::keys::format_key(shared::keys::KeyEnv::Live, [3u8; 32]);
    assert_eq!(
        with_key(&app, &bad, "/api/v1/whoami").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = with_key(&app, &secret, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    let reset: u64 = res.headers()["ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&reset), "{reset}");
    assert_eq!(error_of(res).await.0, "rate_limited");
    app.clock.advance(1);
    assert_eq!(
        with_key(&app, &secret, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn other_users_keys_are_not_found() {
    let app = TestApp::spawn().await;
    app.signed_in_user("a-owner@example.com").await;
    let (a_key, _) = create_key(&app, json!({"name": "A's", "scopes": ["read:accounts"]})).await;
    let b = app.other_user("b-user@example.com").await;

    let get = b
        .get(app.url(&format!("/api/v1/keys/{a_key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(get).await.0, "not_found");
    let del = b
        .delete(app.url(&format!("/api/v1/keys/{a_key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(del).await.0, "not_found");
    let rot = b
        .post(app.url(&format!("/api/v1/keys/{a_key}/rotate")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(rot).await.0, "not_found");
    let list: Value = app.get_json_as(&b, "/api/v1/keys").await;
    assert_eq!(list["items"], json!([]));
    let a_ws = app
        .get("/api/v1/whoami")
        .await
        .json::<Value>()
        .await
        .unwrap()["workspaceId"]
        .clone();
    let res = b
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "x", "scopes": ["read:accounts"], "workspaceId": a_ws}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await.0,
        "not_found",
        "cannot mint keys for someone else's workspace"
    );
    assert_eq!(
        app.get(&format!("/api/v1/keys/{a_key}")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_audit_log_shows_key_events_with_filters_and_paging() {
    let app = TestApp::spawn().await;
    app.signed_in_user("auditor@example.com").await;
    let (id, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    with_key(&app, &secret, "/api/v1/whoami").await;
    app.delete(&format!("/api/v1/keys/{id}")).await;
    with_key(&app, &secret, "/api/v1/whoami").await; // denied: revoked

    let mut types = Vec::new();
    for _ in 0..100 {
        let page: Value = app.get_json(&format!("/api/v1/audit-log?keyId={id}")).await;
        types = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        if types.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut sorted = types.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["key.created", "key.denied", "key.revoked", "key.used"],
        "{types:?}"
    );

    let only: Value = app.get_json("/api/v1/audit-log?type=key.created").await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_eq!(only["items"][0]["targetId"], id.as_str());
    let first: Value = app.get_json("/api/v1/audit-log?limit=2").await;
    let cursor = first["nextCursor"].as_str().expect("more than two events");
    let next: Value = app
        .get_json(&format!("/api/v1/audit-log?limit=2&cursor={cursor}"))
        .await;
    assert_ne!(first["items"][0]["id"], next["items"][0]["id"]);
}

#[tokio::test]
async fn a_server_on_real_tarabut_mints_live_keys() {
    let app = TestApp::spawn_with(&[
        ("PFN_TARABUT_URL", "http://127.0.0.1:9"),
        ("PFN_TARABUT_CLIENT_ID", "pfn"),
        ("PFN_TARABUT_CLIENT_SECRET", "not-used-here"),
    ])
    .await;
    app.signed_in_user("live@example.com").await;
    let (_, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    assert!(secret.starts_with("pfn_live_"), "{secret}");
    assert_eq!(
        with_key(&app, &secret, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    let test_kind = shared::keys::format_key(shared::keys::KeyEnv::Test, [3u8; 32]);
    assert_eq!(
        error_of(with_key(&app, &test_kind, "/api/v1/whoami").await)
            .await
            .0,
        "invalid_key"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_keys_from_one_address_is_cut_off_and_known_keys_keep_working() {
    let app = TestApp::spawn_with(&[("PFN_KEY_FAILURES_PER_IP_PER_MIN", "20")]).await;
    app.signed_in_user("flooded@example.com").await;
    let (_, real) = create_key(&app, json!({"name": "real", "scopes": ["read:accounts"]})).await;
    assert_eq!(
        with_key(&app, &real, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    // Well-formed keys with a valid checksum (the format is public), none of them real.
    let fake = |i: u8| shared::keys::format_key(shared::keys::KeyEnv::Test, [i; 32]);
    for i in 0..20 {
        let res = with_key(&app, &fake(i), "/api/v1/whoami").await;
        assert_eq!(error_of(res).await.0, "invalid_key", "attempt {i}");
    }
    let res = with_key(&app, &fake(20), "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    assert_eq!(error_of(res).await.0, "too_many_attempts");
    // Meanwhile new unknown keys from that address are refused without a database read...
    let res = with_key(&app, &fake(21), "/api/v1/whoami").await;
    assert_eq!(error_of(res).await.0, "too_many_attempts");
    // ...and a key the server knows keeps working.
    assert_eq!(
        with_key(&app, &real, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    // The limit refills with time.
    app.clock.advance(61);
    let res = with_key(&app, &fake(22), "/api/v1/whoami").await;
    assert_eq!(error_of(res).await.0, "invalid_key");
}

#[tokio::test]
async fn a_key_is_renamed_in_place() {
    let app = TestApp::spawn().await;
    app.signed_in_user("renamer@example.com").await;
    let (id, secret) = create_key(
        &app,
        json!({"name": "Agent", "scopes": ["read:transactions"]}),
    )
    .await;
    let rename = |client: reqwest::Client, body: Value| {
        let url = app.url(&format!("/api/v1/keys/{id}"));
        async move { client.patch(url).json(&body).send().await.unwrap() }
    };
    let res = rename(
        app.client.clone(),
        json!({"name": "  Budget agent (laptop) "}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["key"]["name"], "Budget agent (laptop)");
    assert_eq!(body["key"]["scopes"], json!(["read:transactions"]));
    let listed: Value = app.get_json("/api/v1/keys").await;
    assert_eq!(listed["items"][0]["name"], "Budget agent (laptop)");
    assert_eq!(
        with_key(&app, &secret, "/api/v1/whoami").await.status(),
        StatusCode::OK,
        "the secret still works"
    );
    assert!(app.audit_kinds().await.iter().any(|k| k == "key.renamed"));

    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"scopes": []}),
    ] {
        let (code, _) = error_of(rename(app.client.clone(), bad.clone()).await).await;
        assert_eq!(code, "validation_failed", "{bad}");
    }
    // Someone else's key: not found; with an API key: no.
    let stranger = app.other_user("stranger@example.com").await;
    let res = rename(stranger, json!({"name": "mine now"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/keys/{id}")))
        .bearer_auth(&secret)
        .json(&json!({"name": "self-renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "session_required");
}

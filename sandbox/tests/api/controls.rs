//! Consent lifecycle, faults, rate limits, call counters, knobs and the error envelope.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestSandbox;

#[tokio::test]
async fn a_revoked_consent_closes_its_accounts() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    let del = s
        .send(
            Method::DELETE,
            &format!("/consentInformation/v1/consents/{}", c.consent_id),
            Some(&c.token),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    assert_eq!(del.json, json!({ "id": c.consent_id, "status": "REVOKED" }));
    let again = s
        .send(
            Method::DELETE,
            &format!("/consentInformation/v1/consents/{}", c.consent_id),
            Some(&c.token),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "revoking is idempotent");

    for path in [
        format!("/accountInformation/v2/accounts/{id}"),
        format!("/accountInformation/v2/accounts/{id}/balances"),
        format!("/accountInformation/v2/accounts/{id}/transactions"),
        format!("/accountInformation/v2/accounts/{id}/rawtransactions"),
    ] {
        let res = s.get(&path, &c.token).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(res.error(), "CONSENT_REVOKED", "{path}");
    }
    // Still listed, with the consent's status.
    let accounts = s.accounts(&c.token).await;
    assert_eq!(accounts[0]["consents"][0]["status"], "REVOKED");
    let consent = s
        .get(
            &format!("/consentInformation/v1/consents/{}", c.consent_id),
            &c.token,
        )
        .await;
    assert_eq!(consent.json["status"], "REVOKED");

    // Another customer cannot see or revoke it.
    let other = s.token(Some("cust-2")).await;
    let res = s
        .send(
            Method::DELETE,
            &format!("/consentInformation/v1/consents/{}", c.consent_id),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let list = s.get("/consentInformation/v1/consents", &other).await;
    assert_eq!(list.json["consents"], json!([]));

    // Connecting again restores access to the same accounts.
    let renewed = s.connect("cust-1", "BLUE").await;
    let res = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/balances"),
            &renewed.token,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn consents_expire_by_control_or_by_the_clock() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "Savings").await;
    let expired = s
        .control(
            Method::POST,
            &format!("/__sandbox/consents/{}/expire", c.consent_id),
            Value::Null,
        )
        .await;
    assert_eq!(expired["status"], "EXPIRED");
    let res = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.error(), "CONSENT_EXPIRED");

    let d = s.connect("cust-2", "RED").await;
    let id = s.account_id(&d.token, "RED", "CurrentAccount").await;
    s.control(
        Method::POST,
        "/__sandbox/clock/advance",
        json!({ "secs": 366 * 86_400 }),
    )
    .await;
    let token = s.token(Some("cust-2")).await;
    let res = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/balances"),
            &token,
        )
        .await;
    assert_eq!(res.error(), "CONSENT_EXPIRED");
    let consents = s.get("/consentInformation/v1/consents", &token).await;
    assert_eq!(consents.json["consents"][0]["status"], "EXPIRED");

    let revoked = s
        .control(
            Method::POST,
            &format!("/__sandbox/consents/{}/revoke", d.consent_id),
            Value::Null,
        )
        .await;
    assert_eq!(revoked["status"], "REVOKED");
    let res = s
        .send(Method::POST, "/__sandbox/consents/nope/revoke", None, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn count_faults_fail_the_next_matching_requests_only() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "BLUE").await;
    s.control(
        Method::POST,
        "/__sandbox/faults",
        json!({ "status": 503, "count": 2, "pathPrefix": "/accountInformation" }),
    )
    .await;
    // Other prefixes and the controls are untouched.
    assert_eq!(
        s.get("/v1/providers", &c.token).await.status,
        StatusCode::OK
    );
    for _ in 0..2 {
        let res = s.get("/accountInformation/v2/accounts", &c.token).await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.error(), "INTERNAL_ERROR");
    }
    assert_eq!(
        s.get("/accountInformation/v2/accounts", &c.token)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        s.control(Method::GET, "/__sandbox/faults", Value::Null)
            .await["faults"],
        json!([])
    );

    // A 429 fault carries Retry-After.
    s.control(
        Method::POST,
        "/__sandbox/faults",
        json!({ "status": 429, "retryAfter": 7, "count": 1 }),
    )
    .await;
    let res = s.get("/accountInformation/v2/accounts", &c.token).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.error(), "RATE_LIMITED");
    assert_eq!(res.headers["retry-after"], "7");

    // Bad rules are refused; DELETE clears everything.
    for bad in [
        json!({ "status": 200 }),
        json!({ "rate": 2 }),
        json!({ "latency": 5 }),
    ] {
        let res = s
            .send(Method::POST, "/__sandbox/faults", None, Some(bad.clone()))
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    s.control(Method::POST, "/__sandbox/faults", json!({ "status": 500 }))
        .await;
    assert_eq!(
        s.get("/v1/providers", &c.token).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    s.control(Method::DELETE, "/__sandbox/faults", Value::Null)
        .await;
    assert_eq!(
        s.get("/v1/providers", &c.token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rate_faults_are_deterministic_for_a_seed() {
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let s = TestSandbox::spawn().await;
        let token = s.token(None).await;
        s.control(Method::POST, "/__sandbox/faults", json!({ "rate": 0.3 }))
            .await;
        let mut pattern = Vec::new();
        for _ in 0..100 {
            pattern.push(
                s.get("/v1/providers", &token).await.status == StatusCode::SERVICE_UNAVAILABLE,
            );
        }
        patterns.push(pattern);
    }
    assert_eq!(patterns[0], patterns[1]);
    let failures = patterns[0].iter().filter(|f| **f).count();
    assert!((15..=45).contains(&failures), "{failures}");
}

#[tokio::test]
async fn latency_and_timeout_faults_answer_late() {
    let s = TestSandbox::spawn().await;
    let token = s.token(None).await;
    s.control(
        Method::POST,
        "/__sandbox/faults",
        json!({ "latencyMs": 300, "count": 1 }),
    )
    .await;
    let started = Instant::now();
    assert_eq!(s.get("/v1/providers", &token).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    s.control(
        Method::POST,
        "/__sandbox/faults",
        json!({ "timeout": true, "latencyMs": 200, "count": 1 }),
    )
    .await;
    let started = Instant::now();
    assert_eq!(s.get("/v1/providers", &token).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(s.get("/v1/providers", &token).await.status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "rules are used up"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_per_client() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-1")).await;
    s.control(
        Method::POST,
        "/__sandbox/rate-limit",
        json!({ "perSecond": 0.2, "burst": 2 }),
    )
    .await;
    assert_eq!(s.get("/v1/providers", &token).await.status, StatusCode::OK);
    assert_eq!(s.get("/v1/providers", &token).await.status, StatusCode::OK);
    let res = s.get("/v1/providers", &token).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.error(), "RATE_LIMITED");
    let wait: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap_or("")
        .parse()
        .unwrap_or(0);
    assert!((1..=5).contains(&wait), "{wait}");
    // The token endpoint counts against the same client.
    let res = s
        .token_response(None, json!({ "clientId": "pfn-dev", "clientSecret": "pfn-dev-secret", "grantType": "client_credentials" }))
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    s.control(Method::DELETE, "/__sandbox/rate-limit", Value::Null)
        .await;
    assert_eq!(s.get("/v1/providers", &token).await.status, StatusCode::OK);
    let res = s
        .send(
            Method::POST,
            "/__sandbox/rate-limit",
            None,
            Some(json!({ "perSecond": 0, "burst": 1 })),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn calls_are_counted_per_route_template() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    s.control(Method::DELETE, "/__sandbox/calls", Value::Null)
        .await;
    s.token(Some("cust-1")).await;
    s.control(Method::POST, "/__sandbox/faults", json!({ "count": 1 }))
        .await;
    for page in 1..=3 {
        s.get(
            &format!("/accountInformation/v2/accounts/{id}/transactions?page={page}"),
            &c.token,
        )
        .await;
    }
    s.get("/no/such/route", &c.token).await;
    let calls = s
        .control(Method::GET, "/__sandbox/calls", Value::Null)
        .await;
    assert_eq!(
        calls,
        json!({ "calls": {
            "POST /sandbox/token": 1,
            "GET /accountInformation/v2/accounts/{accountId}/transactions": 3,
        } })
    );
    s.control(Method::DELETE, "/__sandbox/calls", Value::Null)
        .await;
    assert_eq!(
        s.control(Method::GET, "/__sandbox/calls", Value::Null)
            .await,
        json!({ "calls": {} })
    );
}

#[tokio::test]
async fn knobs_apply_to_later_requests() {
    let s = TestSandbox::spawn().await;
    let config = s
        .control(
            Method::POST,
            "/__sandbox/config",
            json!({ "pageSize": 7, "tokenTtlSecs": 60, "transactionsPerAccount": 20 }),
        )
        .await;
    assert_eq!(config["pageSize"], 7);
    let res = s
        .token_response(Some("cust-1"), json!({ "clientId": "pfn-dev", "clientSecret": "pfn-dev-secret", "grantType": "client_credentials" }))
        .await;
    assert_eq!(res.json["expiresIn"], 60);
    let c = s.connect("cust-1", "RED").await;
    let id = s.account_id(&c.token, "RED", "CurrentAccount").await;
    let page = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    assert_eq!(page.json["meta"]["pageSize"], 7);
    assert_eq!(page.json["meta"]["totalCountOfRecords"], 20);
    assert_eq!(page.json["meta"]["totalCountOfPages"], 3);
    for bad in [
        json!({ "pageSize": 0 }),
        json!({ "tokenTtlSecs": -1 }),
        json!({ "pageSizes": 3 }),
    ] {
        let res = s
            .send(Method::POST, "/__sandbox/config", None, Some(bad.clone()))
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn every_error_uses_the_envelope() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-1")).await;
    let res = s.get("/nope", &token).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error(), "NOT_FOUND");
    let res = s
        .send(Method::DELETE, "/v1/providers", Some(&token), None)
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.error(), "METHOD_NOT_ALLOWED");
    let res = s
        .get("/accountInformation/v2/accounts/unknown/balances", &token)
        .await;
    assert_eq!(res.error(), "NOT_FOUND");
    let res = s.get("/insights/v1/salary?months=abc", &token).await;
    assert_eq!(res.error(), "INVALID_REQUEST");
    let res = s
        .send(
            Method::POST,
            "/__sandbox/clock/advance",
            None,
            Some(json!({ "secs": i64::MAX })),
        )
        .await;
    assert_eq!(res.error(), "INVALID_REQUEST");
    let res = s
        .send(
            Method::POST,
            "/__sandbox/clock/advance",
            None,
            Some(json!({ "secs": "soon" })),
        )
        .await;
    assert_eq!(res.error(), "INVALID_REQUEST");
    let clock = s
        .control(Method::GET, "/__sandbox/clock", Value::Null)
        .await;
    assert_eq!(clock["offsetSecs"], 0);
    assert!(clock["now"].as_str().is_some_and(|n| n.ends_with('Z')));
}

//! Tokens: issuing, validating input, customer binding and expiry on the sandbox clock.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestSandbox, CLIENT_ID, CLIENT_SECRET};

#[tokio::test]
async fn a_token_is_opaque_bearer_and_reports_its_true_lifetime() {
    let s = TestSandbox::spawn().await;
    let res = s
        .token_response(
            Some("cust-1"),
            json!({ "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grantType": "client_credentials", "scope": "accounts" }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let token = res.json["accessToken"].as_str().unwrap_or("");
    assert!(token.len() >= 32, "{token}");
    assert_eq!(res.json["tokenType"], "Bearer");
    assert_eq!(res.json["expiresIn"], 900);
    assert_eq!(res.json["scope"], "accounts");

    // The legacy path is the same endpoint.
    let legacy = s
        .http
        .post(s.url("/auth/v1/token"))
        .json(&json!({ "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grantType": "client_credentials" }))
        .send()
        .await
        .expect("legacy token");
    assert_eq!(legacy.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_token_requests_are_rejected_with_the_documented_codes() {
    let s = TestSandbox::spawn().await;
    let good = json!({ "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grantType": "client_credentials" });
    let cases = [
        (
            None,
            json!({ "clientId": CLIENT_ID, "clientSecret": "nope", "grantType": "client_credentials" }),
            401,
            "invalid_client",
            "wrong secret",
        ),
        (
            None,
            json!({ "clientId": "who", "clientSecret": CLIENT_SECRET, "grantType": "client_credentials" }),
            401,
            "invalid_client",
            "unknown client",
        ),
        (
            None,
            json!({ "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grantType": "password" }),
            400,
            "INVALID_REQUEST",
            "wrong grant type",
        ),
        (
            None,
            json!({ "clientSecret": CLIENT_SECRET, "grantType": "client_credentials" }),
            400,
            "INVALID_REQUEST",
            "missing clientId",
        ),
        (
            None,
            json!("not an object"),
            400,
            "INVALID_REQUEST",
            "not an object",
        ),
        (
            Some("a".repeat(41)),
            good.clone(),
            400,
            "INVALID_REQUEST",
            "customer id too long",
        ),
        (
            Some("has space".to_string()),
            good.clone(),
            400,
            "INVALID_REQUEST",
            "customer id with a space",
        ),
    ];
    for (customer, body, status, code, why) in cases {
        let res = s.token_response(customer.as_deref(), body).await;
        assert_eq!(res.status.as_u16(), status, "{why}: {}", res.text);
        assert_eq!(res.error(), code, "{why}");
    }
    let raw = s
        .http
        .post(s.url("/sandbox/token"))
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tokens_expire_on_the_sandbox_clock() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-1")).await;
    assert_eq!(
        s.get("/accountInformation/v2/accounts", &token)
            .await
            .status,
        StatusCode::OK
    );

    s.control(
        Method::POST,
        "/__sandbox/clock/advance",
        json!({ "secs": 899 }),
    )
    .await;
    assert_eq!(
        s.get("/accountInformation/v2/accounts", &token)
            .await
            .status,
        StatusCode::OK
    );

    let clock = s
        .control(
            Method::POST,
            "/__sandbox/clock/advance",
            json!({ "secs": 2 }),
        )
        .await;
    assert_eq!(clock["offsetSecs"], 901);
    let res = s.get("/accountInformation/v2/accounts", &token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.error(), "UNAUTHORIZED");

    // A new token works again.
    let fresh = s.token(Some("cust-1")).await;
    assert_eq!(
        s.get("/accountInformation/v2/accounts", &fresh)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn data_routes_need_a_customer_token_but_providers_do_not() {
    let s = TestSandbox::spawn().await;
    let plain = s.token(None).await;
    let providers = s.get("/v1/providers", &plain).await;
    assert_eq!(providers.status, StatusCode::OK);
    let list = providers.json["providers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let blue = list
        .iter()
        .find(|p| p["providerId"] == "BLUE")
        .expect("BLUE");
    assert_eq!(blue["countryCode"], "BH");
    assert_eq!(blue["aisStatus"], "ACTIVE");
    assert_eq!(blue["pisStatus"], "INACTIVE");
    assert!(list
        .iter()
        .any(|p| p["providerId"] == "RED" && p["countryCode"] == "SA"));
    let logo = s
        .http
        .get(blue["logoUrl"].as_str().unwrap_or(""))
        .send()
        .await
        .expect("logo");
    assert_eq!(logo.status(), StatusCode::OK);

    for (token, why) in [
        (Some(plain.as_str()), "no customer"),
        (Some("garbage"), "unknown token"),
        (None, "no token"),
    ] {
        let res = s
            .send(Method::GET, "/accountInformation/v2/accounts", token, None)
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(res.error(), "UNAUTHORIZED", "{why}");
    }
    let res = s.send(Method::GET, "/v1/providers", None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_customer_comes_from_the_token_not_the_header() {
    let s = TestSandbox::spawn().await;
    let alice = s.connect("alice", "BLUE").await;
    let res = s
        .http
        .get(s.url("/accountInformation/v2/accounts"))
        .bearer_auth(&alice.token)
        .header("X-TG-CustomerUserId", "mallory")
        .send()
        .await
        .expect("sent");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["accounts"].as_array().map(Vec::len), Some(2));

    let mallory = s.token(Some("mallory")).await;
    assert!(s.accounts(&mallory).await.is_empty());
    let alice_account = s.account_id(&alice.token, "BLUE", "CurrentAccount").await;
    let res = s
        .get(
            &format!("/accountInformation/v2/accounts/{alice_account}/transactions"),
            &mallory,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error(), "NOT_FOUND");
}

//! Connect: intents, the control-route completion, the browser pages, consents and accounts.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tarabut_sandbox::{ClientConfig, SandboxConfig};

use crate::helpers::{TestSandbox, CLIENT_ID, CLIENT_SECRET, REDIRECT};

#[tokio::test]
async fn intent_complete_consent_accounts() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-1")).await;
    let intent = s.create_intent(&token, "cust-1", None).await;
    assert_eq!(intent.status, StatusCode::OK, "{}", intent.text);
    let id = intent.json["intentId"].as_str().unwrap_or("").to_string();
    assert_eq!(
        intent.json["connectUrl"],
        format!("{}/connect/launch/?intent={id}", s.sandbox.url())
    );
    assert!(intent.json["expiry"]
        .as_str()
        .is_some_and(|e| e.ends_with('Z')));

    let before = s
        .get(&format!("/accountInformation/v1/intent/{id}"), &token)
        .await;
    assert_eq!(before.json["status"], "CREATED");
    assert!(before.json["consentId"].is_null());
    assert!(before.json["providerId"].is_null());
    assert_eq!(before.json["customerUserId"], "cust-1");

    let done = s
        .control(
            Method::POST,
            &format!("/__sandbox/intents/{id}/complete"),
            json!({ "status": "SUCCESSFUL", "providerId": "BLUE" }),
        )
        .await;
    assert_eq!(
        done["location"],
        format!("{REDIRECT}?intentId={id}&status=SUCCESSFUL")
    );

    let after = s
        .get(&format!("/accountInformation/v1/intent/{id}"), &token)
        .await;
    assert_eq!(after.json["status"], "SUCCESSFUL");
    assert_eq!(after.json["providerId"], "BLUE");
    let consent_id = after.json["consentId"].as_str().unwrap_or("").to_string();
    assert_eq!(consent_id, done["consentId"].as_str().unwrap_or("-"));

    let consents = s.get("/consentInformation/v1/consents", &token).await;
    let list = consents.json["consents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], consent_id.as_str());
    assert_eq!(list[0]["status"], "ACTIVE");
    assert_eq!(list[0]["providerId"], "BLUE");
    assert_eq!(list[0]["accountIds"].as_array().map(Vec::len), Some(2));
    let one = s
        .get(
            &format!("/consentInformation/v1/consents/{consent_id}"),
            &token,
        )
        .await;
    assert_eq!(one.json["id"], consent_id.as_str());

    let accounts = s.accounts(&token).await;
    assert_eq!(accounts.len(), 2);
    for a in &accounts {
        for field in [
            "accountId",
            "accountHolderName",
            "accountProductType",
            "accountDescription",
            "providerId",
            "lastUpdatedDateTime",
        ] {
            assert!(a[field].is_string(), "{field} in {a}");
        }
        assert_eq!(a["consents"][0]["id"], consent_id.as_str());
        assert_eq!(a["consents"][0]["status"], "ACTIVE");
        assert!(a["consents"][0]["expiryDate"].is_string());
        assert_eq!(a["identifiers"][0]["type"], "IBAN");
        assert!(a["identifiers"][0]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("BH") && v.len() == 22));
        assert_eq!(a["balances"][0]["amount"]["currency"], "BHD");
        assert!(a["meta"]["lastBalancesUpdateDatetime"].is_string());
        assert!(a["meta"]["lastAccountUpdateDatetime"].is_string());
        assert_eq!(a["meta"]["transactionsAvailability"], "completed");
        let id = a["accountId"].as_str().unwrap_or("");
        let single = s
            .get(&format!("/accountInformation/v2/accounts/{id}"), &token)
            .await;
        assert_eq!(&single.json, a);
    }
    let kinds: Vec<_> = accounts
        .iter()
        .map(|a| a["accountProductType"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("CurrentAccount"), json!("Savings")]);

    // Completing again is a conflict.
    let again = s
        .send(
            Method::POST,
            &format!("/__sandbox/intents/{id}/complete"),
            None,
            Some(json!({ "status": "SUCCESSFUL", "providerId": "BLUE" })),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error(), "INTENT_ALREADY_COMPLETED");

    // A second consent at the same bank covers the same accounts (no new seeding).
    let second = s.connect("cust-1", "BLUE").await;
    assert_eq!(
        second.location,
        format!("{REDIRECT}?intentId={}&status=SUCCESSFUL", second.intent_id)
    );
    let accounts = s.accounts(&second.token).await;
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["consents"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn intent_input_is_checked() {
    let s = TestSandbox::spawn_with(SandboxConfig {
        clients: vec![ClientConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_urls: vec![REDIRECT.into()],
        }],
        ..Default::default()
    })
    .await;
    let token = s.token(Some("cust-1")).await;
    let cases = [
        (
            json!({ "user": { "customerUserId": "someone-else" }, "redirectUrl": REDIRECT }),
            403,
            "FORBIDDEN",
            "other customer",
        ),
        (
            json!({ "redirectUrl": REDIRECT }),
            400,
            "INVALID_REQUEST",
            "no user",
        ),
        (
            json!({ "user": {}, "redirectUrl": REDIRECT }),
            400,
            "INVALID_REQUEST",
            "no customerUserId",
        ),
        (
            json!({ "user": { "customerUserId": "cust-1" } }),
            400,
            "INVALID_REQUEST",
            "no redirectUrl",
        ),
        (
            json!({ "user": { "customerUserId": "cust-1" }, "redirectUrl": "http://evil.test/cb" }),
            400,
            "INVALID_REQUEST",
            "unregistered redirect",
        ),
        (
            json!({ "user": { "customerUserId": "cust-1" }, "redirectUrl": REDIRECT, "consent": { "providerId": "GREEN" } }),
            400,
            "INVALID_REQUEST",
            "unknown provider",
        ),
        (
            json!({ "user": { "customerUserId": "cust-1" }, "redirectUrl": REDIRECT, "language": "FR" }),
            400,
            "INVALID_REQUEST",
            "bad language",
        ),
    ];
    for (body, status, code, why) in cases {
        let res = s
            .send(
                Method::POST,
                "/accountInformation/v1/intent",
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(res.status.as_u16(), status, "{why}: {}", res.text);
        assert_eq!(res.error(), code, "{why}");
    }
    let ok = s.create_intent(&token, "cust-1", Some("RED")).await;
    assert_eq!(ok.status, StatusCode::OK);

    // Someone else's intent is not found.
    let id = ok.json["intentId"].as_str().unwrap_or("");
    let other = s.token(Some("cust-2")).await;
    let res = s
        .get(&format!("/accountInformation/v1/intent/{id}"), &other)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = s.get("/accountInformation/v1/intent/nope", &token).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // The intent named RED: completing it with BLUE is refused.
    let res = s
        .send(
            Method::POST,
            &format!("/__sandbox/intents/{id}/complete"),
            None,
            Some(json!({ "status": "SUCCESSFUL", "providerId": "BLUE" })),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn intents_expire_after_thirty_minutes() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-1")).await;
    let intent = s.create_intent(&token, "cust-1", Some("BLUE")).await;
    let id = intent.json["intentId"].as_str().unwrap_or("").to_string();
    s.control(
        Method::POST,
        "/__sandbox/clock/advance",
        json!({ "secs": 31 * 60 }),
    )
    .await;
    let token = s.token(Some("cust-1")).await;
    let res = s
        .get(&format!("/accountInformation/v1/intent/{id}"), &token)
        .await;
    assert_eq!(res.json["status"], "EXPIRED");
    let res = s
        .send(
            Method::POST,
            &format!("/__sandbox/intents/{id}/complete"),
            None,
            Some(json!({ "status": "SUCCESSFUL" })),
        )
        .await;
    assert_eq!(res.status, StatusCode::GONE);
    assert_eq!(res.error(), "INTENT_EXPIRED");
    let page = s
        .http
        .get(s.url(&format!("/connect/launch/?intent={id}")))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_person_can_click_through_the_connect_pages() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-web")).await;
    let intent = s.create_intent(&token, "cust-web", None).await;
    let connect_url = intent.json["connectUrl"].as_str().unwrap_or("").to_string();
    let id = intent.json["intentId"].as_str().unwrap_or("").to_string();

    let list = s.http.get(&connect_url).send().await.expect("bank list");
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    let html = list.text().await.unwrap_or_default();
    assert!(
        html.contains("Blue Bank") && html.contains("Red Bank"),
        "{html}"
    );
    assert!(!html.contains("<script"));

    let consent = s
        .http
        .get(format!("{connect_url}&provider=RED"))
        .send()
        .await
        .expect("consent page");
    assert_eq!(consent.status(), StatusCode::OK);
    let html = consent.text().await.unwrap_or_default();
    assert!(
        html.contains("Allow") && html.contains("Cancel") && html.contains("SAR Current"),
        "{html}"
    );

    let res = s
        .http
        .post(s.url("/connect/launch/authorize"))
        .form(&[
            ("intent", id.as_str()),
            ("provider", "RED"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[reqwest::header::LOCATION],
        format!("{REDIRECT}?intentId={id}&status=SUCCESSFUL").as_str()
    );
    let accounts = s.accounts(&token).await;
    assert_eq!(accounts.len(), 2);
    assert!(accounts.iter().all(|a| a["providerId"] == "RED"));

    // The link is spent now.
    let again = s.http.get(&connect_url).send().await.expect("page");
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let unknown = s
        .http
        .get(s.url("/connect/launch/?intent=nope"))
        .send()
        .await
        .expect("page");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap_or_default().contains("<html"));
}

#[tokio::test]
async fn cancelling_redirects_with_failed_and_creates_nothing() {
    let s = TestSandbox::spawn().await;
    let token = s.token(Some("cust-1")).await;
    let intent = s.create_intent(&token, "cust-1", Some("BLUE")).await;
    let id = intent.json["intentId"].as_str().unwrap_or("").to_string();
    // The intent names a bank: the consent page comes first.
    let page = s
        .http
        .get(s.url(&format!("/connect/launch/?intent={id}")))
        .send()
        .await
        .expect("page");
    assert!(page.text().await.unwrap_or_default().contains("Blue Bank"));
    let res = s
        .http
        .post(s.url("/connect/launch/authorize"))
        .form(&[("intent", id.as_str()), ("decision", "cancel")])
        .send()
        .await
        .expect("cancel");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap_or("")
        .ends_with("&status=FAILED"));
    let got = s
        .get(&format!("/accountInformation/v1/intent/{id}"), &token)
        .await;
    assert_eq!(got.json["status"], "FAILED");
    assert!(got.json["consentId"].is_null());
    assert!(s.accounts(&token).await.is_empty());
}

#[tokio::test]
async fn an_embedded_router_links_back_through_the_host_header() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, tarabut_sandbox::router(SandboxConfig::default())).await;
    });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let token: serde_json::Value = http
        .post(format!("{base}/sandbox/token"))
        .header("X-TG-CustomerUserId", "embedded")
        .json(&json!({ "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grantType": "client_credentials" }))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let intent: serde_json::Value = http
        .post(format!("{base}/accountInformation/v1/intent"))
        .bearer_auth(token["accessToken"].as_str().unwrap_or(""))
        .json(&json!({ "user": { "customerUserId": "embedded" }, "redirectUrl": REDIRECT }))
        .send()
        .await
        .expect("intent")
        .json()
        .await
        .expect("json");
    let url = intent["connectUrl"].as_str().unwrap_or("");
    assert!(
        url.starts_with(&format!("{base}/connect/launch/?intent=")),
        "{url}"
    );
    server.abort();
}

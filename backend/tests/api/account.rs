//! The account is the user's: changing their own profile.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{create_key, error_of, TestApp};

async fn rename(app: &TestApp, client: &reqwest::Client, body: Value) -> reqwest::Response {
    client
        .patch(app.url("/api/v1/auth/me"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_user_renames_themselves_under_the_rules_of_sign_up() {
    let app = TestApp::spawn().await;
    let email = "rename@example.com";
    app.signed_in_user(email).await;
    // A second session of the same user, to see that no cached copy keeps the old name.
    let other = app.browser();
    app.login_with(&other, email, crate::helpers::PASSWORD)
        .await;
    let before: Value = app.get_json_as(&other, "/api/v1/auth/me").await;

    let res = rename(&app, &app.client, json!({"name": "  Layla Haddad "})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["name"], "Layla Haddad", "trimmed");
    assert_eq!(body["user"]["email"], before["user"]["email"]);
    let seen: Value = app.get_json_as(&other, "/api/v1/auth/me").await;
    assert_eq!(seen["user"]["name"], "Layla Haddad");
    assert!(app
        .audit_kinds()
        .await
        .iter()
        .any(|k| k == "user.profile_updated"));

    for bad in [
        json!(""),
        json!("   "),
        json!("x".repeat(101)),
        json!("a\u{7}b"),
    ] {
        let (code, fields) = error_of(rename(&app, &app.client, json!({"name": bad})).await).await;
        assert_eq!(code, "validation_failed", "{bad}");
        assert!(fields["name"].is_string(), "{fields}");
    }
    let (code, _) =
        error_of(rename(&app, &app.client, json!({"email": "x@example.com"})).await).await;
    assert_eq!(
        code, "validation_failed",
        "only the name, and no unknown fields"
    );
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["name"], "Layla Haddad", "nothing changed");

    // Signed out or with an API key: no.
    let res = rename(&app, &app.browser(), json!({"name": "Intruder"})).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (_, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:transactions"]})).await;
    let res = reqwest::Client::new()
        .patch(app.url("/api/v1/auth/me"))
        .bearer_auth(&secret)
        .json(&json!({"name": "Agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "session_required");
}

//! The sessions list, ending sessions, and idle / absolute expiry.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_of, TestApp, PASSWORD};

async fn sessions(app: &TestApp, client: &reqwest::Client, query: &str) -> Value {
    let res = client
        .get(app.url(&format!("/api/v1/auth/sessions{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn sessions_are_listed_marked_paged_and_ended_one_by_one() {
    let app = TestApp::spawn().await;
    let email = "devices@example.com";
    app.signed_in_user(email).await;
    let phone = app.browser();
    app.login_with(&phone, email, PASSWORD).await;
    let tablet = app.browser();
    app.login_with(&tablet, email, PASSWORD).await;

    let page = sessions(&app, &app.client, "").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(page["nextCursor"], Value::Null);
    assert_eq!(items[0]["ip"], "127.0.0.1");

    let first = sessions(&app, &app.client, "?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let second = sessions(&app, &app.client, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["nextCursor"], Value::Null);

    // End the phone's session from the laptop.
    let phone_view = sessions(&app, &phone, "").await;
    let phone_id = phone_view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .delete(&format!("/api/v1/auth/sessions/{phone_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        phone
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        tablet
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let res = app
        .delete(&format!("/api/v1/auth/sessions/{phone_id}"))
        .await;
    assert_eq!(error_of(res).await.0, "not_found");
}

#[tokio::test]
async fn another_users_session_id_is_not_found() {
    let app = TestApp::spawn().await;
    app.signed_in_user("alice@example.com").await;
    let alice_id = sessions(&app, &app.client, "").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = app.other_user("bob@example.com").await;
    let res = bob
        .delete(app.url(&format!("/api/v1/auth/sessions/{alice_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "alice is still signed in"
    );
}

#[tokio::test]
async fn reads_do_not_write_and_activity_is_recorded_at_most_hourly() {
    let app = TestApp::spawn().await;
    app.signed_in_user("idle@example.com").await;
    let seen = || async {
        sqlx::query_scalar::<_, i64>("select last_seen_at from sessions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
    };
    let at_login = seen().await;
    app.clock.advance(30 * 60);
    assert_eq!(app.get("/api/v1/auth/me").await.status(), StatusCode::OK);
    assert_eq!(
        seen().await,
        at_login,
        "a read within the hour does not write"
    );
    app.clock.advance(31 * 60);
    assert_eq!(app.get("/api/v1/auth/me").await.status(), StatusCode::OK);
    assert!(
        seen().await > at_login,
        "after an hour, activity is recorded"
    );
}

#[tokio::test]
async fn sessions_expire_after_seven_idle_days() {
    let app = TestApp::spawn().await;
    app.signed_in_user("sleepy@example.com").await;
    app.clock.advance(6 * 24 * 3600);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "6 idle days is fine, and slides"
    );
    app.clock.advance(6 * 24 * 3600);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "still within 7 days of the last use"
    );
    app.clock.advance(7 * 24 * 3600 + 1);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_end_thirty_days_after_sign_in_even_when_active() {
    let app = TestApp::spawn().await;
    app.signed_in_user("busy@example.com").await;
    for _ in 0..4 {
        app.clock.advance(6 * 24 * 3600);
        assert_eq!(app.get("/api/v1/auth/me").await.status(), StatusCode::OK);
    }
    app.clock.advance(5 * 24 * 3600);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "29 days after sign-in"
    );
    app.clock.advance(2 * 24 * 3600);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "31 days after sign-in"
    );
}

#[tokio::test]
async fn session_routes_refuse_api_keys() {
    let app = TestApp::spawn().await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth("pfn_live_0000000000000000000000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(res).await.0, "session_required");
}

#[tokio::test]
async fn ending_your_own_session_signs_you_out_cleanly() {
    let app = TestApp::spawn().await;
    app.signed_in_user("self@example.com").await;
    let me = sessions(&app, &app.client, "").await;
    let id = me["items"][0]["id"].as_str().unwrap().to_string();
    let res = app.delete(&format!("/api/v1/auth/sessions/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_past_their_absolute_expiry_are_not_listed() {
    let app = TestApp::spawn().await;
    let email = "old-device@example.com";
    app.signed_in_user(email).await; // device A, day 0
    for _ in 0..4 {
        app.clock.advance(6 * 24 * 3600);
        app.get("/api/v1/auth/me").await; // A stays active
    }
    let b = app.browser();
    app.login_with(&b, email, PASSWORD).await; // device B, day 24
    app.clock.advance(6 * 24 * 3600); // day 30: A is past 30 days, B is fresh
    let listed = sessions(&app, &b, "").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["current"], true);
}

#[tokio::test]
async fn a_session_dies_when_the_password_changes_underneath_it() {
    let app = TestApp::spawn().await;
    app.signed_in_user("raced@example.com").await;
    // What a reset committing while this sign-in was in flight leaves behind: a live session
    // row made with the old password.
    sqlx::query("update users set password_hash = 'changed-elsewhere'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn api_keys_are_refused_on_every_auth_route() {
    let app = TestApp::spawn().await;
    let key = "pfn_live_0000000000000000000000000000000000000000000000000";
    let plain = reqwest::Client::new();
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/signup",
        "/api/v1/auth/password/forgot",
    ] {
        let res = plain
            .post(app.url(path))
            .bearer_auth(key)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(res).await.0, "session_required", "{path}");
    }
    let res = plain
        .get(app.url("/api/v1/auth/providers"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "session_required");
}

#[tokio::test]
async fn nul_bytes_in_ids_and_cursors_are_client_errors() {
    let app = TestApp::spawn().await;
    app.signed_in_user("nul-ids@example.com").await;
    let res = app.delete("/api/v1/auth/sessions/%00").await;
    assert_eq!(error_of(res).await.0, "not_found");
    let res = app.get("/api/v1/auth/sessions?cursor=MToA").await; // base64url of "1:\0"
    assert_eq!(error_of(res).await.0, "invalid_cursor");
    let res = app.get("/api/v1/keys/%00").await;
    assert_eq!(error_of(res).await.0, "not_found");
}

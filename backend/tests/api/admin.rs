//! The admin role: user search, disable / enable (sessions and keys follow at once), any
//! user's audit log, and 403 for everyone else.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{create_key, error_of, with_key, TestApp, PASSWORD};

const ADMIN: &str = "root@example.com";

/// A server whose bootstrap admin is signed in on `app.client`.
async fn admin_app() -> TestApp {
    let app = TestApp::spawn_with(&[("PFN_BOOTSTRAP_ADMIN_EMAIL", ADMIN)]).await;
    app.bootstrap_admin_signs_in(ADMIN).await;
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["role"], "admin", "{me}");
    app
}

#[tokio::test]
async fn everyone_but_an_admin_is_refused_on_every_admin_route() {
    let app = admin_app().await;
    let member = app.other_user("member@example.com").await;
    let target = app.user_id(&member).await;
    let routes = [
        ("GET", "/api/v1/admin/users".to_string()),
        ("POST", format!("/api/v1/admin/users/{target}/disable")),
        ("POST", format!("/api/v1/admin/users/{target}/enable")),
        ("GET", format!("/api/v1/admin/users/{target}/audit-log")),
    ];
    let anonymous = app.browser();
    let key = {
        // the admin's own key: keys never reach admin routes
        create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]}))
            .await
            .1
    };
    for (method, path) in &routes {
        let send = |c: &reqwest::Client| {
            let req = if *method == "GET" {
                c.get(app.url(path))
            } else {
                c.post(app.url(path)).json(&json!({}))
            };
            req.send()
        };
        let res = send(&member).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(error_of(res).await.0, "admin_required");
        let res = send(&anonymous).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        let res = if *method == "GET" {
            with_key(&app, &key, path).await
        } else {
            reqwest::Client::new()
                .post(app.url(path))
                .bearer_auth(&key)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
        };
        assert_eq!(error_of(res).await.0, "session_required", "{method} {path}");
    }
    // and the member is untouched
    assert_eq!(
        member
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn admins_search_and_page_through_users() {
    let app = admin_app().await;
    for e in [
        "layla@example.com",
        "omar@example.com",
        "la_percent@example.com",
    ] {
        app.other_user(e).await;
    }
    let all: Value = app.get_json("/api/v1/admin/users?limit=200").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    let found: Value = app.get_json("/api/v1/admin/users?q=LAYLA").await;
    let emails: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["layla@example.com"]);
    // LIKE wildcards are literal
    let found: Value = app.get_json("/api/v1/admin/users?q=la_").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let found: Value = app.get_json("/api/v1/admin/users?q=%25").await;
    assert_eq!(found["items"], json!([]));
    // pages of one, newest first, no repeats
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .get_json(&format!("/api/v1/admin/users?limit=1{cursor}"))
            .await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    seen.dedup();
    assert_eq!(seen.len(), 4);
    assert_eq!(
        app.get("/api/v1/admin/users?limit=0").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn disabling_ends_sessions_and_suspends_keys_at_once_and_enabling_restores_unrevoked_keys() {
    let app = admin_app().await;
    // the user, with a session, a working key and a revoked one
    let user_app_client = app.other_user("worker@example.com").await;
    let id = app.user_id(&user_app_client).await;
    let make_key = |name: &'static str| {
        let c = user_app_client.clone();
        let url = app.url("/api/v1/keys");
        async move {
            let v: Value = c
                .post(url)
                .json(&json!({"name": name, "scopes": ["read:accounts"]}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                v["key"]["id"].as_str().unwrap().to_string(),
                v["secret"].as_str().unwrap().to_string(),
            )
        }
    };
    let (_, live) = make_key("live").await;
    let (revoked_id, revoked) = make_key("revoked").await;
    let res = user_app_client
        .delete(app.url(&format!("/api/v1/keys/{revoked_id}")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // warm the key cache: disabling must still take effect on the very next request
    assert_eq!(
        with_key(&app, &live, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );

    let res = app
        .post(&format!("/api/v1/admin/users/{id}/disable"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(!body["user"]["disabledAt"].is_null());

    let res = user_app_client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = with_key(&app, &live, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(res).await.0, "account_disabled");
    let res = app
        .login_with(&app.browser(), "worker@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(res).await.0, "account_disabled");
    // repeating is harmless
    assert_eq!(
        app.post(&format!("/api/v1/admin/users/{id}/disable"), json!({}))
            .await
            .status(),
        StatusCode::OK
    );

    let res = app
        .post(&format!("/api/v1/admin/users/{id}/enable"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<Value>().await.unwrap()["user"]["disabledAt"].is_null());
    assert_eq!(
        with_key(&app, &live, "/api/v1/whoami").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        error_of(with_key(&app, &revoked, "/api/v1/whoami").await)
            .await
            .0,
        "key_revoked"
    );
    let again = app.browser();
    assert_eq!(
        app.login_with(&again, "worker@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    // both sides of each action are in the audit log
    let theirs: Value = app
        .get_json(&format!(
            "/api/v1/admin/users/{id}/audit-log?type=admin.user_disabled"
        ))
        .await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
    let mine: Value = app
        .get_json("/api/v1/audit-log?type=admin.user_enabled")
        .await;
    assert_eq!(mine["items"][0]["targetId"], id.as_str());
    let viewed: Value = app
        .get_json("/api/v1/audit-log?type=admin.audit_viewed")
        .await;
    assert_eq!(viewed["items"].as_array().unwrap().len(), 1);
    // the user sees what was done to their account
    let own: Value = app
        .get_json_as(&again, "/api/v1/audit-log?type=admin.user_disabled")
        .await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_admin_cannot_disable_themselves_and_unknown_users_are_404() {
    let app = admin_app().await;
    let me = app.user_id(&app.client).await;
    let res = app
        .post(&format!("/api/v1/admin/users/{me}/disable"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(res).await.0, "cannot_disable_self");
    for path in [
        "/api/v1/admin/users/nope/disable",
        "/api/v1/admin/users/nope/enable",
    ] {
        assert_eq!(
            app.post(path, json!({})).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        app.get("/api/v1/admin/users/nope/audit-log").await.status(),
        StatusCode::NOT_FOUND
    );
}

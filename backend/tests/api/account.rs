//! The account is the user's: changing their own profile.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    consent_ids, consent_status, create_key, error_of, tables_and_columns, with_key, TestApp,
};

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

/// How many values in the whole database contain `needle` (case-insensitive), per table.
async fn mentions(app: &TestApp, needle: &str) -> Vec<(String, i64)> {
    let db = &app.state.db;
    let mut found = Vec::new();
    for (table, columns) in tables_and_columns(db).await {
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("lower(cast(\"{c}\" as text)) like $1"))
            .collect();
        let n: i64 = sqlx::query_scalar(&format!(
            "select count(*) from \"{table}\" where {}",
            any.join(" or ")
        ))
        .bind(format!("%{}%", needle.to_lowercase()))
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if n > 0 {
            found.push((table, n));
        }
    }
    found
}

#[tokio::test]
async fn deleting_the_account_leaves_nothing_of_the_user_but_pseudonymous_audit_rows() {
    use crate::helpers::{connect_and_sync, join, shared_workspace, PASSWORD};
    let app = TestApp::spawn().await;
    let email = "Leaving.Person@Example.com";
    let name = "Zubaida Farewell";
    app.signed_in_user(email).await;
    assert_eq!(
        rename(&app, &app.client, json!({"name": name}))
            .await
            .status(),
        StatusCode::OK
    );
    // Something of everything: a key, a bank with its data, a shared workspace of their own,
    // a membership in someone else's, an invitation sent, a failed sign-in, a second session.
    let (_, key) = create_key(&app, json!({"name": "k", "scopes": ["read:transactions"]})).await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    let connection = connect_and_sync(&app, &sandbox, "BLUE").await;
    let consent = consent_ids(&app, &connection).await;
    let solo = shared_workspace(&app, "Solo club").await;
    let res = app
        .post(
            &format!("/api/v1/workspaces/{solo}/members"),
            json!({"email": "friend@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let host_email = "host@example.com";
    let host = app.other_user(host_email).await;
    let theirs = {
        let res = host
            .post(app.url("/api/v1/workspaces"))
            .json(&json!({"name": "Host's house"}))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["workspace"]["id"].as_str().unwrap().to_string()
    };
    join(&app, &host, &app.client, &theirs, email, "member", 2).await;
    app.login(email, "not the password 1").await;
    let second = app.browser();
    app.login_with(&second, email, PASSWORD).await;
    let user_id = app.user_id(&app.client).await;

    // The wrong address, a stale session, and a workspace only they own: refused.
    let delete = |body: Value| {
        let app = &app;
        async move {
            app.client
                .delete(app.url("/api/v1/auth/me"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let (code, fields) = error_of(delete(json!({"email": "someone@example.com"})).await).await;
    assert_eq!(
        (code.as_str(), fields["email"].is_string()),
        ("validation_failed", true)
    );
    let res = delete(json!({"email": "leaving.person@example.com"})).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "sole_owner");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Solo club"),
        "{body}"
    );
    assert_eq!(
        app.delete(&format!("/api/v1/workspaces/{solo}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    app.clock.advance(11 * 60);
    let (code, _) = error_of(delete(json!({"email": email})).await).await;
    assert_eq!(code, "reauth_required");
    assert_eq!(
        app.post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
            .await
            .status(),
        StatusCode::OK
    );
    let res = delete(json!({"email": email})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Gone: sessions (both), the key, the password; the bank no longer shares.
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = second.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = with_key(&app, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        consent_status(&app, &consent).await.as_deref(),
        Some("REVOKED")
    );

    // The host's workspace stays, without them.
    let members: Value = app
        .get_json_as(&host, &format!("/api/v1/workspaces/{theirs}/members"))
        .await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1, "{members}");

    // Nothing names them anywhere, but the audit rows keep their shape under an opaque id.
    for needle in ["leaving.person", name] {
        assert_eq!(mentions(&app, needle).await, vec![], "{needle}");
    }
    // Their id is opaque; it stays only in the cache-invalidation feed (pruned hourly) and
    // nowhere it would say who they were.
    let by_id: Vec<String> = mentions(&app, &user_id)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(
        by_id.iter().all(|t| t == "cache_invalidations"),
        "{by_id:?}"
    );
    // (Signing in with the address now fails like for any unknown one, and counts toward the
    // lockout of that address, as for anyone.)
    let (code, _) = error_of(app.login(email, PASSWORD).await).await;
    assert_eq!(code, "invalid_credentials");
    let pseudonymous: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where user_id like 'deleted-%' and ip is null",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert!(pseudonymous > 5, "{pseudonymous}");
    // The last mail went out (the development outbox is files, not a table).
    for _ in 0..100 {
        if app
            .mails_to(email)
            .iter()
            .any(|m| m.contains("Your pfn account was deleted"))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no account-deleted mail");
}

/// A co-owner leaves a shared workspace while the other owner deletes their account: the
/// deletion must not leave the workspace without an owner. The test holds the leaving open
/// (an uncommitted transaction that locks the workspace, as `DELETE …/members/{userId}` does,
/// and removes the co-owner) while the deletion runs, then commits it: the deletion, which
/// checked before the leaving was visible, must check again and refuse.
#[tokio::test]
async fn an_owner_leaving_during_the_deletion_does_not_orphan_the_workspace() {
    let app = TestApp::spawn().await;
    let email = "racing-owner@example.com";
    app.signed_in_user(email).await;
    let ws = crate::helpers::shared_workspace(&app, "Shared flat").await;
    let other = app.other_user("co-owner@example.com").await;
    crate::helpers::join(
        &app,
        &app.client,
        &other,
        &ws,
        "co-owner@example.com",
        "owner",
        2,
    )
    .await;
    let co_owner = app.user_id(&other).await;

    let db = &app.state.db;
    let mut leaving = db.begin().await.unwrap();
    backend::db::workspaces::lock(&mut leaving, db.backend, &ws)
        .await
        .unwrap();
    sqlx::query("delete from workspace_members where workspace_id = $1 and user_id = $2")
        .bind(&ws)
        .bind(&co_owner)
        .execute(&mut *leaving)
        .await
        .unwrap();
    let deleting = {
        let (client, url) = (app.client.clone(), app.url("/api/v1/auth/me"));
        tokio::spawn(async move {
            client
                .delete(url)
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !deleting.is_finished(),
        "the deletion waits for the workspace"
    );
    leaving.commit().await.unwrap();
    let res = deleting.await.unwrap();
    assert_eq!(error_of(res).await.0, "sole_owner");
    let owners: i64 = sqlx::query_scalar(
        "select count(*) from workspace_members where workspace_id = $1 and role = 'owner'",
    )
    .bind(&ws)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(owners, 1, "the workspace keeps its owner");
}

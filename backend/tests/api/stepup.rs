//! Step-up: the operations of the API guide's step-up table need a browser session that
//! authenticated within ten minutes; every other operation does not care, and API keys are
//! never asked.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    create_key, documented_operations, error_of, shared_workspace, TestApp, PASSWORD,
};

const ADMIN: &str = "boss@example.com";
/// `access::FRESH_SECS`, and one more second.
const STALE: i64 = 10 * 60 + 1;

/// The step-up table of `docs/api-guide.md`: `METHOD /path` of each row.
fn guide_table() -> BTreeSet<String> {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api-guide.md"),
    )
    .unwrap();
    let table = guide
        .split("### Step-up table")
        .nth(1)
        .expect("docs/api-guide.md has a step-up table");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cell = l.split('|').nth(1)?.trim();
            Some(cell.strip_prefix('`')?.strip_suffix('`')?.to_string())
        })
        .collect()
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> (StatusCode, String) {
    let method: Method = method.parse().unwrap();
    crate::helpers::call_operation(app, &app.client, &method, path, bearer).await
}

async fn reauth(app: &TestApp, password: &str) -> reqwest::Response {
    app.post("/api/v1/auth/reauth", json!({"password": password}))
        .await
}

#[tokio::test]
async fn exactly_the_table_needs_a_fresh_session_and_reauth_opens_it() {
    // Every operation is called after a sign-in of its own.
    let app = TestApp::spawn_with(&[
        ("PFN_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("PFN_LOGIN_RATE_PER_IP_PER_MIN", "0"),
        ("PFN_LOGIN_RATE_PER_ACCOUNT_PER_MIN", "0"),
    ])
    .await;
    // An admin who owns a shared workspace: the admin and owners' operations get past their
    // role checks to the freshness check.
    app.bootstrap_admin_signs_in(ADMIN).await;
    let workspace = shared_workspace(&app, "Household").await;
    let doc: Value = app.get_json("/api/openapi.json").await;

    let mut marked = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["x-pfn-step-up"] == true || op["x-pfn-step-up"].is_string() {
                marked.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert_eq!(
        marked,
        guide_table(),
        "the document's step-up operations (x-pfn-step-up) and the API guide's table"
    );

    let mut wrong = Vec::new();
    let mut step_up_ops = 0;
    // Deleting the workspace goes last: every other workspace operation needs it.
    let mut ops = documented_operations(&doc, &workspace);
    let gone = format!("/api/v1/workspaces/{workspace}");
    ops.sort_by_key(|(method, path, _)| method == "DELETE" && *path == gone);
    for (method, path, op) in ops {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let step_up = op["x-pfn-step-up"] == true;
        // Only some requests need it (`x-pfn-step-up: "widening"`): the operation's own tests
        // (tests/api/agent_keys.rs) drive both kinds.
        let conditional = op["x-pfn-step-up"].is_string();
        let lists = op["responses"]["403"]["description"]
            .as_str()
            .unwrap_or_default()
            .contains("`reauth_required`");
        if lists != (step_up || conditional) {
            wrong.push(format!("{method} {path}: lists reauth_required: {lists}"));
        }
        if conditional {
            continue;
        }
        // A sign-in of its own (the previous operation may have signed out), gone stale.
        assert_eq!(app.login(ADMIN, PASSWORD).await.status(), StatusCode::OK);
        app.clock.advance(STALE);
        let (status, code) = call(&app, &method, &path, None).await;
        if (status == StatusCode::FORBIDDEN && code == "reauth_required") != step_up {
            wrong.push(format!(
                "{method} {path}: a stale session got {status} {code} (step-up: {step_up})"
            ));
        }
        if step_up {
            step_up_ops += 1;
            assert_eq!(reauth(&app, PASSWORD).await.status(), StatusCode::OK);
            let (status, code) = call(&app, &method, &path, None).await;
            if code == "reauth_required" {
                wrong.push(format!(
                    "{method} {path}: {status} {code} right after reauth"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(step_up_ops >= 9, "{step_up_ops} step-up operations");
}

#[tokio::test]
async fn reauth_takes_the_password_counts_failures_and_keys_are_never_asked() {
    let app = TestApp::spawn().await;
    app.signed_in_user("owner@example.com").await;
    let (_, key) = create_key(
        &app,
        json!({"name": "agent", "scopes": ["write:connections", "read:connections"]}),
    )
    .await;

    // Fresh right after sign-in; stale ten minutes later.
    app.clock.advance(STALE);
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "late", "scopes": ["read:accounts"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (code, _) = error_of(res).await;
    assert_eq!(code, "reauth_required");

    // A key is bounded by its scopes, never by step-up.
    let res = app
        .client
        .post(app.url("/api/v1/banks/connect"))
        .bearer_auth(&key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "a key connects a bank");

    // A wrong password is refused and audited; the right one opens step-up for ten minutes.
    let res = reauth(&app, "not-my-password").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(res).await.0, "invalid_current_password");
    let res = reauth(&app, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body["freshUntil"].as_str().unwrap().ends_with('Z'));
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "now", "scopes": ["read:accounts"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.clock.advance(STALE);
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "later", "scopes": ["read:accounts"]}),
        )
        .await;
    assert_eq!(
        error_of(res).await.0,
        "reauth_required",
        "ten minutes, no more"
    );

    let kinds = app.audit_kinds().await;
    assert!(kinds.iter().any(|k| k == "reauth.failed"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "reauth.succeeded"), "{kinds:?}");

    // Failures count toward the sign-in lockout (the success above cleared the count): five in
    // a row lock the account.
    for _ in 0..5 {
        assert_eq!(
            reauth(&app, "not-my-password").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let res = reauth(&app, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_of(res).await.0, "too_many_attempts");
    assert_eq!(
        app.login("owner@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "sign-in is locked too"
    );
}

//! Who may call what: the served OpenAPI document and the router agree, operation by operation.
//!
//! Every operation in the document is called, with its path parameters filled in, by each kind
//! of caller its extractors tell apart: nobody, an API key with every scope, a malformed key, a
//! key without the operation's scope, a signed-in non-admin, and a member (not an owner) of a
//! shared workspace. For each refusal an extractor makes, the test checks both ways: an
//! operation whose document lists the code answers it to that caller, and an operation that
//! answers it lists it. (The contract watcher, `contract.rs`, also fails any answer whose status
//! and code the operation does not list.)

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{create_key, documented_operations, join, shared_workspace, TestApp};

struct Op {
    method: Method,
    /// The path with its parameters filled in (a workspace route's `{id}` is the shared
    /// workspace).
    path: String,
    /// `{}` in its security: callable without credentials.
    public: bool,
    /// The scopes an API key needs, if the operation takes keys at all.
    key_scopes: Option<Vec<String>>,
    takes_workspace_id: bool,
    responses: Value,
}

impl Op {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn description(&self, status: &str) -> &str {
        self.responses[status]["description"]
            .as_str()
            .unwrap_or_default()
    }

    /// Whether the document lists `code` under `status` (the rule `contract.rs` applies).
    fn lists(&self, status: &str, code: &str) -> bool {
        self.description(status).contains(&format!("`{code}`"))
    }
}

fn operations(doc: &Value, workspace: &str) -> Vec<Op> {
    documented_operations(doc, workspace)
        .into_iter()
        .filter(|(_, path, _)| path.starts_with("/api/v1/"))
        .map(|(method, path, op)| {
            let security = op["security"].as_array().cloned().unwrap_or_default();
            Op {
                method: method.parse().unwrap(),
                path,
                public: security.is_empty()
                    || security
                        .iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty())),
                key_scopes: security.iter().find_map(|r| {
                    r["apiKey"]
                        .as_array()
                        .map(|s| s.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                }),
                takes_workspace_id: op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == "workspaceId" && p["in"] == "query"),
                responses: op["responses"].clone(),
            }
        })
        .collect()
}

/// Calls the operation and returns the status and error code (empty for a success).
async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    op: &Op,
    path: &str,
    bearer: Option<&str>,
) -> (StatusCode, String) {
    crate::helpers::call_operation(app, client, &op.method, path, bearer).await
}

#[tokio::test]
async fn every_operation_refuses_exactly_as_its_document_says() {
    // Refused keys from one address would be throttled (429) long before every operation is
    // probed; the throttle has tests of its own.
    let app = TestApp::spawn_with(&[("PFN_KEY_FAILURES_PER_IP_PER_MIN", "0")]).await;
    app.signed_in_user("owner@example.com").await;

    let scopes: Value = app.get_json("/api/v1/scopes").await;
    let every_scope: Vec<&str> = scopes["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let (_, all_key) = create_key(&app, json!({"name": "all", "scopes": every_scope})).await;
    let (_, accounts_key) =
        create_key(&app, json!({"name": "a", "scopes": ["read:accounts"]})).await;
    let (_, budgets_key) = create_key(&app, json!({"name": "b", "scopes": ["read:budgets"]})).await;

    // A shared workspace with a member who is not an owner.
    let workspace = shared_workspace(&app, "Household").await;
    let member = app.other_user("member@example.com").await;
    join(
        &app,
        &app.client,
        &member,
        &workspace,
        "member@example.com",
        "member",
        2,
    )
    .await;

    let doc: Value = app.get_json("/api/openapi.json").await;
    let ops = operations(&doc, &workspace);
    assert!(
        ops.len() > 50,
        "the document lists {} operations",
        ops.len()
    );

    // A browser with an empty cookie jar: nobody signed in.
    let nobody = app.browser();
    let mut wrong = Vec::new();
    let mut check = |ok: bool, op: &Op, what: String| {
        if !ok {
            wrong.push(format!("{}: {what}", op.name()));
        }
    };
    let (mut admin_ops, mut owner_ops) = (0, 0);
    for op in &ops {
        let path = &op.path;

        // Nobody: an operation that is not public answers 401 with a code it lists.
        let (status, code) = call(&app, &nobody, op, path, None).await;
        if op.public {
            check(
                !(status == StatusCode::UNAUTHORIZED
                    && matches!(code.as_str(), "unauthenticated" | "missing_key")),
                op,
                format!("public, yet refuses nobody with {status} {code}"),
            );
        } else {
            check(
                status == StatusCode::UNAUTHORIZED && op.lists("401", &code),
                op,
                format!(
                    "nobody got {status} {code}; 401 says {:?}",
                    op.description("401")
                ),
            );
        }

        // A key with every scope: refused with `session_required` exactly where the operation's
        // security names no key, and then the document lists it.
        let (status, code) = call(&app, &nobody, op, path, Some(&all_key)).await;
        let refuses_keys = status == StatusCode::FORBIDDEN && code == "session_required";
        check(
            refuses_keys == op.key_scopes.is_none(),
            op,
            format!("a key with every scope got {status} {code}"),
        );
        check(
            op.lists("403", "session_required") == op.key_scopes.is_none(),
            op,
            "403 `session_required` is listed where keys are not taken, only there".into(),
        );
        check(
            status != StatusCode::UNAUTHORIZED && code != "reauth_required",
            op,
            format!("a valid key got {status} {code}"),
        );

        if let Some(needed) = &op.key_scopes {
            // A malformed key: 401 `malformed_key`, listed.
            let (status, code) = call(&app, &nobody, op, path, Some("pfn_live_nope")).await;
            check(
                status == StatusCode::UNAUTHORIZED
                    && code == "malformed_key"
                    && op.lists("401", "malformed_key"),
                op,
                format!("a malformed key got {status} {code}"),
            );
            // A key without the scope: 403 `insufficient_scope`, listed.
            let key = if needed.iter().any(|s| s.ends_with(":accounts")) {
                &budgets_key
            } else {
                &accounts_key
            };
            if !needed.is_empty() {
                let (status, code) = call(&app, &nobody, op, path, Some(key)).await;
                check(
                    status == StatusCode::FORBIDDEN
                        && code == "insufficient_scope"
                        && op.lists("403", "insufficient_scope"),
                    op,
                    format!("a key without {needed:?} got {status} {code}"),
                );
            }
        } else {
            check(
                !op.lists("403", "insufficient_scope"),
                op,
                "lists `insufficient_scope` but takes no key".into(),
            );
        }

        // A signed-in non-admin, on the operations that list `admin_required` or live under
        // /admin (others are not called with a session here: their handlers would run).
        let admin = op.path.starts_with("/api/v1/admin/");
        check(
            op.lists("403", "admin_required") == admin,
            op,
            "`admin_required` is listed on the /admin operations, only there".into(),
        );
        if admin {
            admin_ops += 1;
            let (status, code) = call(&app, &app.client, op, path, None).await;
            check(
                status == StatusCode::FORBIDDEN && code == "admin_required",
                op,
                format!("a non-admin session got {status} {code}"),
            );
        }

        // A member who is not an owner, in the shared workspace: `forbidden` exactly where the
        // document lists it.
        let in_workspace = op
            .path
            .starts_with(&format!("/api/v1/workspaces/{workspace}"));
        if in_workspace || op.takes_workspace_id {
            let path = if in_workspace {
                path.clone()
            } else {
                format!("{path}?workspaceId={workspace}")
            };
            let (status, code) = call(&app, &member, op, &path, None).await;
            let forbidden = status == StatusCode::FORBIDDEN && code == "forbidden";
            owner_ops += usize::from(forbidden);
            check(
                forbidden == op.lists("403", "forbidden"),
                op,
                format!(
                    "a member got {status} {code}; 403 says {:?}",
                    op.description("403")
                ),
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        admin_ops >= 5 && owner_ops >= 5,
        "{admin_ops} admin, {owner_ops} owner operations"
    );
}

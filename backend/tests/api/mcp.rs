//! `/mcp` at the HTTP level: who gets in, what each key sees, tool errors, dry runs,
//! idempotent pushes, bad input. The official MCP SDKs drive it as clients in
//! `tests/mcp/` (run by `scripts/test`).

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{cash_account, connect_and_sync, create_key, error_of, TestApp};

const ACCEPT: &str = "application/json, text/event-stream";

/// One JSON-RPC request to `/mcp` with `key`: (status, body).
pub async fn rpc(app: &TestApp, key: &str, method: &str, params: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/mcp"))
        .bearer_auth(key)
        .header(header::ACCEPT, ACCEPT)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `tools/call`'s result.
pub async fn call(app: &TestApp, key: &str, tool: &str, arguments: Value) -> Value {
    let (status, body) = rpc(
        app,
        key,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn keys(app: &TestApp) -> (String, String) {
    app.signed_in_user("agent@example.com").await;
    let (_, read) = create_key(
        app,
        json!({"name": "Reader", "scopes": ["read:accounts", "read:transactions", "read:budgets", "read:insights"]}),
    )
    .await;
    let (_, write) = create_key(
        app,
        json!({"name": "Writer", "scopes": ["write:accounts", "write:transactions", "write:budgets", "read:insights", "write:connections"]}),
    )
    .await;
    (read, write)
}

#[tokio::test]
async fn only_keys_get_in() {
    let app = TestApp::spawn().await;
    app.signed_in_user("agent@example.com").await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    // No key: 401 with a challenge; a browser session is not enough.
    for client in [reqwest::Client::new(), app.client.clone()] {
        let res = client
            .post(app.url("/mcp"))
            .header(header::ACCEPT, ACCEPT)
            .header(header::ORIGIN, app.url(""))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(error_of(res).await.0, "missing_key");
    }
    let res = reqwest::Client::new()
        .post(app.url("/mcp"))
        .bearer_auth("pfn_test_nonsense")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(res).await.0, "malformed_key");
    // Stateless: no stream to GET, no session to DELETE.
    let (_, key) = create_key(&app, json!({"name": "A", "scopes": ["read:accounts"]})).await;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let res = reqwest::Client::new()
            .request(method, app.url("/mcp"))
            .bearer_auth(&key)
            .header(header::ACCEPT, ACCEPT)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error_of(res).await.0, "method_not_allowed");
    }
}

#[tokio::test]
async fn a_key_sees_and_calls_only_what_its_scopes_allow() {
    let app = TestApp::spawn().await;
    let (read, write) = keys(&app).await;
    let (status, listed) = rpc(&app, &read, "tools/list", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let reader = tool_names(&listed);
    assert_eq!(
        reader,
        [
            "whoami",
            "list_accounts",
            "list_transactions",
            "get_transaction",
            "list_budgets",
            "get_insights"
        ]
    );
    let writer = tool_names(&rpc(&app, &write, "tools/list", json!({})).await.1);
    for tool in [
        "push_transactions",
        "update_transaction",
        "set_budget",
        "start_sync",
        "list_connections",
        "get_sync",
    ] {
        assert!(writer.contains(&tool.to_string()), "{tool} in {writer:?}");
    }
    // Every tool has an object input schema that refuses unknown arguments, an output
    // schema, and the hints of what it does.
    for tool in rpc(&app, &write, "tools/list", json!({})).await.1["result"]["tools"]
        .as_array()
        .unwrap()
    {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["inputSchema"]["additionalProperties"], false, "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        let hints = &tool["annotations"];
        let writes = [
            "push_transactions",
            "update_transaction",
            "set_budget",
            "start_sync",
        ]
        .contains(&tool["name"].as_str().unwrap());
        assert_eq!(hints["readOnlyHint"], !writes, "{tool}");
    }
    // A call outside the key's scopes is a tool error naming the scope it needs.
    let refused = call(
        &app,
        &read,
        "push_transactions",
        json!({"transactions": []}),
    )
    .await;
    assert_eq!(refused["isError"], true);
    assert!(text(&refused).contains("write:transactions"), "{refused}");
    // …and it is audited as a route's refusal is (`key.denied`, written off the request path).
    let mut denied = Value::Null;
    for _ in 0..100 {
        denied = app.get_json("/api/v1/audit-log?type=key.denied").await;
        if !denied["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(denied["items"].as_array().unwrap().len(), 1, "{denied}");
    let who = call(&app, &read, "whoami", json!({})).await;
    assert_eq!(who["isError"], false, "{who}");
    assert_eq!(who["structuredContent"]["auth"], "key");
    assert_eq!(
        serde_json::from_str::<Value>(&text(&who)).unwrap(),
        who["structuredContent"]
    );
}

#[tokio::test]
async fn pushes_are_idempotent_and_dry_runs_change_nothing() {
    let app = TestApp::spawn().await;
    let (read, write) = keys(&app).await;
    let account = cash_account(&app).await;
    let item = |id: &str, amount: &str| {
        json!({"accountId": account, "externalId": id, "amount": {"amount": amount, "currency": "BHD"},
               "description": "Lulu", "bookedAt": "2026-11-20T10:00:00Z", "category": "groceries"})
    };
    let batch = json!([item("a", "-1.250"), item("b", "-3.500")]);
    // A dry run answers what would be created, and stores nothing.
    let dry = call(
        &app,
        &write,
        "push_transactions",
        json!({"transactions": batch, "dryRun": true}),
    )
    .await;
    assert_eq!(dry["isError"], false, "{dry}");
    assert_eq!(
        dry["structuredContent"]["created"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(dry.to_string().contains("Dry run"));
    let listed = call(&app, &read, "list_transactions", json!({})).await;
    assert_eq!(listed["structuredContent"]["items"], json!([]));

    let args = json!({"transactions": batch, "idempotencyKey": "import-1"});
    let first = call(&app, &write, "push_transactions", args.clone()).await;
    let again = call(&app, &write, "push_transactions", args).await;
    assert_eq!(first["structuredContent"], again["structuredContent"]);
    let listed = call(&app, &read, "list_transactions", json!({"limit": 10})).await;
    let items = listed["structuredContent"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 2, "{listed}");
    // The same key with other arguments is refused, and nothing is stored.
    let other = call(
        &app,
        &write,
        "push_transactions",
        json!({"transactions": [item("c", "-1.000")], "idempotencyKey": "import-1"}),
    )
    .await;
    assert_eq!(other["isError"], true);
    assert!(text(&other).contains("idempotency_key_mismatch"), "{other}");

    // Overlays: a dry run shows the transaction as it would be; the real call changes it.
    let first_item = items.iter().find(|t| t["externalId"] == "a").unwrap();
    let id = first_item["id"].as_str().unwrap();
    let dry = call(
        &app,
        &write,
        "update_transaction",
        json!({"id": id, "category": "dining", "dryRun": true}),
    )
    .await;
    assert_eq!(
        dry["structuredContent"]["transaction"]["category"],
        "dining"
    );
    let now = call(&app, &read, "get_transaction", json!({"id": id})).await;
    assert_eq!(
        now["structuredContent"]["transaction"]["category"],
        "groceries"
    );
    call(
        &app,
        &write,
        "update_transaction",
        json!({"id": id, "category": "dining"}),
    )
    .await;
    let now = call(&app, &read, "get_transaction", json!({"id": id})).await;
    assert_eq!(
        now["structuredContent"]["transaction"]["category"],
        "dining"
    );

    // set_budget without an id replaces the budget for the same category and month.
    let limit = |amount: &str| json!({"amount": amount, "currency": "BHD"});
    let set =
        |amount: &str| json!({"category": "dining", "month": "2026-11", "limit": limit(amount)});
    let first = call(&app, &write, "set_budget", set("100")).await;
    assert_eq!(first["isError"], false, "{first}");
    let dry = call(
        &app,
        &write,
        "set_budget",
        json!({"dryRun": true, "category": "dining", "month": "2026-11", "limit": limit("80")}),
    )
    .await;
    assert_eq!(
        dry["structuredContent"]["budget"]["limit"]["amount"], "80.000",
        "{dry}"
    );
    let second = call(&app, &write, "set_budget", set("120")).await;
    assert_eq!(
        first["structuredContent"]["budget"]["id"],
        second["structuredContent"]["budget"]["id"]
    );
    // Another currency is another budget.
    let usd = json!({"category": "dining", "month": "2026-11",
        "limit": {"amount": "30", "currency": "USD"}});
    let usd = call(&app, &write, "set_budget", usd).await;
    assert_ne!(
        usd["structuredContent"]["budget"]["id"],
        first["structuredContent"]["budget"]["id"]
    );
    let budgets = call(&app, &read, "list_budgets", json!({})).await;
    let mut budgets = budgets["structuredContent"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(budgets.len(), 2);
    budgets.retain(|b| b["limit"]["currency"] == "BHD");
    assert_eq!(budgets[0]["limit"]["amount"], "120.000");
    assert_eq!(budgets[0]["spent"]["amount"], "1.250", "{budgets:?}");

    let spending = call(
        &app,
        &read,
        "get_insights",
        json!({"kind": "spending", "from": "2026-11-01", "to": "2026-12-01"}),
    )
    .await;
    assert_eq!(spending["isError"], false, "{spending}");
    assert!(spending.to_string().contains("groceries"), "{spending}");
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let app = TestApp::spawn().await;
    let (read, _) = keys(&app).await;
    // Unknown tools are JSON-RPC errors; arguments of the wrong shape are tool errors that
    // say what is wrong.
    let (status, unknown) = rpc(
        &app,
        &read,
        "tools/call",
        json!({"name": "drop_tables", "arguments": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    for (tool, args, says) in [
        (
            "list_transactions",
            json!({"limit": "ten"}),
            "`limit` must be an integer",
        ),
        ("list_transactions", json!({"limit": 0}), "limit"),
        ("list_transactions", json!({"from": "yesterday"}), "from"),
        (
            "list_transactions",
            json!({"minAmount": "1e9"}),
            "minAmount",
        ),
        (
            "list_transactions",
            json!({"colour": "red"}),
            "`colour` is not an argument",
        ),
        (
            "list_transactions",
            json!({"workspaceId": "x"}),
            "`workspaceId` is not an argument",
        ),
        ("get_transaction", json!({}), "`id` is required"),
        ("list_transactions", json!({"q": "a\u{0}b"}), "NUL"),
        ("get_transaction", json!({"id": "\u{0}"}), "NUL"),
        ("get_transaction", json!({"id": "../../admin"}), "not_found"),
        ("get_transaction", json!({"id": 5}), "`id` must be a string"),
        (
            "get_insights",
            json!({"kind": "horoscope"}),
            "`kind` must be one of",
        ),
        (
            "get_insights",
            json!({"kind": "spending", "from": "2026-12-01", "to": "2026-11-01"}),
            "from",
        ),
    ] {
        let result = call(&app, &read, tool, args.clone()).await;
        assert_eq!(result["isError"], true, "{tool} {args}: {result}");
        assert!(text(&result).contains(says), "{tool} {args}: {result}");
    }
    // Arguments that are not an object are a JSON-RPC error.
    let (_, not_object) = rpc(
        &app,
        &read,
        "tools/call",
        json!({"name": "whoami", "arguments": [1, 2]}),
    )
    .await;
    assert!(not_object["error"]["code"].is_i64(), "{not_object}");

    // HTTP-level refusals come in the one error shape.
    let post = || {
        reqwest::Client::new()
            .post(app.url("/mcp"))
            .bearer_auth(&read)
    };
    let res = post()
        .header(header::ACCEPT, "application/json")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(error_of(res).await.0, "not_acceptable");
    let res = post()
        .header(header::ACCEPT, ACCEPT)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(res).await.0, "bad_request");
    // A member JSON-RPC does not define is refused, as any body's unknown field is.
    let res = post()
        .header(header::ACCEPT, ACCEPT)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list_transactions", "arguments": {"q": "x".repeat(3 * 1024 * 1024)}}});
    let res = post()
        .header(header::ACCEPT, ACCEPT)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(res).await.0, "payload_too_large");
}

#[tokio::test]
async fn the_key_limits_and_revocation_hold() {
    let app = TestApp::spawn().await;
    app.signed_in_user("agent@example.com").await;
    let (id, key) = create_key(&app, json!({"name": "A", "scopes": ["read:accounts"]})).await;
    let res = reqwest::Client::new()
        .post(app.url("/mcp"))
        .bearer_auth(&key)
        .header(header::ACCEPT, ACCEPT)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_accounts", "arguments": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for h in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(res.headers().contains_key(h), "{h}");
    }
    let remaining: i64 = res.headers()["ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One tool call spends one token: its in-process call to the route spends none.
    let res = reqwest::Client::new()
        .post(app.url("/mcp"))
        .bearer_auth(&key)
        .header(header::ACCEPT, ACCEPT)
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .send()
        .await
        .unwrap();
    let after: i64 = res.headers()["ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(after, remaining - 1);

    assert_eq!(
        app.delete(&format!("/api/v1/keys/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, body) = rpc(&app, &key, "tools/list", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "key_revoked");
}

#[tokio::test]
async fn bank_tools_start_and_follow_a_sync() {
    let app = TestApp::spawn().await;
    let (read, write) = keys(&app).await;
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    let connection = connect_and_sync(&app, &sandbox, "BLUE").await;
    let listed = call(&app, &write, "list_connections", json!({})).await;
    assert_eq!(
        listed["structuredContent"]["items"][0]["id"],
        connection.as_str(),
        "{listed}"
    );
    // The read-only key has no bank tools at all.
    let refused = call(&app, &read, "start_sync", json!({"id": connection})).await;
    assert!(text(&refused).contains("write:connections"), "{refused}");
    let started = call(&app, &write, "start_sync", json!({"id": connection})).await;
    assert_eq!(started["isError"], false, "{started}");
    let sync_id = started["structuredContent"]["syncId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut status = Value::Null;
    for _ in 0..600 {
        let sync = call(&app, &write, "get_sync", json!({"id": sync_id})).await;
        status = sync["structuredContent"]["sync"]["status"].clone();
        if status == "succeeded" || status == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "succeeded");
    // Bank transactions arrive through the same tools.
    let page = call(&app, &write, "list_transactions", json!({"limit": 5})).await;
    assert_eq!(
        page["structuredContent"]["items"].as_array().unwrap().len(),
        5,
        "{page}"
    );
    let history = call(
        &app,
        &write,
        "get_insights",
        json!({"kind": "balance-history"}),
    )
    .await;
    assert_eq!(history["isError"], false, "{history}");
    let salary = call(&app, &write, "get_insights", json!({"kind": "salary"})).await;
    assert_eq!(salary["isError"], false, "{salary}");
}

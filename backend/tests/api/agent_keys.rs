//! Agent-safe keys: where a key may be used from (allowlists, behind proxies, IPv4 and IPv6),
//! which accounts it reaches (failing closed), how much (quotas, per-key rate limits), what it
//! did (usage per day) and who hears about it (new-network and expiry mails); edits that widen
//! a key need step-up.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    cash_account, clear_of_midnight, create_key, error_of, with_key, TestApp, PASSWORD,
};

/// Proxies the tests pretend to be behind: requests carry the client in `X-Forwarded-For`.
const BEHIND_PROXY: &[(&str, &str)] = &[("PFN_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128")];

/// `GET path` with the key, as if from `from` (an `X-Forwarded-For` value).
async fn from(app: &TestApp, key: &str, path: &str, from: &str) -> reqwest::Response {
    Client::new()
        .get(app.url(path))
        .bearer_auth(key)
        .header("X-Forwarded-For", from)
        .send()
        .await
        .unwrap()
}

async fn send(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    Client::new()
        .request(method, app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn patch_key(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/keys/{id}")))
        .header("Origin", &app.origin)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn push_body(account: &str, external: &str, amount: &str) -> Value {
    json!({"transactions": [{"accountId": account, "externalId": external,
        "amount": {"amount": amount, "currency": "BHD"},
        "description": "Coffee", "bookedAt": "2026-12-01T09:00:00Z", "category": "food"}]})
}

/// Ids of a page's items.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// How many audit rows of `kind` there are, once the usage writer has written at least `n`
/// (it writes off the request path); waits up to 10 s.
async fn audited(app: &TestApp, kind: &str, n: usize) -> usize {
    for _ in 0..200 {
        let got = app
            .audit_kinds()
            .await
            .iter()
            .filter(|k| *k == kind)
            .count();
        if got >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} {kind} audit rows");
}

async fn count(app: &TestApp, sql: &str, key_id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(key_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_allowlist_admits_its_addresses_only_v4_and_v6_behind_proxies() {
    let app = TestApp::spawn_with(BEHIND_PROXY).await;
    clear_of_midnight(&app);
    app.signed_in_user("allow@example.com").await;
    let (id, key) = create_key(
        &app,
        json!({"name": "office", "scopes": ["read:accounts"],
               "allowedIps": ["203.0.113.0/24", "2001:db8:abcd::/48", "198.51.100.7"]}),
    )
    .await;
    let who = |v: &Value| v["allowedIps"].clone();
    let res = from(&app, &key, "/api/v1/whoami", "203.0.113.9").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        who(&res.json().await.unwrap()),
        json!(["198.51.100.7/32", "2001:db8:abcd::/48", "203.0.113.0/24"])
    );
    for ok in [
        "203.0.113.250",
        "198.51.100.7",
        "2001:db8:abcd:42::1",
        "::ffff:203.0.113.1",
        // The right-most address that is not a trusted proxy is the client.
        "192.0.2.1, 203.0.113.5, 127.0.0.1",
    ] {
        let res = from(&app, &key, "/api/v1/accounts", ok).await;
        assert_eq!(res.status(), StatusCode::OK, "{ok}");
    }
    for refused in [
        "198.51.100.8",
        "203.0.114.1",
        "2001:db8:abce::1",
        // A client cannot put an allowed address in front of its own.
        "203.0.113.5, 192.0.2.1",
    ] {
        let res = from(&app, &key, "/api/v1/accounts", refused).await;
        let (code, body) = error_of(res).await;
        assert_eq!(code, "ip_not_allowed", "{refused}: {body}");
    }
    // Straight from 127.0.0.1 (no header): not on the list either.
    let (code, _) = error_of(with_key(&app, &key, "/api/v1/accounts").await).await;
    assert_eq!(code, "ip_not_allowed");
    // A refused address spends no rate-limit token and is audited.
    audited(&app, "key.denied", 1).await;
    backend::keys::usage::flush_counts(&app.state)
        .await
        .unwrap();
    let usage: Value = app.get_json(&format!("/api/v1/keys/{id}/usage")).await;
    let today = usage["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["ok"], 6, "{usage}");
    assert_eq!(today["denied"]["ip"], 5, "{usage}");

    // Without trusted proxies the header is ignored: the socket's address is judged.
    let direct = TestApp::spawn().await;
    direct.signed_in_user("direct@example.com").await;
    let (_, key) = create_key(
        &direct,
        json!({"name": "local", "scopes": ["read:accounts"], "allowedIps": ["127.0.0.1"]}),
    )
    .await;
    assert_eq!(
        from(&direct, &key, "/api/v1/accounts", "198.51.100.1")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn limits_are_validated() {
    let app = TestApp::spawn().await;
    app.signed_in_user("limits-422@example.com").await;
    let other = TestApp::spawn().await;
    other.signed_in_user("elsewhere@example.com").await;
    let foreign = cash_account(&other).await;
    let mine = cash_account(&app).await;
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "bad", "scopes": ["read:accounts"],
                   "allowedIps": ["10.0.0.0/33", "example.com", "1.2.3.4"],
                   "accountIds": [mine, foreign],
                   "quota": {"limit": 0, "refill": "daily"},
                   "rateLimit": {"perMinute": 0, "burst": 10001}}),
        )
        .await;
    let (code, fields) = error_of(res).await;
    assert_eq!(code, "validation_failed");
    for f in [
        "allowedIps[0]",
        "allowedIps[1]",
        "accountIds[1]",
        "quota.limit",
        "rateLimit.perMinute",
        "rateLimit.burst",
    ] {
        assert!(fields[f].is_string(), "{f}: {fields}");
    }
    assert!(fields["allowedIps[2]"].is_null() && fields["accountIds[0]"].is_null());
    for (body, field) in [
        (json!({"allowedIps": []}), "allowedIps"),
        (json!({"accountIds": []}), "accountIds"),
        (json!({"quota": {"limit": 5, "refill": "hourly"}}), "quota"),
        (json!({"allowedIps": vec!["10.0.0.1"; 101]}), "allowedIps"),
    ] {
        let mut req = json!({"name": "bad", "scopes": ["read:accounts"]});
        req.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let res = app.post("/api/v1/keys", req).await;
        assert!(
            matches!(res.status().as_u16(), 400 | 422),
            "{field}: {}",
            res.status()
        );
    }
    // A usage range is checked too.
    let (id, _) = create_key(&app, json!({"name": "ok", "scopes": ["read:accounts"]})).await;
    for q in [
        "from=2026-13-01",
        "from=2026-12-05&to=2026-12-01",
        "from=2025-01-01&to=2026-12-01",
    ] {
        let res = app.get(&format!("/api/v1/keys/{id}/usage?{q}")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
}

#[tokio::test]
async fn a_key_limited_to_accounts_sees_and_writes_only_those_and_fails_closed() {
    let app = TestApp::spawn().await;
    app.signed_in_user("reach@example.com").await;
    let a = cash_account(&app).await;
    let b = cash_account(&app).await;
    let pushed = |v: Value| v["created"][0]["id"].as_str().unwrap().to_string();
    let ta = pushed(
        app.post("/api/v1/transactions", push_body(&a, "a-1", "-2.000"))
            .await
            .json()
            .await
            .unwrap(),
    );
    let tb = pushed(
        app.post("/api/v1/transactions", push_body(&b, "b-1", "-7.000"))
            .await
            .json()
            .await
            .unwrap(),
    );
    let (_, key) = create_key(
        &app,
        json!({"name": "groceries card", "accountIds": [a],
               "scopes": ["write:accounts", "write:transactions", "read:insights",
                          "write:budgets", "write:connections", "write:webhooks"]}),
    )
    .await;
    let get = |path: String| {
        let key = key.clone();
        let app = &app;
        async move { with_key(app, &key, &path).await }
    };
    let accounts: Value = get("/api/v1/accounts".into()).await.json().await.unwrap();
    assert_eq!(ids(&accounts), vec![a.clone()]);
    let txs: Value = get("/api/v1/transactions".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&txs), vec![ta.clone()]);
    let txs: Value = get(format!("/api/v1/transactions?accountId={b}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(ids(&txs).is_empty());
    assert_eq!(
        get(format!("/api/v1/transactions/{tb}")).await.status(),
        404
    );
    assert_eq!(
        get(format!("/api/v1/transactions/{ta}")).await.status(),
        200
    );
    use reqwest::Method;
    // Another account's transactions and the account itself do not exist for the key.
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/transactions/{tb}"),
            json!({"note": "x"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/transactions/{tb}"),
            json!(null),
        ),
        (
            Method::PATCH,
            format!("/api/v1/accounts/{b}"),
            json!({"name": "mine now"}),
        ),
    ] {
        let res = send(&app, &key, method, &path, body).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = send(
        &app,
        &key,
        Method::POST,
        "/api/v1/transactions",
        push_body(&b, "b-2", "-1.000"),
    )
    .await;
    let (code, body) = error_of(res).await;
    assert_eq!(code, "validation_failed", "{body}");
    let res = send(
        &app,
        &key,
        Method::POST,
        "/api/v1/transactions",
        push_body(&a, "a-2", "-3.000"),
    )
    .await;
    assert_eq!(res.status(), 200);
    // Insights count the key's accounts only; another account is not found.
    let spending: Value = get("/api/v1/insights/spending".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        spending["currencies"][0]["total"]["amount"], "5.000",
        "{spending}"
    );
    assert_eq!(
        get(format!("/api/v1/insights/spending?accountId={b}"))
            .await
            .status(),
        404
    );
    // The change feed carries the key's accounts only, removals included.
    app.delete(&format!("/api/v1/transactions/{tb}")).await;
    let feed: Value = get("/api/v1/transactions/changes".into())
        .await
        .json()
        .await
        .unwrap();
    let all: Vec<&Value> = ["added", "modified", "removed"]
        .iter()
        .flat_map(|k| feed[k].as_array().unwrap())
        .collect();
    assert_eq!(all.len(), 2, "{feed}");
    assert!(all.iter().all(|t| t["id"] != tb.as_str()));
    // What acts on the whole workspace is refused.
    for (method, path, body) in [
        (Method::GET, "/api/v1/budgets", json!(null)),
        (
            Method::POST,
            "/api/v1/budgets",
            json!({"category": "food", "month": "2026-12", "limit": {"amount": "5.000", "currency": "BHD"}}),
        ),
        (
            Method::POST,
            "/api/v1/accounts",
            json!({"name": "New", "currency": "BHD"}),
        ),
        (Method::GET, "/api/v1/insights/salary", json!(null)),
        (Method::GET, "/api/v1/banks/connections", json!(null)),
        (Method::GET, "/api/v1/webhooks", json!(null)),
    ] {
        let res = send(&app, &key, method, path, body).await;
        let (code, body) = error_of(res).await;
        assert_eq!(code, "account_restricted", "{path}: {body}");
    }
    // MCP shows the key no tool that acts on the whole workspace.
    let res = Client::new()
        .post(app.url("/mcp"))
        .bearer_auth(&key)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    let tools: Value = res.json().await.unwrap();
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for shown in [
        "list_transactions",
        "push_transactions",
        "get_insights",
        "whoami",
    ] {
        assert!(names.contains(&shown), "{shown} not in {names:?}");
    }
    for hidden in [
        "list_budgets",
        "set_budget",
        "list_connections",
        "start_sync",
    ] {
        assert!(!names.contains(&hidden), "{hidden} in {names:?}");
    }
    // whoami says so.
    let me: Value = get("/api/v1/whoami".into()).await.json().await.unwrap();
    assert_eq!(me["accountIds"], json!([a]));

    // Its only account deleted: the key reaches nothing, never the whole workspace.
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/accounts/{a}?deleteTransactions=true")))
        .header("Origin", &app.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let accounts: Value = get("/api/v1/accounts".into()).await.json().await.unwrap();
    assert!(ids(&accounts).is_empty(), "{accounts}");
    let txs: Value = get("/api/v1/transactions".into())
        .await
        .json()
        .await
        .unwrap();
    assert!(ids(&txs).is_empty(), "{txs}");
    let spending: Value = get("/api/v1/insights/spending".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(spending["currencies"], json!([]), "{spending}");
    let (code, _) = error_of(get("/api/v1/budgets".into()).await).await;
    assert_eq!(code, "account_restricted");
}

#[tokio::test]
async fn a_quota_counts_allowed_requests_only_resets_at_the_refill_and_outlives_a_restart() {
    let app = TestApp::spawn().await;
    app.signed_in_user("quota@example.com").await;
    let (id, key) = create_key(
        &app,
        json!({"name": "metered", "scopes": ["read:accounts"],
               "quota": {"limit": 3, "refill": "daily"},
               "rateLimit": {"perMinute": 60, "burst": 5}}),
    )
    .await;
    // A refusal (scope) spends nothing.
    let (code, _) = error_of(with_key(&app, &key, "/api/v1/budgets").await).await;
    assert_eq!(code, "insufficient_scope");
    for left in [2, 1, 0] {
        let me: Value = with_key(&app, &key, "/api/v1/whoami")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["quota"]["remaining"], left, "{me}");
        assert_eq!(me["quota"]["limit"], 3);
        assert_eq!(me["rateLimit"], json!({"perMinute": 60, "burst": 5}));
    }
    let res = with_key(&app, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = app.state.clock.now();
    let midnight = (now / 86_400 + 1) * 86_400;
    assert!((wait - (midnight - now)).abs() <= 1, "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exhausted");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("T00:00:00Z"),
        "{body}"
    );
    let listed: Value = app.get_json(&format!("/api/v1/keys/{id}")).await;
    assert_eq!(listed["key"]["quota"]["remaining"], 0, "{listed}");

    // The database holds it: a restarted server (fresh caches and limiter) agrees.
    let app = app.restart_with(&[]).await;
    assert_eq!(with_key(&app, &key, "/api/v1/whoami").await.status(), 429);
    // At 00:00 UTC the count is reset to the limit, not added to.
    app.clock.advance(midnight - now + 1);
    let me: Value = with_key(&app, &key, "/api/v1/whoami")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["quota"]["remaining"], 2, "{me}");
    assert_eq!(
        count(
            &app,
            "select quota_remaining from api_keys where id = $1",
            &id
        )
        .await,
        2
    );
}

#[tokio::test]
async fn rate_limited_requests_do_not_spend_quota_and_a_key_has_its_own_rate() {
    let app = TestApp::spawn().await;
    clear_of_midnight(&app);
    app.signed_in_user("rate@example.com").await;
    let (id, key) = create_key(
        &app,
        json!({"name": "slow", "scopes": ["read:accounts"],
               "quota": {"limit": 100, "refill": "monthly"},
               "rateLimit": {"perMinute": 1, "burst": 2}}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = with_key(&app, &key, "/api/v1/accounts").await;
        if res.status() == StatusCode::OK {
            assert_eq!(res.headers()["ratelimit-limit"], "2");
        }
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429]);
    assert_eq!(
        count(
            &app,
            "select quota_remaining from api_keys where id = $1",
            &id
        )
        .await,
        98
    );
    backend::keys::usage::flush_counts(&app.state)
        .await
        .unwrap();
    let usage: Value = app.get_json(&format!("/api/v1/keys/{id}/usage")).await;
    let days = usage["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = days.last().unwrap();
    assert_eq!(
        (today["ok"].clone(), today["rateLimited"].clone()),
        (json!(2), json!(3))
    );
    // Flushed again, counts add up rather than repeat.
    with_key(&app, &key, "/api/v1/accounts").await;
    backend::keys::usage::flush_counts(&app.state)
        .await
        .unwrap();
    backend::keys::usage::flush_counts(&app.state)
        .await
        .unwrap();
    let usage: Value = app.get_json(&format!("/api/v1/keys/{id}/usage")).await;
    assert_eq!(usage["days"][29]["rateLimited"], 4, "{usage}");
}

#[tokio::test]
async fn widening_a_key_needs_step_up_and_narrowing_applies_at_once() {
    let app = TestApp::spawn_with(BEHIND_PROXY).await;
    app.signed_in_user("edit@example.com").await;
    let a = cash_account(&app).await;
    let b = cash_account(&app).await;
    let (id, key) = create_key(
        &app,
        json!({"name": "agent", "scopes": ["read:accounts"],
               "allowedIps": ["203.0.113.0/24"], "accountIds": [a, b],
               "quota": {"limit": 50, "refill": "daily"}}),
    )
    .await;
    assert_eq!(
        from(&app, &key, "/api/v1/accounts", "203.0.113.1")
            .await
            .status(),
        200
    );
    app.clock.advance(11 * 60);
    // Narrowing: no step-up, and the next request already obeys it.
    let res = patch_key(
        &app,
        &id,
        json!({"allowedIps": ["203.0.113.128/25"], "accountIds": [a]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["key"]["allowedIps"], json!(["203.0.113.128/25"]));
    let (code, _) = error_of(from(&app, &key, "/api/v1/accounts", "203.0.113.1").await).await;
    assert_eq!(code, "ip_not_allowed");
    let page: Value = from(&app, &key, "/api/v1/accounts", "203.0.113.200")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), vec![a.clone()]);
    // Widening: step-up first, and nothing changes without it.
    for widen in [
        json!({"allowedIps": null}),
        json!({"allowedIps": ["198.51.100.0/24"]}),
        json!({"accountIds": [a, b]}),
        json!({"accountIds": null}),
        json!({"quota": null}),
        json!({"quota": {"limit": 500, "refill": "daily"}}),
        json!({"name": "renamed", "accountIds": [b]}),
    ] {
        let (code, _) = error_of(patch_key(&app, &id, widen.clone()).await).await;
        assert_eq!(code, "reauth_required", "{widen}");
    }
    let now: Value = app.get_json(&format!("/api/v1/keys/{id}")).await;
    assert_eq!(now["key"]["name"], "agent");
    assert_eq!(now["key"]["accountIds"], json!([a]));
    let res = app
        .post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = patch_key(&app, &id, json!({"allowedIps": null, "accountIds": null, "quota": {"limit": 500, "refill": "monthly"}})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["key"]["quota"]["remaining"], 500);
    assert!(v["key"]["allowedIps"].is_null() && v["key"]["accountIds"].is_null());
    let page: Value = from(&app, &key, "/api/v1/accounts", "192.0.2.1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page).len(), 2);
    assert!(app
        .audit_kinds()
        .await
        .iter()
        .any(|k| k == "key.limits_changed"));
    // An empty change is refused.
    let (code, _) = error_of(patch_key(&app, &id, json!({})).await).await;
    assert_eq!(code, "validation_failed");
    // Rotation keeps the limits.
    let res = app
        .post(&format!("/api/v1/keys/{id}/rotate"), json!({}))
        .await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["key"]["quota"]["limit"], 500, "{v}");
}

#[tokio::test]
async fn a_new_network_is_mailed_at_most_daily_and_expiry_is_mailed_twice() {
    let app = TestApp::spawn_with(BEHIND_PROXY).await;
    let email = "where@example.com";
    app.signed_in_user(email).await;
    let (_, key) = create_key(
        &app,
        json!({"name": "roaming", "scopes": ["read:accounts"], "expiresInDays": 10}),
    )
    .await;
    let before = app.mails_to(email).len();
    let wait_writer = || tokio::time::sleep(std::time::Duration::from_millis(300));
    // The first network is where the key starts: no mail.
    from(&app, &key, "/api/v1/accounts", "203.0.113.5").await;
    wait_writer().await;
    assert_eq!(app.mails_to(email).len(), before);
    // Another /24: mailed, with what used it.
    from(&app, &key, "/api/v1/accounts", "198.51.100.5").await;
    let mail = app.wait_for_mail(email, before + 1).await;
    assert!(
        mail.contains("roaming") && mail.contains("198.51.100.0/24"),
        "{mail}"
    );
    // Same network again, and another new one the same day: no more mail.
    from(&app, &key, "/api/v1/accounts", "198.51.100.77").await;
    from(&app, &key, "/api/v1/accounts", "2001:db8:7::1").await;
    wait_writer().await;
    assert_eq!(app.mails_to(email).len(), before + 1);
    audited(&app, "key.new_network", 2).await;
    // A day later, a new network is mailed again.
    app.clock.advance(86_400 + 60);
    from(&app, &key, "/api/v1/accounts", "192.0.2.9").await;
    let mail = app.wait_for_mail(email, before + 2).await;
    assert!(mail.contains("192.0.2.0/24"), "{mail}");

    // Expiry: 7 days before, then 1 day before, once each (the key expires on day 10).
    app.clock.advance(2 * 86_400);
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    let mail = app.wait_for_mail(email, before + 3).await;
    assert!(
        mail.contains("expires") && mail.contains("roaming"),
        "{mail}"
    );
    app.clock.advance(6 * 86_400);
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    backend::webhooks::worker::chores(&app.state).await.unwrap();
    app.wait_for_mail(email, before + 4).await;
    wait_writer().await;
    assert_eq!(app.mails_to(email).len(), before + 4);
}

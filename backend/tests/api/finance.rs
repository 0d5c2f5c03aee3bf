//! Accounts, transaction pushes, overlays and budgets, through sessions and keys.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{create_key, error_of, with_key, TestApp};

async fn account(app: &TestApp, currency: &str) -> String {
    crate::helpers::manual_account(app, "Wallet", currency).await
}

fn item(account: &str, ext: &str, amount: &str, day: u32, category: &str) -> Value {
    json!({"accountId": account, "externalId": ext, "amount": {"amount": amount, "currency": "BHD"},
           "description": format!("purchase {ext}"), "bookedAt": format!("2026-11-{day:02}T10:00:00Z"),
           "category": category})
}

async fn key_post(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_read_only_key_can_list_but_not_push() {
    let app = TestApp::spawn().await;
    app.signed_in_user("reader@example.com").await;
    let acc = account(&app, "BHD").await;
    let (_, key) = create_key(
        &app,
        json!({"name": "reader", "scopes": ["read:transactions"]}),
    )
    .await;
    assert_eq!(
        with_key(&app, &key, "/api/v1/transactions").await.status(),
        StatusCode::OK
    );
    let res = key_post(
        &app,
        &key,
        "/api/v1/transactions",
        &json!({"transactions": [item(&acc, "t1", "-1.000", 1, "x")]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\", scope=\"write:transactions\""
    );
    let (code, fields) = error_of(res).await;
    assert_eq!(
        (code.as_str(), fields["scope"].as_str()),
        ("insufficient_scope", Some("write:transactions"))
    );
    let res = with_key(&app, &key, "/api/v1/accounts").await;
    assert_eq!(
        error_of(res).await.0,
        "insufficient_scope",
        "read:transactions does not read accounts"
    );
}

#[tokio::test]
async fn pushing_the_same_batch_twice_inserts_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    app.signed_in_user("pusher@example.com").await;
    let acc = account(&app, "BHD").await;
    let (_, key) = create_key(
        &app,
        json!({"name": "agent", "scopes": ["write:transactions"]}),
    )
    .await;
    let batch = json!({"transactions": [
        item(&acc, "a", "-12.5", 3, "groceries"),
        item(&acc, "b", "-0.125", 4, "dining"),
        item(&acc, "a", "-99.000", 5, "groceries"),
    ]});
    let first: Value = key_post(&app, &key, "/api/v1/transactions", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["created"].as_array().unwrap().len(), 2);
    assert_eq!(
        first["duplicates"][0]["externalId"], "a",
        "a repeat within a batch is a duplicate"
    );
    assert_eq!(first["duplicates"][0]["id"], first["created"][0]["id"]);
    let second: Value = key_post(&app, &key, "/api/v1/transactions", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["created"], json!([]));
    assert_eq!(second["duplicates"].as_array().unwrap().len(), 3);

    let list: Value = with_key(&app, &key, "/api/v1/transactions")
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let a = items.iter().find(|t| t["externalId"] == "a").unwrap();
    assert_eq!(
        a["amount"],
        json!({"amount": "-12.500", "currency": "BHD"}),
        "BHD keeps 3 decimals; duplicates never update"
    );

    let too_many: Vec<Value> = (0..1001)
        .map(|i| item(&acc, &format!("n{i}"), "-1", 1, "x"))
        .collect();
    let res = key_post(
        &app,
        &key,
        "/api/v1/transactions",
        &json!({"transactions": too_many}),
    )
    .await;
    let (code, fields) = error_of(res).await;
    assert_eq!(
        (code.as_str(), fields["transactions"].is_string()),
        ("validation_failed", true)
    );
}

#[tokio::test]
async fn texts_with_quotes_backslashes_braces_and_null_words_come_back_as_pushed() {
    // PostgreSQL reads a push's columns as array literals (`db::array_columns`): every
    // character a literal gives meaning to must come back as sent, and match on a repeat.
    let app = TestApp::spawn().await;
    app.signed_in_user("texts@example.com").await;
    let acc = account(&app, "BHD").await;
    let (_, key) = create_key(
        &app,
        json!({"name": "agent", "scopes": ["write:transactions", "read:transactions"]}),
    )
    .await;
    let odd = [
        (
            "q\"{a,b}\\",
            "say \"hi\", {NULL} \\n\\",
            Some("NULL"),
            Some("café ☕"),
        ),
        ("NULL", "NULL", None, None),
        (
            " spaced ",
            "  two  spaces\ttab\nline  ",
            Some(" "),
            Some("\\"),
        ),
    ];
    let items: Vec<Value> = odd
        .iter()
        .map(|(ext, description, merchant, category)| {
            json!({"accountId": acc, "externalId": ext,
                   "amount": {"amount": "-1.000", "currency": "BHD"},
                   "description": description, "bookedAt": "2026-11-03T10:00:00Z",
                   "merchant": merchant, "category": category})
        })
        .collect();
    let batch = json!({ "transactions": items });
    let first: Value = key_post(&app, &key, "/api/v1/transactions", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["created"].as_array().unwrap().len(), 3, "{first}");
    let again: Value = key_post(&app, &key, "/api/v1/transactions", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["duplicates"], first["created"], "the same keys match");
    let list: Value = with_key(&app, &key, "/api/v1/transactions")
        .await
        .json()
        .await
        .unwrap();
    for (ext, description, merchant, category) in odd {
        let t = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["externalId"] == ext)
            .unwrap_or_else(|| panic!("{ext:?} not listed: {list}"));
        assert_eq!(t["description"], description);
        assert_eq!(t["merchant"], json!(merchant));
        assert_eq!(t["category"], json!(category));
    }
}

#[tokio::test]
async fn one_bad_item_rejects_the_whole_batch_with_paths() {
    let app = TestApp::spawn().await;
    app.signed_in_user("strict-pusher@example.com").await;
    let acc = account(&app, "BHD").await;
    let mut bad_currency = item(&acc, "c", "-1", 1, "x");
    bad_currency["amount"]["currency"] = json!("SAR");
    let batch = json!({"transactions": [
        item(&acc, "ok", "-1", 1, "x"),
        item(&acc, "too-precise", "-1.2345", 1, "x"),
        bad_currency,
        item("no-such-account", "d", "-1", 1, "x"),
        {"accountId": acc, "externalId": "e", "amount": {"amount": "1", "currency": "BHD"}, "description": "x", "bookedAt": "yesterday"},
    ]});
    let res = app.post("/api/v1/transactions", batch).await;
    let (code, fields) = error_of(res).await;
    assert_eq!(code, "validation_failed");
    for path in [
        "transactions[1].amount.amount",
        "transactions[2].amount.currency",
        "transactions[3].accountId",
        "transactions[4].bookedAt",
    ] {
        assert!(fields[path].is_string(), "{path} missing in {fields}");
    }
    assert!(fields["transactions[2].amount.currency"]
        .as_str()
        .unwrap()
        .starts_with("currency_mismatch"));
    let list: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(list["items"], json!([]), "nothing stored");
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_other_bodies() {
    let app = TestApp::spawn().await;
    app.signed_in_user("idem@example.com").await;
    let acc = account(&app, "BHD").await;
    let body = json!({"transactions": [item(&acc, "i1", "-5", 2, "x")]});
    let send = |b: &Value| {
        app.client
            .post(app.url("/api/v1/transactions"))
            .header("Idempotency-Key", "retry-1")
            .json(b)
            .send()
    };
    let first = send(&body).await.unwrap();
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first: Value = first.json().await.unwrap();
    let again = send(&body).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "the same answer, not a duplicates report"
    );
    let other = json!({"transactions": [item(&acc, "i2", "-5", 2, "x")]});
    assert_eq!(
        error_of(send(&other).await.unwrap()).await.0,
        "idempotency_key_mismatch"
    );
    app.clock.advance(24 * 3600 + 1);
    let later: Value = send(&other).await.unwrap().json().await.unwrap();
    assert_eq!(
        later["created"].as_array().unwrap().len(),
        1,
        "keys expire after 24 hours"
    );
}

#[tokio::test]
async fn transactions_filter_page_and_keep_overlays() {
    let app = TestApp::spawn().await;
    app.signed_in_user("lister@example.com").await;
    let acc = account(&app, "BHD").await;
    let other = account(&app, "BHD").await;
    let items: Vec<Value> = (1..=5)
        .map(|d| {
            item(
                &acc,
                &format!("t{d}"),
                "-1",
                d,
                if d % 2 == 0 { "even" } else { "odd" },
            )
        })
        .collect();
    app.post("/api/v1/transactions", json!({"transactions": items}))
        .await;
    app.post(
        "/api/v1/transactions",
        json!({"transactions": [item(&other, "o1", "-2", 3, "odd")]}),
    )
    .await;

    let q = |query: &str| {
        let app = &app;
        let query = query.to_string();
        async move {
            app.get(&format!("/api/v1/transactions?{query}"))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let ext = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["externalId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ext(&q(&format!("accountId={acc}")).await),
        ["t5", "t4", "t3", "t2", "t1"],
        "newest booking first"
    );
    assert_eq!(ext(&q("category=even").await), ["t4", "t2"]);
    assert_eq!(
        ext(&q(&format!("accountId={acc}&from=2026-11-02&to=2026-11-04")).await),
        ["t3", "t2"],
        "from inclusive, to exclusive"
    );
    let page1 = q("limit=4").await;
    let page2 = q(&format!(
        "limit=4&cursor={}",
        page1["nextCursor"].as_str().unwrap()
    ))
    .await;
    assert_eq!(ext(&page1).len() + ext(&page2).len(), 6);
    assert_eq!(page2["nextCursor"], Value::Null);
    assert_eq!(
        error_of(app.get("/api/v1/transactions?from=soon").await)
            .await
            .0,
        "validation_failed"
    );

    let id = page1["items"][0]["id"].as_str().unwrap().to_string();
    let patch = |body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/transactions/{id}")))
            .json(&body)
            .send()
    };
    let res: Value = patch(
        json!({"category": "dining", "note": "team lunch", "tags": ["work"], "excluded": true}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let t = &res["transaction"];
    assert_eq!(
        (
            t["category"].as_str(),
            t["note"].as_str(),
            t["excluded"].as_bool()
        ),
        (Some("dining"), Some("team lunch"), Some(true))
    );
    assert_eq!(t["tags"], json!(["work"]));
    let res: Value = patch(json!({"category": null, "tags": null}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = &res["transaction"];
    assert_ne!(
        t["category"], "dining",
        "null clears the overlay and the source category shows again"
    );
    assert!(t["category"].is_string());
    assert_eq!(
        (t["note"].as_str(), t["tags"].clone()),
        (Some("team lunch"), json!([])),
        "absent fields are unchanged"
    );
    let res = app
        .client
        .patch(app.url("/api/v1/transactions/nope"))
        .json(&json!({"note": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "not_found");
}

#[tokio::test]
async fn budgets_count_spending_of_their_category_month_and_currency() {
    let app = TestApp::spawn().await;
    app.signed_in_user("budgeter@example.com").await;
    let acc = account(&app, "BHD").await;
    let res = app.post("/api/v1/budgets", json!({"category": "groceries", "month": "2026-11", "limit": {"amount": "150", "currency": "BHD"}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["budget"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/api/v1/transactions", json!({"transactions": [
        item(&acc, "g1", "-12.250", 3, "groceries"),
        item(&acc, "g2", "-7.750", 30, "groceries"),
        item(&acc, "refund", "5.000", 10, "groceries"),
        item(&acc, "d1", "-30.000", 10, "dining"),
        {"accountId": acc, "externalId": "dec", "amount": {"amount": "-9", "currency": "BHD"}, "description": "x",
         "bookedAt": "2026-12-01T00:00:00Z", "category": "groceries"},
    ]})).await;
    let list: Value = app.get_json("/api/v1/budgets").await;
    assert_eq!(
        list["items"][0]["spent"],
        json!({"amount": "20.000", "currency": "BHD"})
    );
    assert_eq!(
        list["items"][0]["limit"],
        json!({"amount": "150.000", "currency": "BHD"})
    );

    let dup = app.post("/api/v1/budgets", json!({"category": "groceries", "month": "2026-11", "limit": {"amount": "1", "currency": "BHD"}})).await;
    assert_eq!(error_of(dup).await.0, "budget_exists");
    let bad = app.post("/api/v1/budgets", json!({"category": "", "month": "2026-13", "limit": {"amount": "-1", "currency": "XXX"}})).await;
    let (_, fields) = error_of(bad).await;
    for f in ["category", "month", "limit.currency"] {
        assert!(fields[f].is_string(), "{f}: {fields}");
    }
    let res = app.client.put(app.url(&format!("/api/v1/budgets/{id}")))
        .json(&json!({"category": "dining", "month": "2026-11", "limit": {"amount": "40", "currency": "BHD"}}))
        .send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["budget"]["spent"]["amount"], "30.000");
    assert_eq!(
        app.delete(&format!("/api/v1/budgets/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let res = app.delete(&format!("/api/v1/budgets/{id}")).await;
    assert_eq!(error_of(res).await.0, "not_found");
}

/// Without `from`, an insight covers the 30 UTC calendar days that end with `to`'s, today's
/// so far included: a row booked 30 days ago to the hour is before it, one at the first
/// midnight after that is in it, and so is one of a minute ago.
#[tokio::test]
async fn the_default_insight_window_is_the_last_30_calendar_days() {
    use backend::clock::rfc3339;
    let app = TestApp::spawn().await;
    // Noon or later, so that "30 days ago to the hour" and the window's start differ by hours.
    let into_day = app.clock.now().rem_euclid(86_400);
    app.clock
        .advance((12 * 3600 - into_day).rem_euclid(86_400) + 3600);
    app.signed_in_user("window@example.com").await;
    let acc = account(&app, "BHD").await;
    let now = app.clock.now();
    let start = now - now.rem_euclid(86_400) - 29 * 86_400;
    let at = |ext: &str, t: i64| {
        json!({"accountId": acc, "externalId": ext, "amount": {"amount": "-1.000", "currency": "BHD"},
               "description": ext, "bookedAt": rfc3339(t), "category": "dining"})
    };
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [
                at("30-days-ago", now - 30 * 86_400),
                at("before-start", start - 1),
                at("at-start", start),
                at("a-minute-ago", now - 60),
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for kind in ["spending", "income"] {
        let insight: Value = app.get_json(&format!("/api/v1/insights/{kind}")).await;
        assert_eq!(insight["from"], rfc3339(start), "{kind}: {insight}");
        let to = backend::web::values::parse_time(insight["to"].as_str().unwrap()).unwrap();
        assert!((now..now + 5).contains(&to), "{kind}: {insight}");
        if kind == "spending" {
            assert_eq!(insight["currencies"][0]["transactionCount"], 2, "{insight}");
            assert_eq!(insight["currencies"][0]["total"]["amount"], "2.000");
        }
    }
    // With `to`, the same rule: 30 days back from a midnight is a midnight.
    let insight: Value = app
        .get_json("/api/v1/insights/spending?to=2026-12-01")
        .await;
    assert_eq!(insight["from"], "2026-11-01T00:00:00Z");
    let insight: Value = app
        .get_json("/api/v1/insights/spending?to=2026-12-01T06:00:00Z")
        .await;
    assert_eq!(insight["from"], "2026-11-02T00:00:00Z");
}

#[tokio::test]
async fn other_tenants_objects_are_not_found_for_users_and_keys() {
    let app = TestApp::spawn().await;
    app.signed_in_user("tenant-a@example.com").await;
    let acc = account(&app, "BHD").await;
    let pushed: Value = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [item(&acc, "secret", "-1", 1, "x")]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let tx_id = pushed["created"][0]["id"].as_str().unwrap().to_string();
    let budget: Value = app.post("/api/v1/budgets", json!({"category": "x", "month": "2026-11", "limit": {"amount": "1", "currency": "BHD"}})).await.json().await.unwrap();
    let budget_id = budget["budget"]["id"].as_str().unwrap().to_string();
    let a_ws = app
        .get("/api/v1/whoami")
        .await
        .json::<Value>()
        .await
        .unwrap()["workspaceId"]
        .as_str()
        .unwrap()
        .to_string();

    let b = app.other_user("tenant-b@example.com").await;
    let res = b.post(app.url("/api/v1/keys")).json(&json!({"name": "b", "scopes": ["write:transactions", "write:budgets", "write:accounts"]})).send().await.unwrap();
    let b_key = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();

    // B's session and B's key see none of A's data and cannot touch it.
    for list in [
        "/api/v1/transactions",
        "/api/v1/accounts",
        "/api/v1/budgets",
    ] {
        let v: Value = app.get_json_as(&b, list).await;
        assert_eq!(v["items"], json!([]), "{list} via session");
        let v: Value = with_key(&app, &b_key, list).await.json().await.unwrap();
        assert_eq!(v["items"], json!([]), "{list} via key");
    }
    let patch = b
        .patch(app.url(&format!("/api/v1/transactions/{tx_id}")))
        .json(&json!({"note": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(patch).await.0, "not_found");
    let del = b
        .delete(app.url(&format!("/api/v1/budgets/{budget_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(del).await.0, "not_found");
    let put = reqwest::Client::new().put(app.url(&format!("/api/v1/budgets/{budget_id}"))).bearer_auth(&b_key)
        .json(&json!({"category": "x", "month": "2026-11", "limit": {"amount": "9", "currency": "BHD"}})).send().await.unwrap();
    assert_eq!(error_of(put).await.0, "not_found");
    let push = key_post(
        &app,
        &b_key,
        "/api/v1/transactions",
        &json!({"transactions": [item(&acc, "inject", "-1", 1, "x")]}),
    )
    .await;
    assert!(
        error_of(push).await.1["transactions[0].accountId"].is_string(),
        "A's account is unknown to B"
    );
    for path in [
        format!("/api/v1/transactions?workspaceId={a_ws}"),
        format!("/api/v1/accounts?workspaceId={a_ws}"),
    ] {
        assert_eq!(
            error_of(with_key(&app, &b_key, &path).await).await.0,
            "not_found",
            "{path} via key"
        );
        assert_eq!(
            error_of(b.get(app.url(&path)).send().await.unwrap())
                .await
                .0,
            "not_found",
            "{path} via session"
        );
    }
    let mine: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(
        mine["items"][0]["note"],
        Value::Null,
        "A's transaction is untouched"
    );
}

/// The `spending` insight's total and the budget's `spent` for BHD `dining` in November 2026.
async fn november_dining(app: &TestApp) -> (String, String) {
    let insight: Value = app
        .get_json("/api/v1/insights/spending?from=2026-11-01&to=2026-12-01")
        .await;
    let total = insight["currencies"][0]["total"]["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("{insight}"))
        .to_string();
    let budgets: Value = app.get_json("/api/v1/budgets").await;
    let spent = budgets["items"][0]["spent"]["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("{budgets}"))
        .to_string();
    (total, spent)
}

/// `minor` BHD minor units (negative: money out) as the API writes them.
fn bhd(minor: &num_bigint::BigInt) -> String {
    let sign = if minor.sign() == num_bigint::Sign::Minus {
        "-"
    } else {
        ""
    };
    let digits = format!("{:04}", minor.magnitude());
    let (int, frac) = digits.split_at(digits.len() - 3);
    format!("{sign}{int}.{frac}")
}

async fn budget_for_november_dining(app: &TestApp) {
    let res = app
        .post(
            "/api/v1/budgets",
            json!({"category": "dining", "month": "2026-11",
                   "limit": {"amount": "1000000000.000", "currency": "BHD"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn amounts_beyond_a_billion_bhd_are_refused_and_sums_at_the_bound_are_exact() {
    let app = TestApp::spawn().await;
    app.signed_in_user("whale@example.com").await;
    let acc = account(&app, "BHD").await;
    budget_for_november_dining(&app).await;
    // What overflowed before: a wrapped insight total and a database overflow (500).
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [item(&acc, "huge", "-999999999999999.999", 1, "dining")]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, fields) = error_of(res).await;
    assert!(
        fields["transactions[0].amount.amount"]
            .as_str()
            .unwrap()
            .contains("10^12"),
        "{fields}"
    );
    let res = app
        .post(
            "/api/v1/budgets",
            json!({"category": "x", "month": "2026-11",
                   "limit": {"amount": "1000000000.001", "currency": "BHD"}}),
        )
        .await;
    assert!(error_of(res).await.1["limit.amount"].is_string());
    // Twelve amounts at the bound: exact totals, no overflow anywhere.
    let batch: Vec<Value> = (1..=12)
        .map(|i| item(&acc, &format!("max-{i}"), "-1000000000.000", i, "dining"))
        .collect();
    let res = app
        .post("/api/v1/transactions", json!({"transactions": batch}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (total, spent) = november_dining(&app).await;
    assert_eq!(total, "12000000000.000");
    assert_eq!(spent, "12000000000.000");
}

#[tokio::test]
async fn sums_of_random_amounts_up_to_the_bound_equal_a_big_integer_reference() {
    use num_bigint::BigInt;
    use rand::{Rng, SeedableRng};
    let app = TestApp::spawn().await;
    app.signed_in_user("random@example.com").await;
    let acc = account(&app, "BHD").await;
    budget_for_november_dining(&app).await;
    let max = shared::money::MAX_MINOR;
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let mut reference = BigInt::from(0);
    for batch in 0..3 {
        let items: Vec<Value> = (0..400)
            .map(|i| {
                // Half at or next to the bound, half anywhere below it; all money out.
                let minor: i64 = if i % 2 == 0 {
                    max - rng.gen_range(0..1000)
                } else {
                    rng.gen_range(1..=max)
                };
                reference += BigInt::from(minor);
                let amount = bhd(&BigInt::from(-minor));
                item(
                    &acc,
                    &format!("r{batch}-{i}"),
                    &amount,
                    1 + (i % 28) as u32,
                    "dining",
                )
            })
            .collect();
        let res = app
            .post("/api/v1/transactions", json!({"transactions": items}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let (total, spent) = november_dining(&app).await;
        assert_eq!(total, bhd(&reference), "the insight after batch {batch}");
        assert_eq!(spent, bhd(&reference), "the budget after batch {batch}");
    }
}

#[tokio::test]
async fn rows_stored_beyond_the_bound_before_it_existed_still_sum_exactly() {
    use num_bigint::BigInt;
    let app = TestApp::spawn().await;
    app.signed_in_user("legacy@example.com").await;
    let acc = account(&app, "BHD").await;
    budget_for_november_dining(&app).await;
    let who: Value = app.get_json("/api/v1/whoami").await;
    let workspace = who["workspaceId"].as_str().unwrap();
    // Twelve pushes of -999999999999999.999 BHD, as the API took them before the bound: their
    // sum is far beyond i64, which wrapped the insight and overflowed the budget's SQL sum.
    let minor: i64 = -999_999_999_999_999_999;
    for i in 0..12 {
        sqlx::query(
            "insert into transactions (id, workspace_id, account_id, external_id, amount_minor, currency,
                 description, booked_at, category, created_at, updated_at)
             values ($1, $2, $3, $4, $5, 'BHD', 'legacy', $6, 'dining', 0, 0)",
        )
        .bind(format!("legacy-{i}"))
        .bind(workspace)
        .bind(&acc)
        .bind(format!("legacy-{i}"))
        .bind(minor)
        .bind(1_793_534_400_i64 + i) // 2026-11-01T12:00:00Z
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
    // The daily totals are built from such rows once, by the migration's maintenance task.
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    backend::db::finance::rollups::rebuild(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let reference = BigInt::from(minor) * 12;
    assert!(-&reference > BigInt::from(i64::MAX));
    let (total, spent) = november_dining(&app).await;
    assert_eq!(total, bhd(&-&reference));
    assert_eq!(spent, bhd(&-&reference));
}

#[tokio::test]
async fn one_transaction_is_read_and_a_pushed_one_deleted_but_not_a_banks() {
    let app = TestApp::spawn().await;
    app.signed_in_user("one-tx@example.com").await;
    let acc = account(&app, "BHD").await;
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [item(&acc, "a", "-4.250", 3, "dining")]}),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["created"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, reader) = create_key(&app, json!({"name": "r", "scopes": ["read:transactions"]})).await;
    let res = with_key(&app, &reader, &format!("/api/v1/transactions/{id}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let one: Value = res.json().await.unwrap();
    assert_eq!(
        one["transaction"]["amount"],
        json!({"amount": "-4.250", "currency": "BHD"})
    );
    assert_eq!(one["transaction"]["externalId"], "a");
    let list: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(
        list["items"][0], one["transaction"],
        "the same view as the list"
    );
    assert!(one["transaction"]["updatedAt"].is_string());

    // Reading is not deleting; another workspace's id is not found.
    let res = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/transactions/{id}")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "insufficient_scope");
    let stranger = app.other_user("not-mine@example.com").await;
    let res = stranger
        .get(app.url(&format!("/api/v1/transactions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = stranger
        .delete(app.url(&format!("/api/v1/transactions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    assert_eq!(
        app.delete(&format!("/api/v1/transactions/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/v1/transactions/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/api/v1/transactions/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let list: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(list["items"], json!([]));
    // Pushed again, it is new (not a duplicate of what was deleted).
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [item(&acc, "a", "-4.250", 3, "dining")]}),
        )
        .await;
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["created"].as_array().unwrap().len(), 1);
    assert_ne!(again["created"][0]["id"], json!(id));

    // A bank's transaction stays: its sync would bring it back.
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    crate::helpers::connect_and_sync(&app, &sandbox, "BLUE").await;
    let list: Value = app.get_json("/api/v1/transactions?limit=200").await;
    let synced = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["accountId"] != json!(acc))
        .expect("a synced transaction");
    let res = app
        .delete(&format!(
            "/api/v1/transactions/{}",
            synced["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(error_of(res).await.0, "bank_transaction");
}

#[tokio::test]
async fn accounts_are_renamed_and_manual_ones_deleted_with_their_transactions_on_request() {
    let app = TestApp::spawn().await;
    app.signed_in_user("accounts-edit@example.com").await;
    let acc = account(&app, "BHD").await;
    let patch = |body: Value| {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/v1/accounts/{acc}")),
        );
        async move { client.patch(url).json(&body).send().await.unwrap() }
    };
    let res = patch(json!({"name": " Household cash ", "kind": "savings"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["account"]["name"], "Household cash");
    assert_eq!(body["account"]["kind"], "savings");
    assert_eq!(body["account"]["currency"], "BHD");
    let res = patch(json!({"kind": "cash"})).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (
            body["account"]["name"].as_str(),
            body["account"]["kind"].as_str()
        ),
        (Some("Household cash"), Some("cash"))
    );
    for (bad, field) in [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"kind": "yacht"}), "kind"),
    ] {
        let (code, fields) = error_of(patch(bad.clone()).await).await;
        assert_eq!(code, "validation_failed", "{bad}");
        assert!(fields[field].is_string(), "{bad}: {fields}");
    }
    let (_, reader) = create_key(&app, json!({"name": "r", "scopes": ["read:accounts"]})).await;
    let res = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/accounts/{acc}")))
        .bearer_auth(&reader)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "insufficient_scope");

    // An account with transactions is kept unless they go with it.
    app.post(
        "/api/v1/transactions",
        json!({"transactions": [item(&acc, "a", "-1", 1, "x"), item(&acc, "b", "-2", 2, "x")]}),
    )
    .await;
    let res = app.delete(&format!("/api/v1/accounts/{acc}")).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "account_has_transactions");
    assert!(
        body["error"]["message"].as_str().unwrap().contains('2'),
        "{body}"
    );
    let stranger = app.other_user("other-accounts@example.com").await;
    let res = stranger
        .delete(app.url(&format!("/api/v1/accounts/{acc}?deleteTransactions=true")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    app.clock.advance(11 * 60);
    let res = app
        .delete(&format!("/api/v1/accounts/{acc}?deleteTransactions=true"))
        .await;
    assert_eq!(error_of(res).await.0, "reauth_required");
    app.post(
        "/api/v1/auth/reauth",
        json!({"password": crate::helpers::PASSWORD}),
    )
    .await;
    let res = app
        .delete(&format!("/api/v1/accounts/{acc}?deleteTransactions=true"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let list: Value = app.get_json("/api/v1/accounts").await;
    assert_eq!(list["items"], json!([]));
    let txs: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(txs["items"], json!([]));
    let empty = account(&app, "SAR").await;
    assert_eq!(
        app.delete(&format!("/api/v1/accounts/{empty}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    // A bank's account goes with its connection.
    let sandbox = app.state.banks.sandbox.as_ref().unwrap().url().to_string();
    crate::helpers::connect_and_sync(&app, &sandbox, "BLUE").await;
    let list: Value = app.get_json("/api/v1/accounts").await;
    let bank = list["items"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .delete(&format!("/api/v1/accounts/{bank}?deleteTransactions=true"))
        .await;
    assert_eq!(error_of(res).await.0, "bank_account");
}

/// A manual account's balance is a running total: after any sequence of pushes (new and
/// repeated), deletions and overlay edits it equals the sum of the account's transactions.
#[tokio::test]
async fn a_push_that_would_take_one_balance_past_the_bound_stores_nothing() {
    let app = TestApp::spawn().await;
    app.signed_in_user("bound@example.com").await;
    let [low, high] = [account(&app, "BHD").await, account(&app, "BHD").await];
    // No push reaches ±9×10^18 minor units in a test's time; the balance is set directly.
    let max = backend::db::finance::MAX_BALANCE;
    sqlx::query("update accounts set balance_minor = $1 where id = $2")
        .bind(max - 2_000)
        .bind(&high)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let balances = || async {
        let listed: Value = app.get_json("/api/v1/accounts").await;
        [&low, &high].map(|id| {
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == *id)
                .unwrap()["balance"]["amount"]
                .clone()
        })
    };
    let before = balances().await;
    let push = |amount: &str| {
        json!({"transactions": [
            item(&low, &format!("low{amount}"), "-5.000", 2, "x"),
            item(&high, &format!("high{amount}"), amount, 3, "x"),
        ]})
    };
    let res = app.post("/api/v1/transactions", push("2.001")).await;
    assert_eq!(error_of(res).await.0, "balance_out_of_range");
    assert_eq!(balances().await, before, "neither account changed");
    let list: Value = app.get_json("/api/v1/transactions").await;
    assert_eq!(list["items"], json!([]), "nothing was stored");

    let res = app.post("/api/v1/transactions", push("2.000")).await;
    assert_eq!(res.status(), StatusCode::OK, "up to the bound itself");
    let after = balances().await;
    assert_eq!(after[0], "-5.000");
    assert_eq!(after[1], "9000000000000000.000");
}

#[tokio::test]
async fn a_manual_accounts_balance_follows_every_push_and_deletion() {
    use rand::{Rng, SeedableRng};
    let app = TestApp::spawn().await;
    app.signed_in_user("balances@example.com").await;
    let accounts = [account(&app, "BHD").await, account(&app, "BHD").await];
    let seed = rand::random::<u64>();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut next = 0u32;
    for step in 0..40 {
        let acc = &accounts[rng.gen_range(0..2)];
        match rng.gen_range(0..4) {
            0 | 1 => {
                let items: Vec<Value> = (0..rng.gen_range(1..5))
                    .map(|_| {
                        // Now and then an externalId again: a duplicate adds nothing.
                        let ext = if next > 0 && rng.gen_bool(0.2) {
                            rng.gen_range(0..next)
                        } else {
                            next += 1;
                            next
                        };
                        let amount = format!(
                            "{}.{:03}",
                            rng.gen_range(-999_999i64..999_999),
                            rng.gen_range(0..1000)
                        );
                        item(acc, &format!("e{ext}"), &amount, 1 + step % 28, "x")
                    })
                    .collect();
                let res = app
                    .post("/api/v1/transactions", json!({ "transactions": items }))
                    .await;
                assert_eq!(res.status(), StatusCode::OK, "seed {seed}");
            }
            2 => {
                let list: Value = app
                    .get_json(&format!("/api/v1/transactions?accountId={acc}&limit=200"))
                    .await;
                if let Some(t) = list["items"].as_array().unwrap().first() {
                    let res = app
                        .delete(&format!(
                            "/api/v1/transactions/{}",
                            t["id"].as_str().unwrap()
                        ))
                        .await;
                    assert_eq!(res.status(), StatusCode::NO_CONTENT, "seed {seed}");
                }
            }
            _ => {
                let list: Value = app
                    .get_json(&format!("/api/v1/transactions?accountId={acc}&limit=1"))
                    .await;
                if let Some(t) = list["items"].as_array().unwrap().first() {
                    let url = app.url(&format!(
                        "/api/v1/transactions/{}",
                        t["id"].as_str().unwrap()
                    ));
                    app.client
                        .patch(url)
                        .json(&json!({"excluded": true, "note": "n"}))
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
        let listed: Value = app.get_json("/api/v1/accounts").await;
        for acc in &accounts {
            let txs: Value = app
                .get_json(&format!("/api/v1/transactions?accountId={acc}&limit=200"))
                .await;
            let sum: i64 = txs["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    shared::money::parse_minor(t["amount"]["amount"].as_str().unwrap(), 3).unwrap()
                })
                .sum();
            let shown = listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == json!(acc))
                .unwrap();
            assert_eq!(
                shown["balance"],
                json!({"amount": shared::money::format_minor(sum, 3), "currency": "BHD"}),
                "step {step}, seed {seed}"
            );
        }
    }
}

#[tokio::test]
async fn transactions_are_found_by_text_and_by_amount_across_currencies() {
    let app = TestApp::spawn().await;
    app.signed_in_user("search@example.com").await;
    let bhd = account(&app, "BHD").await;
    let jpy = account(&app, "JPY").await;
    let tx = |acc: &str,
              ext: &str,
              amount: &str,
              currency: &str,
              description: &str,
              merchant: Option<&str>| {
        json!({"accountId": acc, "externalId": ext, "amount": {"amount": amount, "currency": currency},
               "description": description, "bookedAt": "2026-11-20T10:00:00Z", "merchant": merchant})
    };
    let res = app
        .post(
            "/api/v1/transactions",
            json!({"transactions": [
                tx(&bhd, "1", "-12.5", "BHD", "Lulu Hypermarket", None),
                tx(&bhd, "2", "-50", "BHD", "LULU express", Some("Lulu")),
                tx(&bhd, "3", "100", "BHD", "Café Olé", None),
                tx(&bhd, "4", "-1", "BHD", "50% off_day", Some("Ölmarkt")),
                tx(&jpy, "5", "-30", "JPY", "Ramen", None),
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let found = |query: &str| {
        let app = &app;
        let query = query.to_string();
        async move {
            let page: Value = app.get_json(&format!("/api/v1/transactions?{query}")).await;
            let mut names: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["description"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(found("q=lulu").await, ["LULU express", "Lulu Hypermarket"]);
    assert_eq!(found("q=LuLu").await, ["LULU express", "Lulu Hypermarket"]);
    assert_eq!(found("q=%25").await, ["50% off_day"], "% is literal");
    assert_eq!(found("q=_").await, ["50% off_day"], "_ is literal");
    assert_eq!(found("q=caf%C3%A9").await, ["Café Olé"]);
    assert_eq!(
        found("q=%C3%B6lmarkt").await,
        Vec::<String>::new(),
        "only ASCII letters fold, on both databases"
    );
    assert_eq!(
        found("q=%C3%96lmarkt").await,
        ["50% off_day"],
        "the merchant counts"
    );
    assert_eq!(found("q=").await.len(), 5, "an empty q filters nothing");
    assert_eq!(
        found("minAmount=-50&maxAmount=-12.5").await,
        ["LULU express", "Lulu Hypermarket", "Ramen"],
        "bounds in each transaction's own currency, inclusive"
    );
    assert_eq!(found("minAmount=0").await, ["Café Olé"]);
    assert_eq!(found("maxAmount=-30&q=ramen").await, ["Ramen"]);
    assert_eq!(
        found("maxAmount=-30.001&q=ramen").await,
        Vec::<String>::new(),
        "exact to the thousandth"
    );
    let long = format!("q={}", "x".repeat(101));
    for (query, field) in [
        ("minAmount=abc", "minAmount"),
        ("maxAmount=1.2345", "maxAmount"),
        ("minAmount=5&maxAmount=1", "minAmount"),
        (long.as_str(), "q"),
    ] {
        let (code, fields) =
            error_of(app.get(&format!("/api/v1/transactions?{query}")).await).await;
        assert_eq!(code, "validation_failed", "{query}");
        assert!(fields[field].is_string(), "{query}: {fields}");
    }
}

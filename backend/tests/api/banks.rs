//! Bank connections against the bundled Tarabut sandbox (in-process, port 0): connect, callback,
//! sync, re-sync, faults, resumption, token single-flight, consent loss, insights.

use std::collections::BTreeMap;

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{
    connect_and_sync, connect_at, create_key, error_of, sandbox_control, wait_for_sync, with_key,
    TestApp, PASSWORD,
};

/// Fast retries and no outbound pacing, so fault tests finish quickly.
const FAST: &[(&str, &str)] = &[
    ("PFN_TARABUT_RETRY_BASE_MS", "5"),
    ("PFN_TARABUT_TIMEOUT_MS", "400"),
    ("PFN_TARABUT_RATE_PER_SEC", "0"),
];

async fn app_with_user(email: &str) -> TestApp {
    let app = TestApp::spawn_with(FAST).await;
    app.signed_in_user(email).await;
    app
}

fn sandbox(app: &TestApp) -> String {
    app.state
        .banks
        .sandbox
        .as_ref()
        .expect("tests run against the bundled sandbox")
        .url()
        .to_string()
}

async fn control(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    sandbox_control(&sandbox(app), method, path, body).await
}

/// Starts a Connect flow, completes it at the bundled sandbox with `status`, and follows the
/// redirect back with `browser`. Returns the callback's `Location`.
async fn connect_with(
    app: &TestApp,
    browser: &reqwest::Client,
    provider: &str,
    status: &str,
) -> String {
    connect_at(app, browser, &sandbox(app), provider, status).await
}

/// Connects `provider` for the signed-in user and waits for the first sync; returns the
/// connection id.
async fn connect(app: &TestApp, provider: &str) -> String {
    connect_and_sync(app, &sandbox(app), provider).await
}

async fn sync_now(app: &TestApp, id: &str) -> Value {
    // A person may start one sync a minute per connection.
    app.clock
        .advance(backend::banks::sync::MANUAL_SYNC_EVERY_SECS);
    let res = app
        .post(&format!("/api/v1/banks/connections/{id}/sync"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let sync_id = res.json::<Value>().await.unwrap()["syncId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_sync(app, id).await;
    let s: Value = app
        .get_json(&format!("/api/v1/banks/syncs/{sync_id}"))
        .await;
    s["sync"].clone()
}

/// The Tarabut customer id behind a connection.
async fn customer_of(app: &TestApp, connection_id: &str) -> String {
    sqlx::query_scalar("select customer_user_id from bank_connections where id = $1")
        .bind(connection_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Moves the sandbox's clock (its tokens and consents expire by it; ours does not move).
async fn advance_sandbox_clock(app: &TestApp, secs: i64) {
    control(
        app,
        reqwest::Method::POST,
        "/__sandbox/clock/advance",
        json!({"secs": secs}),
    )
    .await;
}

/// The Tarabut consent behind a connection.
async fn consent_of(app: &TestApp, connection_id: &str) -> String {
    sqlx::query_scalar("select consent_id from bank_connections where id = $1")
        .bind(connection_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Adds transactions upstream to a sandbox account (`body`: `count`, and `pending`); returns
/// the sandbox's answer (the new rows' ids).
async fn add_upstream(app: &TestApp, tarabut_id: &str, body: Value) -> Value {
    control(
        app,
        reqwest::Method::POST,
        &format!("/__sandbox/accounts/{tarabut_id}/transactions"),
        body,
    )
    .await
}

/// (Tarabut account id, our account id) of a connection.
async fn linked_accounts(app: &TestApp, connection_id: &str) -> Vec<(String, String)> {
    sqlx::query("select tarabut_account_id, account_id from bank_accounts where connection_id = $1 order by tarabut_account_id")
        .bind(connection_id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Every transaction of our account through the API, all pages.
async fn all_items(app: &TestApp, account_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .get_json(&format!(
                "/api/v1/transactions?accountId={account_id}&limit=200&from=2000-01-01{cursor}"
            ))
            .await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

/// Our transactions of an account: externalId → (amount, description); no duplicates.
async fn ours(app: &TestApp, account_id: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for t in all_items(app, account_id).await {
        let prev = out.insert(
            t["externalId"].as_str().unwrap().to_string(),
            (
                t["amount"]["amount"].as_str().unwrap().to_string(),
                t["description"].as_str().unwrap().to_string(),
            ),
        );
        assert!(prev.is_none(), "duplicate transaction {}", t["externalId"]);
    }
    out
}

/// The sandbox's own list, in the same shape, with amounts formatted at `exp` decimals.
async fn theirs(app: &TestApp, tarabut_account_id: &str) -> BTreeMap<String, (String, String)> {
    let v = control(
        app,
        reqwest::Method::GET,
        &format!("/__sandbox/accounts/{tarabut_account_id}/transactions"),
        Value::Null,
    )
    .await;
    v["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let minor = t["amountMinor"].as_i64().unwrap();
            let signed = if t["creditDebitIndicator"] == "Debit" {
                -minor.abs()
            } else {
                minor.abs()
            };
            let exp = shared::money::exponent(t["currency"].as_str().unwrap()).unwrap();
            (
                t["transactionId"].as_str().unwrap().to_string(),
                (
                    shared::money::format_minor(signed, exp),
                    t["description"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

async fn assert_mirrors_sandbox(app: &TestApp, connection_id: &str) -> usize {
    let accounts = linked_accounts(app, connection_id).await;
    assert!(!accounts.is_empty());
    let mut total = 0;
    for (tarabut_id, account_id) in accounts {
        let (ours, theirs) = (ours(app, &account_id).await, theirs(app, &tarabut_id).await);
        assert!(!theirs.is_empty());
        let missing: Vec<_> = theirs
            .iter()
            .filter(|(k, v)| ours.get(*k) != Some(v))
            .take(5)
            .collect();
        let extra: Vec<_> = ours
            .iter()
            .filter(|(k, v)| theirs.get(*k) != Some(v))
            .take(5)
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "account {tarabut_id} differs from the sandbox ({} vs {} rows): missing or different {missing:?}; extra {extra:?}",
            ours.len(),
            theirs.len()
        );
        total += ours.len();
    }
    // and the daily totals insights read kept up with every row the syncs wrote
    let workspace = crate::helpers::personal_workspace(app, &app.client).await;
    crate::scale::assert_rollups_match(app, &workspace).await;
    total
}

#[tokio::test]
async fn a_bhd_bank_connects_and_syncs_with_exact_three_decimal_amounts() {
    let app = app_with_user("bhd@example.com").await;
    let id = connect(&app, "BLUE").await;
    let c = wait_for_sync(&app, &id).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["lastSyncStatus"], "succeeded", "{c}");
    assert_eq!(c["providerId"], "BLUE");
    assert!(!c["consentExpiresAt"].is_null());
    let accounts = c["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert!(accounts.iter().all(|a| a["balance"]["currency"] == "BHD"));
    assert!(accounts[0]["identifierHint"]
        .as_str()
        .unwrap()
        .starts_with("•••• "));

    let n = assert_mirrors_sandbox(&app, &id).await;
    assert!(n >= 300, "{n} transactions");
    // 3-decimal amounts came through exactly, not rounded to 2
    let mut amounts = Vec::new();
    for (_, account_id) in linked_accounts(&app, &id).await {
        amounts.extend(ours(&app, &account_id).await.into_values().map(|(a, _)| a));
    }
    assert!(amounts.iter().any(|a| a
        .split('.')
        .nth(1)
        .is_some_and(|d| d.len() == 3 && !d.ends_with('0'))));
    // they are bank accounts in /api/v1/accounts, and a push into them is refused
    let list: Value = app.get_json("/api/v1/accounts").await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["source"] == "bank"));
}

#[tokio::test]
async fn a_sar_bank_connects_and_syncs_exactly() {
    let app = app_with_user("sar@example.com").await;
    let id = connect(&app, "RED").await;
    assert_mirrors_sandbox(&app, &id).await;
    let c = wait_for_sync(&app, &id).await;
    assert!(c["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["balance"]["currency"] == "SAR"));
}

#[tokio::test]
async fn forged_callbacks_create_no_connection() {
    let app = app_with_user("victim@example.com").await;
    let browser = app.client.clone();
    let to = |loc: &str| loc.to_string();

    // an intent nobody started
    let res = browser
        .get(app.url("/api/v1/banks/callback?intentId=3b1f0c1e-0000-4000-8000-000000000000&status=SUCCESSFUL"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        to(res.headers()[header::LOCATION].to_str().unwrap()),
        "/connections?error=unknown_intent"
    );

    // the redirect claims SUCCESSFUL, Tarabut says FAILED
    let loc = connect_with(&app, &browser, "BLUE", "FAILED").await;
    assert_eq!(loc, "/connections?error=connect_failed");
    // …and a lie about an intent that was never completed
    let started: Value = app
        .post("/api/v1/banks/connect", json!({"providerId": "BLUE"}))
        .await
        .json()
        .await
        .unwrap();
    let res = browser
        .get(app.url(&format!(
            "/api/v1/banks/callback?intentId={}&status=SUCCESSFUL",
            started["intentId"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        to(res.headers()[header::LOCATION].to_str().unwrap()),
        "/connections?error=connect_failed"
    );

    // someone else's intent (completed successfully at the bank) cannot be claimed
    let attacker = app.other_user("attacker@example.com").await;
    let res = app
        .post("/api/v1/banks/connect", json!({"providerId": "BLUE"}))
        .await;
    let intent = res.json::<Value>().await.unwrap()["intentId"]
        .as_str()
        .unwrap()
        .to_string();
    let done = control(
        &app,
        reqwest::Method::POST,
        &format!("/__sandbox/intents/{intent}/complete"),
        json!({"status": "SUCCESSFUL", "providerId": "BLUE"}),
    )
    .await;
    let res = attacker
        .get(done["location"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        to(res.headers()[header::LOCATION].to_str().unwrap()),
        "/connections?error=unknown_intent"
    );
    // a key cannot complete a callback either
    let (_, key) = create_key(&app, json!({"name": "k", "scopes": ["write:connections"]})).await;
    let res = with_key(
        &app,
        &key,
        &format!("/api/v1/banks/callback?intentId={intent}"),
    )
    .await;
    assert_eq!(error_of(res).await.0, "session_required");

    for client in [&app.client, &attacker] {
        let list: Value = app.get_json_as(client, "/api/v1/banks/connections").await;
        assert_eq!(list["items"], json!([]), "{list}");
    }
    // the rightful user can still finish it, once; a repeated callback (a refresh, a double
    // click) goes to the connection it made, and makes no other
    let res = browser
        .get(done["location"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let connected = to(res.headers()[header::LOCATION].to_str().unwrap());
    assert!(
        connected.starts_with("/connections?connected="),
        "{connected}"
    );
    let res = browser
        .get(done["location"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        to(res.headers()[header::LOCATION].to_str().unwrap()),
        connected
    );
    let list: Value = app.get_json_as(&browser, "/api/v1/banks/connections").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    // tgIntentId is accepted as the parameter's other name
    let loc = {
        let res = app
            .post("/api/v1/banks/connect", json!({"providerId": "RED"}))
            .await;
        let intent = res.json::<Value>().await.unwrap()["intentId"]
            .as_str()
            .unwrap()
            .to_string();
        control(
            &app,
            reqwest::Method::POST,
            &format!("/__sandbox/intents/{intent}/complete"),
            json!({"status": "SUCCESSFUL", "providerId": "RED"}),
        )
        .await;
        let res = browser
            .get(app.url(&format!(
                "/api/v1/banks/callback?tgIntentId={intent}&status=successful"
            )))
            .send()
            .await
            .unwrap();
        res.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert!(loc.starts_with("/connections?connected="), "{loc}");
}

#[tokio::test]
async fn a_resync_mirrors_added_changed_and_removed_rows_and_keeps_overlays() {
    let app = app_with_user("resync@example.com").await;
    let id = connect(&app, "BLUE").await;
    let before = assert_mirrors_sandbox(&app, &id).await;
    let (tarabut_id, account_id) = linked_accounts(&app, &id).await[0].clone();
    let rows = theirs(&app, &tarabut_id).await;
    let mut ids = rows.keys();
    let (changed, removed) = (ids.next().unwrap().clone(), ids.next().unwrap().clone());

    // the user annotates the row that will change upstream, and the one that will vanish
    let our_id = |ext: String| {
        let app = &app;
        let account_id = account_id.clone();
        async move {
            sqlx::query("select id from transactions where account_id = $1 and external_id = $2")
                .bind(account_id)
                .bind(ext)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap()
                .get::<String, _>(0)
        }
    };
    let changed_ours = our_id(changed.clone()).await;
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/transactions/{changed_ours}")))
        .json(&json!({"category": "gifts", "note": "birthday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    add_upstream(&app, &tarabut_id, json!({"count": 3})).await;
    control(
        &app,
        reqwest::Method::PATCH,
        &format!("/__sandbox/transactions/{changed}"),
        json!({"amount": "77.125", "description": "Corrected by the bank"}),
    )
    .await;
    control(
        &app,
        reqwest::Method::DELETE,
        &format!("/__sandbox/transactions/{removed}"),
        json!({}),
    )
    .await;

    let sync = sync_now(&app, &id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["rowsAdded"], 3);
    assert_eq!(sync["rowsUpdated"], 1);
    assert_eq!(sync["rowsRemoved"], 1);
    let after = assert_mirrors_sandbox(&app, &id).await;
    assert_eq!(after, before + 3 - 1);
    let row = all_items(&app, &account_id)
        .await
        .into_iter()
        .find(|t| t["externalId"] == changed.as_str())
        .expect("the changed row is still listed");
    assert_eq!(row["description"], "Corrected by the bank");
    assert_eq!(row["category"], "gifts");
    assert_eq!(row["note"], "birthday");
    // Its text signature is the new description's: a list of its category (whose index holds
    // the signature, not the text) finds it by the new words.
    let page: Value = app
        .get_json(&format!(
            "/api/v1/transactions?accountId={account_id}&category=gifts&q=CORRECTED%20by"
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // a second re-sync with nothing new adds and changes nothing
    let again = sync_now(&app, &id).await;
    assert_eq!(
        (
            again["rowsAdded"].as_u64(),
            again["rowsUpdated"].as_u64(),
            again["rowsRemoved"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
}

#[tokio::test]
async fn a_sync_completes_exactly_through_thirty_percent_faults() {
    let app = app_with_user("faults@example.com").await;
    let id = connect(&app, "RED").await;
    let (tarabut_id, _) = linked_accounts(&app, &id).await[0].clone();
    add_upstream(&app, &tarabut_id, json!({"count": 5})).await;
    for rule in [
        json!({"status": 503, "rate": 0.1, "pathPrefix": "/accountInformation"}),
        json!({"status": 429, "retryAfter": 0, "rate": 0.1, "pathPrefix": "/accountInformation"}),
        json!({"timeout": true, "latencyMs": 1000, "rate": 0.1, "pathPrefix": "/accountInformation"}),
    ] {
        control(&app, reqwest::Method::POST, "/__sandbox/faults", rule).await;
    }
    let sync = sync_now(&app, &id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["rowsAdded"], 5);
    control(
        &app,
        reqwest::Method::DELETE,
        "/__sandbox/faults",
        json!({}),
    )
    .await;
    assert_mirrors_sandbox(&app, &id).await;
}

#[tokio::test]
async fn an_interrupted_sync_resumes_to_exact_data() {
    use backend::banks::sync::{run, Ran};
    let app = app_with_user("resume@example.com").await;
    let id = connect(&app, "BLUE").await;
    let (tarabut_id, _) = linked_accounts(&app, &id).await[0].clone();
    // one synced row disappears upstream, four new ones arrive
    let synced: Vec<String> = theirs(&app, &tarabut_id)
        .await
        .into_keys()
        .take(1)
        .collect();
    control(
        &app,
        reqwest::Method::DELETE,
        &format!("/__sandbox/transactions/{}", synced[0]),
        json!({}),
    )
    .await;
    add_upstream(&app, &tarabut_id, json!({"count": 4})).await;

    let sync_id = backend::db::new_id();
    backend::db::banks::insert_sync(
        &app.state.db.pool,
        &sync_id,
        &id,
        "manual",
        app.state.clock.now(),
    )
    .await
    .unwrap();
    // two batches, then the process "dies": the sync stays running with its progress saved
    assert_eq!(
        run(&app.state, &sync_id, Some(2)).await.unwrap(),
        Ran::Interrupted
    );
    let s: Value = app
        .get_json(&format!("/api/v1/banks/syncs/{sync_id}"))
        .await;
    assert_eq!(s["sync"]["status"], "running");
    let pages_before = s["sync"]["pagesFetched"].as_u64().unwrap();
    assert!(pages_before > 0);
    // the restart resumes it from where it stopped
    assert_eq!(
        run(&app.state, &sync_id, None).await.unwrap(),
        Ran::Finished
    );
    let s: Value = app
        .get_json(&format!("/api/v1/banks/syncs/{sync_id}"))
        .await;
    assert_eq!(s["sync"]["status"], "succeeded", "{s}");
    assert_eq!(s["sync"]["rowsAdded"], 4);
    assert_eq!(s["sync"]["rowsRemoved"], 1);
    assert_mirrors_sandbox(&app, &id).await;
}

/// Sends 200 concurrent data calls as `customer` (each must succeed) and returns how many
/// tokens the sandbox minted meanwhile.
async fn mints_for_200_concurrent_calls(app: &TestApp, customer: &str) -> u64 {
    control(app, reqwest::Method::DELETE, "/__sandbox/calls", json!({})).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let client = app.state.banks.client.clone();
        let customer = customer.to_string();
        set.spawn(async move { client.accounts(&customer).await.map(|a| a.accounts.len()) });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap(), 2);
    }
    let calls = control(app, reqwest::Method::GET, "/__sandbox/calls", Value::Null).await;
    calls["calls"]["POST /sandbox/token"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn two_hundred_concurrent_calls_with_an_expired_token_mint_once() {
    let app = app_with_user("tokens@example.com").await;
    let id = connect(&app, "BLUE").await;
    let customer = customer_of(&app, &id).await;

    // expired by our clock: one caller mints, 199 wait and reuse its token
    app.clock.advance(3600);
    assert_eq!(mints_for_200_concurrent_calls(&app, &customer).await, 1);

    // expired on Tarabut's clock only: every caller gets a 401, one re-mints, all retry once
    advance_sandbox_clock(&app, 3600).await;
    assert_eq!(mints_for_200_concurrent_calls(&app, &customer).await, 1);

    // and a sync that meets an expired token re-mints transparently
    advance_sandbox_clock(&app, 3600).await;
    let sync = sync_now(&app, &id).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
}

#[tokio::test]
async fn a_revoked_or_expired_consent_shows_and_answers_409() {
    let app = app_with_user("consent@example.com").await;
    let id = connect(&app, "BLUE").await;
    let consent = consent_of(&app, &id).await;
    control(
        &app,
        reqwest::Method::POST,
        &format!("/__sandbox/consents/{consent}/revoke"),
        json!({}),
    )
    .await;
    let sync = sync_now(&app, &id).await;
    assert_eq!(sync["status"], "failed");
    assert_eq!(sync["error"], "consent_revoked");
    let c = wait_for_sync(&app, &id).await;
    assert_eq!(c["status"], "revoked");
    assert_eq!(c["lastSyncError"], "consent_revoked");
    let res = app
        .post(
            &format!("/api/v1/banks/connections/{id}/refresh-balances"),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(res).await.0, "connection_inactive");
    let res = app
        .post(&format!("/api/v1/banks/connections/{id}/sync"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // expiry: a second bank, its consent expired at the sandbox
    let other = connect(&app, "RED").await;
    let consent = consent_of(&app, &other).await;
    control(
        &app,
        reqwest::Method::POST,
        &format!("/__sandbox/consents/{consent}/expire"),
        json!({}),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/banks/connections/{other}/refresh-balances"),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(res).await.0, "consent_expired");
    let c = wait_for_sync(&app, &other).await;
    assert_eq!(c["status"], "expired");
    // the data synced before stays readable
    assert!(!ours(&app, &linked_accounts(&app, &other).await[0].1)
        .await
        .is_empty());
}

#[tokio::test]
async fn disconnecting_revokes_the_consent_and_keeps_or_deletes_data() {
    let app = app_with_user("disconnect@example.com").await;
    let keep = connect(&app, "BLUE").await;
    let drop = connect(&app, "RED").await;
    let res = app
        .delete(&format!("/api/v1/banks/connections/{keep}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let c = wait_for_sync(&app, &keep).await;
    assert_eq!(c["status"], "revoked");
    // the consent is revoked at Tarabut itself, and we no longer sync it
    let consent = consent_of(&app, &keep).await;
    let customer = customer_of(&app, &keep).await;
    let at_tarabut = app
        .state
        .banks
        .client
        .consent(&customer, &consent)
        .await
        .unwrap();
    assert_eq!(at_tarabut.status.as_deref(), Some("REVOKED"));
    let res = app
        .post(&format!("/api/v1/banks/connections/{keep}/sync"), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(!ours(&app, &linked_accounts(&app, &keep).await[0].1)
        .await
        .is_empty());

    let red_accounts = linked_accounts(&app, &drop).await;
    let res = app
        .delete(&format!("/api/v1/banks/connections/{drop}?deleteData=true"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/banks/connections/{drop}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let left: i64 = sqlx::query_scalar("select count(*) from transactions where account_id = $1")
        .bind(&red_accounts[0].1)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let log: Value = app
        .get_json("/api/v1/audit-log?type=bank.disconnected")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
    let log: Value = app.get_json("/api/v1/audit-log?type=bank.connected").await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
}

#[tokio::test]
async fn other_users_and_keys_see_only_their_own_connections() {
    let app = app_with_user("owner@example.com").await;
    let id = connect(&app, "BLUE").await;
    let sync = sync_now(&app, &id).await;
    let stranger = app.other_user("stranger@example.com").await;
    for path in [
        format!("/api/v1/banks/connections/{id}"),
        format!("/api/v1/banks/syncs/{}", sync["id"].as_str().unwrap()),
    ] {
        let res = stranger.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for path in [
        format!("/api/v1/banks/connections/{id}/sync"),
        format!("/api/v1/banks/connections/{id}/refresh-balances"),
    ] {
        let res = stranger
            .post(app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = stranger
        .delete(app.url(&format!("/api/v1/banks/connections/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // scopes: read:connections lists, cannot sync; read:transactions cannot list connections
    let (_, reader) = create_key(&app, json!({"name": "r", "scopes": ["read:connections"]})).await;
    let res = with_key(&app, &reader, "/api/v1/banks/connections").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/banks/connections/{id}/sync")))
        .bearer_auth(&reader)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(res).await.0, "insufficient_scope");
    let (_, tx_only) =
        create_key(&app, json!({"name": "t", "scopes": ["read:transactions"]})).await;
    let res = with_key(&app, &tx_only, "/api/v1/banks/connections").await;
    assert_eq!(error_of(res).await.0, "insufficient_scope");
    // the providers list works with the read scope
    let res = with_key(&app, &reader, "/api/v1/banks/providers").await;
    let p: Value = res.json().await.unwrap();
    let ids: Vec<&str> = p["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"BLUE") && ids.contains(&"RED"), "{p}");
}

#[tokio::test]
async fn insights_agree_with_the_synced_transactions() {
    let app = app_with_user("insights@example.com").await;
    let id = connect(&app, "BLUE").await;
    let accounts = linked_accounts(&app, &id).await;
    let mut out = 0i64;
    let mut inn = 0i64;
    for (_, account_id) in &accounts {
        for (amount, _) in ours(&app, account_id).await.values() {
            let minor = shared::money::parse_minor(amount, 3).unwrap();
            if minor < 0 {
                out += -minor;
            } else {
                inn += minor;
            }
        }
    }
    let window = "from=2025-01-01&to=2027-01-01";
    let spending: Value = app
        .get_json(&format!("/api/v1/insights/spending?{window}"))
        .await;
    assert_eq!(spending["currencies"][0]["currency"], "BHD");
    assert_eq!(
        shared::money::parse_minor(
            spending["currencies"][0]["total"]["amount"]
                .as_str()
                .unwrap(),
            3
        )
        .unwrap(),
        out
    );
    let by_category: i64 = spending["currencies"][0]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| shared::money::parse_minor(c["total"]["amount"].as_str().unwrap(), 3).unwrap())
        .sum();
    assert_eq!(by_category, out);
    let income: Value = app
        .get_json(&format!("/api/v1/insights/income?{window}"))
        .await;
    assert_eq!(
        shared::money::parse_minor(
            income["currencies"][0]["total"]["amount"].as_str().unwrap(),
            3
        )
        .unwrap(),
        inn
    );
    let salary_income = income["currencies"][0]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "salary")
        .expect("salary credits are categorised")
        .clone();

    // Tarabut's salary insight finds exactly the salary credits we synced
    let salary: Value = app
        .get_json(&format!("/api/v1/insights/salary?{window}"))
        .await;
    let payments = salary["salaries"].as_array().unwrap();
    assert!(!payments.is_empty(), "{salary}");
    assert_eq!(
        payments.len() as u64,
        salary_income["transactionCount"].as_u64().unwrap(),
        "{salary}"
    );
    let paid: i64 = payments
        .iter()
        .map(|p| shared::money::parse_minor(p["amount"]["amount"].as_str().unwrap(), 3).unwrap())
        .sum();
    assert_eq!(
        paid,
        shared::money::parse_minor(salary_income["total"]["amount"].as_str().unwrap(), 3).unwrap()
    );

    let history: Value = app.get_json("/api/v1/insights/balance-history").await;
    assert_eq!(
        history["accounts"].as_array().unwrap().len(),
        2,
        "{history}"
    );
    let (_, key) = create_key(&app, json!({"name": "i", "scopes": ["read:transactions"]})).await;
    assert_eq!(
        error_of(with_key(&app, &key, "/api/v1/insights/spending").await)
            .await
            .0,
        "insufficient_scope"
    );
    let res = app.get("/api/v1/insights/spending?from=tomorrow").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_consent_tarabut_no_longer_knows_reads_as_revoked() {
    // e.g. the bundled sandbox restarted and forgot its consents
    let app = app_with_user("forgotten@example.com").await;
    let id = connect(&app, "RED").await;
    sqlx::query("update bank_connections set consent_id = $1 where id = $2")
        .bind("00000000-0000-4000-8000-000000000000")
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let sync = sync_now(&app, &id).await;
    assert_eq!(sync["error"], "consent_revoked", "{sync}");
    assert_eq!(wait_for_sync(&app, &id).await["status"], "revoked");
    // the rows synced before are still there
    assert!(!ours(&app, &linked_accounts(&app, &id).await[0].1)
        .await
        .is_empty());
}

#[tokio::test]
async fn the_scheduler_flags_expiring_consents_then_expires_them() {
    use backend::banks::sync::schedule_once;
    let app = app_with_user("expiry@example.com").await;
    let id = connect(&app, "BLUE").await;
    let c = wait_for_sync(&app, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["consentExpiringSoon"].as_bool()),
        (Some("active"), Some(false))
    );
    // the sandbox grants a year; six days before its end the user is asked to reconnect
    app.clock.advance(359 * 86_400);
    schedule_once(&app.state).await.unwrap();
    // (a year later the session has ended too)
    app.login("expiry@example.com", PASSWORD).await;
    let c = wait_for_sync(&app, &id).await;
    assert_eq!(c["status"], "reauth_required", "{c}");
    assert_eq!(c["consentExpiringSoon"], true);
    app.clock.advance(7 * 86_400);
    schedule_once(&app.state).await.unwrap();
    app.login("expiry@example.com", PASSWORD).await;
    let c = wait_for_sync(&app, &id).await;
    assert_eq!(c["status"], "expired", "{c}");
    let res = app
        .post(&format!("/api/v1/banks/connections/{id}/sync"), json!({}))
        .await;
    assert_eq!(error_of(res).await.0, "connection_inactive");
}

#[tokio::test]
async fn tarabut_tokens_and_secrets_never_reach_the_logs() {
    let logs = crate::helpers::captured_logs();
    let app = app_with_user("quiet@example.com").await;
    let id = connect(&app, "BLUE").await;
    // a 401 path too: tokens expire at the sandbox, the client re-mints
    advance_sandbox_clock(&app, 3600).await;
    control(
        &app,
        reqwest::Method::POST,
        "/__sandbox/faults",
        json!({"status": 503, "count": 2}),
    )
    .await;
    assert_eq!(sync_now(&app, &id).await["status"], "succeeded");
    let tokens = control(&app, reqwest::Method::GET, "/__sandbox/tokens", Value::Null).await;
    let tokens: Vec<String> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(tokens.len() >= 2, "{tokens:?}");
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        text.contains("Tarabut answered with an error"),
        "the faults were logged"
    );
    for t in &tokens {
        assert!(!text.contains(t.as_str()), "a Tarabut token is in the logs");
    }
    let secret = std::fs::read_to_string(app.data_dir.join("secret")).unwrap();
    assert!(
        !text.contains(secret.trim()),
        "the server secret is in the logs"
    );
}

#[tokio::test]
async fn one_replica_at_a_time_holds_a_connections_sync_lease() {
    use backend::db::banks::{claim_lease, release_lease};
    let app = app_with_user("lease@example.com").await;
    let id = connect(&app, "BLUE").await;
    let pool = &app.state.db.pool;
    let now = app.state.clock.now();
    assert!(claim_lease(pool, &id, "replica-a", now, now + 120)
        .await
        .unwrap());
    assert!(!claim_lease(pool, &id, "replica-b", now, now + 120)
        .await
        .unwrap());
    // the holder renews; after it stops renewing the lease lapses and B may take over
    assert!(claim_lease(pool, &id, "replica-a", now + 60, now + 180)
        .await
        .unwrap());
    assert!(!claim_lease(pool, &id, "replica-b", now + 179, now + 300)
        .await
        .unwrap());
    assert!(claim_lease(pool, &id, "replica-b", now + 181, now + 300)
        .await
        .unwrap());
    release_lease(pool, &id, "replica-a").await.unwrap();
    assert!(!claim_lease(pool, &id, "replica-a", now + 182, now + 300)
        .await
        .unwrap());
    release_lease(pool, &id, "replica-b").await.unwrap();
    // while another replica holds it, a sync here waits its turn instead of running
    assert!(claim_lease(pool, &id, "replica-c", now, now + 120)
        .await
        .unwrap());
    let sync_id = backend::db::new_id();
    backend::db::banks::insert_sync(pool, &sync_id, &id, "manual", now)
        .await
        .unwrap();
    assert_eq!(
        backend::banks::sync::run(&app.state, &sync_id, None)
            .await
            .unwrap(),
        backend::banks::sync::Ran::Skipped
    );
}

/// A sync batch holds its account before it writes (`db::finance::hold_accounts`). On
/// PostgreSQL, whose account rows keep no foreign key (task
/// `0024_postgres_account_rows_without_keys`), an account deleted after the sync linked it and
/// before a batch wrote its new rows gets none of them, and the sync ends as on a database
/// failure. The deletion comes while the batch waits for the workspace's row, held here (seen
/// in `pg_stat_activity`). On SQLite linking takes the one writer too, so nothing comes
/// between, and the keys would refuse such rows.
#[tokio::test]
async fn a_sync_batch_writes_nothing_for_an_account_deleted_under_it() {
    if !crate::helpers::on_postgres() {
        return;
    }
    let app = app_with_user("account-gone@example.com").await;
    let id = connect(&app, "BLUE").await;
    let (tarabut_id, account_id) = linked_accounts(&app, &id).await[0].clone();
    add_upstream(&app, &tarabut_id, json!({"count": 5})).await;
    let pool = &app.state.db.pool;
    let workspace: String = sqlx::query_scalar("select workspace_id from accounts where id = $1")
        .bind(&account_id)
        .fetch_one(pool)
        .await
        .unwrap();
    let mut holding = app.state.db.begin().await.unwrap();
    sqlx::query("select id from workspaces where id = $1 for no key update")
        .bind(&workspace)
        .fetch_all(&mut *holding)
        .await
        .unwrap();
    let sync_id = backend::db::new_id();
    backend::db::banks::insert_sync(pool, &sync_id, &id, "manual", app.state.clock.now())
        .await
        .unwrap();
    let state = app.state.clone();
    let running =
        tokio::spawn(async move { backend::banks::sync::run(&state, &sync_id, None).await });
    crate::helpers::lock_waits(&app, 1).await;
    sqlx::query("delete from accounts where id = $1")
        .bind(&account_id)
        .execute(&mut *holding)
        .await
        .unwrap();
    holding.commit().await.unwrap();
    let outcome = running.await.unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    for (table, astray, own) in crate::helpers::rows_left(&app, &account_id).await {
        assert_eq!((astray, own), (0, 0), "{table}");
    }
}

#[tokio::test]
async fn a_pending_bank_transaction_is_marked_until_the_bank_books_it() {
    let app = app_with_user("pending@example.com").await;
    let id = connect(&app, "BLUE").await;
    let (tarabut_id, account_id) = linked_accounts(&app, &id).await[0].clone();
    let added = add_upstream(&app, &tarabut_id, json!({"count": 2, "pending": true})).await;
    let pending_ids: Vec<String> = added["transactionIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let sync = sync_now(&app, &id).await;
    assert_eq!(sync["rowsAdded"], 2, "{sync}");
    let items = all_items(&app, &account_id).await;
    let marked: Vec<&str> = items
        .iter()
        .filter(|t| t["pending"] == true)
        .map(|t| t["externalId"].as_str().unwrap())
        .collect();
    assert_eq!(marked.len(), 2);
    assert!(marked.iter().all(|e| pending_ids.iter().any(|p| p == e)));
    let page: Value = app
        .get_json(&format!(
            "/api/v1/transactions?accountId={account_id}&pending=true&from=2000-01-01"
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let booked_before: Value = app
        .get_json(&format!(
            "/api/v1/transactions?accountId={account_id}&pending=false&from=2000-01-01&limit=200"
        ))
        .await;
    assert!(booked_before["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["pending"] == false));

    // The bank books one: the next sync updates it in place.
    let row = items
        .iter()
        .find(|t| t["externalId"] == pending_ids[0].as_str())
        .unwrap()
        .clone();
    control(
        &app,
        reqwest::Method::PATCH,
        &format!("/__sandbox/transactions/{}", pending_ids[0]),
        json!({"pending": false}),
    )
    .await;
    let sync = sync_now(&app, &id).await;
    assert_eq!(
        (sync["rowsAdded"].as_u64(), sync["rowsUpdated"].as_u64()),
        (Some(0), Some(1)),
        "{sync}"
    );
    let one: Value = app
        .get_json(&format!(
            "/api/v1/transactions/{}",
            row["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one["transaction"]["pending"], false);
    assert_ne!(
        one["transaction"]["updatedAt"], row["updatedAt"],
        "a booking is a change"
    );
    let page: Value = app
        .get_json(&format!(
            "/api/v1/transactions?accountId={account_id}&pending=true&from=2000-01-01"
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

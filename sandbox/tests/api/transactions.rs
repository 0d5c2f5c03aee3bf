//! Accounts data: paging, date filters, enriched versus raw, amounts, balances, determinism.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tarabut_sandbox::SandboxConfig;

use crate::helpers::{minor, TestSandbox};

fn rels(body: &Value) -> Vec<String> {
    body["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["rel"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn pages_carry_meta_and_links() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    let path = format!("/accountInformation/v2/accounts/{id}/transactions");

    let first = s.get(&path, &c.token).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let meta = &first.json["meta"];
    assert_eq!(meta["totalCountOfRecords"], 300);
    assert_eq!(meta["totalCountOfPages"], 30);
    assert_eq!(meta["pageNumber"], 1);
    assert_eq!(meta["pageSize"], 10);
    assert_eq!(meta["transactionsAvailability"], "completed");
    for f in [
        "fromBookingDateTime",
        "toBookingDateTime",
        "lastTransactionsUpdateDatetime",
    ] {
        assert!(
            meta[f]
                .as_str()
                .is_some_and(|v| v.ends_with(".000Z") || v.ends_with('Z')),
            "{f}"
        );
    }
    assert_eq!(
        first.json["transactions"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(rels(&first.json), ["FIRST", "NEXT", "LAST"]);
    for link in first.json["links"].as_array().into_iter().flatten() {
        let href = link["href"].as_str().unwrap_or("");
        assert!(
            href.starts_with(&format!("{}{path}?page=", s.sandbox.url())),
            "{href}"
        );
        assert!(
            href.contains("&fromBookingDateTime=") && href.contains("&toBookingDateTime="),
            "{href}"
        );
    }
    let last_href = first.json["links"][2]["href"].as_str().unwrap_or("");
    assert!(last_href.contains("page=30&"), "{last_href}");

    let second = s.get(&format!("{path}?page=2"), &c.token).await;
    assert_eq!(rels(&second.json), ["FIRST", "PREV", "NEXT", "LAST"]);
    let last = s.get(&format!("{path}?page=30"), &c.token).await;
    assert_eq!(rels(&last.json), ["FIRST", "PREV", "LAST"]);
    let past = s.get(&format!("{path}?page=31"), &c.token).await;
    assert_eq!(past.status, StatusCode::OK);
    assert_eq!(past.json["transactions"].as_array().map(Vec::len), Some(0));

    // Following NEXT visits every transaction once, in the documented order.
    let all = s.all_pages(&c.token, &path).await;
    assert_eq!(all.len(), 300);
    let ids: HashSet<_> = all.iter().map(|t| t["transactionId"].to_string()).collect();
    assert_eq!(ids.len(), 300);
    for w in all.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ta, tb) = (
            a["bookingDateTime"].as_str().unwrap_or(""),
            b["bookingDateTime"].as_str().unwrap_or(""),
        );
        assert!(
            ta > tb || (ta == tb && a["transactionId"].as_str() < b["transactionId"].as_str()),
            "{ta} {tb}"
        );
    }
    let truth = s.truth(&id).await;
    let truth_ids: Vec<_> = truth["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["transactionId"].clone())
        .collect();
    let api_ids: Vec<_> = all.iter().map(|t| t["transactionId"].clone()).collect();
    assert_eq!(api_ids, truth_ids);

    for bad in ["0", "-1", "abc", "1.5", ""] {
        let res = s.get(&format!("{path}?page={bad}"), &c.token).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "page={bad}");
        assert_eq!(res.error(), "INVALID_REQUEST");
    }
    for bad in [
        "fromBookingDateTime=yesterday",
        "toBookingDateTime=2024-13-01",
        "fromBookingDateTime=2024-02-01T00:00:00Z&toBookingDateTime=2024-01-01T00:00:00Z",
    ] {
        let res = s.get(&format!("{path}?{bad}"), &c.token).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn date_filters_are_inclusive() {
    let s = TestSandbox::spawn_with(SandboxConfig {
        page_size: 1000,
        ..Default::default()
    })
    .await;
    let c = s.connect("cust-1", "RED").await;
    let id = s.account_id(&c.token, "RED", "CurrentAccount").await;
    let truth = s.truth(&id).await;
    let txs = truth["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let newer = txs[40]["bookingDateTime"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let older = txs[120]["bookingDateTime"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let expected = txs
        .iter()
        .filter(|t| {
            let b = t["bookingDateTime"].as_str().unwrap_or("");
            b >= older.as_str() && b <= newer.as_str()
        })
        .count();
    let path = format!("/accountInformation/v2/accounts/{id}/transactions?fromBookingDateTime={older}&toBookingDateTime={newer}");
    let res = s.get(&path, &c.token).await;
    assert_eq!(res.json["meta"]["totalCountOfRecords"], expected);
    let listed = res.json["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        listed.first().map(|t| t["bookingDateTime"].clone()),
        Some(json!(newer))
    );
    assert_eq!(
        listed.last().map(|t| t["bookingDateTime"].clone()),
        Some(json!(older))
    );
    assert_eq!(res.json["meta"]["fromBookingDateTime"], older.as_str());
    assert_eq!(res.json["meta"]["toBookingDateTime"], newer.as_str());

    // A single instant selects exactly the transactions booked at it.
    let one = s
        .get(&format!("/accountInformation/v2/accounts/{id}/transactions?fromBookingDateTime={newer}&toBookingDateTime={newer}"), &c.token)
        .await;
    assert!(one.json["meta"]["totalCountOfRecords"]
        .as_u64()
        .is_some_and(|n| n >= 1));
    assert!(one.json["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| t["bookingDateTime"] == newer.as_str()));

    // The default range covers all seeded data, even after the clock moves on.
    s.control(
        Method::POST,
        "/__sandbox/clock/advance",
        json!({ "secs": 40 * 86_400 }),
    )
    .await;
    let token = s.token(Some("cust-1")).await;
    let res = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &token,
        )
        .await;
    assert_eq!(res.json["meta"]["totalCountOfRecords"], 300);
}

#[tokio::test]
async fn enriched_and_raw_differ_only_in_enrichment() {
    let s = TestSandbox::spawn_with(SandboxConfig {
        page_size: 1000,
        ..Default::default()
    })
    .await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    let enriched = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    let raw = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/rawtransactions"),
            &c.token,
        )
        .await;
    let v1 = s
        .get(
            &format!("/accountInformation/v1/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    let refresh = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/rawtransactions/refresh"),
            &c.token,
        )
        .await;
    let e = enriched.json["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let r = raw.json["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(e.len(), 300);
    assert_eq!(v1.json["transactions"].as_array(), Some(&e));
    assert_eq!(refresh.json["transactions"].as_array(), Some(&r));
    assert!(refresh.json["links"][0]["href"]
        .as_str()
        .is_some_and(|h| h.contains("/rawtransactions?page=1")));

    let mut with_merchant = 0;
    for (a, b) in e.iter().zip(&r) {
        for f in [
            "transactionId",
            "accountId",
            "providerId",
            "transactionDescription",
            "transactionType",
            "subTransactionType",
            "creditDebitIndicator",
            "amount",
            "bookingDateTime",
        ] {
            assert_eq!(a[f], b[f], "{f}");
            assert!(!a[f].is_null(), "{f}");
        }
        let cat = &a["category"];
        assert!(
            cat["group"] == "Expense" || cat["group"] == "Income",
            "{cat}"
        );
        assert!(cat["name"].is_string() && cat["icon"].is_string());
        assert!(b.get("category").is_none(), "{b}");
        if let Some(m) = a.get("merchant") {
            if m.get("name").is_some() {
                with_merchant += 1;
                assert!(m["logo"].is_string());
                assert!(m["merchantCategoryCode"]
                    .as_str()
                    .is_some_and(|c| c.len() == 4));
                let raw_m = b["merchant"].as_object().cloned().unwrap_or_default();
                assert_eq!(raw_m.keys().collect::<Vec<_>>(), ["merchantCategoryCode"]);
            }
        }
        assert!(a["amount"]["value"].as_f64().is_some_and(|v| v > 0.0));
        let ind = a["creditDebitIndicator"].as_str().unwrap_or("");
        assert!(ind == "Credit" || ind == "Debit");
        if cat["name"] == "Salary" {
            assert_eq!(ind, "Credit");
            assert_eq!(cat["group"], "Income");
        }
    }
    assert!(with_merchant > 200, "{with_merchant}");
    let categories: HashSet<_> = e
        .iter()
        .map(|t| t["category"]["name"].to_string())
        .collect();
    for want in [
        "Groceries",
        "Eating Out",
        "Transport",
        "Shopping",
        "Utilities",
        "Salary",
    ] {
        assert!(
            categories.contains(&format!("\"{want}\"")),
            "{want} in {categories:?}"
        );
    }
    let salaries: Vec<_> = e
        .iter()
        .filter(|t| t["category"]["name"] == "Salary")
        .collect();
    assert!((11..=12).contains(&salaries.len()));
    let descriptions: HashSet<_> = salaries
        .iter()
        .map(|t| t["transactionDescription"].to_string())
        .collect();
    assert_eq!(descriptions.len(), 1, "one employer description");
}

#[tokio::test]
async fn amounts_have_the_currency_precision_and_match_the_truth() {
    let s = TestSandbox::spawn_with(SandboxConfig {
        page_size: 1000,
        ..Default::default()
    })
    .await;
    for (provider, currency, exp) in [("BLUE", "BHD", 3), ("RED", "SAR", 2)] {
        let c = s.connect("cust-1", provider).await;
        let id = s.account_id(&c.token, provider, "CurrentAccount").await;
        let res = s
            .get(
                &format!("/accountInformation/v2/accounts/{id}/transactions"),
                &c.token,
            )
            .await;
        let truth = s.truth(&id).await;
        let listed = res.json["transactions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let expected = truth["transactions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(listed.len(), expected.len());
        let mut uses_last_decimal = 0;
        for (t, want) in listed.iter().zip(&expected) {
            assert_eq!(t["amount"]["currency"], currency);
            let m = minor(&t["amount"]["value"], exp);
            assert_eq!(m, want["amountMinor"].as_i64().unwrap_or(-1), "{t}");
            if m % 10 != 0 {
                uses_last_decimal += 1;
            }
        }
        assert!(uses_last_decimal > 100, "{provider}: {uses_last_decimal}");
        if exp == 3 {
            // The wire text itself has three decimals, e.g. 12.345.
            assert!(res.text.split("\"value\":").skip(1).any(|rest| {
                let num: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                num.split_once('.').is_some_and(|(_, f)| f.len() == 3)
            }));
        }

        // Balance = opening + Σ signed transactions, in both balance types.
        let sum: i64 = expected
            .iter()
            .map(|t| {
                let a = t["amountMinor"].as_i64().unwrap_or(0);
                if t["creditDebitIndicator"] == "Credit" {
                    a
                } else {
                    -a
                }
            })
            .sum();
        let balances = s
            .get(
                &format!("/accountInformation/v2/accounts/{id}/balances"),
                &c.token,
            )
            .await;
        let types: Vec<_> = balances.json["balances"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b["type"].clone())
            .collect();
        assert_eq!(
            types,
            vec![json!("ClosingAvailable"), json!("ClosingBooked")]
        );
        for b in balances.json["balances"].as_array().into_iter().flatten() {
            assert_eq!(
                minor(&b["amount"]["value"], exp),
                truth["openingBalanceMinor"].as_i64().unwrap_or(0) + sum
            );
            assert_eq!(b["amount"]["currency"], currency);
        }
        assert!(balances.json["meta"]["lastBalancesUpdateDatetime"].is_string());
    }
}

#[tokio::test]
async fn balances_follow_transaction_edits_and_refresh_updates_the_timestamp() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    let path = format!("/accountInformation/v2/accounts/{id}/balances");
    let balance = |v: &Value| minor(&v["balances"][0]["amount"]["value"], 3);
    let before = balance(&s.get(&path, &c.token).await.json);

    s.control(
        Method::POST,
        "/__sandbox/clock/advance",
        json!({ "secs": 60 }),
    )
    .await;
    let added = s
        .control(
            Method::POST,
            &format!("/__sandbox/accounts/{id}/transactions"),
            json!({ "count": 3 }),
        )
        .await;
    let new_ids: Vec<_> = added["transactionIds"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(new_ids.len(), 3);
    let truth = s.truth(&id).await;
    let delta: i64 = truth["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| new_ids.contains(&t["transactionId"]))
        .map(|t| {
            let a = t["amountMinor"].as_i64().unwrap_or(0);
            if t["creditDebitIndicator"] == "Credit" {
                a
            } else {
                -a
            }
        })
        .sum();
    assert_eq!(balance(&s.get(&path, &c.token).await.json), before + delta);

    // New transactions are booked now, so they list first.
    let page = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    assert_eq!(page.json["meta"]["totalCountOfRecords"], 303);
    let top: HashSet<_> = page.json["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .take(3)
        .map(|t| t["transactionId"].clone())
        .collect();
    assert_eq!(top, new_ids.iter().cloned().collect());

    // Edit and delete.
    let first = new_ids[0].as_str().unwrap_or("");
    let old = truth["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["transactionId"] == first)
        .cloned()
        .unwrap_or_default();
    let sign = if old["creditDebitIndicator"] == "Credit" {
        1
    } else {
        -1
    };
    let patched = s
        .control(
            Method::PATCH,
            &format!("/__sandbox/transactions/{first}"),
            json!({ "amount": "12.345", "description": "Edited" }),
        )
        .await;
    assert_eq!(patched["amountMinor"], 12_345);
    let after_patch = balance(&s.get(&path, &c.token).await.json);
    assert_eq!(
        after_patch,
        before + delta + sign * (12_345 - old["amountMinor"].as_i64().unwrap_or(0))
    );
    let listed = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    let edited = listed.json["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["transactionId"] == first)
        .cloned()
        .unwrap_or_default();
    assert_eq!(edited["transactionDescription"], "Edited");
    assert_eq!(minor(&edited["amount"]["value"], 3), 12_345);

    s.control(
        Method::DELETE,
        &format!("/__sandbox/transactions/{first}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        balance(&s.get(&path, &c.token).await.json),
        after_patch - sign * 12_345
    );
    let gone = s
        .send(
            Method::DELETE,
            &format!("/__sandbox/transactions/{first}"),
            None,
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    for bad in [
        json!({ "amount": "1.2345" }),
        json!({ "amount": "-1" }),
        json!({}),
        json!({ "amont": "1" }),
    ] {
        let res = s
            .send(
                Method::PATCH,
                &format!(
                    "/__sandbox/transactions/{}",
                    new_ids[1].as_str().unwrap_or("")
                ),
                None,
                Some(bad.clone()),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // Refresh moves lastBalancesUpdateDatetime to the sandbox's now.
    let old_stamp = s.get(&path, &c.token).await.json["meta"]["lastBalancesUpdateDatetime"].clone();
    s.control(
        Method::POST,
        "/__sandbox/clock/advance",
        json!({ "secs": 3600 }),
    )
    .await;
    let token = s.token(Some("cust-1")).await;
    for method in [Method::GET, Method::POST] {
        let res = s
            .send(method, &format!("{path}/refresh"), Some(&token), None)
            .await;
        assert_eq!(res.status, StatusCode::OK);
        assert_ne!(res.json["meta"]["lastBalancesUpdateDatetime"], old_stamp);
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data() {
    let a = TestSandbox::spawn().await;
    let b = TestSandbox::spawn().await;
    let c = TestSandbox::spawn_with(SandboxConfig {
        seed: 7,
        ..Default::default()
    })
    .await;
    let mut ids = Vec::new();
    for s in [&a, &b, &c] {
        let conn = s.connect("cust-42", "BLUE").await;
        let accounts = s.accounts(&conn.token).await;
        let mut per = Vec::new();
        for acc in &accounts {
            let id = acc["accountId"].as_str().unwrap_or("").to_string();
            let truth = s.truth(&id).await;
            let txs: Vec<_> = truth["transactions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    (
                        t["transactionId"].clone(),
                        t["amountMinor"].clone(),
                        t["description"].clone(),
                        t["creditDebitIndicator"].clone(),
                    )
                })
                .collect();
            per.push((
                id,
                acc["accountHolderName"].clone(),
                acc["identifiers"].clone(),
                truth["balanceMinor"].clone(),
                txs,
            ));
        }
        ids.push(per);
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0][0].0, ids[2][0].0);
}

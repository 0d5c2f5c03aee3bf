//! Insights agree with the transactions they summarise.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tarabut_sandbox::SandboxConfig;

use crate::helpers::{minor, TestSandbox};

/// The first day of the month `back` months before the sandbox's current month, as
/// `YYYY-MM-01`, from the control clock.
async fn month_start(s: &TestSandbox, back: i32) -> String {
    let clock = s
        .control(Method::GET, "/__sandbox/clock", Value::Null)
        .await;
    let now = clock["now"].as_str().unwrap_or("").to_string();
    let year: i32 = now[..4].parse().unwrap_or(0);
    let month: i32 = now[5..7].parse().unwrap_or(0);
    let total = year * 12 + month - 1 - back;
    format!(
        "{:04}-{:02}-01",
        total.div_euclid(12),
        total.rem_euclid(12) + 1
    )
}

#[tokio::test]
async fn salary_insight_matches_the_salary_transactions() {
    let s = TestSandbox::spawn_with(SandboxConfig {
        page_size: 1000,
        ..Default::default()
    })
    .await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    let all = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    let since = month_start(&s, 2).await;
    let mut expected: Vec<(String, i64)> = all.json["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["category"]["name"] == "Salary" && t["creditDebitIndicator"] == "Credit")
        .filter(|t| t["bookingDateTime"].as_str().unwrap_or("") >= since.as_str())
        .map(|t| {
            (
                t["bookingDateTime"].as_str().unwrap_or("").to_string(),
                minor(&t["amount"]["value"], 3),
            )
        })
        .collect();
    expected.sort();
    assert!(!expected.is_empty(), "at least one salary in three months");

    let res = s.get("/insights/v1/salary?months=3", &c.token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let mut got: Vec<(String, i64)> = Vec::new();
    for sal in res.json["salaries"].as_array().into_iter().flatten() {
        let value = sal["salaryAmount"]["value"].as_str().unwrap_or("");
        assert_eq!(
            value.split_once('.').map(|(_, f)| f.len()),
            Some(3),
            "{value}"
        );
        assert_eq!(sal["salaryAmount"]["currency"], "BHD");
        let at = sal["bookingDateTime"].as_str().unwrap_or("").to_string();
        let month: u64 = at[5..7].parse().unwrap_or(0);
        assert_eq!(sal["monthIndicator"], month);
        got.push((at, minor(&sal["salaryAmount"]["value"], 3)));
    }
    got.sort();
    assert_eq!(got, expected);

    // A twelve-month window sees more.
    let year = s.get("/insights/v1/salary?months=12", &c.token).await;
    assert!(year.json["salaries"].as_array().map_or(0, Vec::len) >= 10);
    for bad in ["0", "25", "x"] {
        let res = s
            .get(&format!("/insights/v1/salary?months={bad}"), &c.token)
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn balance_insight_is_derived_from_the_current_balance() {
    let s = TestSandbox::spawn().await;
    let c = s.connect("cust-1", "RED").await;
    let id = s.account_id(&c.token, "RED", "CurrentAccount").await;
    let balance = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/balances"),
            &c.token,
        )
        .await;
    let current = minor(&balance.json["balances"][0]["amount"]["value"], 2);
    let clock = s
        .control(Method::GET, "/__sandbox/clock", Value::Null)
        .await;
    let today = clock["now"].as_str().unwrap_or("")[..10].to_string();
    let from = month_start(&s, 3).await;
    let res = s
        .get(
            &format!("/insights/v1/balance-insights?accountId={id}&fromDate={from}&toDate={today}"),
            &c.token,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let b = &res.json;
    assert_eq!(b["accountId"], id.as_str());
    assert_eq!(b["providerId"], "RED");
    assert_eq!(b["from"], from.as_str());
    assert_eq!(b["to"], today.as_str());
    let min = minor(&b["minBalance"]["amount"]["value"], 2);
    let max = minor(&b["maxBalance"]["amount"]["value"], 2);
    let avg = minor(&b["averageBalance"]["amount"]["value"], 2);
    assert!(min <= current && current <= max, "{min} {current} {max}");
    assert!(min <= avg && avg <= max);
    assert!(b["minBalance"]["date"].is_string());
    assert!(["positive", "negative", "neutral"].contains(&b["trend"].as_str().unwrap_or("")));

    for bad in [
        String::new(),
        format!("accountId={id}&fromDate=2024-02-30"),
        format!("accountId={id}&fromDate={today}&toDate=2000-01-01"),
    ] {
        let res = s
            .get(&format!("/insights/v1/balance-insights?{bad}"), &c.token)
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn transaction_income_and_spending_insights_add_up() {
    let s = TestSandbox::spawn_with(SandboxConfig {
        page_size: 1000,
        ..Default::default()
    })
    .await;
    let c = s.connect("cust-1", "BLUE").await;
    let id = s.account_id(&c.token, "BLUE", "CurrentAccount").await;
    let from = month_start(&s, 12).await;
    let clock = s
        .control(Method::GET, "/__sandbox/clock", Value::Null)
        .await;
    let today = clock["now"].as_str().unwrap_or("")[..10].to_string();
    let query = format!("accountId={id}&fromDate={from}&toDate={today}");
    let all = s
        .get(
            &format!("/accountInformation/v2/accounts/{id}/transactions"),
            &c.token,
        )
        .await;
    let mut totals: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
    for t in all.json["transactions"].as_array().into_iter().flatten() {
        let e = totals
            .entry(if t["creditDebitIndicator"] == "Credit" {
                "Credit"
            } else {
                "Debit"
            })
            .or_default();
        e.0 += minor(&t["amount"]["value"], 3);
        e.1 += 1;
    }

    let res = s
        .get(
            &format!("/insights/v1/transaction-insights?{query}"),
            &c.token,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let acc = &res.json["accounts"][0];
    assert_eq!(acc["accountCurrency"], "BHD");
    assert_eq!(acc["accountHasCreditTransactions"], true);
    for (key, kind) in [
        ("transactionCreditSummary", "Credit"),
        ("transactionDebitSummary", "Debit"),
    ] {
        let sum = &acc[key];
        assert_eq!(minor(&sum["totalAmount"], 3), totals[kind].0, "{key}");
        assert_eq!(sum["totalCount"], totals[kind].1, "{key}");
        let max = minor(&sum["maxMonthlyAmount"]["amount"], 3);
        let min = minor(&sum["minMonthlyAmount"]["amount"], 3);
        assert!(
            min <= minor(&sum["avgMonthlyAmount"], 3) && minor(&sum["avgMonthlyAmount"], 3) <= max
        );
        assert_eq!(
            sum["maxMonthlyAmount"]["monthIndicator"]
                .as_str()
                .map(str::len),
            Some(2)
        );
        assert_eq!(
            sum["maxMonthlyAmount"]["yearIndicator"]
                .as_str()
                .map(str::len),
            Some(4)
        );
    }

    let income = s
        .get(&format!("/insights/v1/income-insights?{query}"), &c.token)
        .await;
    let acc = &income.json["accounts"][0];
    assert_eq!(acc["accountHasSalary"], true);
    let stream = &acc["recurringCreditSummary"][0];
    assert_eq!(stream["streamType"], "Salary");
    assert_eq!(stream["frequency"], "Monthly");
    assert_eq!(stream["links"][0]["ref"], "TRANSACTIONS");
    assert_eq!(
        acc["creditSummary"]["totalTransactions"],
        totals["Credit"].1
    );
    assert!(acc["irregularCreditSummary"]["totalAmount"].is_string());

    let spending = s
        .get(&format!("/insights/v1/spending-insights?{query}"), &c.token)
        .await;
    let acc = &spending.json["accounts"][0];
    assert_eq!(
        acc["SpendingSummary"]["totalTransactions"],
        totals["Debit"].1
    );
    let recurring: i64 = acc["recurringDebitSummary"]
        .as_array()
        .map_or(0, |v| v.len() as i64);
    assert!(recurring > 0);
    assert!(acc["irregularSpendingSummary"]["totalAmount"].is_string());

    // Without accountId: every account under an active consent.
    let res = s.get("/insights/v1/transaction-insights", &c.token).await;
    assert_eq!(res.json["accounts"].as_array().map(Vec::len), Some(2));
    s.control(
        Method::POST,
        &format!("/__sandbox/consents/{}/revoke", c.consent_id),
        json!(null),
    )
    .await;
    let res = s.get("/insights/v1/transaction-insights", &c.token).await;
    assert_eq!(res.json["accounts"], json!([]));
}

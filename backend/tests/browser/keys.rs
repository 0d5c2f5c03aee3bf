//! An agent's API key with limits: made with the "Agent: push to one account" preset and an
//! address allowlist, then its own page (a `.wasm` chunk of its own) shows the limits, changes
//! the quota (narrowing at once, widening after confirming it is you) and charts the key's
//! requests.

use std::time::Duration;

use fantoccini::{Client, Locator};
use reqwest::StatusCode;

use super::{
    click, click_button, el, fill, in_browser, open_signed_in, screenshots, see, spawn_app,
    wait_path_prefix, WAIT,
};
use crate::helpers::{cash_account, with_key, PASSWORD};

/// An element's DOM property (`checked`, `value`), `None` when it has none.
async fn prop(c: &Client, css: &str, name: &str) -> Option<String> {
    el(c, css).await.prop(name).await.unwrap()
}

/// Waits until the text of `css` contains `text`; the error shows what it had.
async fn text_of_contains(c: &Client, css: &str, text: &str) -> String {
    let mut last = String::new();
    for _ in 0..(WAIT.as_millis() / 100) {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(text) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{css}` never contained {text:?}; it had {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_key_for_one_account_shows_its_limits_changes_its_quota_and_charts_its_use() {
    let app = spawn_app().await;
    let email = "agent-owner@example.com";
    app.signed_in_user(email).await;
    let wallet = cash_account(&app).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        c.goto(&format!("{origin}/keys")).await.unwrap();
        see(&c, "No keys yet").await;

        // The preset: read:accounts and write:transactions only, the manual account checked,
        // a daily quota of 10,000.
        click_button(&c, "", "Create key").await;
        click(&c, "#preset-agent-push").await;
        for (scope, on) in [
            ("read-accounts", true),
            ("write-transactions", true),
            ("read-transactions", false),
            ("read-budgets", false),
        ] {
            let checked = prop(&c, &format!("#scope-{scope}"), "checked").await;
            assert_eq!(checked.as_deref() == Some("true"), on, "{scope}");
        }
        let account_box = format!("#key-account-{wallet}");
        for _ in 0..(WAIT.as_millis() / 100) {
            if prop(&c, &account_box, "checked").await.as_deref() == Some("true") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            prop(&c, &account_box, "checked").await.as_deref(),
            Some("true"),
            "the first manual account is picked"
        );
        assert_eq!(
            prop(&c, "#key-quota-limit", "value").await.as_deref(),
            Some("10000")
        );
        assert_eq!(
            prop(&c, "#key-quota-refill", "value").await.as_deref(),
            Some("daily")
        );
        assert_eq!(
            prop(&c, "#f-name", "value").await.as_deref(),
            Some("Agent (push)")
        );

        // An address that is not one is caught before anything is sent.
        fill(&c, "#key-allowed-ips", "127.0.0.1, localhost").await;
        click_button(&c, "//dialog", "Create key").await;
        see(&c, "“localhost” is not an IP address or a CIDR block").await;
        // The browser and the test's HTTP client connect from 127.0.0.1.
        fill(&c, "#key-allowed-ips", "127.0.0.1").await;
        click_button(&c, "//dialog", "Create key").await;
        let secret = prop(&c, "#key-secret", "value").await.unwrap();
        assert!(secret.starts_with("pfn_test_"), "{secret}");
        // An agent preset: the reveal says how to connect over MCP.
        el(&c, "#mcp-command").await;
        click_button(&c, "//dialog", "I have saved it").await;

        // Two requests it may make, one its scopes refuse.
        for _ in 0..2 {
            let res = with_key(&app, &secret, "/api/v1/accounts").await;
            assert_eq!(res.status(), StatusCode::OK);
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
        }
        let refused = with_key(&app, &secret, "/api/v1/budgets").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // The server adds the counts up each minute; the test does not wait for that.
        backend::keys::usage::flush_counts(&app.state)
            .await
            .unwrap();

        // The list links to the key's page.
        click(&c, "#keys-table a").await;
        wait_path_prefix(&c, "/keys/").await;
        el(&c, "#key-detail").await;
        see(&c, "Agent (push)").await;
        let detail = el(&c, "#key-detail").await.text().await.unwrap();
        assert!(
            detail.contains("read:accounts") && detail.contains("write:transactions"),
            "{detail}"
        );
        let limits = text_of_contains(&c, "#key-limits-facts", "127.0.0.1/32").await;
        assert!(limits.contains("Cash"), "{limits}");
        assert!(limits.contains("9,998 of 10,000 left"), "{limits}");
        assert!(limits.contains("refills daily"), "{limits}");
        assert!(limits.contains("The server's default"), "{limits}");

        // The chart: every day of the last 30, with today's requests stacked.
        el(&c, "#key-usage-chart rect.ok").await;
        el(&c, "#key-usage-chart rect.denied").await;
        let total = el(&c, "#key-usage-total").await.text().await.unwrap();
        assert!(
            total.contains("3 requests in 30 days")
                && total.contains("2 allowed")
                && total.contains("0 rate-limited")
                && total.contains("1 refused"),
            "{total}"
        );
        screenshots(&c, "key-detail").await;
        // The form is fetched when asked for.
        click(&c, "#change-limits").await;
        el(&c, "#key-limits-form").await;
        c.execute(
            "document.getElementById('key-limits-form').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
        screenshots(&c, "key-detail-limits").await;

        // A smaller quota applies at once and starts again at its limit.
        fill(&c, "#key-quota-limit", "500").await;
        click(&c, "#key-limits-form button[type=submit]").await;
        see(&c, "Limits saved.").await;
        text_of_contains(&c, "#key-limits-facts", "500 of 500 left").await;
        // The toast sits over the form's button.
        click(&c, ".toast button[aria-label=Dismiss]").await;
        let me: serde_json::Value = with_key(&app, &secret, "/api/v1/whoami")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["quota"]["remaining"], 499, "{me}");

        // A larger one widens the key: ten minutes after signing in, it first asks to confirm
        // it is you, then goes on by itself.
        app.clock.advance(10 * 60 + 1);
        fill(&c, "#key-quota-limit", "20000").await;
        click(&c, "#key-limits-form button[type=submit]").await;
        see(&c, "Confirm it is you").await;
        fill(&c, "#f-reauth-password", PASSWORD).await;
        click_button(&c, "//dialog", "Confirm").await;
        text_of_contains(&c, "#key-limits-facts", "20,000 of 20,000 left").await;
        click(&c, ".toast button[aria-label=Dismiss]").await;
        // Lifting the allowlist widens too; the step-up still holds.
        fill(&c, "#key-allowed-ips", "").await;
        click(&c, "#key-limits-form button[type=submit]").await;
        text_of_contains(&c, "#key-limits-facts", "Anywhere").await;
    })
    .await;
}

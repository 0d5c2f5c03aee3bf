//! The webhooks page: add an endpoint (its secret shown once), send it a test ping, read the
//! delivery log and retry a delivery.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use fantoccini::Locator;

use super::{click_button, fill, in_browser, open_signed_in, see, see_within, spa_dir, WAIT};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_an_endpoint_ping_it_and_retry_from_the_log() {
    let dist = spa_dir();
    let app = TestApp::spawn_with(&[
        ("PFN_SPA_DIR", dist.to_str().unwrap()),
        ("PFN_WEBHOOK_ALLOW_PRIVATE", "1"),
    ])
    .await;
    let email = "hooks@example.com";
    app.signed_in_user(email).await;
    // The receiver: answers 204 and counts.
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let counted = hits.clone();
    let receiver = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::NO_CONTENT
        }
    });
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        c.goto(&format!("{origin}/webhooks")).await.unwrap();
        see(&c, "No endpoints yet").await;
        click_button(&c, "//div[@class='page-actions']", "Add endpoint").await;
        fill(&c, "#f-url", &url).await;
        click_button(&c, "//dialog", "Add endpoint").await;
        see(&c, "Copy this secret now").await;
        let secret = c
            .find(Locator::Css("#webhook-secret"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(secret.starts_with("whsec_"), "{secret}");
        click_button(&c, "//dialog", "I have saved it").await;
        see(&c, "transaction.created").await;
        click_button(&c, "//section", "Send test").await;
        see(&c, "Ping queued").await;
        click_button(&c, "//section", "Delivery log").await;
        see(&c, "ping").await;
        // The log shows the answer once the worker has it.
        for _ in 0..(WAIT.as_millis() / 500) {
            let body = c
                .find(Locator::Css("body"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if body.contains("204 in") {
                break;
            }
            click_button(&c, "//section", "Refresh").await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        see(&c, "delivered").await;
        click_button(&c, "//table", "Retry").await;
        see_within(&c, "Sent again.", WAIT).await;
    })
    .await;
    for _ in 0..100 {
        if hits.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "the ping, then its retry");
}

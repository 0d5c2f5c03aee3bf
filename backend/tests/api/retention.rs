//! Retention: what the hourly job removes, what it keeps, and that one replica at a time runs
//! it.

use backend::retention::{self, Removed};
use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

const DAY: i64 = 86_400;

#[tokio::test]
async fn the_job_removes_what_is_past_keeping_and_nothing_else() {
    let app = TestApp::spawn_with(&[("PFN_AUDIT_RETENTION_DAYS", "10")]).await;
    let email = "kept@example.com";
    app.signed_in_user(email).await;
    // A reset link that is never used, a failed sign-in, a mail that goes out.
    app.post("/api/v1/auth/password/forgot", json!({"email": email}))
        .await;
    app.login("nobody@example.com", "wrong password 123").await;
    app.wait_for_mail(email, 2).await;
    // The server itself runs the job as it starts, and then holds the lease for 55 minutes.
    for _ in 0..100 {
        if count(&app, "job_leases").await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        retention::run(&app.state, "replica-a", 14 * DAY)
            .await
            .unwrap(),
        None
    );
    app.clock.advance(56 * 60);
    let holder = "replica-a";
    let first = retention::run(&app.state, holder, 14 * DAY).await.unwrap();
    assert_eq!(
        first,
        Some(Removed {
            tokens: 1,
            ..Removed::default()
        }),
        "at once only the used verification link goes"
    );
    // Another replica's turn comes only when the lease ends.
    assert_eq!(
        retention::run(&app.state, "replica-b", 14 * DAY)
            .await
            .unwrap(),
        None
    );
    let audit_before = count(&app, "audit_log").await;
    assert!(audit_before > 0);

    // Eleven days on: the reset link expired, the failure count is idle, the audit rows are
    // past ten days; the mail is kept for 30 days; the session is idle for less than 14.
    app.clock.advance(11 * DAY);
    let second = retention::run(&app.state, "replica-b", 14 * DAY)
        .await
        .unwrap();
    let removed = second.expect("the lease ran out: replica-b's turn");
    assert_eq!(removed.tokens, 1, "{removed:?}");
    assert_eq!(removed.throttles, 1, "{removed:?}");
    assert_eq!(removed.audit as i64, audit_before, "{removed:?}");
    assert_eq!(removed.mail, 0, "{removed:?}");
    assert_eq!(removed.sessions, 0, "{removed:?}");
    assert_eq!(count(&app, "email_tokens").await, 0);
    assert_eq!(count(&app, "login_throttle").await, 0);
    assert!(count(&app, "mail_outbox").await >= 2);
    // The account and its sign-in are untouched.
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);

    // Thirty-one days after sending, the mail goes; the first session, idle since, too.
    app.clock.advance(20 * DAY);
    let third = retention::run(&app.state, "replica-a", 14 * DAY)
        .await
        .unwrap()
        .unwrap();
    assert!(third.mail >= 2, "{third:?}");
    assert!(third.sessions >= 1, "{third:?}");
    assert_eq!(count(&app, "mail_outbox").await, 0);
    assert_eq!(count(&app, "users").await, 1);
}

#[tokio::test]
async fn zero_days_keeps_the_audit_log() {
    let app = TestApp::spawn_with(&[("PFN_AUDIT_RETENTION_DAYS", "0")]).await;
    app.signed_in_user("forever@example.com").await;
    let before = count(&app, "audit_log").await;
    app.clock.advance(5000 * DAY);
    // (The server's own run at start-up holds a lease that has long run out by now.)
    let removed = retention::run(&app.state, "r", 14 * DAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.audit, 0);
    assert_eq!(count(&app, "audit_log").await, before);
}

//! The `pfn` binary: configuration errors and `admin create`.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};

pub fn pfn(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let url = app.state.config.database_url.clone();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pfn"));
    cmd.args(args)
        .env_clear()
        .env("PFN_DATA_DIR", &app.data_dir)
        .env("PFN_DATABASE_URL", url)
        .env("PFN_PUBLIC_URL", &app.origin)
        .current_dir(&app.data_dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("pfn runs")
}

#[tokio::test]
async fn invalid_configuration_stops_start_up_with_one_line_per_problem() {
    let app = TestApp::spawn().await;
    let out = pfn(
        &app,
        &["serve"],
        &[
            ("PFN_PUBLIC_URL", "https://pfn.example.com"),
            ("PFN_GOOGLE_CLIENT_ID", "x"),
            ("PFN_LISTEN", "nope"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "PFN_LISTEN",
        "PFN_SECRET",
        "PFN_MAIL_TRANSPORT",
        "PFN_GOOGLE_CLIENT_SECRET",
    ] {
        assert!(err.contains(needle), "{needle} not reported in:\n{err}");
    }
    assert_eq!(
        err.lines()
            .filter(|l| l.trim_start().starts_with("- "))
            .count(),
        4,
        "{err}"
    );
}

#[tokio::test]
async fn admin_create_makes_a_verified_admin_with_a_one_time_link_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let out = pfn(
        &app,
        &["admin", "create", "--email", "Root@Example.com"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = pfn(
        &app,
        &["admin", "create", "--email", "root@example.com"],
        &[],
    );
    assert!(again.status.success());
    let count: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "running it twice does not duplicate the admin");

    let stdout = String::from_utf8_lossy(&out.stdout);
    let link = stdout
        .lines()
        .find(|l| l.contains("/reset-password?token="))
        .expect("a set-password link");
    let token = link.split("token=").nth(1).unwrap().trim();
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.login("root@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["emailVerified"], true);
}

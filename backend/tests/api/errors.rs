//! Bad input: every case answers our JSON error with a 4xx, never a 500.

use reqwest::{header, StatusCode};
use serde_json::json;

use crate::helpers::{error_of, TestApp, PASSWORD};

#[tokio::test]
async fn malformed_requests_get_json_errors_with_the_right_status() {
    let app = TestApp::spawn().await;
    let long_email = format!("{}@example.com", "a".repeat(10_000));
    let raw = |path: &str, ct: &str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .header(header::CONTENT_TYPE, ct.to_string())
            .body(body)
            .send()
    };
    type Case = (
        &'static str,
        reqwest::Response,
        StatusCode,
        &'static str,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "syntax",
            raw(
                "/api/v1/auth/login",
                "application/json",
                b"{\"email\":".to_vec(),
            )
            .await
            .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
        ),
        (
            "empty body",
            raw("/api/v1/auth/login", "application/json", vec![])
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
        ),
        (
            "wrong content type",
            raw("/api/v1/auth/login", "text/plain", b"{}".to_vec())
                .await
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "form body",
            raw(
                "/api/v1/auth/signup",
                "application/x-www-form-urlencoded",
                b"email=a".to_vec(),
            )
            .await
            .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
        ),
        (
            "oversize",
            raw(
                "/api/v1/auth/signup",
                "application/json",
                vec![b' '; 3 * 1024 * 1024],
            )
            .await
            .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
        ),
        (
            "missing field",
            app.post("/api/v1/auth/login", json!({"email": "a@example.com"}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("password"),
        ),
        (
            "wrong type",
            app.post("/api/v1/auth/login", json!({"email": 42, "password": "x"}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            "array body",
            app.post("/api/v1/auth/login", json!([1, 2])).await,
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
        ),
        (
            "NUL in email",
            app.post(
                "/api/v1/auth/signup",
                json!({"email": "a\u{0}@example.com", "password": PASSWORD, "name": "x"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            "NUL in name",
            app.post(
                "/api/v1/auth/signup",
                json!({"email": "nul@example.com", "password": PASSWORD, "name": "a\u{0}b"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("name"),
        ),
        (
            "NUL in login password",
            app.post(
                "/api/v1/auth/login",
                json!({"email": "a@example.com", "password": "\u{0}"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("password"),
        ),
        (
            "NUL in token",
            app.post("/api/v1/auth/verify-email", json!({"token": "ab\u{0}"}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("token"),
        ),
        (
            "10 kB email signup",
            app.post(
                "/api/v1/auth/signup",
                json!({"email": long_email, "password": PASSWORD, "name": "x"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            "10 kB email login",
            app.post(
                "/api/v1/auth/login",
                json!({"email": long_email, "password": PASSWORD}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            "10 kB email forgot",
            app.post("/api/v1/auth/password/forgot", json!({"email": long_email}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            "huge password",
            app.post(
                "/api/v1/auth/login",
                json!({"email": "a@example.com", "password": "x".repeat(100_000)}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("password"),
        ),
        (
            "unknown route",
            app.get("/api/v1/nope").await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            "wrong method",
            app.client
                .put(app.url("/api/v1/auth/login"))
                .send()
                .await
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        ),
        (
            "bad limit",
            app.get("/api/v1/auth/sessions?limit=abc").await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            None,
        ),
    ];
    for (name, res, status, code, field) in cases {
        assert_eq!(res.status(), status, "{name}");
        let (got, fields) = error_of(res).await;
        assert_eq!(got, code, "{name}");
        if let Some(f) = field {
            assert!(
                fields[f].is_string(),
                "{name}: expected fields.{f}, got {fields}"
            );
        }
    }
}

#[tokio::test]
async fn bad_query_parameters_get_422_or_400_for_signed_in_users() {
    let app = TestApp::spawn().await;
    app.signed_in_user("q@example.com").await;
    for (query, status, code) in [
        (
            "limit=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "limit=201",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "cursor=%00",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        ("cursor=garbage!", StatusCode::BAD_REQUEST, "invalid_cursor"),
    ] {
        let res = app.get(&format!("/api/v1/auth/sessions?{query}")).await;
        assert_eq!(res.status(), status, "{query}");
        assert_eq!(error_of(res).await.0, code, "{query}");
    }
}

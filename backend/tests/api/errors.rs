//! Bad input: every case answers our JSON error with a 4xx, never a 500.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{documented_operations, error_of, shared_workspace, TestApp, PASSWORD};

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

/// The OpenAPI document this build serves.
fn document() -> Value {
    serde_json::from_str(&backend::openapi::json()).unwrap()
}

/// An admin (so every operation's extractors pass) signed in on `app.client`, and the id of a
/// shared workspace they own.
async fn admin_app() -> (TestApp, String) {
    let app = TestApp::spawn_with(&[("PFN_BOOTSTRAP_ADMIN_EMAIL", "root@example.com")]).await;
    app.bootstrap_admin_signs_in("root@example.com").await;
    let workspace = shared_workspace(&app, "Household").await;
    (app, workspace)
}

#[tokio::test]
async fn every_body_is_one_json_object_with_known_fields_and_nothing_after_it() {
    let (app, workspace) = admin_app().await;
    // `/mcp` takes JSON-RPC messages, refused as the MCP SDK parses them (tests/api/mcp.rs).
    let with_body: Vec<_> = documented_operations(&document(), &workspace)
        .into_iter()
        .filter(|(_, path, op)| op.get("requestBody").is_some() && path != "/mcp")
        .collect();
    assert!(
        with_body.len() >= 18,
        "{} operations with a body",
        with_body.len()
    );
    for (method, path, _) in &with_body {
        for (body, status, code) in [
            ("[]", 400, "invalid_json"),
            (r#"["acc", "BHD", "cash"]"#, 400, "invalid_json"),
            (r#"{"name": "x"} xyz"#, 400, "invalid_json"),
            (r#"{"note": "x"} {"note": "y"}"#, 400, "invalid_json"),
            (r#""text""#, 400, "invalid_json"),
            (r#"{"expiresInDay": 7}"#, 422, "validation_failed"),
        ] {
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let got = res.status().as_u16();
            let (got_code, fields) = error_of(res).await;
            assert_eq!(
                (got, got_code.as_str()),
                (status, code),
                "{method} {path} with {body}"
            );
            if status == 422 {
                assert!(
                    fields["expiresInDay"].is_string(),
                    "{method} {path}: {fields}"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_array_in_place_of_the_body_rotates_nothing() {
    let app = TestApp::spawn().await;
    app.signed_in_user("rotate@example.com").await;
    let (id, key) =
        crate::helpers::create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/keys/{id}/rotate")))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "invalid_json");
    let keys: Value = app.get_json("/api/v1/keys").await;
    assert_eq!(
        keys["items"].as_array().unwrap().len(),
        1,
        "no second key: {keys}"
    );
    let res = crate::helpers::with_key(&app, &key, "/api/v1/whoami").await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.unwrap();
    assert_eq!(who["keyId"], id.as_str());
    // A typo in a field is refused, not replaced by the default.
    let res = app
        .post(
            "/api/v1/keys",
            json!({"name": "k2", "scopes": ["read:accounts"], "expiresInDay": 7}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(res).await.1["expiresInDay"].is_string());
}

#[tokio::test]
async fn a_nul_in_any_query_parameter_of_any_operation_is_a_4xx_in_the_error_shape() {
    let (app, workspace) = admin_app().await;
    let mut tried = 0;
    for (method, path, op) in documented_operations(&document(), &workspace) {
        let params: Vec<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        for name in params {
            for value in ["%00", "a%00b"] {
                let url = app.url(&format!("{path}?{name}={value}"));
                let res = app
                    .client
                    .request(method.parse().unwrap(), url)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let (code, fields) = error_of(res).await;
                assert_eq!(
                    (status, code.as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
                    "{method} {path}?{name}={value}"
                );
                assert!(fields[&name].is_string(), "{method} {path}: {fields}");
                tried += 1;
            }
        }
    }
    assert!(tried > 40, "{tried} parameters tried");
    // The bank callback reads its own query: covered like the rest.
    let res = app.get("/api/v1/banks/callback?intentId=%00").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

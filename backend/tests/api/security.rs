//! CSRF, session secrecy, security headers.

use backend::crypto::sha256_hex;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{create_key, error_of, session_cookie, TestApp, PASSWORD};

#[tokio::test]
async fn cross_site_post_with_the_session_cookie_is_refused() {
    let app = TestApp::spawn().await;
    let email = "victim@example.com";
    app.signed_in_user(email).await;
    let cookie = session_cookie(&app.login(email, PASSWORD).await);
    let plain = reqwest::Client::new();
    let attempt = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut req = plain
            .post(app.url("/api/v1/auth/sessions/none"))
            .header(header::COOKIE, format!("pfn_session={cookie}"));
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        if let Some(s) = fetch_site {
            req = req.header("sec-fetch-site", s);
        }
        async move { req.send().await.unwrap() }
    };
    let logout = |origin: &'static str| {
        plain
            .post(app.url("/api/v1/auth/logout"))
            .header(header::COOKIE, format!("pfn_session={cookie}"))
            .header(header::ORIGIN, origin)
            .send()
    };

    let res = logout("https://evil.example").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(res).await.0, "csrf_rejected");
    for (origin, site) in [
        (None, None),
        (None, Some("cross-site")),
        (Some("null"), None),
        (None, Some("same-site")),
    ] {
        let res = attempt(origin, site).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin:?} {site:?}");
        assert_eq!(error_of(res).await.0, "csrf_rejected");
    }
    // The session survived all of that.
    assert_eq!(app.get("/api/v1/auth/me").await.status(), StatusCode::OK);

    // Same-origin proof without Origin is accepted (some browsers omit Origin on same-origin).
    let res = plain
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, format!("pfn_session={cookie}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn cross_site_posts_are_refused_even_without_a_cookie() {
    let app = TestApp::spawn().await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/signup"))
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({"email": "x@example.com", "password": PASSWORD, "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "csrf_rejected");
    // A script without a browser (no Origin, no cookie) may still sign up.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "x@example.com", "password": PASSWORD, "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn session_ids_are_stored_only_as_sha256() {
    let app = TestApp::spawn().await;
    let email = "hash@example.com";
    app.signed_in_user(email).await;
    let cookie = session_cookie(&app.login_with(&app.browser(), email, PASSWORD).await);
    let rows: Vec<(String, String)> = sqlx::query_as("select id_hash, data from sessions")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "two logins, two sessions");
    assert!(rows
        .iter()
        .any(|(h, _)| *h == sha256_hex(cookie.as_bytes())));
    for (hash, data) in &rows {
        assert!(
            !hash.contains(&cookie) && !data.contains(&cookie),
            "cookie value stored in clear"
        );
    }
}

#[tokio::test]
async fn a_stolen_then_revoked_session_id_gets_401() {
    let app = TestApp::spawn().await;
    let email = "stolen@example.com";
    app.signed_in_user(email).await;
    let thief_copy = session_cookie(&app.login(email, PASSWORD).await);
    let thief = reqwest::Client::new();
    let as_thief = || {
        thief
            .get(app.url("/api/v1/auth/me"))
            .header(header::COOKIE, format!("pfn_session={thief_copy}"))
            .send()
    };
    assert_eq!(
        as_thief().await.unwrap().status(),
        StatusCode::OK,
        "the copied cookie works until revoked"
    );

    // The owner signs in on another device and ends every other session.
    let phone = app.browser();
    app.login_with(&phone, email, PASSWORD).await;
    let res = phone
        .delete(app.url("/api/v1/auth/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = as_thief().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"pfn\""
    );
    assert_eq!(error_of(res).await.0, "unauthenticated");
}

#[tokio::test]
async fn login_issues_a_fresh_session_id_and_a_lax_httponly_cookie() {
    let app = TestApp::spawn().await;
    let email = "fixation@example.com";
    app.signed_in_user(email).await;
    let first = app.login(email, PASSWORD).await;
    let set_cookie = first.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie} lacks {attr}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain-http dev mode has no Secure flag"
    );
    let second = app.login(email, PASSWORD).await;
    assert_ne!(
        session_cookie(&first),
        session_cookie(&second),
        "a new id on every sign-in"
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        rows, 1,
        "signing in again in the same browser replaces its session"
    );
    let stale = reqwest::Client::new()
        .get(app.url("/api/v1/auth/me"))
        .header(
            header::COOKIE,
            format!("pfn_session={}", session_cookie(&first)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        StatusCode::UNAUTHORIZED,
        "the pre-login id is dead"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/api/v1/auth/me", "/api/v1/nope"] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'")
                && csp.contains("frame-ancestors 'none'")
        );
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            h[header::REFERRER_POLICY],
            "strict-origin-when-cross-origin"
        );
        assert!(h.contains_key("x-request-id"));
        assert!(!h.contains_key("x-xss-protection"));
        assert!(
            !h.contains_key(header::STRICT_TRANSPORT_SECURITY),
            "no HSTS over plain http"
        );
        assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }
}

#[tokio::test]
async fn secrets_never_sit_in_the_database_in_clear() {
    let app = TestApp::spawn().await;
    let email = "secret@example.com";
    app.signup(email, PASSWORD).await;
    app.wait_for_mail(email, 1).await; // the account exists once its verification mail is out
    app.post("/api/v1/auth/password/forgot", json!({"email": email}))
        .await;
    let token = app.token_from_mail(email, "/reset-password", 2).await;
    let hashes: Vec<String> = sqlx::query_scalar("select token_hash from email_tokens")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(hashes.contains(&sha256_hex(token.as_bytes())));
    let hash: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));
    // Sent mail is wiped from the outbox; unsent mail is sealed.
    let bodies: Vec<Option<String>> = sqlx::query_scalar("select body_sealed from mail_outbox")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(bodies
        .iter()
        .flatten()
        .all(|b| !b.contains(&token) && !b.contains("token=")));
}

/// A request with an API key is judged by the key alone: the browser session whose cookie it
/// also carries is not read, changed, ended or deleted, and the answer sets no cookie (before,
/// a key request beside a dead session cookie read the session store and deleted the cookie).
#[tokio::test]
async fn a_key_request_leaves_the_browser_session_alone() {
    let app = TestApp::spawn().await;
    let email = "both@example.com";
    app.signed_in_user(email).await;
    let cookie = session_cookie(&app.login(email, PASSWORD).await);
    let (_, key) = create_key(&app, json!({"name": "k", "scopes": ["read:accounts"]})).await;
    let plain = reqwest::Client::new();
    let whoami = |cookie: String| {
        plain
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(&key)
            .header(header::COOKIE, format!("pfn_session={cookie}"))
            .send()
    };

    let res = whoami(cookie.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let who: Value = res.json().await.unwrap();
    assert_eq!(who["auth"], "key");
    // A well-formed id of no session, and one that is not an id at all.
    for dead in ["AAAAAAAAAAAAAAAAAAAAAA", "not-a-session-id"] {
        let res = whoami(dead.into()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{dead}");
        assert!(res.headers().get(header::SET_COOKIE).is_none(), "{dead}");
    }
    // A browser-only route refuses the key and leaves the session as it was.
    let res = plain
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&key)
        .header(header::COOKIE, format!("pfn_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(error_of(res).await.0, "session_required");
    let res = plain
        .get(app.url("/api/v1/auth/me"))
        .header(header::COOKIE, format!("pfn_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

//! Sign-up, verification, sign-in, lockout and the password flows through HTTP.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp, PASSWORD};

#[tokio::test]
async fn full_happy_path_signup_verify_login_me_change_logout() {
    let app = TestApp::spawn().await;
    let email = "layla@example.com";
    let res = app.signup(email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "accepted"})
    );

    // The account exists once its mail is out (sign-up does that work after answering).
    let token = app.token_from_mail(email, "/verify-email", 1).await;
    // Before verification, a correct password is told to verify; a wrong one learns nothing.
    let (code, _) = error_of(app.login(email, PASSWORD).await).await;
    assert_eq!(code, "email_not_verified");

    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["emailVerified"], true);

    let res = app.login("  LAYLA@example.com ", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app.get_json("/api/v1/auth/me").await;
    let user = &me["user"];
    assert_eq!(user["email"], email);
    assert_eq!(user["name"], "Test User");
    assert_eq!(user["role"], "user");
    assert_eq!(user["hasPassword"], true);
    assert_eq!(user["linkedProviders"], json!([]));
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));

    let new_password = "a much better passphrase";
    let res = app
        .post(
            "/api/v1/auth/password/change",
            json!({"currentPassword": PASSWORD, "newPassword": new_password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "this session survives a change"
    );

    let res = app.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "old password is gone"
    );
    assert_eq!(
        app.login(email, new_password).await.status(),
        StatusCode::OK
    );

    let events: Vec<(String, String)> =
        sqlx::query_as("select type, outcome from audit_log order by id")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    let events: Vec<String> = events
        .into_iter()
        .map(|(t, o)| format!("{t}:{o}"))
        .collect();
    assert_eq!(
        events,
        [
            "user.signup:success",
            "user.email_verified:success",
            "user.login:success",
            "password.changed:success",
            "user.login_failed:failure",
            "user.login:success",
        ],
    );
}

#[tokio::test]
async fn forgot_then_reset_ends_every_session_and_the_link_works_once() {
    let app = TestApp::spawn().await;
    let email = "omar@example.com";
    app.signed_in_user(email).await;
    let laptop = app.browser();
    assert_eq!(
        app.login_with(&laptop, email, PASSWORD).await.status(),
        StatusCode::OK
    );

    let res = app
        .post("/api/v1/auth/password/forgot", json!({"email": email}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = app.token_from_mail(email, "/reset-password", 2).await;

    // A weak password is refused without using up the link.
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": "password1"}),
        )
        .await;
    let (code, fields) = error_of(res).await;
    assert_eq!(
        (code.as_str(), fields["password"].is_string()),
        ("validation_failed", true)
    );

    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": "brand new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for client in [&app.client, &laptop] {
        let res = client.get(app.url("/api/v1/auth/me")).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "every old session ends on reset"
        );
    }
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": "another passphrase 9"}),
        )
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token", "single use");
    assert_eq!(
        app.login(email, "brand new passphrase").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn signup_and_forgot_answer_identically_for_new_and_known_emails() {
    let app = TestApp::spawn().await;
    app.signed_in_user("known@example.com").await;
    let read = |res: reqwest::Response| async move { (res.status(), res.bytes().await.unwrap()) };

    let new = read(app.signup("new@example.com", PASSWORD).await).await;
    let known = read(app.signup("known@example.com", PASSWORD).await).await;
    assert_eq!(new, known);
    assert_eq!(new.0, StatusCode::ACCEPTED);

    let forgot =
        |email: &'static str| app.post("/api/v1/auth/password/forgot", json!({"email": email}));
    let new = read(forgot("nobody@example.com").await).await;
    let known = read(forgot("known@example.com").await).await;
    assert_eq!(new, known);

    // Each case still got exactly the mail it should.
    assert!(app
        .wait_for_mail("known@example.com", 2)
        .await
        .contains("already has an account"));
    assert!(app
        .wait_for_mail("nobody@example.com", 1)
        .await
        .contains("no account"));
    assert!(app
        .wait_for_mail("known@example.com", 3)
        .await
        .contains("/reset-password?token="));
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_until_the_lock_expires() {
    let app = TestApp::spawn().await;
    let email = "target@example.com";
    app.signed_in_user(email).await;
    for i in 1..=5 {
        let res = app.login(email, "wrong password!").await;
        assert_eq!(error_of(res).await.0, "invalid_credentials", "attempt {i}");
    }
    let res = app.login(email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1800).contains(&retry), "Retry-After {retry}");
    assert_eq!(error_of(res).await.0, "too_many_attempts");

    app.clock.advance(31 * 60);
    assert_eq!(
        app.login(email, PASSWORD).await.status(),
        StatusCode::OK,
        "the lock expired"
    );

    let log: Vec<String> = sqlx::query_scalar("select type from audit_log order by id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(log.iter().filter(|t| *t == "user.login_failed").count(), 5);
    assert_eq!(log.iter().filter(|t| *t == "user.locked").count(), 1);
}

#[tokio::test]
async fn lockout_applies_to_unknown_emails_too() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        assert_eq!(
            app.login("ghost@example.com", "whatever123").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login("ghost@example.com", "whatever123").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.signed_in_user("real@example.com").await;
    let a = app.login("real@example.com", "not the password").await;
    let b = app.login("fake@example.com", "not the password").await;
    assert_eq!(a.status(), b.status());
    assert_eq!(a.bytes().await.unwrap(), b.bytes().await.unwrap());
}

#[tokio::test]
async fn verification_links_are_single_use_and_expire() {
    let app = TestApp::spawn().await;
    app.signup("late@example.com", PASSWORD).await;
    let token = app
        .token_from_mail("late@example.com", "/verify-email", 1)
        .await;
    app.clock.advance(24 * 3600 + 1);
    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token");

    let res = app
        .post(
            "/api/v1/auth/verify-email/resend",
            json!({"email": "late@example.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = app
        .token_from_mail("late@example.com", "/verify-email", 2)
        .await;
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({"token": token}))
            .await
            .status(),
        StatusCode::OK
    );
    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token");
    let res = app
        .post("/api/v1/auth/verify-email", json!({"token": "made-up"}))
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token");
}

#[tokio::test]
async fn password_policy_reports_each_field() {
    let app = TestApp::spawn().await;
    let cases = [
        ("short", "at least 8"),
        ("password123", "too common"),
        ("someone-Secret@example.com", "email"),
        ("xxsomeone-xx", "email"),
    ];
    for (pw, expect) in cases {
        let res = app.signup("someone@example.com", pw).await;
        let (code, fields) = error_of(res).await;
        assert_eq!(code, "validation_failed", "{pw}");
        let msg = fields["password"].as_str().unwrap_or_default();
        assert!(msg.contains(expect), "{pw}: {msg}");
    }
    let res = app
        .post(
            "/api/v1/auth/signup",
            json!({"email": "bad", "password": "x", "name": ""}),
        )
        .await;
    let (_, fields) = error_of(res).await;
    for f in ["email", "password", "name"] {
        assert!(fields[f].is_string(), "{f} missing in {fields}");
    }
}

#[tokio::test]
async fn unicode_passwords_work_end_to_end() {
    let app = TestApp::spawn().await;
    let email = "unicode@example.com";
    let password = "Crème brûlée 🔐 كلمة";
    assert_eq!(
        app.signup(email, password).await.status(),
        StatusCode::ACCEPTED
    );
    let token = app.token_from_mail(email, "/verify-email", 1).await;
    app.post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    // The decomposed spelling (NFD) of the same password signs in too.
    let nfd = "Cre\u{300}me bru\u{302}le\u{301}e 🔐 كلمة";
    assert_eq!(app.login(email, nfd).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn change_password_with_a_wrong_current_password_is_422_and_counts_toward_lockout() {
    let app = TestApp::spawn().await;
    let email = "careful@example.com";
    app.signed_in_user(email).await;
    for _ in 0..5 {
        let res = app
            .post(
                "/api/v1/auth/password/change",
                json!({"currentPassword": "nope nope nope", "newPassword": "a fresh passphrase"}),
            )
            .await;
        assert_eq!(error_of(res).await.0, "invalid_current_password");
    }
    let res = app
        .post(
            "/api/v1/auth/password/change",
            json!({"currentPassword": PASSWORD, "newPassword": "a fresh passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn per_ip_signup_limit_answers_429_with_retry_after() {
    let app = TestApp::spawn_with(&[("PFN_SIGNUP_RATE_PER_IP_PER_HOUR", "2")]).await;
    for i in 0..2 {
        assert_eq!(
            app.signup(&format!("u{i}@example.com"), PASSWORD)
                .await
                .status(),
            StatusCode::ACCEPTED
        );
    }
    let res = app.signup("u3@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(error_of(res).await.0, "rate_limited");
}

#[tokio::test]
async fn the_bootstrap_admin_is_made_at_start_up_and_sets_a_password_by_mail() {
    let app = TestApp::spawn_with(&[("PFN_BOOTSTRAP_ADMIN_EMAIL", "Boss@Example.com")]).await;
    // Signing up with the address is no way in: the account exists already.
    app.signup("boss@example.com", PASSWORD).await;
    app.wait_for_mail("Boss@Example.com", 2).await;
    assert_eq!(
        app.login("boss@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.bootstrap_admin_signs_in("Boss@Example.com").await;
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["emailVerified"], true);
}

#[tokio::test]
async fn providers_lists_google_once_it_is_configured() {
    let app = TestApp::spawn_with(&[
        ("PFN_GOOGLE_CLIENT_ID", "id"),
        ("PFN_GOOGLE_CLIENT_SECRET", "s"),
    ])
    .await;
    let body: Value = app.get_json("/api/v1/auth/providers").await;
    let port = url::Url::parse(&app.base).unwrap().port().unwrap();
    assert_eq!(
        body,
        json!({"providers": ["password", "google", "passkey"], "passkeyOrigin": format!("http://localhost:{port}")})
    );
}

#[tokio::test]
async fn at_most_five_mails_reach_a_recipient_per_hour_whatever_the_spelling() {
    let app = TestApp::spawn().await;
    app.signup("Cap@Example.com", PASSWORD).await; // 1: verification
    app.signup("cap@example.com", PASSWORD).await; // 2: already registered
    app.signup("CAP@example.com", PASSWORD).await; // 3
    for _ in 0..3 {
        // 4, 5, and one over the cap
        let res = app
            .post(
                "/api/v1/auth/password/forgot",
                json!({"email": "cap@EXAMPLE.com"}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::ACCEPTED,
            "the cap is invisible to the requester"
        );
    }
    app.wait_for_mail("Cap@Example.com", 5).await;
    let queued: i64 = sqlx::query_scalar("select count(*) from mail_outbox")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(queued, 5);
    app.clock.advance(3601);
    app.post(
        "/api/v1/auth/password/forgot",
        json!({"email": "cap@example.com"}),
    )
    .await;
    // forgot-password queues its mail after answering
    app.wait_for_mail("Cap@Example.com", 6).await;
    let queued: i64 = sqlx::query_scalar("select count(*) from mail_outbox")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(queued, 6, "an hour later mail flows again");
}

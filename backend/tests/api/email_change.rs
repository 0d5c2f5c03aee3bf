//! The account is the user's: changing its email address, and taking it back.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{create_key, error_of, with_key, TestApp, PASSWORD};

async fn request(app: &TestApp, client: &reqwest::Client, new_email: &str) -> reqwest::Response {
    client
        .post(app.url("/api/v1/auth/email/change"))
        .json(&json!({ "newEmail": new_email }))
        .send()
        .await
        .unwrap()
}

async fn use_link(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    token: &str,
) -> reqwest::Response {
    client
        .post(app.url(path))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    client.get(app.url("/api/v1/auth/me")).send().await.unwrap()
}

/// Links a Google identity (as the Google flow stores it) made with `email`.
async fn link_google(app: &TestApp, user_id: &str, subject: &str, email: &str) {
    sqlx::query(
        "insert into identities (provider, subject, user_id, email, created_at)
         values ('google', $1, $2, $3, 0)",
    )
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_new_address_confirms_and_the_account_moves_with_its_lockout() {
    let app = TestApp::spawn().await;
    let (old, new) = ("move-old@example.com", "Move-New@Example.com");
    app.signed_in_user(old).await;
    let id = app.user_id(&app.client).await;
    let other = app.browser();
    app.login_with(&other, old, PASSWORD).await;
    link_google(&app, &id, "g-old", old).await;
    // A reset link sent to the old address before the change must not work after it.
    app.post("/api/v1/auth/password/forgot", json!({"email": old}))
        .await;
    let stale_reset = app.newest_token(old, "/reset-password").await;
    // Two failed sign-ins on the old address: the count moves with the account.
    for _ in 0..2 {
        app.login_with(&app.browser(), old, "wrong-password-123")
            .await;
    }

    let res = request(&app, &app.client, new).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["pending"]["newEmail"], new);
    let pending: Value = app.get_json("/api/v1/auth/email/change").await;
    assert_eq!(pending, body);
    let notice = app.wait_for_mail(old, 3).await;
    assert!(
        notice.contains(new),
        "the old address is told where to: {notice}"
    );
    assert!(notice.contains("/email/cancel?token="), "{notice}");
    let token = app.token_from_mail(new, "/email/confirm", 1).await;
    let me_before: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(
        me_before["user"]["email"], old,
        "nothing moves before the link"
    );

    // Confirmed from the signed-in browser: it stays signed in, the other session ends.
    let res = use_link(&app, &app.client, "/api/v1/auth/email/confirm", &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["user"]["email"], new);
    assert_eq!(user["user"]["emailVerified"], true);
    assert_eq!(
        user["user"]["linkedProviders"],
        json!([]),
        "Google was linked with the old address"
    );
    assert_eq!(me(&app, &app.client).await.status(), StatusCode::OK);
    assert_eq!(me(&app, &other).await.status(), StatusCode::UNAUTHORIZED);
    let pending: Value = app.get_json("/api/v1/auth/email/change").await;
    assert_eq!(pending["pending"], Value::Null);
    assert!(app
        .audit_kinds()
        .await
        .iter()
        .any(|k| k == "user.email_changed"));

    // The link works once; the old address's reset link is dead; sign-in uses the new address.
    let again = use_link(&app, &app.client, "/api/v1/auth/email/confirm", &token).await;
    assert_eq!(error_of(again).await.0, "invalid_token");
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": stale_reset, "password": "a-whole-new-pass-77"}),
        )
        .await;
    assert_eq!(error_of(res).await.0, "invalid_token");
    assert_eq!(
        app.login_with(&app.browser(), old, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Two failures came along from the old address: three more lock the new one.
    for _ in 0..3 {
        app.login_with(&app.browser(), new, "wrong-password-123")
            .await;
    }
    let res = app.login_with(&app.browser(), new, PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "five failures in all lock the account"
    );
}

#[tokio::test]
async fn a_google_link_made_with_the_new_address_stays() {
    let app = TestApp::spawn().await;
    let (old, new) = ("keep-google@example.com", "keep-google@new.example");
    app.signed_in_user(old).await;
    let id = app.user_id(&app.client).await;
    link_google(&app, &id, "g-new", new).await;
    assert_eq!(
        request(&app, &app.client, new).await.status(),
        StatusCode::ACCEPTED
    );
    let token = app.token_from_mail(new, "/email/confirm", 1).await;
    // Confirmed from a browser that is not signed in: every session ends.
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &token).await;
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["user"]["linkedProviders"], json!(["google"]));
    assert_eq!(
        me(&app, &app.client).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(new, PASSWORD).await.status(),
        StatusCode::OK,
        "signs in at the new address"
    );
}

#[tokio::test]
async fn bad_requests_and_links_are_refused() {
    let app = TestApp::spawn().await;
    let email = "change-rules@example.com";
    app.signed_in_user(email).await;
    for (bad, why) in [
        (json!({"newEmail": "not-an-email"}), "shape"),
        (
            json!({"newEmail": "CHANGE-RULES@example.com"}),
            "the same address",
        ),
        (json!({"newEmail": ""}), "empty"),
    ] {
        let res = app
            .client
            .post(app.url("/api/v1/auth/email/change"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let (code, fields) = error_of(res).await;
        assert_eq!(code, "validation_failed", "{why}");
        assert!(fields["newEmail"].is_string(), "{why}: {fields}");
    }
    // Step-up: eleven minutes after signing in, the request needs the password again.
    app.clock.advance(11 * 60);
    let res = request(&app, &app.client, "later@example.com").await;
    assert_eq!(error_of(res).await.0, "reauth_required");
    let res = app
        .post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // A newer request replaces the pending one: the first link no longer works.
    assert_eq!(
        request(&app, &app.client, "first@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let first = app
        .token_from_mail("first@example.com", "/email/confirm", 1)
        .await;
    assert_eq!(
        request(&app, &app.client, "second@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &first).await;
    assert_eq!(error_of(res).await.0, "invalid_token", "superseded");
    // Withdrawn: the second link no longer works either.
    let res = app
        .client
        .delete(app.url("/api/v1/auth/email/change"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let second = app
        .token_from_mail("second@example.com", "/email/confirm", 1)
        .await;
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &second).await;
    assert_eq!(error_of(res).await.0, "invalid_token", "withdrawn");

    // Expired after 24 hours.
    assert_eq!(
        request(&app, &app.client, "third@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let third = app
        .token_from_mail("third@example.com", "/email/confirm", 1)
        .await;
    app.clock.advance(24 * 3600 + 1);
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &third).await;
    assert_eq!(error_of(res).await.0, "invalid_token", "expired");
    let res = use_link(
        &app,
        &app.browser(),
        "/api/v1/auth/email/confirm",
        "made-up",
    )
    .await;
    assert_eq!(error_of(res).await.0, "invalid_token", "unknown");
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", "made-up").await;
    assert_eq!(error_of(res).await.0, "invalid_token", "unknown");

    // Signed out: no; an API key: no.
    let res = request(&app, &app.browser(), "x@example.com").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.login(email, PASSWORD).await;
    let (_, secret) = create_key(&app, json!({"name": "k", "scopes": ["read:transactions"]})).await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/email/change"))
        .bearer_auth(&secret)
        .json(&json!({"newEmail": "agent@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, "session_required");

    // Each link works only where it belongs: the wrong endpoint, or another purpose's link.
    let res = app
        .post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        request(&app, &app.client, "fourth@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let confirm = app
        .token_from_mail("fourth@example.com", "/email/confirm", 1)
        .await;
    let cancel = app.newest_token(email, "/email/cancel").await;
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", &confirm).await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "a confirmation link cancels nothing"
    );
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &cancel).await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "a cancel link confirms nothing"
    );
    app.post("/api/v1/auth/password/forgot", json!({"email": email}))
        .await;
    let reset = app.newest_token(email, "/reset-password").await;
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &reset).await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "a reset link confirms nothing"
    );
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": confirm, "password": "not-a-reset-link-9"}),
        )
        .await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "nor resets a password"
    );
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &confirm).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "and still works where it belongs"
    );
}

#[tokio::test]
async fn an_address_in_use_gets_the_same_answer_and_a_mail_instead_of_a_link() {
    let app = TestApp::spawn().await;
    let (mine, theirs) = ("taker@example.com", "holder@example.com");
    app.other_user(theirs).await;
    let holder_mails = app.mails_to(theirs).len();
    app.signed_in_user(mine).await;

    let taken = request(&app, &app.client, theirs).await;
    assert_eq!(taken.status(), StatusCode::ACCEPTED);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(
        taken["pending"]["newEmail"], theirs,
        "the same answer as for a free address"
    );
    let mail = app.wait_for_mail(theirs, holder_mails + 1).await;
    assert!(
        !mail.contains("/email/confirm"),
        "no link to an address in use: {mail}"
    );
    assert!(mail.contains("already belongs to an account"), "{mail}");
    assert!(!mail.contains(mine), "the holder is not told who asked");
    // The old address hears of it all the same.
    app.newest_token(mine, "/email/cancel").await;
}

#[tokio::test]
async fn this_was_not_me_before_confirmation_cancels_and_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let (old, new) = ("victim-early@example.com", "attacker-early@example.com");
    app.signed_in_user(old).await;
    assert_eq!(
        request(&app, &app.client, new).await.status(),
        StatusCode::ACCEPTED
    );
    let confirm = app.token_from_mail(new, "/email/confirm", 1).await;
    let cancel = app.newest_token(old, "/email/cancel").await;

    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", &cancel).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"outcome": "cancelled", "email": old}));
    assert_eq!(
        me(&app, &app.client).await.status(),
        StatusCode::UNAUTHORIZED,
        "every session ended"
    );
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/confirm", &confirm).await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "the change is cancelled"
    );
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", &cancel).await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_token",
        "the link works once"
    );
    assert_eq!(
        app.login(old, PASSWORD).await.status(),
        StatusCode::OK,
        "the password still works"
    );
    assert!(app
        .audit_kinds()
        .await
        .iter()
        .any(|k| k == "user.email_change_cancelled"));
}

#[tokio::test]
async fn this_was_not_me_after_confirmation_takes_the_account_back() {
    let app = TestApp::spawn().await;
    let (old, new) = ("victim-late@example.com", "attacker-late@example.com");
    app.signed_in_user(old).await;
    // The attacker, signed in on the victim's account, adds a key and moves the address.
    let (_, secret) = create_key(
        &app,
        json!({"name": "backdoor", "scopes": ["read:transactions"]}),
    )
    .await;
    assert_eq!(
        request(&app, &app.client, new).await.status(),
        StatusCode::ACCEPTED
    );
    let confirm = app.token_from_mail(new, "/email/confirm", 1).await;
    let res = use_link(&app, &app.client, "/api/v1/auth/email/confirm", &confirm).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The old address is reserved meanwhile: nobody can sign up with it or move to it.
    let before = app.mails_to(old).len();
    assert_eq!(
        app.signup(old, "squatting-pass-991").await.status(),
        StatusCode::ACCEPTED
    );
    let mail = app.wait_for_mail(old, before + 1).await;
    assert!(mail.contains("already has an account"), "{mail}");
    let users: i64 = sqlx::query_scalar("select count(*) from users where email_normalized = $1")
        .bind(old)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "no account was made with the reserved address");
    let other = app.other_user("bystander@example.com").await;
    assert_eq!(
        request(&app, &other, old).await.status(),
        StatusCode::ACCEPTED
    );
    let mail = app.wait_for_mail(old, before + 2).await;
    assert!(mail.contains("already belongs to an account"), "{mail}");

    let cancel = app.newest_token(old, "/email/cancel").await;
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", &cancel).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"outcome": "restored", "email": old}));

    // Everything the attacker could have set is gone: sessions, password, keys.
    assert_eq!(
        me(&app, &app.client).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_with(&app.browser(), new, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_with(&app.browser(), old, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_key(&app, &secret, "/api/v1/whoami").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The owner of the old address sets a new password from the mail and is back in.
    let reset = app.newest_token(old, "/reset-password").await;
    let res = app
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": reset, "password": "taken-back-pass-42"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.login(old, "taken-back-pass-42").await.status(),
        StatusCode::OK
    );
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["email"], old);
    let kinds = app.audit_kinds().await;
    assert!(
        kinds.iter().any(|k| k == "user.email_restored"),
        "{kinds:?}"
    );
    // The used link is spent, and the address is free of its reservation.
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", &cancel).await;
    assert_eq!(error_of(res).await.0, "invalid_token");
    // Retention forgets the request: its links can no longer be used.
    let db = &app.state.db;
    let count = "select count(*) from email_changes where old_email_normalized = $1";
    let n: i64 = sqlx::query_scalar(count)
        .bind(old)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    backend::retention::sweep(db, app.clock.now(), 7 * 86_400, 400, 90)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(count)
        .bind(old)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_link_of_a_replaced_request_still_takes_the_account_back() {
    // The attacker asks twice (two notices) and confirms the second: the first notice's link
    // still brings the account home.
    let app = TestApp::spawn().await;
    let old = "victim-twice@example.com";
    app.signed_in_user(old).await;
    assert_eq!(
        request(&app, &app.client, "a1@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    let first_cancel = app.newest_token(old, "/email/cancel").await;
    assert_eq!(
        request(&app, &app.client, "a2@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    let confirm = app
        .token_from_mail("a2@example.com", "/email/confirm", 1)
        .await;
    assert_eq!(
        use_link(&app, &app.client, "/api/v1/auth/email/confirm", &confirm)
            .await
            .status(),
        StatusCode::OK
    );
    // Thirteen days later, still in time.
    app.clock.advance(13 * 24 * 3600);
    let res = use_link(
        &app,
        &app.browser(),
        "/api/v1/auth/email/cancel",
        &first_cancel,
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["outcome"], "restored");
    let row: (String,) = sqlx::query_as("select email from users where email_normalized = $1")
        .bind(old)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(row.0, old);
}

#[tokio::test]
async fn the_cancel_link_ends_after_fourteen_days() {
    let app = TestApp::spawn().await;
    let old = "slow-reader@example.com";
    app.signed_in_user(old).await;
    assert_eq!(
        request(&app, &app.client, "fast@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let cancel = app.newest_token(old, "/email/cancel").await;
    app.clock.advance(14 * 24 * 3600 + 1);
    let res = use_link(&app, &app.browser(), "/api/v1/auth/email/cancel", &cancel).await;
    assert_eq!(error_of(res).await.0, "invalid_token");
}

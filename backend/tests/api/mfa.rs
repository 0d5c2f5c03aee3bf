//! Two-step sign-in: an authenticator app's codes (computed here from the shared secret by an
//! RFC 6238 implementation of the test's own), recovery codes, the pending sign-in, the
//! lockout across codes, re-authentication with a code and a server secret rotation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{error_of, TestApp, PASSWORD},
    totp::Authenticator,
};

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

/// Sets up an authenticator app for the user `app.client` is signed in as; returns it and the
/// recovery codes. Moves the clock to the next step, so the confirming code is not reused.
async fn enrol(app: &TestApp) -> (Authenticator, Vec<String>) {
    let res = app.post("/api/v1/auth/mfa/totp", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let e = json_of(res).await;
    let secret = e["secret"].as_str().unwrap();
    let uri = e["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/pfn:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=pfn"), "{uri}");
    assert!(
        e["qrSvg"].as_str().unwrap().contains("<svg"),
        "an SVG QR code"
    );
    let auth = Authenticator::from_base32(secret);

    let res = app
        .post("/api/v1/auth/mfa/totp/confirm", json!({"code": "000000"}))
        .await;
    if auth.code(app) != "000000" {
        assert_eq!(error_of(res).await.0, "invalid_code");
    }
    let res = app
        .post(
            "/api/v1/auth/mfa/totp/confirm",
            json!({"code": auth.code(app)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> =
        serde_json::from_value(json_of(res).await["recoveryCodes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    app.clock.advance(30);
    (auth, codes)
}

/// A server, and `email` signed in on `app.client` with an authenticator app set up.
async fn with_authenticator(email: &str) -> (TestApp, Authenticator, Vec<String>) {
    let app = TestApp::spawn().await;
    app.signed_in_user(email).await;
    let (auth, codes) = enrol(&app).await;
    (app, auth, codes)
}

/// Signs `email` in with a new browser; answers the browser and the login's JSON.
async fn password_step(app: &TestApp, email: &str) -> (reqwest::Client, Value) {
    let browser = app.browser();
    let res = app.login_with(&browser, email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let setcookie: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body = json_of(res).await;
    if body["mfaRequired"] == true {
        let pending = setcookie
            .iter()
            .find(|c| c.starts_with("pfn_mfa="))
            .expect("the pending-MFA cookie");
        assert!(
            pending.contains("HttpOnly") && pending.contains("Max-Age=300"),
            "{pending}"
        );
        assert!(
            !setcookie.iter().any(|c| c.starts_with("pfn_session=")),
            "no session yet"
        );
    }
    (browser, body)
}

async fn verify(app: &TestApp, browser: &reqwest::Client, body: Value) -> reqwest::Response {
    browser
        .post(app.url("/api/v1/auth/mfa/verify"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, browser: &reqwest::Client) -> StatusCode {
    browser
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_authenticator_app_is_set_up_asked_for_at_sign_in_and_turned_off() {
    let app = TestApp::spawn().await;
    let email = "totp@example.com";
    app.signed_in_user(email).await;
    let status: Value = app.get_json("/api/v1/auth/mfa").await;
    assert_eq!(
        status,
        json!({"totp": false, "recoveryCodesLeft": 0, "passkeys": 0})
    );

    // An unconfirmed setup changes nothing for sign-in.
    assert_eq!(
        app.post("/api/v1/auth/mfa/totp", json!({})).await.status(),
        StatusCode::OK
    );
    let (_, body) = password_step(&app, email).await;
    assert_eq!(body["user"]["email"], email, "{body}");

    let (auth, _) = enrol(&app).await;
    let status: Value = app.get_json("/api/v1/auth/mfa").await;
    assert_eq!(
        status,
        json!({"totp": true, "recoveryCodesLeft": 10, "passkeys": 0})
    );
    let res = app.post("/api/v1/auth/mfa/totp", json!({})).await;
    assert_eq!(error_of(res).await.0, "totp_already_enabled");
    app.wait_for_mail(email, 2).await;
    assert!(app
        .mails_to(email)
        .iter()
        .any(|m| m.contains("Two-step sign-in is on")));

    // The password alone is not a sign-in any more.
    let (browser, body) = password_step(&app, email).await;
    assert_eq!(
        body,
        json!({"mfaRequired": true, "methods": ["totp", "recovery_code"]})
    );
    assert_eq!(me(&app, &browser).await, StatusCode::UNAUTHORIZED);
    let (code, _) = error_of(verify(&app, &browser, json!({"code": "12345"})).await).await;
    assert_eq!(code, "invalid_code");
    let (code, _) =
        error_of(verify(&app, &browser, json!({"code": "1", "recoveryCode": "x"})).await).await;
    assert_eq!(code, "validation_failed");
    let res = verify(&app, &browser, json!({"code": auth.code(&app)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["user"]["email"], email);
    assert_eq!(me(&app, &browser).await, StatusCode::OK);
    let current = app.current_session(&browser).await;
    assert_eq!(current["signInMethod"], "password+totp");

    // The pending sign-in was used; the code was used (within its step, on another sign-in).
    let (code, _) = error_of(verify(&app, &browser, json!({"code": auth.code(&app)})).await).await;
    assert_eq!(code, "mfa_challenge_invalid");
    let (other, _) = password_step(&app, email).await;
    let (code, _) = error_of(verify(&app, &other, json!({"code": auth.code(&app)})).await).await;
    assert_eq!(code, "invalid_code", "a code is accepted once");
    // A code of the previous step is still accepted (clock drift), but not one from two back.
    app.clock.advance(30);
    let older = auth.code_at(app.clock.now() - 60);
    let (code, _) = error_of(verify(&app, &other, json!({"code": older})).await).await;
    assert_eq!(code, "invalid_code");
    let res = verify(
        &app,
        &other,
        json!({"code": auth.code_at(app.clock.now() + 30)}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "the next step's code");

    // Turning it off (the session is fresh) mails the owner; the password is enough again.
    let res = app.delete("/api/v1/auth/mfa/totp").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.delete("/api/v1/auth/mfa/totp").await;
    assert_eq!(error_of(res).await.0, "mfa_not_enabled");
    let (_, body) = password_step(&app, email).await;
    assert_eq!(body["user"]["email"], email);
    let mail = app.wait_for_mail(email, 3).await;
    assert!(
        app.mails_to(email)
            .iter()
            .any(|m| m.contains("Two-step sign-in was turned off")),
        "{mail}"
    );
    let kinds = app.audit_kinds().await;
    for kind in ["mfa.enrolled", "mfa.failed", "mfa.verified", "mfa.disabled"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn recovery_codes_work_once_run_low_and_are_replaced() {
    let email = "recovery@example.com";
    let (app, _, codes) = with_authenticator(email).await;

    let (browser, _) = password_step(&app, email).await;
    let shouted = codes[0].to_uppercase().replace('-', " ");
    let res = verify(&app, &browser, json!({"recoveryCode": shouted})).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "case and dashes do not matter"
    );
    let (browser, _) = password_step(&app, email).await;
    let (code, _) = error_of(verify(&app, &browser, json!({"recoveryCode": codes[0]})).await).await;
    assert_eq!(code, "invalid_code", "used once");
    for c in &codes[1..8] {
        let (browser, _) = password_step(&app, email).await;
        assert_eq!(
            verify(&app, &browser, json!({"recoveryCode": c}))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let status: Value = app.get_json("/api/v1/auth/mfa").await;
    assert_eq!(status["recoveryCodesLeft"], 2);
    let mut low = Vec::new();
    for _ in 0..100 {
        low = app
            .mails_to(email)
            .into_iter()
            .filter(|m| m.contains("recovery codes are running out"))
            .collect();
        if !low.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(low.len(), 1, "mailed when two are left");

    let res = app.post("/api/v1/auth/mfa/recovery-codes", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh: Vec<String> =
        serde_json::from_value(json_of(res).await["recoveryCodes"].clone()).unwrap();
    let (browser, _) = password_step(&app, email).await;
    let (code, _) = error_of(verify(&app, &browser, json!({"recoveryCode": codes[9]})).await).await;
    assert_eq!(code, "invalid_code", "the old set is gone");
    assert_eq!(
        verify(&app, &browser, json!({"recoveryCode": fresh[0]}))
            .await
            .status(),
        StatusCode::OK
    );
    let status: Value = app.get_json("/api/v1/auth/mfa").await;
    assert_eq!(status["recoveryCodesLeft"], 9);
    let stored: Vec<String> = sqlx::query_scalar("select code_hash from recovery_codes")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| !fresh.iter().any(|c| h.contains(&c.replace('-', "")))),
        "stored hashed"
    );
}

#[tokio::test]
async fn wrong_codes_lock_the_account_and_end_the_pending_sign_in() {
    let email = "lockout@example.com";
    let (app, auth, _) = with_authenticator(email).await;
    let wrong = if auth.code(&app) == "111111" {
        "222222"
    } else {
        "111111"
    };

    let (browser, _) = password_step(&app, email).await;
    for _ in 0..4 {
        let (code, _) = error_of(verify(&app, &browser, json!({"code": wrong})).await).await;
        assert_eq!(code, "invalid_code");
    }
    // The right password again does not start the count afresh.
    let (browser, body) = password_step(&app, email).await;
    assert_eq!(body["mfaRequired"], true);
    let (code, _) = error_of(verify(&app, &browser, json!({"code": wrong})).await).await;
    assert_eq!(code, "invalid_code");
    // Locked: the pending sign-in died with it, and the password gets 429.
    let (code, _) = error_of(verify(&app, &browser, json!({"code": auth.code(&app)})).await).await;
    assert_eq!(code, "mfa_challenge_invalid");
    let res = app.login_with(&app.browser(), email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_pending_sign_in_lasts_five_minutes() {
    let email = "expiry@example.com";
    let (app, auth, _) = with_authenticator(email).await;
    let (browser, _) = password_step(&app, email).await;
    app.clock.advance(301);
    let (code, _) = error_of(verify(&app, &browser, json!({"code": auth.code(&app)})).await).await;
    assert_eq!(code, "mfa_challenge_invalid");
    // Without the cookie at all.
    let (code, _) =
        error_of(verify(&app, &app.browser(), json!({"code": auth.code(&app)})).await).await;
    assert_eq!(code, "mfa_challenge_invalid");
}

#[tokio::test]
async fn a_code_re_authenticates_and_survives_a_secret_rotation() {
    let (old, new) = (
        "old-secret-of-at-least-thirty-two-bytes-0000",
        "new-secret-of-at-least-thirty-two-bytes-1111",
    );
    let app = TestApp::spawn_with(&[("PFN_SECRET", old)]).await;
    let email = "stepup-code@example.com";
    app.signed_in_user(email).await;
    let (auth, _) = enrol(&app).await;

    app.clock.advance(10 * 60 + 1);
    let key = json!({"name": "ci", "scopes": ["read:transactions"]});
    let res = app.post("/api/v1/keys", key.clone()).await;
    assert_eq!(error_of(res).await.0, "reauth_required");
    let code = auth.code(&app);
    let res = app.post("/api/v1/auth/reauth", json!({"code": code})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.post("/api/v1/keys", key).await.status(),
        StatusCode::CREATED
    );
    let res = app.post("/api/v1/auth/reauth", json!({"code": code})).await;
    assert_eq!(
        error_of(res).await.0,
        "invalid_code",
        "a code is accepted once"
    );
    let res = app
        .post(
            "/api/v1/auth/reauth",
            json!({"code": code, "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_of(res).await.0, "validation_failed");

    let app = app
        .restart_with(&[("PFN_SECRET", new), ("PFN_SECRET_PREVIOUS", old)])
        .await;
    app.clock.advance(3600);
    let (browser, _) = password_step(&app, email).await;
    let res = verify(&app, &browser, json!({"code": auth.code(&app)})).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "opened with the previous secret"
    );
    // Sealed again under the new one: it works once the previous secret is gone.
    let app = app.restart_with(&[("PFN_SECRET_PREVIOUS", "")]).await;
    app.clock.advance(7200);
    let (browser, _) = password_step(&app, email).await;
    let res = verify(&app, &browser, json!({"code": auth.code(&app)})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_needs_two_step_sign_in_when_it_is_required() {
    const ADMIN: &str = "root@example.com";
    let app = TestApp::spawn_with(&[
        ("PFN_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("PFN_ADMIN_REQUIRE_MFA", "1"),
    ])
    .await;
    app.bootstrap_admin_signs_in(ADMIN).await;
    let (code, body) = error_of(app.get("/api/v1/admin/users").await).await;
    assert_eq!(code, "mfa_required", "{body}");
    enrol(&app).await;
    assert_eq!(
        app.get("/api/v1/admin/users").await.status(),
        StatusCode::OK
    );
    // Turned off again: refused again (the cached user follows at once).
    let res = app.delete("/api/v1/auth/mfa/totp").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (code, _) = error_of(app.get("/api/v1/admin/users").await).await;
    assert_eq!(code, "mfa_required");
}

//! Passkeys through the API, with a software authenticator we did not write
//! (`webauthn-authenticator-rs`' `SoftPasskey`, by the authors of `webauthn-rs`) standing in
//! for the browser and its authenticator: adding, renaming and removing passkeys, signing in
//! with one alone, a passkey as the second step after the password, step-up with one, and
//! every way a ceremony's answer is refused. The browser test (`tests/browser/passkeys.rs`)
//! does the same in Chromium with its virtual authenticator.
//!
//! `SoftPasskey` keeps no resident keys and has no user-verification gesture: the tests tell
//! it to claim verification (`falsify_uv`), clear the resident-key request before handing it
//! the options, and, for a sign-in without an email, play the browser's part of choosing the
//! credential (its id in `allowCredentials`) and the authenticator's part of returning the
//! user handle — neither is covered by the signature the server checks.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};
use webauthn_rs::prelude::{
    Base64UrlSafeData, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

use crate::helpers::{error_of, TestApp, PASSWORD};

/// A software authenticator and the origin it believes it is on.
struct Device {
    auth: WebauthnAuthenticator<SoftPasskey>,
    origin: Url,
}

impl Device {
    fn new(app: &TestApp) -> Self {
        let port = Url::parse(&app.base).unwrap().port().unwrap();
        Self {
            auth: WebauthnAuthenticator::new(SoftPasskey::new(true)),
            origin: Url::parse(&format!("http://localhost:{port}")).unwrap(),
        }
    }

    fn create(&mut self, options: &Value) -> Value {
        let mut ccr: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        let sel = ccr.public_key.authenticator_selection.as_mut().unwrap();
        assert!(
            sel.require_resident_key,
            "the server asks for a discoverable credential"
        );
        sel.require_resident_key = false;
        let cred = self.auth.do_registration(self.origin.clone(), ccr).unwrap();
        serde_json::to_value(cred).unwrap()
    }

    fn get(&mut self, options: &Value) -> PublicKeyCredential {
        let rcr: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        self.auth
            .do_authentication(self.origin.clone(), rcr)
            .unwrap()
    }

    /// What a discoverable authenticator answers to options without `allowCredentials`:
    /// the browser picks the credential (`credential_id`), the answer names its user.
    fn get_discoverable(&mut self, options: &Value, credential_id: &str, user: &str) -> Value {
        let mut options = options.clone();
        assert_eq!(
            options["publicKey"]["allowCredentials"],
            json!([]),
            "a sign-in without an email names no credential"
        );
        options["publicKey"]["allowCredentials"] =
            json!([{"type": "public-key", "id": credential_id}]);
        let mut cred = self.get(&options);
        let handle = uuid::Uuid::parse_str(user).unwrap();
        cred.response.user_handle = Some(Base64UrlSafeData::from(handle.as_bytes().to_vec()));
        serde_json::to_value(cred).unwrap()
    }
}

/// Waits (up to 10 s) for a mail to `to` that says `needle` (quoted-printable soft breaks
/// undone).
async fn wait_for_mail_saying(app: &TestApp, to: &str, needle: &str) {
    for _ in 0..200 {
        let found = app.mails_to(to).iter().any(|m| {
            m.replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
                .contains(needle)
        });
        if found {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail to {to} says {needle:?}: {:?}", app.mails_to(to));
}

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

async fn post_as(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    body: Value,
) -> reqwest::Response {
    browser
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Adds a passkey named `name` for the user `app.client` is signed in as (fresh session);
/// answers the 201's body and the new credential's id.
async fn add_passkey(app: &TestApp, device: &mut Device, name: &str) -> (Value, String) {
    let res = app.post("/api/v1/auth/passkeys/options", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let begun = json_of(res).await;
    let ceremony = begun["ceremonyId"].as_str().unwrap().to_string();
    let pk = &begun["options"]["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let cred = device.create(&begun["options"]);
    let id = cred["id"].as_str().unwrap().to_string();
    let body = json!({"ceremonyId": ceremony, "name": name, "credential": cred});
    let res = app.post("/api/v1/auth/passkeys", body.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let added = json_of(res).await;
    // A ceremony is used once.
    let again = app.post("/api/v1/auth/passkeys", body).await;
    assert_eq!(error_of(again).await.0, "passkey_invalid");
    (added, id)
}

/// Runs an assertion ceremony: `begin` answers options, the device answers them, `finish`
/// receives `{ceremonyId, credential}`.
async fn assertion(
    app: &TestApp,
    browser: &reqwest::Client,
    device: &mut Device,
    begin: &str,
) -> Value {
    let res = post_as(app, browser, begin, json!({})).await;
    assert_eq!(res.status(), StatusCode::OK, "{begin}");
    let begun = json_of(res).await;
    let cred = device.get(&begun["options"]);
    json!({"ceremonyId": begun["ceremonyId"], "credential": cred})
}

/// A passkey-only sign-in in a new browser, the answer changed by `tamper` first.
async fn discoverable_sign_in(
    app: &TestApp,
    device: &mut Device,
    credential_id: &str,
    user: &str,
    tamper: impl FnOnce(&mut Value),
) -> reqwest::Response {
    let browser = app.browser();
    let res = post_as(app, &browser, "/api/v1/auth/passkey/options", json!({})).await;
    let begun = json_of(res).await;
    let mut cred = device.get_discoverable(&begun["options"], credential_id, user);
    tamper(&mut cred);
    let answer = json!({"ceremonyId": begun["ceremonyId"], "credential": cred});
    post_as(app, &browser, "/api/v1/auth/passkey/login", answer).await
}

#[tokio::test]
async fn passkeys_are_added_listed_renamed_and_removed() {
    let app = TestApp::spawn().await;
    let email = "passkeys@example.com";
    app.signed_in_user(email).await;
    let providers: Value = app.get_json("/api/v1/auth/providers").await;
    let port = Url::parse(&app.base).unwrap().port().unwrap();
    assert_eq!(
        providers["passkeyOrigin"],
        format!("http://localhost:{port}"),
        "development: passkeys live on localhost"
    );
    assert!(providers["providers"]
        .as_array()
        .unwrap()
        .contains(&json!("passkey")));
    let list: Value = app.get_json("/api/v1/auth/passkeys").await;
    assert_eq!(list, json!({"passkeys": []}));

    let mut laptop = Device::new(&app);
    let (added, _) = add_passkey(&app, &mut laptop, "Laptop").await;
    assert_eq!(added["passkey"]["name"], "Laptop");
    assert!(added["passkey"]["lastUsedAt"].is_null());
    let codes = added["recoveryCodes"]
        .as_array()
        .expect("first factor: recovery codes");
    assert_eq!(codes.len(), 10);
    wait_for_mail_saying(&app, email, "The passkey \"Laptop\" was added").await;

    // A second passkey is not the first factor: no new recovery codes.
    let mut phone = Device::new(&app);
    let (second, _) = add_passkey(&app, &mut phone, "  Phone ").await;
    assert_eq!(second["passkey"]["name"], "Phone", "names are trimmed");
    assert!(second.get("recoveryCodes").is_none());
    let status: Value = app.get_json("/api/v1/auth/mfa").await;
    assert_eq!(
        status,
        json!({"totp": false, "recoveryCodesLeft": 10, "passkeys": 2})
    );

    let list: Value = app.get_json("/api/v1/auth/passkeys").await;
    let names: Vec<&str> = list["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Laptop", "Phone"]);
    let phone_id = second["passkey"]["id"].as_str().unwrap().to_string();

    let rename = |name: &'static str, id: String| {
        let app = &app;
        async move {
            app.client
                .patch(app.url(&format!("/api/v1/auth/passkeys/{id}")))
                .json(&json!({"name": name}))
                .send()
                .await
                .unwrap()
        }
    };
    let res = rename("Work phone", phone_id.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["name"], "Work phone");
    let (code, _) = error_of(rename("   ", phone_id.clone()).await).await;
    assert_eq!(code, "validation_failed");

    // Another account sees none of them and can touch none of them.
    let other = app.other_user("someone-else@example.com").await;
    let theirs: Value = app.get_json_as(&other, "/api/v1/auth/passkeys").await;
    assert_eq!(theirs, json!({"passkeys": []}));
    let res = other
        .patch(app.url(&format!("/api/v1/auth/passkeys/{phone_id}")))
        .json(&json!({"name": "Mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = other
        .delete(app.url(&format!("/api/v1/auth/passkeys/{phone_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Removing needs a fresh authentication; a passkey gives one.
    app.clock.advance(11 * 60);
    let res = app
        .delete(&format!("/api/v1/auth/passkeys/{phone_id}"))
        .await;
    assert_eq!(error_of(res).await.0, "reauth_required");
    let answer = assertion(
        &app,
        &app.client,
        &mut phone,
        "/api/v1/auth/reauth/passkey/options",
    )
    .await;
    let res = app
        .post("/api/v1/auth/reauth", json!({"passkey": answer}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .delete(&format!("/api/v1/auth/passkeys/{phone_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    wait_for_mail_saying(&app, email, "The passkey \"Work phone\" was removed").await;
    let list: Value = app.get_json("/api/v1/auth/passkeys").await;
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 1);
    assert!(
        list["passkeys"][0]["lastUsedAt"].is_null(),
        "the laptop's passkey was not used"
    );

    // The last second factor goes: two-step sign-in is off, the recovery codes go too.
    let laptop_id = list["passkeys"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .delete(&format!("/api/v1/auth/passkeys/{laptop_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let status: Value = app.get_json("/api/v1/auth/mfa").await;
    assert_eq!(
        status,
        json!({"totp": false, "recoveryCodesLeft": 0, "passkeys": 0})
    );
    let res = app.login(email, PASSWORD).await;
    assert!(
        json_of(res).await["user"].is_object(),
        "no second step any more"
    );

    let kinds = app.audit_kinds().await;
    for kind in ["passkey.added", "passkey.removed", "reauth.succeeded"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn a_passkey_signs_in_alone_and_is_the_second_step_after_the_password() {
    let app = TestApp::spawn().await;
    let email = "passkey-sign-in@example.com";
    app.signed_in_user(email).await;
    let user = app.user_id(&app.client).await;
    let mut device = Device::new(&app);
    let (_, credential_id) = add_passkey(&app, &mut device, "Laptop").await;

    // Without an email: the passkey says who it is.
    let browser = app.browser();
    let res = post_as(&app, &browser, "/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let begun = json_of(res).await;
    assert!(
        begun["options"].get("mediation").is_none(),
        "a button, not autofill"
    );
    let cred = device.get_discoverable(&begun["options"], &credential_id, &user);
    let answer = json!({"ceremonyId": begun["ceremonyId"], "credential": cred});
    let res = post_as(&app, &browser, "/api/v1/auth/passkey/login", answer.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["user"]["email"], email);
    assert_eq!(
        app.current_session(&browser).await["signInMethod"],
        "passkey"
    );
    // The same answer again: the ceremony is gone.
    let res = post_as(&app, &app.browser(), "/api/v1/auth/passkey/login", answer).await;
    assert_eq!(error_of(res).await.0, "passkey_invalid");

    // An answer that names another account (the user handle is not signed, the key is).
    let other = app.other_user("other@example.com").await;
    let other_id = app.user_id(&other).await;
    let res = discoverable_sign_in(&app, &mut device, &credential_id, &other_id, |_| {}).await;
    assert_eq!(error_of(res).await.0, "passkey_invalid");

    // A tampered signature.
    let res = discoverable_sign_in(&app, &mut device, &credential_id, &user, |cred| {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let text = cred["response"]["signature"].as_str().unwrap();
        let mut signature = b64.decode(text.trim_end_matches('=')).unwrap();
        *signature.last_mut().unwrap() ^= 1;
        cred["response"]["signature"] = json!(b64.encode(signature));
    })
    .await;
    assert_eq!(error_of(res).await.0, "passkey_invalid");
    // An answer after five minutes: the ceremony is over.
    let browser = app.browser();
    let res = post_as(&app, &browser, "/api/v1/auth/passkey/options", json!({})).await;
    let begun = json_of(res).await;
    let cred = device.get_discoverable(&begun["options"], &credential_id, &user);
    app.clock.advance(301);
    let answer = json!({"ceremonyId": begun["ceremonyId"], "credential": cred});
    let res = post_as(&app, &browser, "/api/v1/auth/passkey/login", answer).await;
    assert_eq!(error_of(res).await.0, "passkey_invalid");

    // Not a credential at all.
    let res = post_as(
        &app,
        &app.browser(),
        "/api/v1/auth/passkey/login",
        json!({"ceremonyId": "x", "credential": {"id": 1}}),
    )
    .await;
    assert_eq!(error_of(res).await.0, "validation_failed");

    // After the password, the passkey is the second step.
    let browser = app.browser();
    let res = app.login_with(&browser, email, PASSWORD).await;
    let body = json_of(res).await;
    assert_eq!(
        body,
        json!({"mfaRequired": true, "methods": ["webauthn", "recovery_code"]})
    );
    let pending: Value = app.get_json_as(&browser, "/api/v1/auth/mfa/pending").await;
    assert_eq!(pending, body);
    // Not signed in yet.
    assert_eq!(
        browser
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // A wrong answer counts toward the lockout.
    let mut wrong = assertion(
        &app,
        &browser,
        &mut device,
        "/api/v1/auth/mfa/passkey/options",
    )
    .await;
    wrong["credential"]["response"]["clientDataJSON"] = json!("e30");
    let res = post_as(
        &app,
        &browser,
        "/api/v1/auth/mfa/verify",
        json!({"passkey": wrong}),
    )
    .await;
    assert_eq!(error_of(res).await.0, "passkey_invalid");
    assert!(app.audit_kinds().await.iter().any(|k| k == "mfa.failed"));

    let answer = assertion(
        &app,
        &browser,
        &mut device,
        "/api/v1/auth/mfa/passkey/options",
    )
    .await;
    let res = post_as(
        &app,
        &browser,
        "/api/v1/auth/mfa/verify",
        json!({"passkey": answer.clone()}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    assert_eq!(
        app.current_session(&browser).await["signInMethod"],
        "password+passkey"
    );
    let list: Value = app.get_json("/api/v1/auth/passkeys").await;
    assert!(list["passkeys"][0]["lastUsedAt"].is_string());

    // Without a pending sign-in there is nothing to answer.
    let res = post_as(
        &app,
        &app.browser(),
        "/api/v1/auth/mfa/passkey/options",
        json!({}),
    )
    .await;
    assert_eq!(error_of(res).await.0, "mfa_challenge_invalid");
    // A ceremony begun for one purpose is not accepted by another: a step-up answer signs
    // nobody in.
    let reauth = assertion(
        &app,
        &app.client,
        &mut device,
        "/api/v1/auth/reauth/passkey/options",
    )
    .await;
    let res = post_as(&app, &app.browser(), "/api/v1/auth/passkey/login", reauth).await;
    assert_eq!(error_of(res).await.0, "passkey_invalid");
}

#[tokio::test]
async fn passkeys_are_off_when_the_public_address_is_an_ip_address() {
    let app = TestApp::spawn_with(&[
        ("PFN_PUBLIC_URL", "https://203.0.113.7"),
        ("PFN_SECRET", "a-secret-of-at-least-thirty-two-bytes-0000"),
        ("PFN_MAIL_TRANSPORT", "smtp"),
        ("PFN_SMTP_URL", "smtp://127.0.0.1:9"),
    ])
    .await;
    let providers: Value = app.get_json("/api/v1/auth/providers").await;
    assert!(providers["passkeyOrigin"].is_null());
    assert!(!providers["providers"]
        .as_array()
        .unwrap()
        .contains(&json!("passkey")));
    let res = app.post("/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(res).await.0, "passkeys_unavailable");
}

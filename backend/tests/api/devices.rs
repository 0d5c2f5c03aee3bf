//! Devices: the sessions list names each session's device and sign-in method, and a sign-in
//! from a device the account has not used before sends a "new sign-in" mail, once per device,
//! even when the recipient's hourly mail cap is used up.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A browser with its own cookie jar and user agent, signed in as `email`.
async fn sign_in_from(app: &TestApp, email: &str, user_agent: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent(user_agent)
        .build()
        .unwrap();
    let res = browser
        .post(app.url("/api/v1/auth/login"))
        .header("Origin", &app.origin)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    browser
}

fn new_sign_in_mails(app: &TestApp, to: &str) -> Vec<String> {
    app.mails_to(to)
        .into_iter()
        .filter(|m| m.contains("New sign-in to your pfn account"))
        .collect()
}

#[tokio::test]
async fn a_new_device_is_mailed_about_once_and_sessions_name_their_device() {
    let app = TestApp::spawn_with(&[("PFN_SIGNUP_RATE_PER_IP_PER_HOUR", "0")]).await;
    let email = "devices@example.com";
    // The first sign-in ever (no user agent): not news.
    app.signed_in_user(email).await;

    // Use up the hourly mail cap (5): the verification mail and four "already registered".
    for _ in 0..4 {
        app.signup(email, PASSWORD).await;
    }
    app.wait_for_mail(email, 5).await;

    let firefox = sign_in_from(&app, email, FIREFOX).await;
    let mail = loop {
        if let Some(m) = new_sign_in_mails(&app, email).pop() {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(mail.contains("Firefox on Linux"), "{mail}");
    assert!(mail.contains("with your password"), "{mail}");
    assert!(mail.contains("/sessions"), "{mail}");

    // The same device again, and a newer Firefox on it: nothing new.
    sign_in_from(&app, email, FIREFOX).await;
    sign_in_from(&app, email, &FIREFOX.replace("133.0", "134.0")).await;
    // Another browser is another device.
    sign_in_from(&app, email, CHROME).await;
    for _ in 0..100 {
        if new_sign_in_mails(&app, email).len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails = new_sign_in_mails(&app, email);
    assert_eq!(mails.len(), 2, "one mail per new device: {mails:#?}");
    assert!(mails[1].contains("Chrome on Windows"), "{}", mails[1]);

    let current = app.current_session(&firefox).await;
    assert_eq!(current["device"], "Firefox on Linux");
    assert_eq!(current["signInMethod"], "password");
}

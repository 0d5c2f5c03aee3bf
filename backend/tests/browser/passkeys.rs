//! Passkeys in the SPA, with Chromium's virtual authenticator (the WebDriver "Add Virtual
//! Authenticator" command, which chromedriver implements): add a passkey on the security page,
//! sign out, sign in with the passkey alone (no email typed), then use it as the second step
//! after the password.
//!
//! Browsers refuse an IP address as a passkey's relying party, so this test opens the app at
//! `http://localhost:<port>`, where a development server's passkeys live.

use axum::http::Method;
use fantoccini::{wd::WebDriverCompatibleCommand, Client};
use serde_json::{json, Value};

use super::{
    click, click_button, el, fill, in_browser, screenshots, see, sign_in, spawn_app, wait_path,
};
use crate::helpers::PASSWORD;

/// A WebDriver command of the Web Authentication spec, on this session.
#[derive(Debug)]
struct WebAuthnCommand {
    method: Method,
    /// After `/session/{id}/webauthn/`.
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.expect("a WebDriver session");
        base_url.join(&format!("session/{session}/webauthn/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// A platform authenticator that holds discoverable credentials and verifies its user (as a
/// fingerprint reader would) without asking; answers its id.
async fn add_virtual_authenticator(c: &Client) -> String {
    let answer = c
        .issue_cmd(WebAuthnCommand {
            method: Method::POST,
            path: "authenticator".into(),
            body: Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        })
        .await
        .expect("chromedriver adds a virtual authenticator");
    answer
        .as_str()
        .map(str::to_string)
        .or_else(|| answer["authenticatorId"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no authenticator id in {answer}"))
}

async fn credentials(c: &Client, authenticator: &str) -> Vec<Value> {
    let answer = c
        .issue_cmd(WebAuthnCommand {
            method: Method::GET,
            path: format!("authenticator/{authenticator}/credentials"),
            body: None,
        })
        .await
        .unwrap();
    answer.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_passkey_and_sign_in_with_it_alone_and_as_the_second_step() {
    let app = spawn_app().await;
    let email = "passkey-browser@example.com";
    app.signed_in_user(email).await;
    let port = url::Url::parse(&app.base).unwrap().port().unwrap();
    let origin = format!("http://localhost:{port}");
    in_browser(move |c| async move {
        let authenticator = add_virtual_authenticator(&c).await;
        c.goto(&format!("{origin}/login")).await.unwrap();
        sign_in(&c, email, PASSWORD).await;
        wait_path(&c, "/").await;
        c.goto(&format!("{origin}/security")).await.unwrap();

        // Add one: the first second factor comes with the recovery codes.
        fill(&c, "#f-passkey-name", "Laptop").await;
        click_button(&c, "//section[@id='passkeys']", "Add a passkey").await;
        see(&c, "Save your recovery codes").await;
        click_button(&c, "//section[@id='recovery-codes']", "I saved them").await;
        see(&c, "10 of 10 recovery codes left").await;
        el(&c, "#passkeys li.passkey").await;
        see(&c, "never used").await;
        // Without the toast, the list in view.
        c.refresh().await.unwrap();
        el(&c, "#passkeys li.passkey").await;
        c.execute(
            "document.querySelector('#passkeys').scrollIntoView({block: 'end'})",
            vec![],
        )
        .await
        .unwrap();
        screenshots(&c, "passkeys").await;
        let held = credentials(&c, &authenticator).await;
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(
            held[0]["isResidentCredential"], true,
            "a discoverable credential"
        );

        // Signed out, the passkey alone signs in: no email typed.
        click_button(&c, "//header", "Sign out").await;
        wait_path(&c, "/login").await;
        c.refresh().await.unwrap();
        el(&c, "#passkey-sign-in").await;
        screenshots(&c, "passkey-sign-in").await;
        click(&c, "#passkey-sign-in").await;
        wait_path(&c, "/").await;

        // After the password, the passkey is the second step.
        click_button(&c, "//header", "Sign out").await;
        wait_path(&c, "/login").await;
        sign_in(&c, email, PASSWORD).await;
        see(&c, "Confirm with your passkey").await;
        click(&c, "#mfa-passkey").await;
        wait_path(&c, "/").await;
        c.goto(&format!("{origin}/sessions")).await.unwrap();
        see(&c, "with a password and a passkey").await;
        c.goto(&format!("{origin}/security")).await.unwrap();
        see(&c, "last used").await;
    })
    .await;
}

//! Two-step sign-in in the SPA: set up an authenticator app from the QR code's page (the code
//! computed from the secret the page shows), save the recovery codes, sign out, and sign in
//! with the password and a code — then with a recovery code.

use super::{
    click, click_button, el, fill, in_browser, open_signed_in, screenshots, see, sign_in,
    spawn_app, wait_path,
};
use crate::{helpers::PASSWORD, totp::Authenticator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_an_authenticator_app_and_sign_in_with_its_code() {
    let app = spawn_app().await;
    let email = "twostep@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        click(&c, "a[href='/security']").await;
        wait_path(&c, "/security").await;
        click_button(
            &c,
            "//section[@id='mfa-off']",
            "Set up an authenticator app",
        )
        .await;
        let secret = el(&c, "#totp-secret").await.text().await.unwrap();
        el(&c, ".qr svg").await;
        let auth = Authenticator::from_base32(secret.trim());
        screenshots(&c, "mfa-setup").await;

        fill(&c, "#f-totp-code", "000000").await;
        if auth.code(&app) != "000000" {
            click_button(&c, "//section[@id='mfa-setup']", "Turn on").await;
            see(&c, "is not the app's current code").await;
        }
        fill(&c, "#f-totp-code", &auth.code(&app)).await;
        click_button(&c, "//section[@id='mfa-setup']", "Turn on").await;
        see(&c, "Save your recovery codes").await;
        let codes = c
            .find_all(fantoccini::Locator::Css("#recovery-codes .codes code"))
            .await
            .unwrap();
        assert_eq!(codes.len(), 10);
        let recovery = codes[0].text().await.unwrap();
        let download = el(&c, "#recovery-codes a[download]").await;
        let href = download.attr("href").await.unwrap().unwrap();
        assert!(href.starts_with("data:text/plain"), "{href}");
        assert!(href.contains(&recovery), "the .txt holds the codes");
        click_button(&c, "//section[@id='recovery-codes']", "I saved them").await;
        see(&c, "10 of 10 recovery codes left").await;

        // The password is the first step only now.
        app.clock.advance(30);
        click_button(&c, "//header", "Sign out").await;
        wait_path(&c, "/login").await;
        sign_in(&c, email, PASSWORD).await;
        see(&c, "Enter the 6-digit code from your authenticator app").await;
        screenshots(&c, "mfa-sign-in").await;
        fill(&c, "#f-mfa-code", &auth.code(&app)).await;
        click(&c, "form button[type=submit]").await;
        wait_path(&c, "/").await;

        // And with a recovery code.
        click_button(&c, "//header", "Sign out").await;
        wait_path(&c, "/login").await;
        sign_in(&c, email, PASSWORD).await;
        click_button(&c, "//main", "Use a recovery code").await;
        fill(&c, "#f-recovery-code", &recovery).await;
        click(&c, "form button[type=submit]").await;
        wait_path(&c, "/").await;
        c.goto(&format!("{origin}/security")).await.unwrap();
        see(&c, "9 of 10 recovery codes left").await;
    })
    .await;
}

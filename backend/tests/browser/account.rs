//! The account and its workspaces in the SPA: renaming yourself and changing your email on the
//! settings page, deleting a shared workspace and handing another one over to a member.

use std::sync::Arc;

use serde_json::Value;

use super::{click_button, fill, in_browser, open_signed_in, see, spawn_app};
use crate::helpers::{join, shared_workspace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_yourself_delete_a_workspace_and_hand_one_over() {
    let app = spawn_app().await;
    let email = "keeper@example.com";
    app.signed_in_user(email).await;
    let old = shared_workspace(&app, "Old flat").await;
    let club = shared_workspace(&app, "Club").await;
    let mate = app.other_user("mate@example.com").await;
    join(
        &app,
        &app.client,
        &mate,
        &club,
        "mate@example.com",
        "member",
        2,
    )
    .await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        c.goto(&format!("{origin}/settings")).await.unwrap();
        fill(&c, "#f-profile-name", "Keeper Two").await;
        click_button(&c, "//section[@id='profile']", "Save").await;
        see(&c, "Your name is saved.").await;

        c.goto(&format!("{origin}/workspaces")).await.unwrap();
        click_button(
            &c,
            "//article[.//h2[normalize-space(.)='Old flat']]",
            "Delete",
        )
        .await;
        see(&c, "cannot be undone").await;
        click_button(&c, "//dialog[@open]", "Delete").await;
        see(&c, "Workspace deleted.").await;

        click_button(
            &c,
            "//article[.//h2[normalize-space(.)='Club']]",
            "Hand over",
        )
        .await;
        see(&c, "becomes an owner and you a member").await;
        click_button(&c, "//dialog[@open]", "Hand over").await;
        see(&c, "Handed over: you are a member now.").await;
    })
    .await;
    let me: Value = app.get_json("/api/v1/auth/me").await;
    assert_eq!(me["user"]["name"], "Keeper Two");
    let gone = app.get(&format!("/api/v1/workspaces/{old}")).await;
    assert_eq!(gone.status(), 404);
    let theirs: Value = app
        .get_json_as(&mate, &format!("/api/v1/workspaces/{club}"))
        .await;
    assert_eq!(theirs["workspace"]["role"], "owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_delete_your_account_from_the_settings_page() {
    let app = spawn_app().await;
    let email = "goodbye@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        c.goto(&format!("{origin}/settings")).await.unwrap();
        click_button(&c, "//section[@id='export']", "Download my data").await;
        see(&c, "Your export is downloaded.").await;
        fill(&c, "#f-delete-email", email).await;
        click_button(&c, "//section[@id='delete-account']", "Delete my account").await;
        see(&c, "Your account was deleted.").await;
        see(&c, "Sign in").await;
    })
    .await;
    let res = app.login(email, crate::helpers::PASSWORD).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_your_email_then_take_it_back_with_the_old_address_link() {
    let app = Arc::new(spawn_app().await);
    let (old, new) = ("mover@example.com", "mover@new.example");
    app.signed_in_user(old).await;
    let origin = app.origin.clone();
    let mail = app.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, old).await;
        c.goto(&format!("{origin}/settings")).await.unwrap();
        fill(&c, "#f-newEmail", "not-an-address").await;
        click_button(&c, "//section[@id='email']", "Change email").await;
        see(&c, "must be a valid email address").await;
        fill(&c, "#f-newEmail", new).await;
        click_button(&c, "//section[@id='email']", "Change email").await;
        see(&c, "Check the new address for the confirmation link.").await;
        see(&c, "to confirm (the link works until").await;

        // The link in the new address's mail, opened in this browser: it stays signed in.
        let token = mail.token_from_mail(new, "/email/confirm", 1).await;
        c.goto(&format!("{origin}/email/confirm?token={token}"))
            .await
            .unwrap();
        see(&c, "from now on").await;
        c.goto(&format!("{origin}/settings")).await.unwrap();
        see(&c, new).await;

        // The old address's "this wasn't me" link brings the account back and signs it out.
        let cancel = mail.newest_token(old, "/email/cancel").await;
        c.goto(&format!("{origin}/email/cancel?token={cancel}"))
            .await
            .unwrap();
        see(&c, "again, and everyone was signed out").await;
    })
    .await;
    let reset = app.newest_token(old, "/reset-password").await;
    assert!(
        !reset.is_empty(),
        "a set-password link went to the restored address"
    );
    let res = app.login(new, crate::helpers::PASSWORD).await;
    assert_eq!(res.status(), 401);
}

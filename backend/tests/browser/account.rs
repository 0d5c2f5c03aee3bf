//! The account and its workspaces in the SPA: renaming yourself on the settings page, deleting
//! a shared workspace and handing another one over to a member.

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
async fn delete_your_account_from_the_settings_page() {
    let app = spawn_app().await;
    let email = "goodbye@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        c.goto(&format!("{origin}/settings")).await.unwrap();
        fill(&c, "#f-delete-email", email).await;
        click_button(&c, "//section[@id='delete-account']", "Delete my account").await;
        see(&c, "Your account was deleted.").await;
        see(&c, "Sign in").await;
    })
    .await;
    let res = app.login(email, crate::helpers::PASSWORD).await;
    assert_eq!(res.status(), 401);
}

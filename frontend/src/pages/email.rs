//! Where the email-change links land: the confirmation (sent to the new address) and "this
//! wasn't me" (sent to the old one). Both work signed out.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::CancelOutcome;

use crate::{
    api,
    context::{ctx, Auth, Page},
    data::Load,
    pages::auth::{query, AuthCard},
};

#[component]
pub fn ConfirmEmail() -> impl IntoView {
    let ctx = ctx();
    let token = query("token");
    let result = Load::new(move || {
        let token = token.get().unwrap_or_default();
        async move { api::account::confirm_email(token).await }
    });
    // A browser signed in as this account stays signed in: show it the new address.
    Effect::new(move |_| {
        if let (Some(Ok(user)), Auth::SignedIn(_)) = (result.get(), ctx.auth.get_untracked()) {
            ctx.signed_in(user);
        }
    });
    view! {
        <AuthCard title="Confirm your new email">
            {move || match result.get() {
                None => view! { <p role="status">"Confirming…"</p> }.into_any(),
                Some(Ok(user)) => view! {
                    <p class="notice" role="status">"Your account uses "<strong>{user.email}</strong>" from now on. Your other sessions were signed out."</p>
                    <A href=Page::Settings.path() attr:class="btn primary wide">"Go to your settings"</A>
                }.into_any(),
                Some(Err(e)) => view! {
                    <p class="alert" role="alert">{e.message()}</p>
                    <p class="links"><A href=Page::Settings.path()>"Ask for a new link in your settings"</A></p>
                }.into_any(),
            }}
        </AuthCard>
    }
}

#[component]
pub fn CancelEmailChange() -> impl IntoView {
    let ctx = ctx();
    let token = query("token");
    let result = Load::new(move || {
        let token = token.get().unwrap_or_default();
        async move { api::account::cancel_email_change(token).await }
    });
    // Every session of the account ended, this browser's too if it was one of them.
    Effect::new(move |_| {
        if matches!(result.get(), Some(Ok(_))) {
            ctx.auth.set(Auth::SignedOut);
        }
    });
    view! {
        <AuthCard title="This wasn't me">
            {move || match result.get() {
                None => view! { <p role="status">"Stopping the change…"</p> }.into_any(),
                Some(Ok(done)) if done.outcome == CancelOutcome::Restored => view! {
                    <p class="notice" role="status">"Your account uses "<strong>{done.email}</strong>
                        " again, and everyone was signed out. Whatever was set on it meanwhile is gone: its password, second factors, passkeys, linked sign-ins and API keys. We sent a link to this address to choose a new password."</p>
                    <A href=Page::Login.path() attr:class="btn primary wide">"Sign in"</A>
                }.into_any(),
                Some(Ok(done)) => view! {
                    <p class="notice" role="status">"The change is cancelled: your account keeps "<strong>{done.email}</strong>
                        ", and every session was signed out. If you did not ask for the change, someone knows how to sign in: choose a new password."</p>
                    <A href=Page::Forgot.path() attr:class="btn primary wide">"Choose a new password"</A>
                }.into_any(),
                Some(Err(e)) => view! {
                    <p class="alert" role="alert">{e.message()}</p>
                    <p class="links"><A href=Page::Login.path()>"Sign in"</A></p>
                }.into_any(),
            }}
        </AuthCard>
    }
}

//! "Confirm it is you": when an action answers 403 `reauth_required` (the API guide's step-up
//! table), a dialog asks for the password (or an authenticator code, or a passkey), and the action is sent again once it is confirmed
//! (`api::on_reauth_required`). Cancelling leaves the action refused, with its message.

use std::{cell::RefCell, future::Future, pin::Pin};

use futures_channel::oneshot;
use leptos::prelude::*;

use crate::{
    api::{self, ApiError},
    components::{Dialog, Field, FormButtons, FormError},
    context::{ctx, Ctx},
    logic::with_query,
    webauthn,
};

thread_local! {
    /// Where the answer of the open dialog goes: confirmed or not.
    static PENDING: RefCell<Option<oneshot::Sender<bool>>> = const { RefCell::new(None) };
}

fn answer(confirmed: bool) {
    if let Some(tx) = PENDING.with(|p| p.borrow_mut().take()) {
        let _ = tx.send(confirmed);
    }
}

/// Has every action that answers `reauth_required` open the dialog and wait for it.
pub fn install(ctx: Ctx) {
    api::on_reauth_required(move || {
        let (tx, rx) = oneshot::channel();
        // A second action asking while the dialog is open waits on the same confirmation.
        answer(false);
        PENDING.with(|p| *p.borrow_mut() = Some(tx));
        ctx.reauth.set(true);
        Box::pin(async move { rx.await.unwrap_or(false) })
    });
}

type Reauth = Pin<Box<dyn Future<Output = api::ApiResult<shared::ReauthBody>>>>;

/// Confirming with a passkey: the WebAuthn code is a `.wasm` chunk of its own (`passkey`),
/// fetched when first used, so that the main module every page loads does not carry it.
#[leptos::wasm_split::wasm_split(passkey, wasm_split_path = ::leptos::wasm_split, fallible)]
fn passkey_reauth() -> Result<Reauth, leptos::wasm_split::SplitLoaderError> {
    Ok(Box::pin(api::passkeys::reauth()))
}

/// The dialog, mounted once by the signed-in layout.
#[component]
pub fn ReauthDialog() -> impl IntoView {
    let ctx = ctx();
    let open = ctx.reauth;
    let password = RwSignal::new(String::new());
    // With an authenticator app, its code instead of the password.
    let use_code = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let pending = RwSignal::new(false);
    // The account's second factors, asked for when the dialog opens: which ways to offer.
    let factors = RwSignal::new(None::<shared::MfaStatus>);
    // Closed without confirming (Cancel, Escape): the action stays refused.
    Effect::new(move |_| {
        if !open.get() {
            password.set(String::new());
            error.set(None);
            answer(false);
        } else {
            leptos::task::spawn_local(async move {
                factors.set(api::mfa::status().await.ok());
            });
        }
    });
    let has_passkey =
        move || factors.get().is_some_and(|f| f.passkeys > 0) && webauthn::supported();
    let has_totp = move || factors.get().is_some_and(|f| f.totp);
    let with_passkey = move |_| {
        pending.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let confirmed = match passkey_reauth().await {
                Ok(reauth) => reauth.await,
                Err(_) => Err(ApiError::Network(
                    "Part of the app could not be loaded. Check your connection and try again."
                        .into(),
                )),
            };
            match confirmed {
                Ok(_) => {
                    answer(true);
                    open.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
            pending.set(false);
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        leptos::task::spawn_local(async move {
            let secret = Some(password.get_untracked());
            let req = if use_code.get_untracked() {
                shared::ReauthRequest {
                    code: secret,
                    ..Default::default()
                }
            } else {
                shared::ReauthRequest {
                    password: secret,
                    ..Default::default()
                }
            };
            match api::reauth(req).await {
                Ok(_) => {
                    answer(true);
                    open.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
            pending.set(false);
        });
    };
    let password_error = Signal::derive(move || {
        error
            .get()
            .filter(|e| matches!(e.code(), "invalid_current_password" | "invalid_code"))
            .map(|_| "is not right.".to_string())
    });
    view! {
        <Dialog open=open title=Signal::derive(|| "Confirm it is you".to_string())>
            <form on:submit=submit>
                <p>"For your safety, this needs your password again (you signed in more than 10 minutes ago)."</p>
                {move || if use_code.get() {
                    view! { <Field label="Code from your authenticator app" name="reauth-code" value=password
                        autocomplete="one-time-code" error=password_error required=true autofocus=true/> }.into_any()
                } else {
                    view! { <Field label="Password" name="reauth-password" value=password kind="password"
                        autocomplete="current-password" error=password_error required=true autofocus=true/> }.into_any()
                }}
                {move || (has_totp() || use_code.get()).then(|| view! {
                    <p><button type="button" class="btn link" on:click=move |_| {
                        use_code.update(|c| *c = !*c);
                        password.set(String::new());
                        error.set(None);
                    }>{move || if use_code.get() { "Use your password instead" } else { "Use a code from your authenticator app" }}</button></p>
                })}
                {move || has_passkey().then(|| view! {
                    <p><button type="button" class="btn" id="reauth-passkey" disabled=move || pending.get()
                        on:click=with_passkey>"Use a passkey"</button></p>
                })}
                <FormError error=Signal::derive(move || {
                    error.get().filter(|e| !matches!(e.code(), "invalid_current_password" | "invalid_code"))
                })/>
                // An account without a password confirms by signing in with Google again.
                {move || error.get().filter(|e| e.code() == "password_not_set").map(|_| {
                    let here = web_sys::window()
                        .and_then(|w| w.location().pathname().ok())
                        .unwrap_or_else(|| "/".into());
                    let href = with_query("/api/v1/auth/google/reauth", &[("returnTo", Some(here.as_str()))]);
                    view! { <p><a class="btn" href=href>"Continue with Google"</a></p> }
                })}
                <FormButtons label="Confirm" pending=pending
                    on_cancel=Callback::new(move |_| open.set(false))/>
            </form>
        </Dialog>
    }
}

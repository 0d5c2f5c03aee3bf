//! Two-step sign-in: setting up an authenticator app (QR code, secret, a code to confirm),
//! the recovery codes shown once (with a .txt download), making new ones, turning it off.
//! Its own split area of the `.wasm`.

use leptos::prelude::*;
use shared::{MfaStatus, TotpEnrolment};

use crate::{
    api::{self, ApiError},
    components::{loaded, Confirm, Field, FormError},
    context::ctx,
    data::{Call, Load},
    logic::encode,
    pages::PageHead,
};

#[component]
pub fn Security() -> impl IntoView {
    let ctx = ctx();
    let status = Load::new(api::mfa::status);
    let setup = RwSignal::new(None::<TotpEnrolment>);
    // Recovery codes just made: shown until "I saved them".
    let codes = RwSignal::new(None::<Vec<String>>);
    let confirm_off = RwSignal::new(false);
    let confirm_new = RwSignal::new(false);
    let start = Call::new(
        |()| api::mfa::enrol(),
        move |e| setup.set(Some(e)),
        move |e| ctx.fail(&e),
    );
    let regenerate = Call::new(
        |()| api::mfa::regenerate(),
        move |c| {
            confirm_new.set(false);
            codes.set(Some(c));
            status.refetch();
        },
        move |e| ctx.fail(&e),
    );
    let disable = Call::new(
        |()| api::mfa::disable(),
        move |()| {
            confirm_off.set(false);
            ctx.ok("Two-step sign-in is off.");
            status.refetch();
        },
        move |e| ctx.fail(&e),
    );
    let confirmed = Callback::new(move |c: Vec<String>| {
        setup.set(None);
        codes.set(Some(c));
        status.refetch();
    });

    view! {
        <PageHead title="Two-step sign-in"/>
        <p class="lead">"After your password (or Google), signing in asks for a code from an authenticator app on your phone, so a stolen password is not enough."</p>
        {move || codes.get().map(|c| view! { <RecoveryCodes codes=c on_done=Callback::new(move |_| codes.set(None))/> })}
        {move || setup.get().map(|e| view! { <Enrol enrolment=e on_done=confirmed on_cancel=Callback::new(move |_| setup.set(None))/> })}
        <div hidden=move || setup.get().is_some() || codes.get().is_some()>
        {loaded(status, move |s: MfaStatus| if s.totp {
            view! {
                <section class="card" id="mfa-on">
                    <h2>"On"</h2>
                    <p>"Signing in asks for a code from your authenticator app."</p>
                    <p id="recovery-left">{format!("{} of 10 recovery codes left.", s.recovery_codes_left)}
                        {(s.recovery_codes_left <= 2).then_some(" Make new ones before they run out.")}</p>
                    <div class="actions">
                        <button class="btn" on:click=move |_| confirm_new.set(true)>"Make new recovery codes"</button>
                        <button class="btn danger" on:click=move |_| confirm_off.set(true)>"Turn off"</button>
                    </div>
                </section>
            }.into_any()
        } else {
            view! {
                <section class="card" id="mfa-off">
                    <h2>"Off"</h2>
                    <p>"You need an authenticator app, such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis."</p>
                    <button class="btn primary" disabled=move || start.pending().get()
                        on:click=move |_| { start.dispatch(()); }>"Set up an authenticator app"</button>
                </section>
            }.into_any()
        })}
        </div>
        <Confirm open=confirm_off title="Turn two-step sign-in off?"
            body="Signing in will ask for your password (or Google) only. Your recovery codes stop working."
            confirm_label="Turn off" pending=disable.pending()
            on_confirm=Callback::new(move |_| { disable.dispatch(()); })/>
        <Confirm open=confirm_new title="Make new recovery codes?"
            body="Your current recovery codes stop working."
            confirm_label="Make new codes" pending=regenerate.pending()
            on_confirm=Callback::new(move |_| { regenerate.dispatch(()); })/>
    }
}

/// Scan, then prove it with a code.
#[component]
fn Enrol(
    enrolment: TotpEnrolment,
    on_done: Callback<Vec<String>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let remote = RwSignal::new(None::<ApiError>);
    let confirm = Call::new(
        api::mfa::confirm,
        move |c| on_done.run(c),
        move |e| remote.set(Some(e)),
    );
    let code_error = Signal::derive(move || {
        remote
            .get()
            .filter(|e| e.code() == "invalid_code")
            .map(|_| "is not the app's current code.".to_string())
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        confirm.dispatch(code.get_untracked());
    };
    view! {
        <section class="card" id="mfa-setup">
            <h2>"1. Scan this code with your authenticator app"</h2>
            // Our own server's SVG (the `otpauth://` URI as a QR code).
            <div class="qr" inner_html=enrolment.qr_svg role="img" aria-label="QR code for your authenticator app"></div>
            <p>"Can't scan it? Enter this key in the app instead:"</p>
            <p><code id="totp-secret" class="secret">{enrolment.secret}</code></p>
            <h2>"2. Enter the code the app shows"</h2>
            <form on:submit=on_submit novalidate>
                <Field label="Code" name="totp-code" value=code autocomplete="one-time-code"
                    error=code_error required=true autofocus=true/>
                <FormError error=Signal::derive(move || remote.get().filter(|e| e.code() != "invalid_code"))/>
                <div class="actions">
                    <button class="btn primary" type="submit" disabled=move || confirm.pending().get()>"Turn on"</button>
                    <button class="btn" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

/// The recovery codes, shown once.
#[component]
fn RecoveryCodes(codes: Vec<String>, on_done: Callback<()>) -> impl IntoView {
    let text = format!(
        "pfn recovery codes\nEach signs in once instead of a code from your authenticator app.\n\n{}\n",
        codes.join("\n")
    );
    let href = format!("data:text/plain;charset=utf-8,{}", encode(&text));
    view! {
        <section class="card" id="recovery-codes">
            <h2>"Save your recovery codes"</h2>
            <p>"If you lose your phone, each of these signs you in once. They are shown only now: download them or write them down, and keep them somewhere safe."</p>
            <ul class="codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
            <div class="actions">
                <a class="btn" href=href download="pfn-recovery-codes.txt">"Download as .txt"</a>
                <button class="btn primary" on:click=move |_| on_done.run(())>"I saved them"</button>
            </div>
        </section>
    }
}

//! Two-step sign-in: setting up an authenticator app (QR code, secret, a code to confirm),
//! passkeys (add, rename, remove), the recovery codes shown once (with a .txt download),
//! making new ones, turning the app off. Its own split area of the `.wasm`.

use leptos::prelude::*;
use shared::{MfaStatus, PasskeyAdded, PasskeyInfo, TotpEnrolment};

use crate::{
    api::{self, ApiError},
    components::{loaded, Confirm, Dialog, Empty, Field, FormButtons, FormError},
    context::ctx,
    data::{Call, Load},
    logic::{encode, format_date},
    pages::PageHead,
    webauthn,
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

    let providers = Load::new(api::providers);
    let passkeys_here = Signal::derive(move || {
        providers
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| webauthn::usable(p.passkey_origin.as_deref()))
    });

    view! {
        <PageHead title="Two-step sign-in"/>
        <p class="lead">"After your password (or Google), signing in asks for a code from an authenticator app on your phone, or for a passkey, so a stolen password is not enough. A passkey also signs you in on its own."</p>
        {move || codes.get().map(|c| view! { <RecoveryCodes codes=c on_done=Callback::new(move |_| codes.set(None))/> })}
        {move || setup.get().map(|e| view! { <Enrol enrolment=e on_done=confirmed on_cancel=Callback::new(move |_| setup.set(None))/> })}
        <div hidden=move || setup.get().is_some() || codes.get().is_some()>
        {loaded(status, move |s: MfaStatus| view! {
            {if s.totp {
                view! {
                    <section class="card" id="mfa-on">
                        <h2>"Authenticator app: on"</h2>
                        <p>"Signing in can use a code from your authenticator app."</p>
                        <div class="actions">
                            <button class="btn danger" on:click=move |_| confirm_off.set(true)>"Turn off"</button>
                        </div>
                    </section>
                }.into_any()
            } else {
                view! {
                    <section class="card" id="mfa-off">
                        <h2>"Authenticator app: off"</h2>
                        <p>"You need an authenticator app, such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis."</p>
                        <button class="btn primary" disabled=move || start.pending().get()
                            on:click=move |_| { start.dispatch(()); }>"Set up an authenticator app"</button>
                    </section>
                }.into_any()
            }}
            {(s.totp || s.passkeys > 0).then(|| view! {
                <section class="card" id="recovery">
                    <h2>"Recovery codes"</h2>
                    <p id="recovery-left">{format!("{} of 10 recovery codes left.", s.recovery_codes_left)}
                        {(s.recovery_codes_left <= 2).then_some(" Make new ones before they run out.")}</p>
                    <button class="btn" on:click=move |_| confirm_new.set(true)>"Make new recovery codes"</button>
                </section>
            })}
        })}
        {move || passkeys_here.get().then(|| view! {
            <Passkeys on_added=Callback::new(move |added: PasskeyAdded| {
                if let Some(c) = added.recovery_codes {
                    codes.set(Some(c));
                }
                status.refetch();
            }) on_removed=Callback::new(move |_| status.refetch())/>
        })}
        </div>
        <Confirm open=confirm_off title="Turn the authenticator app off?"
            body="Signing in no longer asks for its code. Without a passkey, two-step sign-in is off and your recovery codes stop working."
            confirm_label="Turn off" pending=disable.pending()
            on_confirm=Callback::new(move |_| { disable.dispatch(()); })/>
        <Confirm open=confirm_new title="Make new recovery codes?"
            body="Your current recovery codes stop working."
            confirm_label="Make new codes" pending=regenerate.pending()
            on_confirm=Callback::new(move |_| { regenerate.dispatch(()); })/>
    }
}

/// The account's passkeys: add one (the browser asks the device), rename, remove.
#[component]
fn Passkeys(on_added: Callback<PasskeyAdded>, on_removed: Callback<()>) -> impl IntoView {
    let ctx = ctx();
    let list = Load::new(api::passkeys::list);
    let name = RwSignal::new(String::new());
    let remote = RwSignal::new(None::<ApiError>);
    let add = Call::new(
        api::passkeys::add,
        move |added: PasskeyAdded| {
            name.set(String::new());
            ctx.ok(format!("Passkey \"{}\" added.", added.passkey.name));
            list.refetch();
            on_added.run(added);
        },
        move |e| remote.set(Some(e)),
    );
    let removing = RwSignal::new(None::<PasskeyInfo>);
    let confirm_remove = RwSignal::new(false);
    let remove = Call::new(
        api::passkeys::remove,
        move |()| {
            confirm_remove.set(false);
            ctx.ok("Passkey removed.");
            list.refetch();
            on_removed.run(());
        },
        move |e| ctx.fail(&e),
    );
    let renaming = RwSignal::new(None::<PasskeyInfo>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        let typed = name.get_untracked();
        add.dispatch(if typed.trim().is_empty() {
            default_name()
        } else {
            typed
        });
    };
    let name_error = Signal::derive(move || remote.get().and_then(|e| e.field("name")));
    view! {
        <section class="card" id="passkeys">
            <h2>"Passkeys"</h2>
            <p>"A passkey lives on your phone, computer or security key and is unlocked with your fingerprint, face or PIN. It signs you in without a password, and after your password it is the second step."</p>
            {loaded(list, move |keys: Vec<PasskeyInfo>| if keys.is_empty() {
                view! { <Empty title="No passkeys yet"/> }.into_any()
            } else {
                view! {
                    <ul class="list">
                        {keys.into_iter().map(|k| {
                            let (r, d) = (k.clone(), k.clone());
                            let used = k.last_used_at.as_deref().map_or("never used".to_string(), |t| format!("last used {}", format_date(t)));
                            view! {
                                <li class="list-item passkey">
                                    <div class="grow">
                                        <p class="strong">{k.name.clone()}</p>
                                        <p class="muted">{format!("Added {} · {used}", format_date(&k.created_at))}</p>
                                    </div>
                                    <button class="btn small" on:click=move |_| renaming.set(Some(r.clone()))>"Rename"</button>
                                    <button class="btn small danger" on:click=move |_| { removing.set(Some(d.clone())); confirm_remove.set(true); }>"Remove"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
            <form on:submit=on_submit novalidate>
                <Field label="Name of the new passkey" name="passkey-name" value=name autocomplete="off"
                    hint="For example the device it lives on." error=name_error/>
                <FormError error=Signal::derive(move || remote.get().filter(|e| e.field("name").is_none()))/>
                <button class="btn primary" type="submit" disabled=move || add.pending().get()>"Add a passkey"</button>
            </form>
        </section>
        <Confirm open=confirm_remove title="Remove this passkey?"
            body=Signal::derive(move || format!("\"{}\" no longer signs you in.", removing.get().map(|k| k.name).unwrap_or_default()))
            confirm_label="Remove" pending=remove.pending()
            on_confirm=Callback::new(move |_| { if let Some(k) = removing.get_untracked() { remove.dispatch(k.id); } })/>
        <Rename passkey=renaming on_done=Callback::new(move |_| list.refetch())/>
    }
}

/// A name for a passkey the person did not name: the browser's platform.
fn default_name() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().platform().ok())
        .filter(|p| !p.is_empty())
        .map_or("Passkey".to_string(), |p| format!("Passkey on {p}"))
}

#[component]
fn Rename(passkey: RwSignal<Option<PasskeyInfo>>, on_done: Callback<()>) -> impl IntoView {
    let open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let remote = RwSignal::new(None::<ApiError>);
    // `passkey` opens the dialog; closing it (Cancel, Escape) clears `passkey`. Each side is
    // set only when it changes, or the two effects would wake each other forever.
    Effect::new(move |_| {
        let chosen = passkey.get();
        if let Some(k) = &chosen {
            name.set(k.name.clone());
            remote.set(None);
        }
        if open.get_untracked() != chosen.is_some() {
            open.set(chosen.is_some());
        }
    });
    Effect::new(move |_| {
        if !open.get() && passkey.with_untracked(Option::is_some) {
            passkey.set(None);
        }
    });
    let call = Call::new(
        api::passkeys::rename,
        move |_| {
            passkey.set(None);
            on_done.run(());
        },
        move |e| remote.set(Some(e)),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(k) = passkey.get_untracked() {
            call.dispatch((k.id, name.get_untracked()));
        }
    };
    view! {
        <Dialog open=open title=Signal::derive(|| "Rename the passkey".to_string())>
            <form on:submit=submit>
                <Field label="Name" name="passkey-rename" value=name autocomplete="off"
                    error=Signal::derive(move || remote.get().and_then(|e| e.field("name"))) required=true autofocus=true/>
                <FormButtons label="Rename" pending=call.pending() on_cancel=Callback::new(move |_| open.set(false))/>
            </form>
        </Dialog>
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

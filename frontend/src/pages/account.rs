//! The person's own security: signed-in devices, the audit log, password and Google settings.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::ChangePasswordRequest;

use crate::{
    api::{self, ApiError},
    components::{field_error, loaded, Badge, Confirm, Empty, Field, FormError, Pager},
    context::ctx,
    data::{Call, Load},
    logic::format_time,
    pages::{ago, PageHead},
};

#[component]
pub fn Sessions() -> impl IntoView {
    let ctx = ctx();
    let sessions = Load::new(api::sessions);
    let confirm_all = RwSignal::new(false);
    let end = Call::new(
        api::end_session,
        move |()| {
            ctx.ok("That device is signed out.");
            sessions.refetch();
        },
        move |e| ctx.fail(&e),
    );
    let end_all = Call::new(
        |()| api::end_other_sessions(),
        move |()| {
            confirm_all.set(false);
            ctx.ok("Every other device is signed out.");
            sessions.refetch();
        },
        move |e| ctx.fail(&e),
    );
    view! {
        <PageHead title="Sessions">
            <button class="btn" on:click=move |_| confirm_all.set(true)>"Sign out everywhere else"</button>
        </PageHead>
        <p class="lead">"Where you are signed in. End any session you don't recognise."</p>
        {loaded(sessions, move |page| view! {
            <ul class="list" id="sessions">
                {page.items.into_iter().map(|s| {
                    let id = s.id.clone();
                    view! {
                        <li class="list-item" class:current=s.current>
                            <div class="grow">
                                <p class="strong" title=s.user_agent.clone().unwrap_or_default()>{s.device.clone()}
                                    {s.current.then(|| view! { " " <Badge text="this device" tone="ok"/> })}</p>
                                <p class="muted">{s.ip.clone().unwrap_or_default()}" · signed in "
                                    {sign_in_label(s.sign_in_method.as_deref())}
                                    {ago(&s.created_at)}" · last seen "{ago(&s.last_seen_at)}</p>
                            </div>
                            {(!s.current).then(|| view! {
                                <button class="btn small" disabled=move || end.pending().get()
                                    on:click=move |_| { end.dispatch(id.clone()); }>"End"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
        <Confirm open=confirm_all title="Sign out every other device?"
            body="Every other browser signed in to your account is signed out. API keys are not affected."
            confirm_label="Sign them out" pending=end_all.pending()
            on_confirm=Callback::new(move |_| { end_all.dispatch(()); })/>
    }
}

/// "with a password and an authenticator code " for `password+totp`.
fn sign_in_label(method: Option<&str>) -> String {
    let Some(method) = method else {
        return String::new();
    };
    let (first, second) = method.split_once('+').unwrap_or((method, ""));
    let first = match first {
        "google" => "with Google",
        "passkey" => "with a passkey",
        _ => "with a password",
    };
    let second = match second {
        "totp" => " and an authenticator code",
        "recovery_code" => " and a recovery code",
        "passkey" => " and a passkey",
        _ => "",
    };
    format!("{first}{second} ")
}

#[component]
pub fn Audit() -> impl IntoView {
    let kind = RwSignal::new(String::new());
    let cursor = RwSignal::new(None::<String>);
    let history = RwSignal::new(Vec::new());
    let events = Load::new(move || api::audit_log(Some(kind.get()), cursor.get()));
    let next = RwSignal::new(None::<String>);
    view! {
        <PageHead title="Audit log"/>
        <p class="lead">"Security events on your account and keys, newest first."</p>
        <div class="filters">
            <label>"Event type"
                <select on:change=move |ev| { kind.set(event_target_value(&ev)); cursor.set(None); history.set(Vec::new()); }>
                    {[("", "All"), ("user.login", "Sign-ins"), ("user.login_failed", "Failed sign-ins"), ("key.created", "Keys created"),
                      ("key.revoked", "Keys revoked"), ("key.rotated", "Keys rotated"), ("key.used", "Key use"),
                      ("user.password_changed", "Password changes"), ("bank.connected", "Banks connected"), ("bank.disconnected", "Banks disconnected")]
                        .iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                </select>
            </label>
        </div>
        {loaded(events, move |page| {
            next.set(page.next_cursor.clone());
            audit_table(page.items)
        })}
        <Pager cursor=cursor history=history next=next/>
    }
}

/// The audit events as a table; the admin page shows the same.
pub fn audit_table(items: Vec<shared::keys::AuditEvent>) -> AnyView {
    if items.is_empty() {
        return view! { <Empty title="No events"/> }.into_any();
    }
    view! {
        <div class="table-wrap">
        <table class="table">
            <thead><tr><th scope="col">"When"</th><th scope="col">"Event"</th><th scope="col">"Outcome"</th><th scope="col">"From"</th><th scope="col">"Target"</th></tr></thead>
            <tbody>
            {items.into_iter().map(|e| {
                let tone = if e.outcome == "success" { "ok" } else { "bad" };
                view! {
                    <tr>
                        <td data-label="When" title=format_time(&e.occurred_at)>{ago(&e.occurred_at)}</td>
                        <td data-label="Event"><code>{e.kind.clone()}</code></td>
                        <td data-label="Outcome"><Badge text=e.outcome.clone() tone=tone/></td>
                        <td data-label="From">{e.ip.clone().unwrap_or_default()}</td>
                        <td data-label="Target">{e.target_type.clone().map(|t| format!("{t} {}", e.target_id.clone().unwrap_or_default()))}</td>
                    </tr>
                }
            }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn Settings() -> impl IntoView {
    let ctx = ctx();
    let q = use_query_map();
    // The Google callback comes back here with `?linked=google` or `?error=<code>`.
    Effect::new(move |_| {
        let q = q.read();
        if q.get("linked").is_some() {
            ctx.ok("Google is linked: you can sign in with it now.");
        }
        if let Some(code) = q.get("error") {
            ctx.toast(
                crate::context::ToastKind::Error,
                format!("Linking Google failed ({code})."),
            );
        }
    });
    let providers = Load::new(api::providers);
    let unlink = Call::new(
        |()| api::unlink_google(),
        move |()| {
            ctx.ok("Google is unlinked.");
            leptos::task::spawn_local(async move {
                if let Ok(u) = api::me().await {
                    ctx.signed_in(u);
                }
            });
        },
        move |e| ctx.fail(&e),
    );

    view! {
        <PageHead title="Settings"/>
        <Profile/>
        <ChangeEmail/>
        <ChangePassword/>
        <ExportData/>
        <DeleteAccount/>
        {move || {
            let google_on = providers.get().and_then(|r| r.ok()).is_some_and(|p| p.providers.iter().any(|x| x == "google"));
            let user = ctx.user()?;
            google_on.then(|| {
                let linked = user.linked_providers.iter().any(|p| p == "google");
                view! {
                    <section class="card">
                        <h2>"Google"</h2>
                        {if linked {
                            view! {
                                <p>"You can sign in with Google."</p>
                                <button class="btn" disabled=move || unlink.pending().get()
                                    on:click=move |_| { unlink.dispatch(()); }>"Unlink Google"</button>
                            }.into_any()
                        } else {
                            view! {
                                <p>"Link your Google account to sign in with it."</p>
                                <a class="btn" href="/api/v1/auth/google/link" rel="external">"Link Google"</a>
                            }.into_any()
                        }}
                    </section>
                }
            })
        }}
    }
}

/// Everything the person can see, as a ZIP download (step-up through the dialog).
#[component]
fn ExportData() -> impl IntoView {
    let ctx = ctx();
    let export = Call::new(
        |()| api::download("/api/v1/export"),
        move |(bytes, name): (Vec<u8>, Option<String>)| {
            let name = name.unwrap_or_else(|| "pfn-export.zip".into());
            match save_file(&bytes, &name, "application/zip") {
                Ok(()) => ctx.ok("Your export is downloaded."),
                Err(_) => ctx.toast(
                    crate::context::ToastKind::Error,
                    "The browser did not save the file.".to_string(),
                ),
            }
        },
        move |e| ctx.fail(&e),
    );
    view! {
        <section class="card" id="export">
            <h2>"Export your data"</h2>
            <p>"A ZIP of everything you can see: your profile, sessions and security log, and for each workspace its accounts, transactions (CSV and JSON), budgets, bank connections and keys (never their secrets). The README inside describes each file."</p>
            <button class="btn" type="button" disabled=move || export.pending().get()
                on:click=move |_| { export.dispatch(()); }>
                {move || if export.pending().get() { "Preparing…" } else { "Download my data" }}
            </button>
        </section>
    }
}

/// Hands `bytes` to the browser as a download named `name`.
fn save_file(bytes: &[u8], name: &str, kind: &str) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The download reads the URL after this returns: let it go a minute later.
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

/// Deleting the account: typed email to confirm; step-up through the dialog; then signed out.
#[component]
fn DeleteAccount() -> impl IntoView {
    let ctx = ctx();
    let typed = RwSignal::new(String::new());
    let remote = RwSignal::new(None::<ApiError>);
    let delete = Call::new(
        api::account::delete_me,
        move |()| {
            ctx.auth.set(crate::context::Auth::SignedOut);
            ctx.ok("Your account was deleted.");
        },
        move |e| remote.set(Some(e)),
    );
    let matches = move || {
        ctx.user()
            .is_some_and(|u| typed.with(|t| t.trim().eq_ignore_ascii_case(u.email.trim())))
    };
    view! {
        <section class="card" id="delete-account">
            <h2>"Delete your account"</h2>
            <p>"Your personal workspace and everything in it, your keys, sessions and sign-in methods go, and the banks you connected there stop sharing with pfn. Shared workspaces stay with their other members; one you are the only owner of must be handed over or deleted first. This cannot be undone."</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                remote.set(None);
                delete.dispatch(typed.get_untracked().trim().to_string());
            } novalidate>
                <Field label="Type your email address to confirm" name="delete-email" kind="email" value=typed
                    autocomplete="off" error=Signal::derive(move || remote.get().and_then(|e| e.field("email")))/>
                <FormError error=Signal::derive(move || remote.get().filter(|e| e.field("email").is_none()))/>
                <button class="btn danger" type="submit" disabled=move || !matches() || delete.pending().get()>"Delete my account"</button>
            </form>
        </section>
    }
}

/// The name (editable), the email and the account's age.
#[component]
fn Profile() -> impl IntoView {
    let ctx = ctx();
    let name = RwSignal::new(ctx.user().map(|u| u.name).unwrap_or_default());
    let remote = RwSignal::new(None::<ApiError>);
    let save = Call::new(
        api::account::update_me,
        move |u: shared::User| {
            name.set(u.name.clone());
            ctx.signed_in(u);
            ctx.ok("Your name is saved.");
        },
        move |e| remote.set(Some(e)),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        save.dispatch(name.get_untracked());
    };
    view! {
        <section class="card" id="profile">
            <h2>"Profile"</h2>
            <form on:submit=on_submit novalidate>
                <Field label="Name" name="profile-name" value=name autocomplete="name"
                    error=Signal::derive(move || remote.get().and_then(|e| e.field("name"))) required=true/>
                <FormError error=Signal::derive(move || remote.get().filter(|e| e.field("name").is_none()))/>
                <button class="btn primary" type="submit" disabled=move || save.pending().get()>"Save"</button>
            </form>
            {move || ctx.user().map(|u| view! {
                <dl class="facts">
                    <dt>"Email"</dt><dd>{u.email.clone()}</dd>
                    <dt>"Member since"</dt><dd>{crate::logic::format_date(&u.created_at).to_string()}</dd>
                </dl>
            })}
        </section>
    }
}

/// Moving the account to another address: a link goes there, a notice to the current one.
#[component]
fn ChangeEmail() -> impl IntoView {
    let ctx = ctx();
    let new_email = RwSignal::new(String::new());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let pending = Load::new(api::account::email_change);
    let request = Call::new(
        api::account::change_email,
        move |_| {
            new_email.set(String::new());
            pending.refetch();
            ctx.ok("Check the new address for the confirmation link.");
        },
        move |e| remote.set(Some(e)),
    );
    let withdraw = Call::new(
        |()| api::account::withdraw_email_change(),
        move |()| {
            pending.refetch();
            ctx.ok("The change is withdrawn.");
        },
        move |e| ctx.fail(&e),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        local.set(
            match shared::validate::check_email(&new_email.get_untracked()) {
                Ok(_) => Vec::new(),
                Err(e) => vec![("newEmail", e.to_string())],
            },
        );
        if local.get_untracked().is_empty() {
            request.dispatch(new_email.get_untracked().trim().to_string());
        }
    };
    view! {
        <section class="card" id="email">
            <h2>"Email address"</h2>
            <p>"A confirmation link goes to the new address, and a notice to "
                {move || ctx.user().map(|u| u.email).unwrap_or_default()}
                ". Until the link is used, nothing changes. Confirming signs out your other sessions."</p>
            {move || pending.get().and_then(|r| r.ok()).and_then(|b| b.pending).map(|p| view! {
                <p class="notice" role="status" id="email-pending">"Waiting for "<strong>{p.new_email.clone()}</strong>
                    " to confirm (the link works until "{crate::logic::format_time(&p.expires_at)}"). "
                    <button class="btn small" type="button" disabled=move || withdraw.pending().get()
                        on:click=move |_| { withdraw.dispatch(()); }>"Withdraw"</button></p>
            })}
            <form on:submit=on_submit novalidate>
                <Field label="New email address" name="newEmail" kind="email" value=new_email
                    autocomplete="email" error=field_error(local, remote, "newEmail")/>
                <FormError error=Signal::derive(move || remote.get().filter(|e| e.field("newEmail").is_none()))/>
                <button class="btn primary" type="submit" disabled=move || request.pending().get()>"Change email"</button>
            </form>
        </section>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let ctx = ctx();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let action = Call::new(
        api::change_password,
        move |_| {
            current.set(String::new());
            new.set(String::new());
            ctx.ok("Password changed. Your other sessions were signed out.");
        },
        move |e| remote.set(Some(e)),
    );
    let has_password = move || ctx.user().is_some_and(|u| u.has_password);
    view! {
        <section class="card">
            <h2>"Password"</h2>
            {move || if has_password() {
                view! {
                    <form on:submit=move |ev| {
                        ev.prevent_default();
                        remote.set(None);
                        let email = ctx.user().map(|u| u.email).unwrap_or_default();
                        local.set(match crate::logic::check_password(&new.get_untracked(), &email) {
                            Ok(()) => Vec::new(),
                            Err(e) => vec![("newPassword", e.to_string())],
                        });
                        if local.get_untracked().is_empty() {
                            action.dispatch(ChangePasswordRequest { current_password: current.get_untracked(), new_password: new.get_untracked() });
                        }
                    } novalidate>
                        <Field label="Current password" name="currentPassword" kind="password" value=current
                            autocomplete="current-password" error=Signal::derive(move || {
                                remote.get().and_then(|e| if e.code() == "invalid_current_password" { Some("is not right".to_string()) } else { e.field("currentPassword") })
                            })/>
                        <Field label="New password" name="newPassword" kind="password" value=new
                            autocomplete="new-password" error=field_error(local, remote, "newPassword")/>
                        <FormError error=Signal::derive(move || remote.get().filter(|e| e.code() != "invalid_current_password"))/>
                        <button class="btn primary" type="submit" disabled=move || action.pending().get()>"Change password"</button>
                    </form>
                }.into_any()
            } else {
                view! { <p class="muted">"You sign in with Google only. To add a password, use “Forgot password” on the sign-in page."</p> }.into_any()
            }}
        </section>
    }
}

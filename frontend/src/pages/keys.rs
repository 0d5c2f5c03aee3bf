//! API keys: create (scopes, expiry, limits; presets for common uses) with a one-time reveal of
//! the secret, list with status and last use, rotate with a grace period, revoke after
//! confirmation. Each key's own page ([`detail`]) shows its limits and use.

pub mod create;
pub mod detail;
pub mod limits;

use leptos::{prelude::*, wasm_split::SplitLoaderError};
use leptos_router::components::A;
use shared::keys::{ApiKey, CreatedKeyBody, KeyStatus};

use self::create::CreateKeyProps;
use crate::{
    api::{self, ApiError},
    components::{
        lazy, loaded, Badge, Confirm, CopyField, Dialog, Empty, FormButtons, FormError, PageLoad,
        SecretReveal,
    },
    context::{ctx, key_path},
    data::{Call, Load},
    logic::format_date,
    pages::{ago, PageHead},
};

pub fn status_badge(status: KeyStatus) -> impl IntoView {
    let (text, tone) = match status {
        KeyStatus::Active => ("active", "ok"),
        KeyStatus::Expired => ("expired", "muted"),
        KeyStatus::Revoked => ("revoked", "bad"),
        KeyStatus::Suspended => ("suspended", "warn"),
    };
    view! { <Badge text=text tone=tone/> }
}

#[component]
pub fn Keys() -> impl IntoView {
    let ctx = ctx();
    let keys = Load::new(|| api::keys(None));
    let scopes = Load::new(api::scopes);
    // For the create dialog's account picker: keys are made in the chosen workspace.
    let accounts = Load::new(move || api::accounts(ctx.workspace.get()));
    let create_open = RwSignal::new(false);
    // The secret lives only in this signal, only until the dialog closes.
    let revealed = RwSignal::new(None::<CreatedKeyBody>);
    let reveal_open = RwSignal::new(false);
    let revoking = RwSignal::new(None::<ApiKey>);
    let revoke_open = RwSignal::new(false);
    let rotating = RwSignal::new(None::<ApiKey>);
    let rotate_open = RwSignal::new(false);
    // The key being made is for an MCP agent: its reveal shows how to connect one.
    let for_agent = RwSignal::new(false);

    Effect::new(move |_| {
        if !reveal_open.get() {
            revealed.set(None);
        }
    });

    let revoke = Call::new(
        api::revoke_key,
        move |()| {
            revoke_open.set(false);
            ctx.ok("Key revoked. Requests with it now fail.");
            keys.refetch();
        },
        move |e| ctx.fail(&e),
    );

    let on_created = Callback::new(move |created: CreatedKeyBody| {
        create_open.set(false);
        rotate_open.set(false);
        revealed.set(Some(created));
        reveal_open.set(true);
        keys.refetch();
    });

    view! {
        <PageHead title="API keys">
            <button class="btn primary" on:click=move |_| { for_agent.set(false); create_open.set(true); }>"Create key"</button>
        </PageHead>
        <p class="lead">"Keys let scripts and agents use the API as you, limited to the scopes you pick. Send one as "<code>"Authorization: Bearer pfn_…"</code>"."</p>
        {loaded(keys, move |page| {
            if page.items.is_empty() {
                return view! {
                    <Empty title="No keys yet">
                        <p>"Create one to let a script read or push your data."</p>
                    </Empty>
                }.into_any();
            }
            view! {
                <div class="table-wrap">
                <table class="table" id="keys-table">
                    <thead><tr>
                        <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scopes"</th>
                        <th scope="col">"Status"</th><th scope="col">"Expires"</th><th scope="col">"Last used"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                    {page.items.into_iter().map(|k| {
                        let active = k.status == KeyStatus::Active;
                        let (k1, k2) = (k.clone(), k.clone());
                        let (rotate_label, revoke_label) = (format!("Rotate {}", k.name), format!("Revoke {}", k.name));
                        view! {
                            <tr data-key-id=k.id.clone()>
                                <td data-label="Name"><A href=key_path(&k.id)>{k.name.clone()}</A></td>
                                <td data-label="Key"><code class="hint">{k.hint.clone()}</code></td>
                                <td data-label="Scopes"><div class="chips">{k.scopes.iter().map(|s| view! { <span class="chip">{s.clone()}</span> }).collect_view()}</div></td>
                                <td data-label="Status">{status_badge(k.status)}</td>
                                <td data-label="Expires">{k.expires_at.as_deref().map(|e| format_date(e).to_string()).unwrap_or_else(|| "never".into())}</td>
                                <td data-label="Last used">{match &k.last_used_at {
                                    Some(t) => view! { {ago(t)}{k.last_used_ip.clone().map(|ip| format!(" from {ip}"))} }.into_any(),
                                    None => view! { <span class="muted">"never"</span> }.into_any(),
                                }}</td>
                                <td class="row-actions">
                                    {active.then(|| view! {
                                        <button class="btn small" on:click=move |_| { for_agent.set(false); rotating.set(Some(k1.clone())); rotate_open.set(true); }
                                            aria-label=rotate_label>"Rotate"</button>
                                        <button class="btn small danger" on:click=move |_| { revoking.set(Some(k2.clone())); revoke_open.set(true); }
                                            aria-label=revoke_label>"Revoke"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any()
        })}

        <Dialog open=create_open title=Signal::derive(|| "Create an API key".to_string())>
            <CreateKeyDialog props=CreateKeyProps {
                scopes, accounts, for_agent, on_created,
                on_cancel: Callback::new(move |_| create_open.set(false)),
            }/>
        </Dialog>

        <Dialog open=reveal_open title=Signal::derive(|| "Your new key".to_string())>
            {move || revealed.get().map(|created| view! {
                <SecretReveal id="key-secret" label="Secret key"
                    warning="Copy this key now. You will not see it again: we only keep a hash of it."
                    secret=created.secret.clone()
                    about=format!("{} · {}", created.key.name, created.key.scopes.join(", "))
                    open=reveal_open>
                    {for_agent.get_untracked().then(|| view! { <McpSnippet secret=created.secret.clone()/> })}
                </SecretReveal>
            })}
        </Dialog>

        <Confirm open=revoke_open
            title=Signal::derive(move || format!("Revoke “{}”?", revoking.get().map(|k| k.name).unwrap_or_default()))
            body="Anything using this key stops working at once. This cannot be undone."
            confirm_label="Revoke key"
            pending=revoke.pending()
            on_confirm=Callback::new(move |_| {
                if let Some(k) = revoking.get_untracked() { revoke.dispatch(k.id); }
            })/>

        <Dialog open=rotate_open title=Signal::derive(move || format!("Rotate “{}”", rotating.get().map(|k| k.name).unwrap_or_default()))>
            <RotateForm key=rotating on_created=on_created on_cancel=Callback::new(move |_| rotate_open.set(false))/>
        </Dialog>
    }
}

/// The create form is a chunk of its own (`keyform`; the limit fields it shares with the key's
/// page are in a chunk both load): fetched when the dialog first opens, with a skeleton
/// meanwhile and "Try again" if the fetch fails.
#[leptos::wasm_split::wasm_split(keyform, wasm_split_path = ::leptos::wasm_split, fallible)]
fn create_form_split() -> Result<AnyView, SplitLoaderError> {
    Ok(create::create_key_form())
}

fn create_form_chunk() -> PageLoad {
    Box::pin(create_form_split())
}

#[component]
fn CreateKeyDialog(props: CreateKeyProps) -> impl IntoView {
    provide_context(props);
    lazy(create_form_chunk)
}

/// How to connect an MCP client with the new key: Claude Code's command and the endpoint.
#[component]
fn McpSnippet(secret: String) -> impl IntoView {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let endpoint = format!("{origin}/mcp");
    let command = format!(
        "claude mcp add --transport http pfn {endpoint} --header \"Authorization: Bearer {secret}\""
    );
    view! {
        <section class="mcp-snippet" id="mcp-snippet" aria-labelledby="mcp-snippet-title">
            <h3 id="mcp-snippet-title">"Connect an AI agent (MCP)"</h3>
            <p>"Claude Code:"</p>
            <CopyField id="mcp-command" label="Claude Code command" value=command/>
            <p>"Any Streamable HTTP client: URL "<code id="mcp-endpoint">{endpoint}</code>
                ", header "<code>"Authorization: Bearer "</code>" and the key. Claude Desktop and other clients: see "
                <code>"docs/mcp.md"</code>"."</p>
        </section>
    }
}

const GRACE_CHOICES: &[(&str, i64)] = &[
    ("Immediately", 0),
    ("After 1 hour", 3600),
    ("After 24 hours", 86_400),
    ("After 7 days", 604_800),
];

#[component]
fn RotateForm(
    key: RwSignal<Option<ApiKey>>,
    on_created: Callback<CreatedKeyBody>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let grace = RwSignal::new(3600i64);
    let remote = RwSignal::new(None::<ApiError>);
    let action = Call::new(
        |(id, grace): (String, i64)| api::rotate_key(id, grace),
        move |created| on_created.run(created),
        move |e| remote.set(Some(e)),
    );
    view! {
        <form on:submit=move |ev| {
            ev.prevent_default();
            if let Some(k) = key.get_untracked() { action.dispatch((k.id, grace.get_untracked())); }
        }>
            <p>"A new secret replaces this one, with the same name and scopes. The old secret keeps working for the grace period so you can deploy the new one."</p>
            <div class="field">
                <label for="f-grace">"Old secret stops working"</label>
                <select id="f-grace" on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))>
                    {GRACE_CHOICES.iter().map(|(label, secs)| view! {
                        <option value=secs.to_string() selected=*secs == 3600>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            <FormError error=remote/>
            <FormButtons label="Rotate key" pending=action.pending() on_cancel=on_cancel/>
        </form>
    }
}

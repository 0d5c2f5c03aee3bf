//! API keys: create (scopes, expiry) with a one-time reveal of the secret, list with status and
//! last use, rotate with a grace period, revoke after confirmation.

use leptos::prelude::*;
use shared::keys::{ApiKey, CreateKeyRequest, CreatedKeyBody, KeyStatus, ScopeInfo};

use crate::{
    api::{self, ApiError},
    components::{
        field_error, loaded, Badge, Confirm, CopyField, Dialog, Empty, Field, FormButtons,
        FormError, SecretReveal,
    },
    context::ctx,
    data::{Call, Load},
    logic::{format_date, EXPIRY_CHOICES},
    pages::{ago, PageHead},
};

fn status_badge(status: KeyStatus) -> impl IntoView {
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
                                <td data-label="Name">{k.name.clone()}</td>
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
            <CreateKeyForm scopes=scopes for_agent=for_agent on_created=on_created on_cancel=Callback::new(move |_| create_open.set(false))/>
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

/// What the "Agent (MCP)" preset picks: reading, nothing else (docs/mcp.md).
const AGENT_SCOPES: &[&str] = &[
    "read:accounts",
    "read:transactions",
    "read:budgets",
    "read:insights",
];

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

#[component]
fn CreateKeyForm(
    scopes: Load<shared::keys::ScopesBody>,
    /// Set when the "Agent (MCP)" preset filled the form.
    for_agent: RwSignal<bool>,
    on_created: Callback<CreatedKeyBody>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let expiry = RwSignal::new("90 days".to_string());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let action = Call::new(
        api::create_key,
        move |created| on_created.run(created),
        move |e| remote.set(Some(e)),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        let mut problems = Vec::new();
        if let Err(e) = shared::validate::check_name(&name.get_untracked()) {
            problems.push(("name", e.to_string()));
        }
        if chosen.get_untracked().is_empty() {
            problems.push(("scopes", "needs at least one scope".to_string()));
        }
        local.set(problems);
        if local.get_untracked().is_empty() {
            let days = EXPIRY_CHOICES
                .iter()
                .find(|(label, _)| *label == expiry.get_untracked())
                .and_then(|(_, d)| *d);
            action.dispatch(CreateKeyRequest {
                name: name.get_untracked(),
                scopes: chosen.get_untracked(),
                expires_in_days: days,
                workspace_id: ctx().workspace.get_untracked(),
                allowed_ips: None,
                account_ids: None,
                quota: None,
                rate_limit: None,
            });
        }
    };
    let scope_error = field_error(local, remote, "scopes");
    let agent_preset = move |_| {
        chosen.set(AGENT_SCOPES.iter().map(|s| s.to_string()).collect());
        if name.get_untracked().trim().is_empty() {
            name.set("AI agent (MCP)".into());
        }
        for_agent.set(true);
    };
    view! {
        <form on:submit=on_submit novalidate>
            <div class="presets">
                <button type="button" class="btn small" id="preset-mcp" on:click=agent_preset>"Agent (MCP)"</button>
                <small class="muted">"Read-only scopes for an AI agent, and how to connect it."</small>
            </div>
            <Field label="Name" name="name" value=name hint="What uses it, e.g. “Budget agent”."
                error=field_error(local, remote, "name") required=true autofocus=true/>
            <fieldset class="scopes" aria-describedby="scopes-err">
                <legend>"Scopes"</legend>
                {move || scopes.get().map(|r| match r {
                    Ok(body) => body.scopes.into_iter().map(|s: ScopeInfo| {
                        let id = format!("scope-{}", s.name.replace(':', "-"));
                        let n1 = s.name.clone();
                        let n2 = s.name.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" id=id name="scope" value=s.name.clone()
                                    prop:checked=move || chosen.get().contains(&n1)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| { c.retain(|x| *x != n2); if on { c.push(n2.clone()); } });
                                    }/>
                                <span><code>{s.name.clone()}</code><small>{s.description}</small></span>
                            </label>
                        }
                    }).collect_view().into_any(),
                    Err(e) => view! { <p class="alert">{e.message()}</p> }.into_any(),
                })}
                {move || scope_error.get().map(|e| view! { <p class="err" id="scopes-err">{format!("Scopes: {e}")}</p> })}
            </fieldset>
            <div class="field">
                <label for="f-expiry">"Expires"</label>
                <select id="f-expiry" on:change=move |ev| expiry.set(event_target_value(&ev))>
                    {EXPIRY_CHOICES.iter().map(|(label, _)| view! {
                        <option value=*label selected=*label == "90 days">{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            <FormError error=remote/>
            <FormButtons label="Create key" pending=action.pending() on_cancel=on_cancel/>
        </form>
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

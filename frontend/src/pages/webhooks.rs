//! Webhooks (workspace owners): endpoints with their events, the signing secret shown once
//! (at creation and rotation), a test ping, enabling and disabling, and each endpoint's delivery
//! log with retries.

use leptos::prelude::*;
use shared::webhooks::{
    CreateWebhookRequest, UpdateWebhookRequest, WebhookDelivery, WebhookEndpoint,
    WebhookWithSecret, EVENT_TYPES,
};

use crate::{
    api::{webhooks as hooks, ApiError},
    components::{
        field_error, loaded, Badge, Confirm, Dialog, Empty, Field, FormButtons, FormError,
        SecretReveal,
    },
    context::ctx,
    data::{Call, Load},
    pages::{ago, PageHead},
};

fn endpoint_badge(ep: &WebhookEndpoint) -> impl IntoView {
    let (text, tone) = match (ep.enabled, ep.failing_since.is_some()) {
        (false, _) if ep.disabled_reason.is_some() => ("disabled: kept failing", "bad"),
        (false, _) => ("disabled", "muted"),
        (true, true) => ("failing", "warn"),
        (true, false) => ("active", "ok"),
    };
    view! { <Badge text=text tone=tone/> }
}

fn delivery_badge(status: &str) -> impl IntoView {
    let tone = match status {
        "delivered" => "ok",
        "failed" => "bad",
        _ => "warn",
    };
    view! { <Badge text=status.to_string() tone=tone/> }
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let ctx = ctx();
    let endpoints = Load::new(move || hooks::webhooks(ctx.workspace.get()));
    let create_open = RwSignal::new(false);
    // The secret lives only in this signal, only until its dialog closes.
    let revealed = RwSignal::new(None::<WebhookWithSecret>);
    let reveal_open = RwSignal::new(false);
    let deleting = RwSignal::new(None::<WebhookEndpoint>);
    let delete_open = RwSignal::new(false);
    let rotating = RwSignal::new(None::<WebhookEndpoint>);
    let rotate_open = RwSignal::new(false);
    let open_log = RwSignal::new(None::<String>);

    Effect::new(move |_| {
        if !reveal_open.get() {
            revealed.set(None);
        }
    });
    let reveal = move |created: WebhookWithSecret| {
        revealed.set(Some(created));
        reveal_open.set(true);
        endpoints.refetch();
    };
    let delete = Call::new(
        move |id: String| hooks::delete_webhook(ctx.workspace.get_untracked(), id),
        move |()| {
            delete_open.set(false);
            ctx.ok("Endpoint deleted. Nothing more is sent to it.");
            endpoints.refetch();
        },
        move |e| ctx.fail(&e),
    );
    let rotate = Call::new(
        move |id: String| hooks::rotate_webhook_secret(ctx.workspace.get_untracked(), id),
        move |created| {
            rotate_open.set(false);
            reveal(created);
        },
        move |e| ctx.fail(&e),
    );
    let toggle = Call::new(
        move |(id, enabled): (String, bool)| {
            let req = UpdateWebhookRequest {
                enabled: Some(enabled),
                ..Default::default()
            };
            hooks::update_webhook(ctx.workspace.get_untracked(), id, req)
        },
        move |ep: WebhookEndpoint| {
            ctx.ok(if ep.enabled {
                "Endpoint enabled: events from now on are sent to it."
            } else {
                "Endpoint disabled."
            });
            endpoints.refetch();
        },
        move |e| ctx.fail(&e),
    );
    let test = Call::new(
        move |id: String| hooks::test_webhook(ctx.workspace.get_untracked(), id),
        move |_| ctx.ok("Ping queued: see it in the delivery log."),
        move |e| ctx.fail(&e),
    );

    view! {
        <PageHead title="Webhooks">
            <button class="btn primary" on:click=move |_| create_open.set(true)>"Add endpoint"</button>
        </PageHead>
        <p class="lead">"pfn POSTs a small signed message (Standard Webhooks) to your endpoints when transactions, syncs, connections, keys or budgets change. Verify each with the endpoint's secret; see docs/webhooks.md."</p>
        {loaded(endpoints, move |page| {
            if page.items.is_empty() {
                return view! {
                    <Empty title="No endpoints yet">
                        <p>"Add one to have your app told about changes as they happen."</p>
                    </Empty>
                }.into_any();
            }
            page.items.into_iter().map(|ep| {
                let (e1, e2) = (ep.clone(), ep.clone());
                let (id_test, id_toggle, id_log) = (ep.id.clone(), ep.id.clone(), ep.id.clone());
                let id_shown = ep.id.clone();
                let enabled = ep.enabled;
                let shown = {
                    let id = ep.id.clone();
                    move || open_log.get().as_deref() == Some(id.as_str())
                };
                let shown2 = shown.clone();
                view! {
                    <section class="card webhook" data-webhook-id=ep.id.clone()>
                        <div class="row">
                            <code class="mono">{ep.url.clone()}</code>
                            {endpoint_badge(&ep)}
                        </div>
                        {(!ep.description.is_empty()).then(|| view! { <p class="muted">{ep.description.clone()}</p> })}
                        <div class="chips">{ep.event_types.iter().map(|t| view! { <span class="chip">{t.clone()}</span> }).collect_view()}</div>
                        {ep.failing_since.clone().map(|t| view! { <p class="warning">"Every delivery has failed since "{ago(&t)}"."</p> })}
                        {ep.previous_secret_expires_at.clone().map(|t| view! { <p class="muted">"The previous secret also signs until "{ago(&t)}"."</p> })}
                        <div class="actions">
                            <button class="btn small" disabled=!enabled on:click=move |_| test.dispatch(id_test.clone())>"Send test"</button>
                            <button class="btn small" on:click=move |_| toggle.dispatch((id_toggle.clone(), !enabled))>
                                {if enabled { "Disable" } else { "Enable" }}</button>
                            <button class="btn small" on:click=move |_| { rotating.set(Some(e1.clone())); rotate_open.set(true); }>"Rotate secret"</button>
                            <button class="btn small" aria-expanded=move || shown().to_string()
                                on:click=move |_| open_log.update(|o| *o = if o.as_deref() == Some(id_log.as_str()) { None } else { Some(id_log.clone()) })>
                                "Delivery log"</button>
                            <button class="btn small danger" on:click=move |_| { deleting.set(Some(e2.clone())); delete_open.set(true); }>"Delete"</button>
                        </div>
                        {move || shown2().then(|| view! { <DeliveryLog id=id_shown.clone()/> })}
                    </section>
                }
            }).collect_view().into_any()
        })}

        <Dialog open=create_open title=Signal::derive(|| "Add a webhook endpoint".to_string())>
            <CreateForm
                on_created=Callback::new(move |created| { create_open.set(false); reveal(created); })
                on_cancel=Callback::new(move |_| create_open.set(false))/>
        </Dialog>

        <Dialog open=reveal_open title=Signal::derive(|| "Signing secret".to_string())>
            {move || revealed.get().map(|created| view! {
                <SecretReveal id="webhook-secret" label="Signing secret"
                    warning="Copy this secret now: you will not see it again. Your endpoint verifies every message with it."
                    secret=created.secret.clone() about=created.webhook.url.clone() open=reveal_open/>
            })}
        </Dialog>

        <Confirm open=delete_open
            title=Signal::derive(move || format!("Delete the endpoint at {}?", deleting.get().map(|e| e.url).unwrap_or_default()))
            body="Nothing more is sent to it, and its delivery log goes with it."
            confirm_label="Delete endpoint"
            pending=delete.pending()
            on_confirm=Callback::new(move |_| {
                if let Some(e) = deleting.get_untracked() { delete.dispatch(e.id); }
            })/>

        <Confirm open=rotate_open
            title=Signal::derive(|| "Rotate the signing secret?".to_string())
            body="A new secret signs from now on; for 24 hours messages carry a signature by the old one too, so switch your endpoint to the new one within a day."
            confirm_label="Rotate secret"
            pending=rotate.pending()
            on_confirm=Callback::new(move |_| {
                if let Some(e) = rotating.get_untracked() { rotate.dispatch(e.id); }
            })/>
    }
}

#[component]
fn CreateForm(on_created: Callback<WebhookWithSecret>, on_cancel: Callback<()>) -> impl IntoView {
    let ctx = ctx();
    let url = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec![
        "transaction.created".to_string(),
        "transaction.updated".to_string(),
        "transaction.removed".to_string(),
    ]);
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let action = Call::new(
        move |req: CreateWebhookRequest| hooks::create_webhook(ctx.workspace.get_untracked(), req),
        move |created| on_created.run(created),
        move |e| remote.set(Some(e)),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        let mut problems = Vec::new();
        if url.get_untracked().trim().is_empty() {
            problems.push(("url", "is required".to_string()));
        }
        if chosen.get_untracked().is_empty() {
            problems.push(("eventTypes", "needs at least one event".to_string()));
        }
        local.set(problems);
        if local.get_untracked().is_empty() {
            action.dispatch(CreateWebhookRequest {
                url: url.get_untracked().trim().to_string(),
                description: description.get_untracked(),
                event_types: chosen.get_untracked(),
                enabled: Some(true),
            });
        }
    };
    let events_error = field_error(local, remote, "eventTypes");
    view! {
        <form on:submit=on_submit novalidate>
            <Field label="URL" name="url" value=url kind="url" hint="https:// on a public address."
                error=field_error(local, remote, "url") required=true autofocus=true/>
            <Field label="Description" name="description" value=description hint="Optional: what listens there."
                error=field_error(local, remote, "description")/>
            <fieldset class="scopes" aria-describedby="events-err">
                <legend>"Events"</legend>
                {EVENT_TYPES.iter().map(|(name, what)| {
                    let (n1, n2) = (name.to_string(), name.to_string());
                    view! {
                        <label class="check">
                            <input type="checkbox" id=format!("event-{}", name.replace('.', "-")) name="event" value=*name
                                prop:checked=move || chosen.get().contains(&n1)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| { c.retain(|x| *x != n2); if on { c.push(n2.clone()); } });
                                }/>
                            <span><code>{*name}</code><small>{*what}</small></span>
                        </label>
                    }
                }).collect_view()}
                {move || events_error.get().map(|e| view! { <p class="err" id="events-err">{format!("Events: {e}")}</p> })}
            </fieldset>
            <FormError error=remote/>
            <FormButtons label="Add endpoint" pending=action.pending() on_cancel=on_cancel/>
        </form>
    }
}

/// The endpoint's deliveries, newest first, with a retry for each.
#[component]
fn DeliveryLog(id: String) -> impl IntoView {
    let ctx = ctx();
    let id = StoredValue::new(id);
    let log = Load::new(move || hooks::deliveries(ctx.workspace.get(), id.get_value(), None));
    let retry = Call::new(
        move |delivery: String| {
            hooks::retry_delivery(ctx.workspace.get_untracked(), id.get_value(), delivery)
        },
        move |_| {
            ctx.ok("Sent again.");
            log.refetch();
        },
        move |e| ctx.fail(&e),
    );
    view! {
        <div class="log">
            <div class="actions"><button class="btn small" on:click=move |_| log.refetch()>"Refresh"</button></div>
            {loaded(log, move |page| {
                if page.items.is_empty() {
                    return view! { <p class="muted">"No deliveries yet."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                    <table class="table deliveries">
                        <thead><tr>
                            <th scope="col">"Event"</th><th scope="col">"Status"</th><th scope="col">"Attempts"</th>
                            <th scope="col">"Answer"</th><th scope="col">"When"</th>
                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                        {page.items.into_iter().map(|d: WebhookDelivery| {
                            let did = d.id.clone();
                            let answer = match (d.response_status, &d.error) {
                                (Some(s), _) if (200..300).contains(&s) => format!("{s} in {} ms", d.duration_ms.unwrap_or(0)),
                                (_, Some(e)) => e.clone(),
                                (Some(s), None) => s.to_string(),
                                (None, None) => "not tried yet".into(),
                            };
                            view! {
                                <tr>
                                    <td data-label="Event"><code>{d.event_type.clone()}</code></td>
                                    <td data-label="Status">{delivery_badge(&d.status)}</td>
                                    <td data-label="Attempts">{d.attempts}</td>
                                    <td data-label="Answer">{answer}</td>
                                    <td data-label="When">{ago(&d.event_at)}</td>
                                    <td class="row-actions">
                                        <button class="btn small" on:click=move |_| retry.dispatch(did.clone())>"Retry"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            })}
        </div>
    }
}

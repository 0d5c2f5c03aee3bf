//! Bank connections: connect through Tarabut's Connect page, watch a sync live, refresh
//! balances, see consent expiry, disconnect (keeping or deleting the synced data).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::banks::{BankConnection, BankSync, ConnectionStatus, SyncStatus};

use crate::{
    api::{self},
    components::{loaded, Badge, Dialog, Empty},
    context::ctx,
    data::{Call, Load},
    logic::{format_date, format_money},
    pages::{ago, PageHead},
};

fn status_tone(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Active => "ok",
        ConnectionStatus::Syncing => "info",
        ConnectionStatus::ReauthRequired => "warn",
        ConnectionStatus::Expired | ConnectionStatus::Revoked => "bad",
    }
}

/// What the callback's `?error=` codes mean to a person.
fn connect_error(code: &str) -> &'static str {
    match code {
        "connect_failed" => "The bank did not grant access. Nothing was connected.",
        "intent_expired" => "The connection took too long and expired. Start again.",
        "intent_used" => "That connection link was already used.",
        "forbidden" => "Only owners of this workspace can connect a bank. Nothing was connected.",
        "upstream_unavailable" => {
            "The bank gateway is not answering right now. Try again in a few minutes."
        }
        _ => "Connecting the bank did not work. Start again.",
    }
}

#[component]
pub fn Connections() -> impl IntoView {
    let ctx = ctx();
    let q = use_query_map();
    let connections = Load::new(move || api::connections(ctx.workspace.get()));
    let providers = Load::new(move || api::bank_providers(ctx.workspace.get()));
    let choose_open = RwSignal::new(false);
    let callback_error = Memo::new(move |_| q.read().get("error"));
    Effect::new(move |_| {
        if q.read().get("connected").is_some() {
            ctx.ok("Bank connected. Your accounts are syncing.");
        }
    });
    let connect = Call::new(
        move |provider: Option<String>| api::connect_bank(ctx.workspace.get_untracked(), provider),
        // The consent happens on Tarabut's page; it sends the browser back to our callback.
        |r| {
            if let Some(w) = web_sys::window() {
                let _ = w.location().assign(&r.connect_url);
            }
        },
        move |e| ctx.fail(&e),
    );
    view! {
        <PageHead title="Bank connections">
            <button class="btn primary" on:click=move |_| choose_open.set(true)>"Connect a bank"</button>
        </PageHead>
        {move || callback_error.get().map(|c| view! { <p class="alert" role="alert">{connect_error(&c)}</p> })}
        {loaded(connections, move |conns| {
            if conns.is_empty() {
                return view! {
                    <Empty title="No banks connected">
                        <p>"Connect a bank to bring in its accounts, balances and transactions. You approve access on your bank's page and can end it at any time."</p>
                    </Empty>
                }.into_any();
            }
            view! {
                <div class="connections">
                    {conns.into_iter().map(|c| {
                        // Tarabut's provider ids are codes; show the bank's name when we know it.
                        let name = providers.get().and_then(|r| r.ok()).and_then(|list| list.into_iter().find(|p| p.id == c.provider_id).map(|p| p.name))
                            .unwrap_or_else(|| c.provider_id.clone());
                        view! { <ConnectionCard conn=c name=name on_change=Callback::new(move |_| connections.refetch())/> }
                    }).collect_view()}
                </div>
            }.into_any()
        })}
        <Dialog open=choose_open title=Signal::derive(|| "Connect a bank".to_string())>
            <p>"Pick your bank. You will approve access on its page and come back here."</p>
            {move || providers.get().map(|r| match r {
                Ok(list) => view! {
                    <ul class="list providers">
                        {list.into_iter().map(|p| {
                            let id = p.id.clone();
                            view! {
                                <li class="list-item">
                                    <span class="grow strong">{p.name.clone()}<small class="muted">{p.country.clone().map(|c| format!(" · {c}"))}</small></span>
                                    <button class="btn small primary" disabled=move || connect.pending().get()
                                        on:click=move |_| { connect.dispatch(Some(id.clone())); }>"Connect"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(e) => view! { <p class="alert">{e.message()}</p> }.into_any(),
            })}
            <div class="actions">
                <button class="btn" on:click=move |_| choose_open.set(false)>"Cancel"</button>
                <button class="btn" disabled=move || connect.pending().get()
                    on:click=move |_| { connect.dispatch(None); }>"Choose at Tarabut"</button>
            </div>
        </Dialog>
    }
}

#[component]
fn ConnectionCard(conn: BankConnection, name: String, on_change: Callback<()>) -> impl IntoView {
    let ctx = ctx();
    let id = conn.id.clone();
    let sync_id = RwSignal::new(conn.current_sync_id.clone());
    let progress = RwSignal::new(None::<BankSync>);
    let disconnect_open = RwSignal::new(false);
    let delete_data = RwSignal::new(false);
    let active = matches!(
        conn.status,
        ConnectionStatus::Active | ConnectionStatus::Syncing
    );

    // Follow a running sync once a second until it ends, then reload the connection.
    Effect::new(move |_| {
        let Some(sid) = sync_id.get() else { return };
        let alive = StoredValue::new(true);
        on_cleanup(move || alive.set_value(false));
        leptos::task::spawn_local(async move {
            loop {
                match api::sync_status(ctx.workspace.get_untracked(), sid.clone()).await {
                    Ok(s) => {
                        let done = !s.status.is_open();
                        if alive.try_get_value() != Some(true) {
                            return;
                        }
                        progress.set(Some(s.clone()));
                        if done {
                            if s.status == SyncStatus::Succeeded {
                                ctx.ok(format!(
                                    "Sync finished: {} new, {} changed.",
                                    s.rows_added, s.rows_updated
                                ));
                            } else {
                                ctx.toast(
                                    crate::context::ToastKind::Error,
                                    format!("Sync failed ({}).", s.error.unwrap_or_default()),
                                );
                            }
                            sync_id.set(None);
                            on_change.run(());
                            return;
                        }
                    }
                    Err(e) => {
                        ctx.fail(&e);
                        return;
                    }
                }
                gloo_timers::future::TimeoutFuture::new(1_000).await;
            }
        });
    });

    let id1 = id.clone();
    let sync = Call::new(
        move |()| api::start_sync(ctx.workspace.get_untracked(), id1.clone()),
        move |sid| sync_id.set(Some(sid)),
        move |e| ctx.fail(&e),
    );
    let id2 = id.clone();
    let refresh = Call::new(
        move |()| api::refresh_balances(ctx.workspace.get_untracked(), id2.clone()),
        move |_| {
            ctx.ok("Balances refreshed.");
            on_change.run(());
        },
        move |e| ctx.fail(&e),
    );
    let id3 = id.clone();
    let disconnect = Call::new(
        move |delete: bool| api::disconnect(ctx.workspace.get_untracked(), id3.clone(), delete),
        move |()| {
            disconnect_open.set(false);
            ctx.ok("Bank disconnected.");
            on_change.run(());
        },
        move |e| ctx.fail(&e),
    );

    let running = move || sync_id.get().is_some();
    view! {
        <article class="card connection" data-connection-id=conn.id.clone()>
            <header class="row">
                <h2 class="grow">{name}</h2>
                <Badge text=conn.status.as_str().replace('_', " ") tone=status_tone(conn.status)/>
            </header>
            {conn.consent_expiring_soon.then(|| view! {
                <p class="warning">"Access to this bank ends soon. Connect it again to keep syncing."</p>
            })}
            <dl class="facts">
                <dt>"Access until"</dt><dd>{conn.consent_expires_at.as_deref().map(|e| format_date(e).to_string()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Last sync"</dt><dd>{match &conn.last_sync_at {
                    Some(t) => view! { {ago(t)}" · "{conn.last_sync_status.map(SyncStatus::as_str).unwrap_or_default()}{conn.last_sync_error.clone().map(|e| format!(" ({e})"))} }.into_any(),
                    None => view! { "never" }.into_any(),
                }}</dd>
            </dl>
            {move || progress.get().filter(|_| running()).map(|s| view! {
                <div class="progress" role="status" aria-live="polite">
                    <div class="spinner" aria-hidden="true"></div>
                    <span>{format!("Syncing: account {} of {} · {} pages · {} new · {} changed",
                        (s.accounts_done + 1).min(s.accounts_total.unwrap_or(0).max(1)), s.accounts_total.map(|t| t.to_string()).unwrap_or_else(|| "?".into()),
                        s.pages_fetched, s.rows_added, s.rows_updated)}</span>
                </div>
            })}
            {move || (running() && progress.get().is_none()).then(|| view! {
                <div class="progress" role="status"><div class="spinner" aria-hidden="true"></div><span>"Sync starting…"</span></div>
            })}
            <ul class="list">
                {conn.accounts.iter().map(|a| view! {
                    <li class="list-item">
                        <span class="grow">{a.name.clone()}<small class="muted">{format!(" · {}", a.kind)}{a.identifier_hint.clone().map(|h| format!(" · {h}"))}</small></span>
                        <span class="amount">{a.balance.as_ref().map(format_money).unwrap_or_else(|| "—".into())}</span>
                    </li>
                }).collect_view()}
            </ul>
            <div class="actions">
                {active.then(|| view! {
                    <button class="btn" disabled=move || running() || sync.pending().get()
                        on:click=move |_| { sync.dispatch(()); }>"Sync now"</button>
                    <button class="btn" disabled=move || refresh.pending().get()
                        on:click=move |_| { refresh.dispatch(()); }>"Refresh balances"</button>
                })}
                <button class="btn danger" on:click=move |_| disconnect_open.set(true)>
                    {if conn.status == ConnectionStatus::Revoked { "Remove" } else { "Disconnect" }}</button>
            </div>
            <Dialog open=disconnect_open title=Signal::derive(|| "Disconnect this bank?".to_string())>
                <p>"We end the access you granted, at Tarabut and at the bank. No new data comes in."</p>
                <label class="check"><input type="checkbox" bind:checked=delete_data/>
                    <span>"Also delete its accounts, transactions (with your notes) and balance history"</span></label>
                <div class="actions">
                    <button class="btn" on:click=move |_| disconnect_open.set(false)>"Cancel"</button>
                    <button class="btn danger" disabled=move || disconnect.pending().get()
                        on:click=move |_| { disconnect.dispatch(delete_data.get_untracked()); }>"Disconnect"</button>
                </div>
            </Dialog>
        </article>
    }
}

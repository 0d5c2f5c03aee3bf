//! Workspaces: create, see members, invite (owners), remove, hand over, delete; accept an
//! emailed invitation.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::workspaces::{InviteRequest, Workspace};

use crate::{
    api::{self, ApiError},
    components::{field_error, loaded, Badge, Confirm, Dialog, Field, FormError},
    context::ctx,
    data::{Call, Load},
    pages::PageHead,
};

#[component]
pub fn Workspaces() -> impl IntoView {
    let ctx = ctx();
    let list = Load::new(api::workspaces);
    let create_open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let remote = RwSignal::new(None::<ApiError>);
    let create = Call::new(
        api::create_workspace,
        move |w| {
            create_open.set(false);
            name.set(String::new());
            ctx.ok(format!("Workspace “{}” created.", w.name));
            list.refetch();
            ctx.load_workspaces();
        },
        move |e| remote.set(Some(e)),
    );
    view! {
        <PageHead title="Workspaces">
            <button class="btn primary" on:click=move |_| create_open.set(true)>"New workspace"</button>
        </PageHead>
        <p class="lead">"Share accounts, budgets and keys with others. Pick the workspace you work in from the top bar."</p>
        {loaded(list, move |page| view! {
            <div class="connections">
                {page.items.into_iter().map(|w| view! { <WorkspaceCard ws=w on_changed=Callback::new(move |_| {
                    list.refetch();
                    ctx.load_workspaces();
                })/> }).collect_view()}
            </div>
        })}
        <Dialog open=create_open title=Signal::derive(|| "New workspace".to_string())>
            <form on:submit=move |ev| { ev.prevent_default(); remote.set(None); create.dispatch(name.get_untracked()); } novalidate>
                <Field label="Name" name="name" value=name error=field_error(RwSignal::new(Vec::new()), remote, "name") required=true autofocus=true/>
                <FormError error=remote/>
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| create_open.set(false)>"Cancel"</button>
                    <button type="submit" class="btn primary" disabled=move || create.pending().get()>"Create"</button>
                </div>
            </form>
        </Dialog>
    }
}

#[component]
fn WorkspaceCard(ws: Workspace, on_changed: Callback<()>) -> impl IntoView {
    let ctx = ctx();
    let id = ws.id.clone();
    let owner = ws.role == "owner";
    let id1 = id.clone();
    let members = Load::new(move || api::members(id1.clone()));
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("member".to_string());
    let remote = RwSignal::new(None::<ApiError>);
    let id2 = id.clone();
    let invite = Call::new(
        move |req: InviteRequest| api::invite(id2.clone(), req),
        move |_| {
            ctx.ok(format!("Invitation sent to {}.", email.get_untracked()));
            email.set(String::new());
        },
        move |e| remote.set(Some(e)),
    );
    let id3 = id.clone();
    let remove = Call::new(
        move |user: String| api::remove_member(id3.clone(), user),
        move |()| {
            ctx.ok("Member removed.");
            members.refetch();
        },
        move |e| ctx.fail(&e),
    );
    // Handing over: to whom (confirmed first); deleting: confirmed first.
    let heir = RwSignal::new(None::<(String, String)>);
    let confirm_handover = RwSignal::new(false);
    let id4 = id.clone();
    let handover = Call::new(
        move |user: String| api::workspaces::transfer(id4.clone(), user),
        move |()| {
            confirm_handover.set(false);
            ctx.ok("Handed over: you are a member now.");
            on_changed.run(());
        },
        move |e| ctx.fail(&e),
    );
    let confirm_delete = RwSignal::new(false);
    let id5 = id.clone();
    let delete = Call::new(
        move |()| api::workspaces::delete(id5.clone()),
        move |()| {
            confirm_delete.set(false);
            ctx.ok("Workspace deleted.");
            on_changed.run(());
        },
        move |e| ctx.fail(&e),
    );
    let shared_owner = owner && !ws.personal;
    let name = ws.name.clone();
    let me = ctx.user().map(|u| u.id).unwrap_or_default();
    view! {
        <article class="card">
            <header class="row">
                <h2 class="grow">{ws.name.clone()}</h2>
                {ws.personal.then(|| view! { <Badge text="personal" tone="muted"/> })}
                <Badge text=ws.role.clone() tone="info"/>
                {shared_owner.then(|| view! {
                    <button class="btn small danger" on:click=move |_| confirm_delete.set(true)>"Delete"</button>
                })}
            </header>
            {loaded(members, move |page| {
                let me = me.clone();
                view! {
                    <ul class="list">
                        {page.items.into_iter().map(|m| {
                            let uid = m.user_id.clone();
                            let can_remove = owner && m.user_id != me;
                            let can_receive = shared_owner && m.user_id != me;
                            let to = (m.user_id.clone(), m.name.clone());
                            view! {
                                <li class="list-item">
                                    <span class="grow">{m.name.clone()}<small class="muted">{format!(" · {} · {}", m.email, m.role)}</small></span>
                                    {can_receive.then(|| view! {
                                        <button class="btn small" on:click=move |_| { heir.set(Some(to.clone())); confirm_handover.set(true); }>"Hand over"</button>
                                    })}
                                    {can_remove.then(|| view! {
                                        <button class="btn small" on:click=move |_| { remove.dispatch(uid.clone()); }>"Remove"</button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
            })}
            {(owner && !ws.personal).then(|| view! {
                <form class="row gap wrap" on:submit=move |ev| {
                    ev.prevent_default();
                    remote.set(None);
                    invite.dispatch(InviteRequest { email: email.get_untracked(), role: role.get_untracked() });
                } novalidate>
                    <Field label="Invite by email" name="email" kind="email" value=email error=field_error(RwSignal::new(Vec::new()), remote, "email")/>
                    <div class="field">
                        <label for=format!("role-{id}")>"Role"</label>
                        <select id=format!("role-{id}") on:change=move |ev| role.set(event_target_value(&ev))>
                            <option value="member">"Member"</option>
                            <option value="owner">"Owner"</option>
                        </select>
                    </div>
                    <button class="btn" type="submit" disabled=move || invite.pending().get()>"Invite"</button>
                    <FormError error=remote/>
                </form>
            })}
            <Confirm open=confirm_handover title="Hand the workspace over?"
                body=Signal::derive(move || format!("{} becomes an owner and you a member. Keys keep working; the owners manage them.",
                    heir.get().map(|(_, n)| n).unwrap_or_default()))
                confirm_label="Hand over" pending=handover.pending()
                on_confirm=Callback::new(move |_| { if let Some((u, _)) = heir.get_untracked() { handover.dispatch(u); } })/>
            <Confirm open=confirm_delete title="Delete this workspace?"
                body=format!("“{name}” and everything in it go for every member: accounts, transactions, budgets, keys and bank connections (their consents are revoked at the bank). This cannot be undone.")
                confirm_label="Delete" pending=delete.pending()
                on_confirm=Callback::new(move |_| { delete.dispatch(()); })/>
        </article>
    }
}

#[component]
pub fn AcceptInvitation() -> impl IntoView {
    let ctx = ctx();
    let q = use_query_map();
    let token = Memo::new(move |_| q.read().get("token").unwrap_or_default());
    let result = Load::new(move || api::accept_invitation(token.get()));
    view! {
        <PageHead title="Invitation"/>
        {move || match result.get() {
            None => view! { <p role="status">"Joining…"</p> }.into_any(),
            Some(Ok(w)) => {
                ctx.load_workspaces();
                view! { <p class="notice">{format!("You joined “{}”. Choose it from the top bar.", w.name)}</p> }.into_any()
            }
            Some(Err(e)) => view! { <p class="alert" role="alert">{e.message()}</p> }.into_any(),
        }}
    }
}

//! Administration (admins only): find users, disable or enable them, read their audit log.

use leptos::prelude::*;
use shared::{admin::AdminUser, Role};

use crate::{
    api,
    components::{loaded, Badge, Confirm, Dialog, Empty, Pager},
    context::ctx,
    data::{Call, Load},
    pages::{account::audit_table, ago, PageHead},
};

#[component]
pub fn Admin() -> impl IntoView {
    let ctx = ctx();
    let is_admin = move || ctx.user().is_some_and(|u| u.role == Role::Admin);
    let query = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let cursor = RwSignal::new(None::<String>);
    let history = RwSignal::new(Vec::new());
    let next = RwSignal::new(None::<String>);
    let users = Load::new(move || api::admin_users(search.get(), cursor.get()));
    let target = RwSignal::new(None::<AdminUser>);
    let confirm_open = RwSignal::new(false);
    let audit_open = RwSignal::new(false);
    let toggle = Call::new(
        |(id, disable): (String, bool)| api::admin_set_disabled(id, disable),
        move |u| {
            confirm_open.set(false);
            ctx.ok(if u.disabled_at.is_some() {
                format!("{} is disabled and signed out.", u.email)
            } else {
                format!("{} is enabled.", u.email)
            });
            users.refetch();
        },
        move |e| ctx.fail(&e),
    );
    let audit = Load::new(move || {
        let id = target.get().map(|u| u.id).unwrap_or_default();
        async move {
            if id.is_empty() {
                Ok(shared::Page {
                    items: Vec::new(),
                    next_cursor: None,
                })
            } else {
                api::admin_audit(id).await
            }
        }
    });
    move || {
        if !is_admin() {
            return view! { <Empty title="Admins only"><p>"This page is for administrators."</p></Empty> }.into_any();
        }
        view! {
            <PageHead title="Users"/>
            <form class="filters" role="search" on:submit=move |ev| {
                ev.prevent_default();
                cursor.set(None);
                history.set(Vec::new());
                search.set(query.get_untracked());
            }>
                <label>"Email or name"<input type="search" bind:value=query/></label>
                <button class="btn" type="submit">"Search"</button>
            </form>
            {loaded(users, move |page| {
                next.set(page.next_cursor.clone());
                if page.items.is_empty() {
                    return view! { <Empty title="No users match"/> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                    <table class="table">
                        <thead><tr><th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Status"</th><th scope="col">"Joined"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                        <tbody>
                        {page.items.into_iter().map(|u| {
                            let (u1, u2) = (u.clone(), u.clone());
                            let disabled = u.disabled_at.is_some();
                            view! {
                                <tr>
                                    <td data-label="User"><span class="strong">{u.name.clone()}</span><small class="muted block">{u.email.clone()}</small></td>
                                    <td data-label="Role">{u.role.as_str()}</td>
                                    <td data-label="Status">{if disabled { view! { <Badge text="disabled" tone="bad"/> }.into_any() }
                                        else if u.email_verified { view! { <Badge text="active" tone="ok"/> }.into_any() }
                                        else { view! { <Badge text="unverified" tone="warn"/> }.into_any() }}</td>
                                    <td data-label="Joined">{ago(&u.created_at)}</td>
                                    <td class="row-actions">
                                        <button class="btn small" on:click=move |_| { target.set(Some(u1.clone())); audit_open.set(true); }>"Audit log"</button>
                                        <button class="btn small" class:danger=!disabled on:click=move |_| { target.set(Some(u2.clone())); confirm_open.set(true); }>
                                            {if disabled { "Enable" } else { "Disable" }}</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            })}
            <Pager cursor=cursor history=history next=next/>
            <Confirm open=confirm_open
                title=Signal::derive(move || target.get().map(|u| if u.disabled_at.is_some() { format!("Enable {}?", u.email) } else { format!("Disable {}?", u.email) }).unwrap_or_default())
                body=Signal::derive(move || if target.get().is_some_and(|u| u.disabled_at.is_some()) { "They can sign in and use their keys again.".to_string() } else { "They are signed out everywhere and their keys stop working until you enable them.".to_string() })
                confirm_label="Confirm" pending=toggle.pending()
                on_confirm=Callback::new(move |_| { if let Some(u) = target.get_untracked() { toggle.dispatch((u.id, u.disabled_at.is_none())); } })/>
            <Dialog open=audit_open title=Signal::derive(move || format!("Audit log: {}", target.get().map(|u| u.email).unwrap_or_default()))>
                {loaded(audit, |page| audit_table(page.items))}
                <div class="actions"><button class="btn" on:click=move |_| audit_open.set(false)>"Close"</button></div>
            </Dialog>
        }.into_any()
    }
}

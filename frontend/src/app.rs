//! The app shell: the routes, and the signed-in layout with its navigation; what the pages
//! share is in [`context`](crate::context).

use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, ParentRoute, Route, Router, Routes, A},
    hooks::{use_location, use_navigate},
    path, NavigateOptions,
};
use shared::Role;

use crate::{
    api::{self, ApiError},
    components::{Skeleton, Toasts},
    context::{ctx, storage_get, storage_set, Auth, Ctx, Page},
    data::Call,
    logic::login_redirect,
    pages,
};

const NAV: &[Page] = &[
    Page::Overview,
    Page::Transactions,
    Page::Budgets,
    Page::Insights,
    Page::Connections,
    Page::Keys,
    Page::Webhooks,
    Page::Sessions,
    Page::Security,
    Page::Audit,
    Page::Workspaces,
    Page::Settings,
];

/// A route's page as a plain `fn() -> AnyView`. The router's matching and rendering code is
/// generic over each route's view type, so giving every page this one type keeps a single copy
/// of it in the `.wasm` instead of one per page.
///
/// Each page is also a split point: `scripts/split-spa` cuts the `.wasm` there, so the code
/// that only `$chunk`'s pages use is a `.wasm` of its own, fetched the first time one of them
/// is shown (`components::lazy`). `$name` only has to differ between the pages of a chunk.
macro_rules! page {
    ($chunk:ident, $name:ident, $component:path) => {{
        #[leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
        fn $name() -> Result<AnyView, leptos::wasm_split::SplitLoaderError> {
            Ok($component().into_any())
        }
        (|| crate::components::lazy(|| Box::pin($name()))) as fn() -> AnyView
    }};
}

#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);
    apply_theme(storage_get("pfn.theme"));
    api::on_signed_out(move || ctx.auth.set(Auth::SignedOut));
    crate::reauth::install(ctx);
    leptos::task::spawn_local(async move {
        match api::me().await {
            Ok(user) => ctx.signed_in(user),
            Err(_) => ctx.auth.set(Auth::SignedOut),
        }
    });

    view! {
        <Router>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/login") view=page!(auth, login, pages::auth::Login)/>
                <Route path=path!("/signup") view=page!(auth, signup, pages::auth::Signup)/>
                <Route path=path!("/verify-email") view=page!(auth, verify_email, pages::auth::VerifyEmail)/>
                <Route path=path!("/forgot-password") view=page!(auth, forgot, pages::auth::Forgot)/>
                <Route path=path!("/reset-password") view=page!(auth, reset, pages::auth::Reset)/>
                <Route path=path!("/email/confirm") view=page!(email, confirm_email, pages::email::ConfirmEmail)/>
                <Route path=path!("/email/cancel") view=page!(email, cancel_email, pages::email::CancelEmailChange)/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=page!(overview, overview, pages::overview::Overview)/>
                    <Route path=path!("/transactions") view=page!(money, transactions, pages::money::Transactions)/>
                    <Route path=path!("/budgets") view=page!(money, budgets, pages::money::Budgets)/>
                    <Route path=path!("/insights") view=page!(overview, insights, pages::insights::Insights)/>
                    <Route path=path!("/connections") view=page!(banks, connections, pages::banks::Connections)/>
                    <Route path=path!("/keys") view=page!(account, keys, pages::keys::Keys)/>
                    <Route path=path!("/keys/:id") view=page!(key, key_detail, pages::keys::detail::KeyDetail)/>
                    <Route path=path!("/webhooks") view=page!(webhooks, webhooks, pages::webhooks::Webhooks)/>
                    <Route path=path!("/sessions") view=page!(account, sessions, pages::account::Sessions)/>
                    <Route path=path!("/security") view=page!(security, security, pages::security::Security)/>
                    <Route path=path!("/audit") view=page!(account, audit, pages::account::Audit)/>
                    <Route path=path!("/settings") view=page!(security, settings, pages::account::Settings)/>
                    <Route path=path!("/workspaces") view=page!(workspaces, workspaces, pages::workspaces::Workspaces)/>
                    <Route path=path!("/invitations/accept") view=page!(workspaces, accept_invitation, pages::workspaces::AcceptInvitation)/>
                    <Route path=path!("/admin") view=page!(workspaces, admin, pages::admin::Admin)/>
                </ParentRoute>
            </Routes>
        </Router>
        <Toasts/>
        <crate::reauth::ReauthDialog/>
    }
}

/// The signed-in layout. A signed-out visitor is sent to sign in and brought back afterwards.
#[component]
fn Shell() -> impl IntoView {
    let ctx = ctx();
    let location = use_location();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if ctx.auth.get() == Auth::SignedOut {
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            navigate(
                &login_redirect(&here),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    let menu_open = RwSignal::new(false);
    // Close the phone menu after each navigation.
    Effect::new(move |_| {
        location.pathname.track();
        menu_open.set(false);
    });

    move || match ctx.auth.get() {
        Auth::SignedIn(user) => {
            let admin = user.role == Role::Admin;
            view! {
                <a class="skip" href="#main">"Skip to content"</a>
                <header class="topbar">
                    <button class="icon-btn menu-btn" aria-label="Menu" aria-controls="nav"
                        aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| menu_open.update(|o| *o = !*o)>"☰"</button>
                    <A href=Page::Overview.path() attr:class="brand">"pfn"</A>
                    <WorkspaceSwitcher/>
                    <div class="spacer"></div>
                    <ThemeToggle/>
                    <span class="who" title=user.email.clone()>{user.name.clone()}</span>
                    <SignOut/>
                </header>
                <div class="frame">
                    <nav id="nav" class="nav" class:open=move || menu_open.get() aria-label="Main">
                        {NAV.iter().map(|p| view! { <A href=p.path() exact=true>{p.label()}</A> }).collect_view()}
                        {admin.then(|| view! { <A href=Page::Admin.path()>{Page::Admin.label()}</A> })}
                    </nav>
                    <main id="main" class="main" tabindex="-1">
                        <Outlet/>
                    </main>
                </div>
            }
            .into_any()
        }
        _ => view! { <div class="boot"><Skeleton rows=4/></div> }.into_any(),
    }
}

#[component]
fn WorkspaceSwitcher() -> impl IntoView {
    let ctx = ctx();
    view! {
        <label class="ws">
            <span class="sr-only">"Workspace"</span>
            <select on:change=move |ev| {
                let v = event_target_value(&ev);
                let personal = ctx.workspaces.get_untracked().iter().any(|w| w.id == v && w.personal);
                ctx.choose_workspace((!v.is_empty() && !personal).then_some(v));
            }>
                {move || {
                    let chosen = ctx.workspace.get();
                    ctx.workspaces
                        .get()
                        .into_iter()
                        .map(|w| {
                            let selected = match &chosen {
                                Some(id) => *id == w.id,
                                None => w.personal,
                            };
                            let label = if w.personal { format!("{} (personal)", w.name) } else { w.name.clone() };
                            view! { <option value=w.id.clone() selected=selected>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
        </label>
    }
}

fn apply_theme(theme: Option<String>) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = match theme.as_deref() {
            Some(t @ ("light" | "dark")) => root.set_attribute("data-theme", t),
            _ => root.remove_attribute("data-theme"),
        };
    }
}

/// Cycles system → light → dark; the choice is remembered on this device.
#[component]
fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(storage_get("pfn.theme"));
    let label = move || match theme.get().as_deref() {
        Some("light") => "Theme: light",
        Some("dark") => "Theme: dark",
        _ => "Theme: system",
    };
    view! {
        <button class="icon-btn" title=label aria-label=label on:click=move |_| {
            let next = match theme.get_untracked().as_deref() {
                None => Some("light".to_string()),
                Some("light") => Some("dark".to_string()),
                _ => None,
            };
            storage_set("pfn.theme", next.as_deref());
            apply_theme(next.clone());
            theme.set(next);
        }>"◐"</button>
    }
}

#[component]
fn SignOut() -> impl IntoView {
    let ctx = ctx();
    let navigate = use_navigate();
    let signed_out = move || {
        ctx.auth.set(Auth::SignedOut);
        navigate(Page::Login.path(), Default::default());
    };
    let action = Call::new(
        |()| api::logout(),
        {
            let signed_out = signed_out.clone();
            move |()| signed_out()
        },
        move |e| match e {
            ApiError::SignedOut => signed_out(),
            e => ctx.fail(&e),
        },
    );
    view! {
        <button class="btn ghost" disabled=move || action.pending().get()
            on:click=move |_| { action.dispatch(()); }>"Sign out"</button>
    }
}

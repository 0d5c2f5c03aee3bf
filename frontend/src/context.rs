//! What every page shares, provided in context by the app shell: who is signed in, the chosen
//! workspace, toasts, remembered preferences, and the paths of the pages.

use leptos::prelude::*;
use shared::{workspaces::Workspace, User};

use crate::api::{self, ApiError};

/// Whether someone is signed in; `Loading` until `/auth/me` has answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    Loading,
    SignedOut,
    SignedIn(User),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
}

/// Everything pages share; `Copy`, so closures take it freely.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub auth: RwSignal<Auth>,
    /// `None` is the personal workspace (the API's default).
    pub workspace: RwSignal<Option<String>>,
    pub workspaces: RwSignal<Vec<Workspace>>,
    pub toasts: RwSignal<Vec<Toast>>,
    /// The "confirm it is you" dialog is open (an action answered `reauth_required`).
    pub reauth: RwSignal<bool>,
    next_toast: StoredValue<u64>,
}

impl Ctx {
    /// Signed-in state unknown yet, the remembered workspace chosen, no toasts.
    pub fn new() -> Self {
        Self {
            auth: RwSignal::new(Auth::Loading),
            workspace: RwSignal::new(storage_get("pfn.workspace")),
            workspaces: RwSignal::new(Vec::new()),
            toasts: RwSignal::new(Vec::new()),
            reauth: RwSignal::new(false),
            next_toast: StoredValue::new(1),
        }
    }

    pub fn toast(&self, kind: ToastKind, text: impl Into<String>) {
        let id = self.next_toast.get_value();
        self.next_toast.set_value(id + 1);
        self.toasts.update(|t| {
            t.push(Toast {
                id,
                kind,
                text: text.into(),
            })
        });
        let toasts = self.toasts;
        set_timeout(
            move || toasts.update(|t| t.retain(|x| x.id != id)),
            std::time::Duration::from_secs(6),
        );
    }

    pub fn ok(&self, text: impl Into<String>) {
        self.toast(ToastKind::Success, text)
    }

    /// Reports a failed call; "signed out" needs no toast, the sign-in page says it.
    pub fn fail(&self, e: &ApiError) {
        if *e != ApiError::SignedOut {
            self.toast(ToastKind::Error, e.message())
        }
    }

    pub fn user(&self) -> Option<User> {
        match self.auth.get() {
            Auth::SignedIn(u) => Some(u),
            _ => None,
        }
    }

    pub fn signed_in(&self, user: User) {
        self.auth.set(Auth::SignedIn(user));
        self.load_workspaces();
    }

    /// The workspace list for the switcher; a remembered choice that no longer exists is dropped.
    pub fn load_workspaces(&self) {
        let ctx = *self;
        leptos::task::spawn_local(async move {
            if let Ok(page) = api::workspaces().await {
                let chosen = ctx.workspace.get_untracked();
                if chosen.is_some_and(|id| !page.items.iter().any(|w| w.id == id && !w.personal)) {
                    ctx.choose_workspace(None);
                }
                ctx.workspaces.set(page.items);
            }
        });
    }

    pub fn choose_workspace(&self, id: Option<String>) {
        storage_set("pfn.workspace", id.as_deref());
        self.workspace.set(id);
    }
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Remembers a non-secret preference (theme, workspace); the session itself is never stored.
pub fn storage_set(key: &str, value: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

pub fn storage_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

/// Every route; links use these paths so no path is spelled twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Overview,
    Transactions,
    Budgets,
    Insights,
    Connections,
    Keys,
    Webhooks,
    Sessions,
    Security,
    Audit,
    Workspaces,
    Settings,
    Admin,
    Login,
    Signup,
    Forgot,
}

impl Page {
    pub fn path(self) -> &'static str {
        match self {
            Page::Overview => "/",
            Page::Transactions => "/transactions",
            Page::Budgets => "/budgets",
            Page::Insights => "/insights",
            Page::Connections => "/connections",
            Page::Keys => "/keys",
            Page::Webhooks => "/webhooks",
            Page::Sessions => "/sessions",
            Page::Security => "/security",
            Page::Audit => "/audit",
            Page::Workspaces => "/workspaces",
            Page::Settings => "/settings",
            Page::Admin => "/admin",
            Page::Login => "/login",
            Page::Signup => "/signup",
            Page::Forgot => "/forgot-password",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Transactions => "Transactions",
            Page::Budgets => "Budgets",
            Page::Insights => "Insights",
            Page::Connections => "Banks",
            Page::Keys => "API keys",
            Page::Webhooks => "Webhooks",
            Page::Sessions => "Sessions",
            Page::Security => "Two-step sign-in",
            Page::Audit => "Audit log",
            Page::Workspaces => "Workspaces",
            Page::Settings => "Settings",
            Page::Admin => "Admin",
            Page::Login => "Sign in",
            Page::Signup => "Sign up",
            Page::Forgot => "Forgot password",
        }
    }
}

/// One API key's page (`/keys/:id`).
pub fn key_path(id: &str) -> String {
    format!("{}/{}", Page::Keys.path(), crate::logic::encode(id))
}

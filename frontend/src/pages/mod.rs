//! One module per area; each page loads its own data and owns its actions.

use leptos::prelude::*;
use leptos_router::components::A;

pub mod account;
pub mod admin;
pub mod auth;
pub mod banks;
pub mod email;
pub mod insights;
pub mod keys;
pub mod money;
pub mod overview;
pub mod security;
pub mod webhooks;
pub mod workspaces;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="auth" id="main">
            <div class="card auth-card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <A href="/" attr:class="btn primary">"Go to the overview"</A>
            </div>
        </main>
    }
}

/// The current time in Unix seconds, for "3 minutes ago".
pub fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Today and the first of this month (UTC), and tomorrow for exclusive `to` bounds.
pub fn this_month() -> (String, String) {
    let today = crate::logic::civil_from_days(now_secs().div_euclid(86_400));
    let first = format!("{}-01", &today[..7]);
    let tomorrow = crate::logic::civil_from_days(now_secs().div_euclid(86_400) + 1);
    (first, tomorrow)
}

/// "3 minutes ago" for an API timestamp, with the exact time as a tooltip.
pub fn ago(rfc3339: &str) -> impl IntoView {
    let text = crate::logic::epoch_secs(rfc3339)
        .map(|t| crate::logic::relative(t, now_secs()))
        .unwrap_or_else(|| crate::logic::format_time(rfc3339));
    view! { <time datetime=rfc3339.to_string() title=crate::logic::format_time(rfc3339)>{text}</time> }
}

/// A page's title row with its main action.
#[component]
pub fn PageHead(
    title: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="page-head">
            <h1>{title}</h1>
            <div class="page-actions">{children.map(|c| c())}</div>
        </div>
    }
}

//! One API key's page (`/keys/:id`), a `.wasm` chunk of its own: what the key is, its limits
//! with what is left of its quota, a form to change them, and its requests of the last 30 days
//! as a stacked bar chart (inline SVG).

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};
use shared::{
    finance::Account,
    key_limits::{KeyUsage, QuotaRefill},
    keys::{ApiKey, KeyStatus},
};

use super::{
    limits::{LimitsFields, LimitsForm},
    status_badge,
};
use crate::{
    api::{self, ApiError, ApiResult},
    components::{lazy, loaded, FormError, PageLoad},
    context::{ctx, Page},
    data::{Call, Load},
    logic::{
        count, format_date,
        limits::{LimitsPatch, LimitsText},
        tenths,
        usage::{denied_label, thousands, usage_columns, usage_totals},
    },
    pages::ago,
};

/// The key and the accounts of its workspace (to name the ones it is limited to).
#[derive(Clone)]
struct Detail {
    key: ApiKey,
    accounts: Vec<Account>,
}

async fn detail(id: String) -> ApiResult<Detail> {
    let key = api::keys::key(id).await?;
    let accounts = api::accounts(Some(key.workspace_id.clone())).await?.items;
    Ok(Detail { key, accounts })
}

#[component]
pub fn KeyDetail() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let key = Load::new(move || detail(id.get()));
    let usage = Load::new(move || api::keys::usage(id.get()));
    let on_saved = Callback::new(move |()| key.refetch());
    // Outside the key's view, so the form stays open when a save reloads the key.
    let editing = RwSignal::new(false);
    view! {
        <p class="crumbs"><A href=Page::Keys.path()>"← API keys"</A></p>
        {loaded(key, move |d| view! { <KeyView detail=d usage=usage on_saved=on_saved editing=editing/> })}
    }
}

#[component]
fn KeyView(
    detail: Detail,
    usage: Load<KeyUsage>,
    on_saved: Callback<()>,
    editing: RwSignal<bool>,
) -> impl IntoView {
    let Detail { key: k, accounts } = detail;
    let editable = matches!(k.status, KeyStatus::Active | KeyStatus::Suspended);
    let scopes = k
        .scopes
        .iter()
        .map(|s| view! { <span class="chip">{s.clone()}</span> })
        .collect_view();
    let last_used = match &k.last_used_at {
        Some(t) => view! {
            {ago(t)}
            {k.last_used_ip.clone().map(|ip| format!(" from {ip}"))}
            {k.last_used_user_agent.clone().map(|ua| view! { <small class="muted ua">{ua}</small> })}
        }
        .into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    view! {
        <div class="page-head">
            <h1>{k.name.clone()}</h1>
            <div class="page-actions">{status_badge(k.status)}</div>
        </div>
        <div class="grid">
            <section class="card" id="key-detail" aria-labelledby="key-title">
                <h2 id="key-title">"Key"</h2>
                <dl class="facts">
                    <dt>"Key"</dt><dd><code class="hint">{k.hint.clone()}</code></dd>
                    <dt>"Scopes"</dt><dd><div class="chips">{scopes}</div></dd>
                    <dt>"Created"</dt><dd>{ago(&k.created_at)}</dd>
                    <dt>"Expires"</dt><dd>{k.expires_at.as_deref().map(|e| format_date(e).to_string()).unwrap_or_else(|| "never".into())}</dd>
                    <dt>"Last used"</dt><dd>{last_used}</dd>
                </dl>
            </section>
            <section class="card" id="key-limits" aria-labelledby="limits-title">
                <h2 id="limits-title">"Limits"</h2>
                {limits_facts(&k, &accounts)}
            </section>
        </div>
        <section class="card" aria-labelledby="usage-title">
            <div class="card-head">
                <h2 id="usage-title">"Requests, last 30 days"</h2>
                <button class="btn small" on:click=move |_| usage.refetch()>"Refresh"</button>
            </div>
            {loaded(usage, usage_chart)}
        </section>
        // A revoked or expired key never works again: nothing to change.
        // The form is fetched when asked for (`keyedit`), as the create form is.
        {editable.then(|| view! {
            <section class="card" aria-labelledby="change-title">
                <h2 id="change-title">"Change limits"</h2>
                {move || if editing.get() {
                    view! { <LimitsEditor key=k.clone() accounts=accounts.clone() on_saved=on_saved/> }
                        .into_any()
                } else {
                    view! {
                        <button type="button" class="btn" id="change-limits" on:click=move |_| editing.set(true)>
                            "Change limits"
                        </button>
                    }
                    .into_any()
                }}
            </section>
        })}
    }
}

/// The key's limits in words.
fn limits_facts(k: &ApiKey, accounts: &[Account]) -> impl IntoView {
    let addresses = match &k.allowed_ips {
        None => view! { "Anywhere" }.into_any(),
        Some(list) => view! {
            <div class="chips">{list.iter().map(|a| view! { <span class="chip">{a.clone()}</span> }).collect_view()}</div>
        }
        .into_any(),
    };
    let reach = match &k.account_ids {
        None => "All accounts of the workspace".to_string(),
        Some(ids) if ids.is_empty() => {
            "None: its accounts were deleted, so it reaches nothing".to_string()
        }
        Some(ids) => ids
            .iter()
            .map(|id| {
                accounts
                    .iter()
                    .find(|a| a.id == *id)
                    .map_or_else(|| "(a deleted account)".to_string(), |a| a.name.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let quota = match &k.quota {
        None => view! { "None" }.into_any(),
        Some(q) => {
            let left = if q.limit > 0 {
                q.remaining.clamp(0, q.limit) as f64 * 100.0 / q.limit as f64
            } else {
                0.0
            };
            let refill = match q.refill {
                Some(QuotaRefill::Daily) => "daily",
                Some(QuotaRefill::Monthly) => "monthly",
                None => "never",
            };
            view! {
                <span id="key-quota-left">{format!("{} of {} left", thousands(q.remaining), thousands(q.limit))}</span>
                {match &q.refills_at {
                    Some(at) => view! { " · refills "{refill}", next "{ago(at)} }.into_any(),
                    None => view! { " · never refilled" }.into_any(),
                }}
                <div class="meter" role="presentation"><div class="meter-fill" class:over=left < 10.0
                    style=format!("width:{}%", tenths(left))></div></div>
            }
            .into_any()
        }
    };
    let rate = match k.rate_limit {
        None => "The server's default".to_string(),
        Some(r) => format!(
            "{} requests a minute, bursts of {}",
            thousands(r.per_minute.into()),
            thousands(r.burst.into())
        ),
    };
    view! {
        <dl class="facts" id="key-limits-facts">
            <dt>"Addresses"</dt><dd>{addresses}</dd>
            <dt>"Accounts"</dt><dd>{reach}</dd>
            <dt>"Quota"</dt><dd>{quota}</dd>
            <dt>"Rate limit"</dt><dd>{rate}</dd>
        </dl>
    }
}

/// What the limits form gets from the key's page (in context: the form is a chunk of its own).
#[derive(Clone)]
struct EditorProps {
    key: ApiKey,
    accounts: Vec<Account>,
    on_saved: Callback<()>,
}

/// The form is a chunk of its own (`keyedit`; the limit fields it shares with the create form
/// are in a chunk both load), fetched when "Change limits" is pressed, so the page's own area
/// stays small: a skeleton meanwhile, and "Try again" if the fetch fails.
#[component]
fn LimitsEditor(key: ApiKey, accounts: Vec<Account>, on_saved: Callback<()>) -> impl IntoView {
    provide_context(EditorProps {
        key,
        accounts,
        on_saved,
    });
    lazy(editor_chunk)
}

#[leptos::wasm_split::wasm_split(keyedit, wasm_split_path = ::leptos::wasm_split, fallible)]
fn editor_split() -> Result<AnyView, leptos::wasm_split::SplitLoaderError> {
    Ok(limits_editor())
}

fn editor_chunk() -> PageLoad {
    Box::pin(editor_split())
}

/// Changes the limits. Only what changed is sent; a change that widens the key may ask the
/// person to confirm it is them first (the app's step-up dialog), then goes on by itself.
fn limits_editor() -> AnyView {
    let EditorProps {
        key,
        accounts,
        on_saved,
    } = expect_context::<EditorProps>();
    let ctx = ctx();
    let form = LimitsForm::new(LimitsText::of_key(&key));
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let unchanged = RwSignal::new(false);
    let save = Call::new(
        |(id, changes): (String, LimitsPatch)| api::keys::update_limits(id, changes),
        move |_| {
            ctx.ok("Limits saved. They hold from the key's next request.");
            on_saved.run(());
        },
        move |e| remote.set(Some(e)),
    );
    let listed = accounts.clone();
    let key = StoredValue::new(key);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        unchanged.set(false);
        match form.read(&listed) {
            Err(problems) => local.set(problems),
            Ok(limits) => {
                local.set(Vec::new());
                let (id, changes) =
                    key.with_value(|k| (k.id.clone(), LimitsPatch::between(k, &limits)));
                if changes.is_empty() {
                    unchanged.set(true);
                } else {
                    save.dispatch((id, changes));
                }
            }
        }
    };
    view! {
        <form id="key-limits-form" on:submit=on_submit novalidate>
            <LimitsFields form=form accounts=Signal::derive(move || accounts.clone()) local=local
                remote=remote legend=""/>
            <p class="hint">"Narrowing applies at once. Widening (a new address or account, a lifted limit, more quota, a higher rate) asks you to confirm it is you when you signed in more than 10 minutes ago. A changed quota starts again at its limit."</p>
            {move || unchanged.get().then(|| view! { <p class="muted" role="status">"Nothing changed."</p> })}
            <FormError error=remote/>
            <div class="actions">
                <button type="submit" class="btn primary" disabled=move || save.pending().get()>"Save limits"</button>
            </div>
        </form>
    }
    .into_any()
}

/// The stacked bars (allowed, rate-limited, refused per day) and the range's totals.
fn usage_chart(u: KeyUsage) -> AnyView {
    let t = usage_totals(&u.days);
    let total = t.ok + t.rate_limited + t.denied;
    let summary = format!(
        "{} in {} days: {} allowed, {} rate-limited, {} refused",
        count(total.max(0) as u64, "request"),
        u.days.len(),
        thousands(t.ok),
        thousands(t.rate_limited),
        thousands(t.denied)
    );
    let label = format!("Requests per day from {} to {}. {summary}", u.from, u.to);
    let (width, height) = (600.0, 140.0);
    let columns = usage_columns(&u.days, width, height);
    let bars = columns
        .into_iter()
        .zip(u.days.iter())
        .map(|(c, d)| {
            let refused: i64 = d.denied.values().sum();
            let tip = format!(
                "{}: {} allowed, {} rate-limited, {} refused",
                d.date, d.ok, d.rate_limited, refused
            );
            let rect = move |class: &'static str, (y, h): (f64, f64)| {
                (h > 0.0).then(|| view! {
                    <rect class=class x=tenths(c.x) y=tenths(y) width=tenths(c.width) height=tenths(h)/>
                })
            };
            view! {
                <g>
                    <title>{tip}</title>
                    // A transparent full-height target, so every day has its tooltip.
                    <rect class="slot" x=tenths(c.x) y="0" width=tenths(c.width) height=tenths(height)/>
                    {rect("ok", c.ok)}
                    {rect("limited", c.rate_limited)}
                    {rect("denied", c.denied)}
                </g>
            }
        })
        .collect_view();
    let reasons = (!t.by_reason.is_empty()).then(|| {
        let list = t
            .by_reason
            .iter()
            .map(|(r, n)| format!("{} {}", denied_label(r), thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        view! { <p class="muted">"Refused: "{list}</p> }
    });
    view! {
        <figure class="chart">
            // Stretched to the card's width at a fixed height; the dates are HTML, so they do not
            // stretch with it.
            <svg id="key-usage-chart" class="usage-chart" viewBox="0 0 600 140" preserveAspectRatio="none"
                role="img" aria-label=label>
                {bars}
                <line class="axis" x1="0" y1="139.5" x2="600" y2="139.5" vector-effect="non-scaling-stroke"/>
            </svg>
            <div class="chart-axis" aria-hidden="true"><span>{u.from.clone()}</span><span>{u.to.clone()}</span></div>
            <figcaption id="key-usage-total">{summary}</figcaption>
        </figure>
        <ul class="legend" aria-hidden="true">
            <li><span class="swatch ok"></span>"allowed"</li>
            <li><span class="swatch limited"></span>"rate-limited"</li>
            <li><span class="swatch denied"></span>"refused"</li>
        </ul>
        {reasons}
        <p class="hint">"Counts reach this chart within about a minute."</p>
    }
    .into_any()
}

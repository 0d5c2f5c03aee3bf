//! The limit fields of an API key, shared by the create dialog and the key's page: allowed
//! addresses, accounts, quota and rate limit. Each problem shows under its field, whether the
//! form's own check found it or the API's 422 `fields` named it.

use leptos::prelude::*;
use shared::finance::Account;

use crate::{
    api::ApiError,
    logic::limits::{list_error, split_list, Limits, LimitsText, Problem},
};

/// The fields' values, as typed; `Copy`, so closures take it freely.
#[derive(Clone, Copy)]
pub struct LimitsForm {
    pub allowed_ips: RwSignal<String>,
    pub account_ids: RwSignal<Vec<String>>,
    pub quota_limit: RwSignal<String>,
    pub quota_refill: RwSignal<String>,
    pub rate_per_minute: RwSignal<String>,
    pub rate_burst: RwSignal<String>,
    /// The list entries last sent, so the API's `allowedIps[2]` can name the entry it means.
    sent_ips: RwSignal<Vec<String>>,
    sent_accounts: RwSignal<Vec<String>>,
}

impl LimitsForm {
    pub fn new(text: LimitsText) -> Self {
        Self {
            allowed_ips: RwSignal::new(text.allowed_ips),
            account_ids: RwSignal::new(text.account_ids),
            quota_limit: RwSignal::new(text.quota_limit),
            quota_refill: RwSignal::new(text.quota_refill),
            rate_per_minute: RwSignal::new(text.rate_per_minute),
            rate_burst: RwSignal::new(text.rate_burst),
            sent_ips: RwSignal::new(Vec::new()),
            sent_accounts: RwSignal::new(Vec::new()),
        }
    }

    fn text(&self) -> LimitsText {
        LimitsText {
            allowed_ips: self.allowed_ips.get_untracked(),
            account_ids: self.account_ids.get_untracked(),
            quota_limit: self.quota_limit.get_untracked(),
            quota_refill: self.quota_refill.get_untracked(),
            rate_per_minute: self.rate_per_minute.get_untracked(),
            rate_burst: self.rate_burst.get_untracked(),
        }
    }

    /// The limits to send, or the problems to show; `accounts` names the chosen accounts in
    /// the API's errors.
    pub fn read(&self, accounts: &[Account]) -> Result<Limits, Vec<Problem>> {
        let text = self.text();
        self.sent_ips.set(split_list(&text.allowed_ips));
        self.sent_accounts.set(
            text.account_ids
                .iter()
                .map(|id| {
                    accounts
                        .iter()
                        .find(|a| a.id == *id)
                        .map_or_else(|| id.clone(), |a| a.name.clone())
                })
                .collect(),
        );
        text.parse()
    }
}

/// The first problem with `names` (the form's own check first, then the API's).
fn problem(
    local: RwSignal<Vec<Problem>>,
    remote: RwSignal<Option<ApiError>>,
    names: &'static [&'static str],
) -> Signal<Option<String>> {
    Signal::derive(move || {
        let local = local.get();
        let remote = remote.get();
        names.iter().find_map(|name| {
            local
                .iter()
                .find(|(f, _)| f == name)
                .map(|(_, e)| e.clone())
                .or_else(|| remote.as_ref().and_then(|e| e.field(name)))
        })
    })
}

/// A list field's problem: the form's check, else the API's, with the entry it is about.
fn list_problem(
    local: RwSignal<Vec<Problem>>,
    remote: RwSignal<Option<ApiError>>,
    name: &'static str,
    sent: RwSignal<Vec<String>>,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        local
            .get()
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, e)| e.clone())
            .or_else(|| match remote.get() {
                Some(ApiError::Api { fields, .. }) => list_error(&fields, name, &sent.get()),
                _ => None,
            })
    })
}

/// A number input with the given element id, its label, hint and problem.
fn number_field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let err_id = format!("{id}-err");
    let err_id2 = err_id.clone();
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            <input id=id type="number" min="1" inputmode="numeric"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:change=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=move || error.get().map(|_| err_id.clone()).unwrap_or_default()/>
            {move || error.get().map(|e| view! { <p class="err" id=err_id2.clone()>{format!("{label} {e}")}</p> })}
        </div>
    }
}

#[component]
pub fn LimitsFields(
    form: LimitsForm,
    /// The workspace's accounts to choose from.
    #[prop(into)]
    accounts: Signal<Vec<Account>>,
    local: RwSignal<Vec<Problem>>,
    remote: RwSignal<Option<ApiError>>,
    /// The heading: "Limits (optional)" in the create dialog; empty where the section has its
    /// own (the key's page).
    legend: &'static str,
) -> impl IntoView {
    let ips_error = list_problem(local, remote, "allowedIps", form.sent_ips);
    let accounts_error = list_problem(local, remote, "accountIds", form.sent_accounts);
    let quota_error = problem(local, remote, &["quota.limit", "quota"]);
    let per_min_error = problem(local, remote, &["rateLimit.perMinute", "rateLimit"]);
    let burst_error = problem(local, remote, &["rateLimit.burst"]);
    let chosen = form.account_ids;
    view! {
        <fieldset class="limits" class:bare=legend.is_empty()>
            {(!legend.is_empty()).then(|| view! { <legend>{legend}</legend> })}
            <div class="field" class:invalid=move || ips_error.get().is_some()>
                <label for="key-allowed-ips">"Allowed addresses"</label>
                <textarea id="key-allowed-ips" rows="3" spellcheck="false" class="mono"
                    placeholder="203.0.113.0/24\n2001:db8::/48"
                    prop:value=move || form.allowed_ips.get()
                    on:input=move |ev| form.allowed_ips.set(event_target_value(&ev))
                    // Some ways of emptying a field (WebDriver's clear) only say "change".
                    on:change=move |ev| form.allowed_ips.set(event_target_value(&ev))
                    aria-invalid=move || ips_error.get().is_some().to_string()
                    aria-describedby="key-allowed-ips-hint key-allowed-ips-err"></textarea>
                <p class="hint" id="key-allowed-ips-hint">"IP addresses or CIDR blocks, IPv4 or IPv6, one per line or comma-separated. Empty: from anywhere."</p>
                {move || ips_error.get().map(|e| view! { <p class="err" id="key-allowed-ips-err">{format!("Allowed addresses: {e}")}</p> })}
            </div>
            <fieldset id="key-accounts" class="accounts" aria-describedby="key-accounts-hint">
                <legend>"Accounts"</legend>
                <p class="hint" id="key-accounts-hint">{move || match chosen.get().len() {
                    0 => "All accounts of the workspace. Check some to limit the key to them.".to_string(),
                    1 => "Only the checked account.".to_string(),
                    n => format!("Only the {n} checked accounts."),
                }}</p>
                {move || {
                    let list = accounts.get();
                    if list.is_empty() {
                        return view! { <p class="muted">"This workspace has no accounts yet."</p> }.into_any();
                    }
                    list.into_iter().map(|a| {
                        let (id1, id2) = (a.id.clone(), a.id.clone());
                        view! {
                            <label class="check">
                                <input type="checkbox" id=format!("key-account-{}", a.id) name="account" value=a.id.clone()
                                    prop:checked=move || chosen.get().contains(&id1)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| { c.retain(|x| *x != id2); if on { c.push(id2.clone()); } });
                                    }/>
                                <span>{a.name.clone()}<small>{format!("{} · {} · {}", a.currency, a.kind, a.source)}</small></span>
                            </label>
                        }
                    }).collect_view().into_any()
                }}
                {move || accounts_error.get().map(|e| view! { <p class="err">{format!("Accounts: {e}")}</p> })}
            </fieldset>
            <div class="field-row">
                {number_field("key-quota-limit", "Quota", form.quota_limit, quota_error)}
                <div class="field">
                    <label for="key-quota-refill">"Refilled"</label>
                    <select id="key-quota-refill" on:change=move |ev| form.quota_refill.set(event_target_value(&ev))>
                        {[("daily", "Every day"), ("monthly", "Every month"), ("", "Never")].into_iter().map(|(v, label)| view! {
                            <option value=v prop:selected=move || form.quota_refill.get() == v>{label}</option>
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <p class="hint">"Requests the key may make per period (00:00 UTC). Empty: no quota."</p>
            <div class="field-row">
                {number_field("key-rate-per-min", "Requests per minute", form.rate_per_minute, per_min_error)}
                {number_field("key-rate-burst", "Burst", form.rate_burst, burst_error)}
            </div>
            <p class="hint">"The key's own rate limit. Empty: the server's."</p>
        </fieldset>
    }
}

//! The create-key dialog's form: name, scopes, expiry and limits, with presets for common
//! uses. It is a `.wasm` chunk of its own (`keyform`), fetched the first time the dialog opens,
//! so neither the keys list nor the key's page (which shares the limit fields) carries it.

use leptos::prelude::*;
use shared::{
    finance::Account,
    keys::{CreateKeyRequest, CreatedKeyBody, ScopeInfo, ScopesBody},
    Page,
};

use super::limits::{LimitsFields, LimitsForm};
use crate::{
    api::{self, ApiError},
    components::{field_error, Field, FormButtons, FormError},
    context::ctx,
    data::{Call, Load},
    logic::{
        limits::LimitsText,
        presets::{first_manual, Preset, PRESETS},
        EXPIRY_CHOICES,
    },
};

/// What the keys page hands the form.
#[derive(Clone, Copy)]
pub struct CreateKeyProps {
    pub scopes: Load<ScopesBody>,
    /// The chosen workspace's accounts, for the account picker.
    pub accounts: Load<Page<Account>>,
    /// Set when an agent preset filled the form: the reveal shows how to connect over MCP.
    pub for_agent: RwSignal<bool>,
    pub on_created: Callback<CreatedKeyBody>,
    pub on_cancel: Callback<()>,
}

/// The form, with what the keys page gives it (`CreateKeyProps`, in context).
pub fn create_key_form() -> AnyView {
    let CreateKeyProps {
        scopes,
        accounts,
        for_agent,
        on_created,
        on_cancel,
    } = expect_context::<CreateKeyProps>();
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let expiry = RwSignal::new("90 days".to_string());
    let limits = LimitsForm::new(LimitsText {
        quota_refill: "daily".into(),
        ..Default::default()
    });
    let account_list = Signal::derive(move || {
        accounts
            .get()
            .and_then(Result::ok)
            .map(|p| p.items)
            .unwrap_or_default()
    });
    // The "push to one account" preset: the key must be limited to an account.
    let one_account = RwSignal::new(false);
    // Picking that account waits for the account list if it has not arrived yet.
    let pick_account = RwSignal::new(false);
    Effect::new(move |_| {
        if pick_account.get() && accounts.get().is_some() {
            pick_account.set(false);
            if let Some(id) = first_manual(&account_list.get_untracked()) {
                limits.account_ids.set(vec![id]);
            }
        }
    });
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
        let read = limits.read(&account_list.get_untracked());
        if let Err(found) = &read {
            problems.extend(found.iter().cloned());
        }
        if one_account.get_untracked() && limits.account_ids.get_untracked().is_empty() {
            problems.push((
                "accountIds",
                "choose the account the agent may push to (a manual account)".to_string(),
            ));
        }
        let empty = problems.is_empty();
        local.set(problems);
        if let (true, Ok(l)) = (empty, read) {
            let days = EXPIRY_CHOICES
                .iter()
                .find(|(label, _)| *label == expiry.get_untracked())
                .and_then(|(_, d)| *d);
            action.dispatch(CreateKeyRequest {
                name: name.get_untracked(),
                scopes: chosen.get_untracked(),
                expires_in_days: days,
                workspace_id: ctx().workspace.get_untracked(),
                allowed_ips: l.allowed_ips,
                account_ids: l.account_ids,
                quota: l.quota,
                rate_limit: l.rate_limit,
            });
        }
    };
    let scope_error = field_error(local, remote, "scopes");
    // A preset sets the scopes, the accounts and the quota; the allowlist, the rate limit and
    // a typed name stay as they are.
    let apply = move |p: &'static Preset| {
        chosen.set(p.scopes.iter().map(|s| s.to_string()).collect());
        if Preset::replaces_name(&name.get_untracked()) {
            name.set(p.name.into());
        }
        limits.account_ids.set(Vec::new());
        match p.quota {
            Some((limit, refill)) => {
                limits.quota_limit.set(limit.to_string());
                limits.quota_refill.set(refill.as_str().into());
            }
            None => limits.quota_limit.set(String::new()),
        }
        one_account.set(p.one_account);
        pick_account.set(p.one_account);
        if let Some(e) = p.expiry {
            expiry.set(e.into());
        }
        for_agent.set(p.for_agent);
        local.set(Vec::new());
        remote.set(None);
    };
    view! {
        <form on:submit=on_submit novalidate>
            <div class="presets" role="group" aria-label="Presets">
                {PRESETS.iter().map(|p| view! {
                    <button type="button" class="btn small" id=p.id on:click=move |_| apply(p)>{p.label}</button>
                }).collect_view()}
            </div>
            <p class="hint presets-hint">"The agent presets add a daily quota; “push to one account” limits the key to the account checked under Limits."</p>
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
                        <option value=*label prop:selected=move || expiry.get() == *label>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            <LimitsFields form=limits accounts=account_list local=local remote=remote legend="Limits (optional)"/>
            <FormError error=remote/>
            <FormButtons label="Create key" pending=action.pending() on_cancel=on_cancel/>
        </form>
    }
    .into_any()
}

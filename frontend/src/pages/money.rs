//! Transactions (filters, paging, edit category and note) and monthly budgets.

use leptos::prelude::*;
use shared::finance::{Budget, BudgetRequest, PatchTransactionRequest, Transaction};

use crate::{
    api::{self, ApiError, TxFilter},
    components::{
        field_error, loaded, Confirm, Dialog, Empty, Field, FormButtons, FormError, Pager,
    },
    context::ctx,
    data::{Call, Load},
    logic::{format_date, format_money, minor_units, parse_amount, tenths},
    pages::{this_month, PageHead},
};

/// Table rows for transactions; with `on_edit`, each row gets an Edit button.
pub fn tx_rows(items: Vec<Transaction>, on_edit: Option<Callback<Transaction>>) -> impl IntoView {
    items
        .into_iter()
        .map(|t| {
            let negative = t.amount.amount.starts_with('-');
            let t2 = t.clone();
            view! {
                <tr class:excluded=t.excluded data-tx-id=t.id.clone()>
                    <td data-label="Date" class="nowrap">{format_date(&t.booked_at).to_string()}
                        {t.pending.then(|| view! { <small class="muted block" title="The bank has not booked it yet">"pending"</small> })}</td>
                    <td data-label="Description">
                        <span class="strong">{t.merchant.clone().unwrap_or_else(|| t.description.clone())}</span>
                        {t.merchant.is_some().then(|| view! { <small class="muted block">{t.description.clone()}</small> })}
                        {t.note.clone().map(|n| view! { <small class="note block">{n}</small> })}
                    </td>
                    <td data-label="Category">{t.category.clone().map(|c| view! { <span class="chip">{c}</span> })}</td>
                    <td data-label="Amount" class="amount" class:neg=negative>{format_money(&t.amount)}</td>
                    {on_edit.map(|cb| view! {
                        <td class="row-actions">
                            <button class="btn small" aria-label=format!("Edit {}", t.description)
                                on:click=move |_| cb.run(t2.clone())>"Edit"</button>
                        </td>
                    })}
                </tr>
            }
        })
        .collect_view()
}

#[component]
pub fn Transactions() -> impl IntoView {
    let ctx = ctx();
    let filter = RwSignal::new(TxFilter::default());
    let cursor = RwSignal::new(None::<String>);
    let history = RwSignal::new(Vec::new());
    let next = RwSignal::new(None::<String>);
    // A new workspace or filter starts again at the newest page.
    Effect::new(move |_| {
        ctx.workspace.track();
        filter.track();
        cursor.set(None);
        history.set(Vec::new());
    });
    let accounts = Load::new(move || api::accounts(ctx.workspace.get()));
    let txs =
        Load::new(move || api::transactions(ctx.workspace.get(), filter.get(), cursor.get(), 50));
    let (account, from, to, category) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let editing = RwSignal::new(None::<Transaction>);
    let edit_open = RwSignal::new(false);
    let on_edit = Callback::new(move |t: Transaction| {
        editing.set(Some(t));
        edit_open.set(true);
    });
    view! {
        <PageHead title="Transactions"/>
        <form class="filters" on:submit=move |ev| {
            ev.prevent_default();
            filter.set(TxFilter { account_id: account.get_untracked(), from: from.get_untracked(), to: to.get_untracked(), category: category.get_untracked().trim().to_string() });
        }>
            <label>"Account"
                <select on:change=move |ev| account.set(event_target_value(&ev))>
                    <option value="">"All accounts"</option>
                    {move || accounts.get().and_then(|r| r.ok()).map(|p| p.items.into_iter().map(|a| view! {
                        <option value=a.id.clone()>{format!("{} ({})", a.name, a.currency)}</option>
                    }).collect_view())}
                </select>
            </label>
            <label>"From"<input type="date" bind:value=from/></label>
            <label>"Before"<input type="date" bind:value=to/></label>
            <label>"Category"<input type="text" bind:value=category placeholder="e.g. groceries"/></label>
            <button class="btn" type="submit">"Apply"</button>
        </form>
        {loaded(txs, move |page| {
            next.set(page.next_cursor.clone());
            if page.items.is_empty() {
                return view! { <Empty title="No transactions match"/> }.into_any();
            }
            view! {
                <div class="table-wrap">
                <table class="table" id="transactions">
                    <thead><tr><th scope="col">"Date"</th><th scope="col">"Description"</th><th scope="col">"Category"</th><th scope="col" class="amount">"Amount"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                    <tbody>{tx_rows(page.items, Some(on_edit))}</tbody>
                </table>
                </div>
            }.into_any()
        })}
        <Pager cursor=cursor history=history next=next/>
        <Dialog open=edit_open title=Signal::derive(|| "Edit transaction".to_string())>
            {move || editing.get().map(|t| view! {
                <EditTransaction tx=t on_done=Callback::new(move |_| { edit_open.set(false); txs.refetch(); })
                    on_cancel=Callback::new(move |_| edit_open.set(false))/>
            })}
        </Dialog>
    }
}

#[component]
fn EditTransaction(
    tx: Transaction,
    on_done: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let ctx = ctx();
    let category = RwSignal::new(tx.category.clone().unwrap_or_default());
    let note = RwSignal::new(tx.note.clone().unwrap_or_default());
    let excluded = RwSignal::new(tx.excluded);
    let remote = RwSignal::new(None::<ApiError>);
    let id = tx.id.clone();
    let action = Call::new(
        move |req: PatchTransactionRequest| {
            api::patch_transaction(ctx.workspace.get_untracked(), id.clone(), req)
        },
        move |_| {
            ctx.ok("Transaction saved.");
            on_done.run(());
        },
        move |e| remote.set(Some(e)),
    );
    let none_if_empty = |s: String| {
        let s = s.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    view! {
        <p class="muted">{format!("{} · {} · {}", format_date(&tx.booked_at), tx.description, format_money(&tx.amount))}</p>
        <form on:submit=move |ev| {
            ev.prevent_default();
            remote.set(None);
            action.dispatch(PatchTransactionRequest {
                category: Some(none_if_empty(category.get_untracked())),
                note: Some(none_if_empty(note.get_untracked())),
                tags: None,
                excluded: Some(Some(excluded.get_untracked())),
            });
        } novalidate>
            <Field label="Category" name="category" value=category hint="Empty uses the bank's category."
                error=Signal::derive(move || remote.get().and_then(|e| e.field("category"))) autofocus=true/>
            <Field label="Note" name="note" value=note
                error=Signal::derive(move || remote.get().and_then(|e| e.field("note")))/>
            <label class="check"><input type="checkbox" bind:checked=excluded/>
                <span>"Leave out of insights and budgets"</span></label>
            <FormError error=remote/>
            <FormButtons label="Save" pending=action.pending() on_cancel=on_cancel/>
        </form>
    }
}

#[component]
pub fn Budgets() -> impl IntoView {
    let ctx = ctx();
    let budgets = Load::new(move || api::budgets(ctx.workspace.get()));
    let form_open = RwSignal::new(false);
    let editing = RwSignal::new(None::<Budget>);
    let deleting = RwSignal::new(None::<Budget>);
    let delete_open = RwSignal::new(false);
    let delete = Call::new(
        move |id: String| api::delete_budget(ctx.workspace.get_untracked(), id),
        move |()| {
            delete_open.set(false);
            ctx.ok("Budget deleted.");
            budgets.refetch();
        },
        move |e| ctx.fail(&e),
    );
    view! {
        <PageHead title="Budgets">
            <button class="btn primary" on:click=move |_| { editing.set(None); form_open.set(true); }>"New budget"</button>
        </PageHead>
        {loaded(budgets, move |page| {
            if page.items.is_empty() {
                return view! { <Empty title="No budgets yet"><p>"Set a monthly limit for a category and see how much is left."</p></Empty> }.into_any();
            }
            view! {
                <div class="budgets">
                {page.items.into_iter().map(|b| {
                    let limit = minor_units(&b.limit).unwrap_or(0).max(1);
                    let spent = minor_units(&b.spent).unwrap_or(0);
                    let pct = (spent as f64 * 100.0 / limit as f64).clamp(0.0, 100.0);
                    let over = spent > limit;
                    let (b1, b2) = (b.clone(), b.clone());
                    view! {
                        <article class="card budget">
                            <header class="row">
                                <h2 class="grow">{b.category.clone()}</h2>
                                <span class="muted">{b.month.clone()}</span>
                            </header>
                            <div class="meter" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(pct.round() as i64).to_string()
                                aria-label=format!("{} spent", b.category)>
                                <div class="meter-fill" class:over=over style=format!("width:{}%", tenths(pct))></div>
                            </div>
                            <p>{format_money(&b.spent)}" of "{format_money(&b.limit)}</p>
                            <div class="actions">
                                <button class="btn small" on:click=move |_| { editing.set(Some(b1.clone())); form_open.set(true); }>"Edit"</button>
                                <button class="btn small danger" on:click=move |_| { deleting.set(Some(b2.clone())); delete_open.set(true); }>"Delete"</button>
                            </div>
                        </article>
                    }
                }).collect_view()}
                </div>
            }.into_any()
        })}
        <Dialog open=form_open title=Signal::derive(move || if editing.get().is_some() { "Edit budget".to_string() } else { "New budget".to_string() })>
            <BudgetForm editing=editing on_done=Callback::new(move |_| { form_open.set(false); budgets.refetch(); })
                on_cancel=Callback::new(move |_| form_open.set(false))/>
        </Dialog>
        <Confirm open=delete_open title=Signal::derive(move || format!("Delete the {} budget?", deleting.get().map(|b| b.category).unwrap_or_default()))
            body="Only the budget goes; transactions stay." confirm_label="Delete" pending=delete.pending()
            on_confirm=Callback::new(move |_| { if let Some(b) = deleting.get_untracked() { delete.dispatch(b.id); } })/>
    }
}

const CURRENCIES: &[&str] = &[
    "BHD", "SAR", "AED", "KWD", "OMR", "QAR", "USD", "EUR", "GBP",
];

#[component]
fn BudgetForm(
    editing: RwSignal<Option<Budget>>,
    on_done: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let ctx = ctx();
    let current = editing.get_untracked();
    let category = RwSignal::new(
        current
            .as_ref()
            .map(|b| b.category.clone())
            .unwrap_or_default(),
    );
    let month = RwSignal::new(
        current
            .as_ref()
            .map(|b| b.month.clone())
            .unwrap_or_else(|| this_month().0[..7].to_string()),
    );
    let amount = RwSignal::new(
        current
            .as_ref()
            .map(|b| b.limit.amount.clone())
            .unwrap_or_default(),
    );
    let currency = RwSignal::new(
        current
            .as_ref()
            .map(|b| b.limit.currency.clone())
            .unwrap_or_else(|| "BHD".into()),
    );
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let id = current.map(|b| b.id);
    let action = Call::new(
        move |req: BudgetRequest| {
            let (ws, id) = (ctx.workspace.get_untracked(), id.clone());
            async move {
                match id {
                    Some(id) => api::update_budget(ws, id, req).await,
                    None => api::create_budget(ws, req).await,
                }
            }
        },
        move |_| {
            ctx.ok("Budget saved.");
            on_done.run(());
        },
        move |e| remote.set(Some(e)),
    );
    view! {
        <form on:submit=move |ev| {
            ev.prevent_default();
            remote.set(None);
            let mut problems = Vec::new();
            if category.get_untracked().trim().is_empty() { problems.push(("category", "is required".to_string())); }
            let parsed = parse_amount(&amount.get_untracked(), &currency.get_untracked());
            if let Err(e) = &parsed { problems.push(("limit", e.to_string())); }
            local.set(problems);
            if let (true, Ok(a)) = (local.get_untracked().is_empty(), parsed) {
                action.dispatch(BudgetRequest {
                    category: category.get_untracked().trim().to_string(),
                    month: month.get_untracked(),
                    limit: shared::money::Money { amount: a, currency: currency.get_untracked() },
                });
            }
        } novalidate>
            <Field label="Category" name="category" value=category error=field_error(local, remote, "category") required=true autofocus=true/>
            <div class="field">
                <label for="f-month">"Month"</label>
                <input id="f-month" type="month" bind:value=month/>
                {move || remote.get().and_then(|e| e.field("month")).map(|e| view! { <p class="err">{format!("Month {e}")}</p> })}
            </div>
            <div class="row gap">
                <Field label="Limit" name="limit" value=amount error=Signal::derive(move || field_error(local, remote, "limit").get().or_else(|| remote.get().and_then(|e| e.field("limit.amount"))))/>
                <div class="field">
                    <label for="f-currency">"Currency"</label>
                    <select id="f-currency" on:change=move |ev| currency.set(event_target_value(&ev))>
                        {CURRENCIES.iter().map(|c| view! { <option value=*c selected=move || currency.get() == *c>{*c}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <FormError error=remote/>
            <FormButtons label="Save" pending=action.pending() on_cancel=on_cancel/>
        </form>
    }
}

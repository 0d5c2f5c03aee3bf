//! The overview: every account's balance (bank and manual), this month's spending and the
//! latest transactions, or where to start when there is nothing yet.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api::{self, TxFilter},
    components::{loaded, Empty},
    context::{ctx, Page},
    data::Load,
    logic::{count, format_money},
    pages::{money::tx_rows, this_month, PageHead},
};

#[component]
pub fn Overview() -> impl IntoView {
    let ctx = ctx();
    let accounts = Load::new(move || api::accounts(ctx.workspace.get()));
    let recent =
        Load::new(move || api::transactions(ctx.workspace.get(), TxFilter::default(), None, 8));
    let spending = Load::new(move || {
        let (from, to) = this_month();
        api::spending(ctx.workspace.get(), from, to)
    });
    let greeting = move || {
        ctx.user()
            .map(|u| format!("Hello, {}", u.name))
            .unwrap_or_default()
    };
    view! {
        <PageHead title="Overview"/>
        <p class="lead">{greeting}</p>
        <div class="grid">
            <section class="card">
                <h2>"Balances"</h2>
                {loaded(accounts, |page| {
                    if page.items.is_empty() {
                        return view! {
                            <Empty title="No accounts yet">
                                <A href=Page::Connections.path() attr:class="btn primary">"Connect a bank"</A>
                            </Empty>
                        }.into_any();
                    }
                    view! {
                        <ul class="list balances">
                            {page.items.into_iter().map(|a| {
                                let source = if a.source == "bank" { " · bank" } else { " · manual" };
                                view! {
                                    <li class="list-item">
                                        <span class="grow">{a.name}<small class="muted">{source}</small></span>
                                        <span class="amount">{a.balance.as_ref().map(format_money).unwrap_or_else(|| "—".into())}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })}
            </section>
            <section class="card">
                <h2>"Spent this month"</h2>
                {loaded(spending, |ins| {
                    if ins.currencies.is_empty() {
                        return view! { <p class="muted">"Nothing spent yet this month."</p> }.into_any();
                    }
                    view! {
                        {ins.currencies.into_iter().map(|c| view! {
                            <p class="big-number">{format_money(&c.total)}</p>
                            <p class="muted">{count(c.transaction_count, "transaction")}</p>
                        }).collect_view()}
                        <A href=Page::Insights.path()>"See insights →"</A>
                    }.into_any()
                })}
            </section>
        </div>
        <section class="card">
            <h2>"Latest transactions"</h2>
            {loaded(recent, |page| {
                if page.items.is_empty() {
                    return view! {
                        <Empty title="No transactions yet">
                            <p>"Connect a bank, or push transactions with an "<A href=Page::Keys.path()>"API key"</A>"."</p>
                        </Empty>
                    }.into_any();
                }
                view! {
                    <div class="table-wrap"><table class="table"><tbody>{tx_rows(page.items, None)}</tbody></table></div>
                    <A href=Page::Transactions.path()>"All transactions →"</A>
                }.into_any()
            })}
        </section>
    }
}

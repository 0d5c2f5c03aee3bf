//! Insights as SVG charts: spending and income by category and month, balance history, salary.

use leptos::prelude::*;
use shared::banks::{CategoryInsight, CurrencyTotals};

use crate::{
    api,
    components::{loaded, Empty},
    context::ctx,
    data::Load,
    logic::{
        bars, civil_from_days, count, format_money, line_points, minor_units, money_from_minor,
        tenths,
    },
    pages::{now_secs, PageHead},
};

const WINDOWS: &[(&str, i64)] = &[
    ("30 days", 30),
    ("3 months", 91),
    ("6 months", 182),
    ("1 year", 365),
];

#[component]
pub fn Insights() -> impl IntoView {
    let ctx = ctx();
    let days = RwSignal::new(91i64);
    let range = move || {
        let today = now_secs().div_euclid(86_400);
        (
            civil_from_days(today - days.get()),
            civil_from_days(today + 1),
        )
    };
    let spending = Load::new(move || {
        let (from, to) = range();
        api::spending(ctx.workspace.get(), from, to)
    });
    let income = Load::new(move || {
        let (from, to) = range();
        api::income(ctx.workspace.get(), from, to)
    });
    let balances = Load::new(move || {
        let (from, to) = range();
        api::balance_history(ctx.workspace.get(), from, to)
    });
    let salary = Load::new(move || {
        let (from, to) = range();
        api::salary(ctx.workspace.get(), from, to)
    });
    view! {
        <PageHead title="Insights">
            <div class="segmented" role="group" aria-label="Period">
                {WINDOWS.iter().map(|(label, d)| {
                    let d = *d;
                    view! {
                        <button class="btn small" aria-pressed=move || (days.get() == d).to_string()
                            on:click=move |_| days.set(d)>{*label}</button>
                    }
                }).collect_view()}
            </div>
        </PageHead>
        <div class="grid">
            <section class="card">
                <h2>"Spending by category"</h2>
                {loaded(spending, |ins| category_chart(ins, "No spending in this period."))}
            </section>
            <section class="card">
                <h2>"Income by category"</h2>
                {loaded(income, |ins| category_chart(ins, "No income in this period."))}
            </section>
        </div>
        <section class="card">
            <h2>"Spending by month"</h2>
            {loaded(spending, month_chart)}
        </section>
        <section class="card">
            <h2>"Balance history"</h2>
            {loaded(balances, |h| {
                if h.accounts.iter().all(|a| a.points.is_empty()) {
                    return view! { <Empty title="No balance history yet"><p>"Balances are recorded daily for connected banks."</p></Empty> }.into_any();
                }
                h.accounts.into_iter().filter(|a| !a.points.is_empty()).map(|a| {
                    let values: Vec<i64> = a.points.iter().filter_map(|p| minor_units(&p.balance)).collect();
                    let first = a.points.first().map(|p| p.date.clone()).unwrap_or_default();
                    let last = a.points.last().map(|p| (p.date.clone(), format_money(&p.balance))).unwrap_or_default();
                    let (lo, hi) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
                    let desc = format!("Balance from {first} to {}: low {}, high {}, now {}", last.0,
                        format_money(&money_from_minor(lo, &a.currency)), format_money(&money_from_minor(hi, &a.currency)), last.1);
                    view! {
                        <figure class="chart">
                            <svg viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label=desc.clone() class="line-chart">
                                <polyline points=line_points(&values, 600.0, 150.0) fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke"/>
                            </svg>
                            <figcaption>{desc}</figcaption>
                        </figure>
                    }
                }).collect_view().into_any()
            })}
        </section>
        <section class="card">
            <h2>"Salary"</h2>
            {loaded(salary, |s| {
                if s.salaries.is_empty() {
                    return view! { <p class="muted">"No salary payments detected in this period."</p> }.into_any();
                }
                view! {
                    <ul class="list">
                        {s.salaries.into_iter().map(|p| view! {
                            <li class="list-item"><span class="grow">{p.month}</span><span class="amount">{format_money(&p.amount)}</span></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

fn category_chart(ins: CategoryInsight, empty: &'static str) -> AnyView {
    if ins.currencies.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    ins.currencies
        .into_iter()
        .map(|c| {
            let items: Vec<(String, i64)> = c
                .categories
                .iter()
                .map(|k| (k.category.clone(), minor_units(&k.total).unwrap_or(0)))
                .collect();
            let currency = c.currency.clone();
            view! {
                <p class="muted">{format!("Total {} · {}", format_money(&c.total), count(c.transaction_count, "transaction"))}</p>
                <ul class="bars" aria-label=format!("By category, {currency}")>
                    {bars(&items).into_iter().map(|b| view! {
                        <li>
                            <span class="bar-label">{b.label.clone()}</span>
                            <span class="bar-track"><span class="bar" style=format!("width:{}%", tenths(b.percent.max(0.5)))></span></span>
                            <span class="bar-value">{format_money(&money_from_minor(b.value, &currency))}</span>
                        </li>
                    }).collect_view()}
                </ul>
            }
        })
        .collect_view()
        .into_any()
}

fn month_chart(ins: CategoryInsight) -> AnyView {
    let Some(c): Option<CurrencyTotals> = ins.currencies.into_iter().next() else {
        return view! { <p class="muted">"No spending in this period."</p> }.into_any();
    };
    let items: Vec<(String, i64)> = c
        .months
        .iter()
        .map(|m| (m.month.clone(), minor_units(&m.total).unwrap_or(0)))
        .collect();
    let n = items.len().max(1) as f64;
    let width = 600.0;
    let slot = width / n;
    let currency = c.currency.clone();
    view! {
        <svg viewBox="0 0 600 180" class="bar-chart" role="img" aria-label=format!("Spending per month in {currency}")>
            {bars(&items).into_iter().enumerate().map(|(i, b)| {
                let h = b.percent * 1.5;
                let x = i as f64 * slot + slot * 0.15;
                view! {
                    <g>
                        <title>{format!("{}: {}", b.label, format_money(&money_from_minor(b.value, &currency)))}</title>
                        <rect x=tenths(x) y=tenths(150.0 - h) width=tenths(slot * 0.7) height=tenths(h) rx="3"/>
                        <text x=tenths(x + slot * 0.35) y="170" text-anchor="middle">{b.label.clone()}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}

//! Insights (§5), computed from the stored transactions on every request, so the numbers
//! always agree with what the transaction routes list (including control-route edits).
//! Amounts are strings with the currency's decimals, except balance insights, whose sample
//! uses numbers.

use std::collections::{BTreeMap, BTreeSet};

use axum::{extract::State, http::HeaderMap, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::{
    auth::Customer,
    error::{ApiError, ApiResult, Q},
    merchants::{self, is_salary},
    money,
    state::AppState,
    store::{Account, Store, Tx},
    timefmt,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InsightQuery {
    months: Option<String>,
    account_id: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
}

/// Longest range a daily series may cover; keeps one request from looping for ages.
const MAX_DAYS: i64 = 3_660;

/// The accounts an insight covers: one named account (404/403 as on the data routes), or
/// every account of the customer that is under an active consent.
fn accounts<'a>(
    store: &'a Store,
    customer: &str,
    account_id: Option<&str>,
    now: OffsetDateTime,
) -> ApiResult<Vec<&'a Account>> {
    match account_id.filter(|s| !s.is_empty()) {
        Some(id) => Ok(vec![store.account(customer, id, now)?]),
        None => Ok(store
            .customer_accounts(customer)
            .filter(|a| store.gate(a, now).is_ok())
            .collect()),
    }
}

/// `GET /insights/v1/salary?months=N`: salary credits on the customer's current and savings
/// accounts. `months` counts the current (partial) month plus N-1 completed ones.
pub(crate) async fn salary(
    customer: Customer,
    State(state): State<AppState>,
    Q(q): Q<InsightQuery>,
) -> ApiResult<Json<Value>> {
    let months: u32 = match q.months.as_deref() {
        None => 3,
        Some(m) => m
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=24).contains(n))
            .ok_or_else(|| ApiError::invalid("months must be an integer from 1 to 24"))?,
    };
    let now = state.clock.now();
    let start = day_start(timefmt::month_start(now.date(), months - 1));
    let store = state.read();
    let mut found: Vec<(&Tx, &Account)> = Vec::new();
    for a in accounts(&store, &customer.id, q.account_id.as_deref(), now)? {
        for t in a.range(start, now.unix_timestamp()) {
            if is_salary(t) {
                found.push((t, a));
            }
        }
    }
    found.sort_by(|(x, _), (y, _)| y.booking.cmp(&x.booking).then_with(|| x.id.cmp(&y.id)));
    let salaries: Vec<Value> = found
        .into_iter()
        .map(|(t, a)| {
            let at = timefmt::from_unix(t.booking);
            json!({
                "salaryAmount": { "value": money::string(t.amount_minor, a.exponent()), "currency": a.currency() },
                "bookingDateTime": timefmt::millis(at),
                "monthIndicator": at.month() as u8,
            })
        })
        .collect();
    Ok(Json(json!({ "salaries": salaries })))
}

fn day_start(d: Date) -> i64 {
    PrimitiveDateTime::new(d, Time::MIDNIGHT)
        .assume_utc()
        .unix_timestamp()
}

/// A date range `[from, to]` (whole days, UTC) and the calendar months it touches.
struct Window {
    from: Date,
    to: Date,
    start: i64,
    end: i64,
    months: Vec<(i32, Month)>,
}

impl Window {
    /// From the query's `fromDate`/`toDate`, defaulting to `default_months` back from today.
    fn parse(q: &InsightQuery, now: OffsetDateTime, default_months: u32) -> ApiResult<Self> {
        let date = |v: &Option<String>, name: &str| {
            v.as_deref()
                .map(|s| {
                    timefmt::parse_date(s)
                        .ok_or_else(|| ApiError::invalid(format!("{name} must be YYYY-MM-DD")))
                })
                .transpose()
        };
        let to = date(&q.to_date, "toDate")?.unwrap_or(now.date());
        let from = date(&q.from_date, "fromDate")?.unwrap_or_else(|| {
            timefmt::minus_months(
                PrimitiveDateTime::new(to, Time::MIDNIGHT).assume_utc(),
                default_months,
            )
            .date()
        });
        if from > to {
            return Err(ApiError::invalid("fromDate must not be after toDate"));
        }
        if (to - from).whole_days() > MAX_DAYS {
            return Err(ApiError::invalid(
                "the date range may cover at most 10 years",
            ));
        }
        Ok(Self {
            from,
            to,
            start: day_start(from),
            end: day_start(to) + 86_399,
            months: timefmt::months_between(from, to),
        })
    }

    fn month_count(&self) -> i64 {
        self.months.len().max(1) as i64
    }

    fn link(&self, base: &str, a: &Account) -> Value {
        json!([{
            "ref": "TRANSACTIONS",
            "href": format!(
                "{base}/accountInformation/v1/accounts/{}/transactions?fromBookingDateTime={}T00:00:00.000Z&toBookingDateTime={}T23:59:59.000Z",
                a.id, timefmt::date(self.from), timefmt::date(self.to)
            ),
        }])
    }
}

/// `GET /insights/v1/balance-insights?accountId=&fromDate=&toDate=`: min, max and average of
/// the daily closing balance, derived backwards from the current balance.
pub(crate) async fn balance(
    customer: Customer,
    State(state): State<AppState>,
    Q(q): Q<InsightQuery>,
) -> ApiResult<Json<Value>> {
    let account_id = q
        .account_id
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("accountId is required"))?;
    let now = state.clock.now();
    let w = Window::parse(&q, now, 12)?;
    let store = state.read();
    let a = store.account(&customer.id, &account_id, now)?;
    let series = daily_closing(a, w.from, w.to);
    let first = series.first().map_or(a.balance_minor, |(_, b)| *b);
    let last = series.last().map_or(a.balance_minor, |(_, b)| *b);
    // Earliest day wins ties, so the answer does not depend on iteration details.
    let min = series.iter().min_by_key(|(d, b)| (*b, *d)).copied();
    let max = series
        .iter()
        .max_by_key(|(d, b)| (*b, std::cmp::Reverse(*d)))
        .copied();
    let total: i128 = series.iter().map(|(_, b)| i128::from(*b)).sum();
    let average = if series.is_empty() {
        0
    } else {
        let n = series.len() as i128;
        i64::try_from((2 * total + total.signum() * n) / (2 * n)).unwrap_or(0)
    };
    let amount =
        |v: i64| json!({ "value": money::number(v, a.exponent()), "currency": a.currency() });
    let point = |p: Option<(Date, i64)>| {
        p.map(|(d, b)| json!({ "date": timefmt::date(d), "amount": amount(b) }))
    };
    let trend = match last.cmp(&first) {
        std::cmp::Ordering::Greater => "positive",
        std::cmp::Ordering::Less => "negative",
        std::cmp::Ordering::Equal => "neutral",
    };
    Ok(Json(json!({
        "accountId": a.id,
        "providerId": a.provider.id,
        "accountProductType": a.kind.insight_type(),
        "from": timefmt::date(w.from),
        "to": timefmt::date(w.to),
        "minBalance": point(min),
        "maxBalance": point(max),
        "averageBalance": { "amount": amount(average) },
        "trend": trend,
    })))
}

/// `(day, closing balance)` for each day in `[from, to]`: the current balance minus everything
/// booked after that day.
fn daily_closing(a: &Account, from: Date, to: Date) -> Vec<(Date, i64)> {
    let mut out = Vec::new();
    let mut later = 0i64;
    let mut idx = 0;
    let mut day = to;
    loop {
        let boundary = day_start(day) + 86_400;
        while let Some(t) = a.txs.get(idx).filter(|t| t.booking >= boundary) {
            later = later.saturating_add(t.signed());
            idx += 1;
        }
        out.push((day, a.balance_minor.saturating_sub(later)));
        match day.previous_day() {
            Some(prev) if prev >= from => day = prev,
            _ => break,
        }
    }
    out.reverse();
    out
}

/// `{transactionDescription, amount, date}` for the smallest or largest transaction.
fn extreme(txs: &[&Tx], a: &Account, largest: bool) -> Value {
    let pick = if largest {
        txs.iter()
            .max_by_key(|t| (t.amount_minor, std::cmp::Reverse(t.booking)))
    } else {
        txs.iter().min_by_key(|t| (t.amount_minor, t.booking))
    };
    pick.map_or(Value::Null, |t| {
        json!({
            "transactionDescription": t.description,
            "amount": money::string(t.amount_minor, a.exponent()),
            "date": timefmt::date(timefmt::from_unix(t.booking).date()),
        })
    })
}

/// Count per month, to 2 decimals, as a JSON number.
fn per_month(count: usize, w: &Window) -> Value {
    let v = (count as f64 / w.month_count() as f64 * 100.0).round() / 100.0;
    json!(v)
}

fn sum(txs: &[&Tx]) -> i64 {
    txs.iter()
        .fold(0i64, |s, t| s.saturating_add(t.amount_minor))
}

fn month_of(t: &Tx) -> (i32, Month) {
    let d = timefmt::from_unix(t.booking).date();
    (d.year(), d.month())
}

/// A recurring stream: the same counterparty in at least three different months.
struct Stream<'a> {
    pattern: String,
    kind: &'static str,
    txs: Vec<&'a Tx>,
}

fn streams<'a>(
    txs: &[&'a Tx],
    key: impl Fn(&Tx) -> (String, &'static str),
) -> (Vec<Stream<'a>>, Vec<&'a Tx>) {
    let mut groups: BTreeMap<(String, &'static str), Vec<&'a Tx>> = BTreeMap::new();
    for t in txs {
        groups.entry(key(t)).or_default().push(t);
    }
    let mut recurring = Vec::new();
    let mut irregular = Vec::new();
    for ((pattern, kind), group) in groups {
        let months: BTreeSet<(i32, Month)> = group.iter().map(|t| month_of(t)).collect();
        if months.len() >= 3 {
            recurring.push(Stream {
                pattern,
                kind,
                txs: group,
            });
        } else {
            irregular.extend(group);
        }
    }
    recurring.sort_by(|x, y| {
        sum(&y.txs)
            .cmp(&sum(&x.txs))
            .then_with(|| x.pattern.cmp(&y.pattern))
    });
    (recurring, irregular)
}

fn stream_json(s: &Stream<'_>, a: &Account, w: &Window, base: &str) -> Value {
    json!({
        "streamDescriptionPattern": s.pattern,
        "streamType": s.kind,
        "frequency": "Monthly",
        "avgAmount": money::string(money::mean(sum(&s.txs), s.txs.len() as i64), a.exponent()),
        "links": w.link(base, a),
    })
}

fn header(a: &Account, w: &Window) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("accountId".into(), json!(a.id));
    m.insert("accountCurrency".into(), json!(a.currency()));
    m.insert("providerId".into(), json!(a.provider.id));
    m.insert("source".into(), json!("Bank API"));
    m.insert(
        "lastUpdated".into(),
        json!(timefmt::secs(a.transactions_updated_at)),
    );
    m.insert("startDate".into(), json!(timefmt::date(w.from)));
    m.insert("endDate".into(), json!(timefmt::date(w.to)));
    m
}

fn in_window<'a>(a: &'a Account, w: &Window, credit: bool) -> Vec<&'a Tx> {
    a.range(w.start, w.end)
        .iter()
        .filter(|t| t.credit == credit)
        .collect()
}

/// `GET /insights/v1/income-insights[?accountId=&fromDate=&toDate=]` (path [P]).
pub(crate) async fn income(
    customer: Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Q(q): Q<InsightQuery>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let w = Window::parse(&q, now, 12)?;
    let base = state.base_url(&headers);
    let store = state.read();
    let mut out = Vec::new();
    for a in accounts(&store, &customer.id, q.account_id.as_deref(), now)? {
        let credits = in_window(a, &w, true);
        let (salary, other): (Vec<&Tx>, Vec<&Tx>) = credits.iter().partition(|t| is_salary(t));
        // Salary streams are grouped by description (the employer's reference is stable).
        let (recurring, _) = streams(&salary, |t| (t.description.clone(), "Salary"));
        let mut m = header(a, &w);
        m.insert("accountHasSalary".into(), json!(!salary.is_empty()));
        m.insert(
            "recurringCreditSummary".into(),
            recurring
                .iter()
                .map(|s| stream_json(s, a, &w, &base))
                .collect(),
        );
        m.insert(
            "irregularCreditSummary".into(),
            json!({
                "totalAmount": money::string(sum(&other), a.exponent()),
                "avgAmount": money::string(money::mean(sum(&other), other.len() as i64), a.exponent()),
                "links": w.link(&base, a),
            }),
        );
        m.insert(
            "creditSummary".into(),
            json!({
                "minTransaction": extreme(&credits, a, false),
                "maxTransaction": extreme(&credits, a, true),
                "totalTransactions": credits.len(),
                "avgMonthlyTransactions": per_month(credits.len(), &w),
            }),
        );
        out.push(Value::Object(m));
    }
    Ok(Json(json!({ "accounts": out })))
}

/// `GET /insights/v1/spending-insights[?accountId=&fromDate=&toDate=]` (path [P]). Note the
/// capital S of `SpendingSummary`, copied from the sample.
pub(crate) async fn spending(
    customer: Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Q(q): Q<InsightQuery>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let w = Window::parse(&q, now, 12)?;
    let base = state.base_url(&headers);
    let store = state.read();
    let mut out = Vec::new();
    for a in accounts(&store, &customer.id, q.account_id.as_deref(), now)? {
        let debits = in_window(a, &w, false);
        let (recurring, irregular) = streams(&debits, |t| {
            let p = merchants::profile(t.profile);
            (p.merchant.unwrap_or(p.category).to_string(), p.category)
        });
        let mut m = header(a, &w);
        m.insert(
            "recurringDebitSummary".into(),
            recurring
                .iter()
                .map(|s| stream_json(s, a, &w, &base))
                .collect(),
        );
        m.insert(
            "irregularSpendingSummary".into(),
            json!({
                "totalAmount": money::string(sum(&irregular), a.exponent()),
                "avgAmount": money::string(money::mean(sum(&irregular), irregular.len() as i64), a.exponent()),
                "links": w.link(&base, a),
            }),
        );
        m.insert(
            "SpendingSummary".into(),
            json!({
                "minTransaction": extreme(&debits, a, false),
                "maxTransaction": extreme(&debits, a, true),
                "totalTransactions": debits.len(),
                "avgMonthlyTransactions": per_month(debits.len(), &w),
            }),
        );
        out.push(Value::Object(m));
    }
    Ok(Json(json!({ "accounts": out })))
}

/// `GET /insights/v1/transaction-insights[?accountId=&fromDate=&toDate=]` (path [P]): credit
/// and debit totals with monthly averages and extremes; months without transactions count.
pub(crate) async fn transactions(
    customer: Customer,
    State(state): State<AppState>,
    Q(q): Q<InsightQuery>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let w = Window::parse(&q, now, 12)?;
    let store = state.read();
    let mut out = Vec::new();
    for a in accounts(&store, &customer.id, q.account_id.as_deref(), now)? {
        let credits = in_window(a, &w, true);
        let debits = in_window(a, &w, false);
        let mut m = header(a, &w);
        m.insert(
            "accountHasCreditTransactions".into(),
            json!(!credits.is_empty()),
        );
        m.insert(
            "accountHasDebitTransactions".into(),
            json!(!debits.is_empty()),
        );
        m.insert(
            "transactionCreditSummary".into(),
            flow_summary(&credits, a, &w),
        );
        m.insert(
            "transactionDebitSummary".into(),
            flow_summary(&debits, a, &w),
        );
        out.push(Value::Object(m));
    }
    Ok(Json(json!({ "accounts": out })))
}

fn flow_summary(txs: &[&Tx], a: &Account, w: &Window) -> Value {
    if txs.is_empty() {
        return Value::Null;
    }
    let mut monthly: BTreeMap<(i32, Month), i64> = w.months.iter().map(|m| (*m, 0)).collect();
    for t in txs {
        if let Some(v) = monthly.get_mut(&month_of(t)) {
            *v = v.saturating_add(t.amount_minor);
        }
    }
    let total = sum(txs);
    let month_json = |(y, m): (i32, Month), v: i64| {
        json!({
            "amount": money::string(v, a.exponent()),
            "monthIndicator": format!("{:02}", m as u8),
            "yearIndicator": y.to_string(),
        })
    };
    // Ties go to the earliest month.
    let max = monthly
        .iter()
        .max_by_key(|(k, v)| (**v, std::cmp::Reverse(**k)));
    let min = monthly.iter().min_by_key(|(k, v)| (**v, **k));
    json!({
        "totalAmount": money::string(total, a.exponent()),
        "totalCount": txs.len(),
        "avgMonthlyAmount": money::string(money::mean(total, w.month_count()), a.exponent()),
        "avgMonthlyCount": per_month(txs.len(), w),
        "maxMonthlyAmount": max.map_or(Value::Null, |(k, v)| month_json(*k, *v)),
        "minMonthlyAmount": min.map_or(Value::Null, |(k, v)| month_json(*k, *v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;
    use time::macros::{date, datetime};

    #[test]
    fn daily_closing_ends_at_the_current_balance() {
        let now = datetime!(2024-06-10 12:00 UTC);
        let a = crate::banks::provider("BLUE")
            .map(|p| seed::accounts(3, "c", p, 200, now))
            .and_then(|v| v.into_iter().next())
            .expect("account");
        let series = daily_closing(&a, date!(2023 - 06 - 01), date!(2024 - 06 - 10));
        assert_eq!(series.last().map(|x| x.1), Some(a.balance_minor));
        assert_eq!(series.first().map(|x| x.0), Some(date!(2023 - 06 - 01)));
        assert_eq!(series.len(), 376);
        // Before any transaction the balance is the opening balance.
        let before: i64 = a
            .txs
            .iter()
            .filter(|t| t.booking >= day_start(date!(2023 - 06 - 02)))
            .map(Tx::signed)
            .sum();
        assert_eq!(series[0].1, a.balance_minor - before);
        assert!(series.iter().all(|(_, b)| *b >= 0));
    }
}

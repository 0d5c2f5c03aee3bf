//! Account data (§4): accounts, balances and transactions, enriched and raw. Every route takes
//! the customer from the token and goes through [`Store::account`](crate::store::Store::account)
//! (ownership, then the consent gate).

use axum::{
    extract::State,
    http::{HeaderMap, Uri},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::{
    auth::Customer,
    error::{ApiError, ApiResult, P, Q},
    merchants, money,
    pages::slug,
    state::AppState,
    store::{Account, Store, Tx},
    timefmt,
};

/// One account as §4.1 shows it (the list item, and the body of the details route).
pub(crate) fn account_json(store: &Store, a: &Account, now: OffsetDateTime, base: &str) -> Value {
    let consents: Vec<Value> = a
        .consent_ids
        .iter()
        .filter_map(|id| store.consents.get(id))
        .map(|c| {
            json!({
                "id": c.id,
                "expiryDate": timefmt::secs(c.expiry),
                "status": c.status(now).as_str(),
            })
        })
        .collect();
    let href = format!("{base}/accountInformation/v2/accounts/{}", a.id);
    json!({
        "accountId": a.id,
        "accountHolderName": a.holder,
        "accountProductType": a.kind.product_type(),
        "accountDescription": a.description,
        "providerId": a.provider.id,
        "lastUpdatedDateTime": timefmt::secs(a.updated_at),
        "consents": consents,
        "identifiers": [ { "type": "IBAN", "value": a.iban } ],
        "balances": [ {
            "type": "Unknown",
            "amount": { "value": money::number(a.balance_minor, a.exponent()), "currency": a.currency() },
        } ],
        "links": [
            { "rel": "SELF", "href": href },
            { "rel": "BALANCES", "href": format!("{href}/balances") },
            { "rel": "TRANSACTIONS", "href": format!("{href}/transactions") },
            { "rel": "RAW_TRANSACTIONS", "href": format!("{href}/rawtransactions") },
        ],
        "meta": {
            "lastAccountUpdateDatetime": timefmt::millis(a.updated_at),
            "lastBalancesUpdateDatetime": timefmt::millis(a.balances_updated_at),
            "transactionsAvailability": "completed",
        },
    })
}

/// `GET /accountInformation/v2/accounts`: every account of the customer across all consents,
/// including those whose consents ended (their `consents[].status` says so).
pub(crate) async fn list_accounts(
    customer: Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Json<Value> {
    let now = state.clock.now();
    let base = state.base_url(&headers);
    let store = state.read();
    let accounts: Vec<Value> = store
        .customer_accounts(&customer.id)
        .map(|a| account_json(&store, a, now, &base))
        .collect();
    Json(json!({ "accounts": accounts }))
}

/// `GET /accountInformation/v2/accounts/{accountId}`.
pub(crate) async fn get_account(
    customer: Customer,
    State(state): State<AppState>,
    headers: HeaderMap,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let base = state.base_url(&headers);
    let store = state.read();
    let a = store.account(&customer.id, &id, now)?;
    Ok(Json(account_json(&store, a, now, &base)))
}

fn balances_json(a: &Account) -> Value {
    let amount =
        json!({ "value": money::number(a.balance_minor, a.exponent()), "currency": a.currency() });
    json!({
        "balances": [
            { "type": "ClosingAvailable", "amount": amount },
            { "type": "ClosingBooked", "amount": amount },
        ],
        "meta": { "lastBalancesUpdateDatetime": timefmt::millis(a.balances_updated_at) },
    })
}

/// `GET …/accounts/{accountId}/balances`.
pub(crate) async fn get_balances(
    customer: Customer,
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let store = state.read();
    Ok(Json(balances_json(store.account(
        &customer.id,
        &id,
        now,
    )?)))
}

/// `GET|POST …/accounts/{accountId}/balances/refresh`: as if fetched from the bank just now.
pub(crate) async fn refresh_balances(
    customer: Customer,
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let mut store = state.write();
    let a = store.account_mut(&customer.id, &id, now)?;
    a.balances_updated_at = now;
    a.updated_at = now;
    Ok(Json(balances_json(a)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TxQuery {
    from_booking_date_time: Option<String>,
    to_booking_date_time: Option<String>,
    page: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Enriched,
    Raw,
}

/// `GET …/v2/accounts/{id}/transactions` and the v1 alias. Links reuse the path the client
/// called (as seen by this router, so a `public_url` with a prefix composes with `nest`).
pub(crate) async fn enriched(
    customer: Customer,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    P(id): P<String>,
    Q(q): Q<TxQuery>,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    list(
        &state,
        &customer,
        &id,
        q,
        &base,
        uri.path(),
        View::Enriched,
        false,
    )
    .map(Json)
}

/// `GET …/v2/accounts/{id}/rawtransactions`.
pub(crate) async fn raw(
    customer: Customer,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    P(id): P<String>,
    Q(q): Q<TxQuery>,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    list(
        &state,
        &customer,
        &id,
        q,
        &base,
        uri.path(),
        View::Raw,
        false,
    )
    .map(Json)
}

/// `GET …/v2/accounts/{id}/rawtransactions/refresh`: marks the transactions as fetched from the
/// bank now and returns the raw list (links point at `…/rawtransactions`, not the refresh).
pub(crate) async fn raw_refresh(
    customer: Customer,
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    P(id): P<String>,
    Q(q): Q<TxQuery>,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    let path = uri.path().trim_end_matches("/refresh");
    list(&state, &customer, &id, q, &base, path, View::Raw, true).map(Json)
}

#[allow(clippy::too_many_arguments)]
fn list(
    state: &AppState,
    customer: &Customer,
    id: &str,
    q: TxQuery,
    base: &str,
    path: &str,
    view: View,
    refresh: bool,
) -> ApiResult<Value> {
    let page: u64 = match q.page.as_deref() {
        None => 1,
        Some(p) => p
            .trim()
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| ApiError::invalid("page must be a positive integer"))?,
    };
    let bad_date = |name: &str| {
        ApiError::invalid(format!(
            "{name} must be an ISO-8601 date-time such as 2023-01-01T15:34:12Z"
        ))
    };
    let from = q
        .from_booking_date_time
        .map(|s| timefmt::parse_instant(&s, false).ok_or_else(|| bad_date("fromBookingDateTime")))
        .transpose()?;
    let to = q
        .to_booking_date_time
        .map(|s| timefmt::parse_instant(&s, true).ok_or_else(|| bad_date("toBookingDateTime")))
        .transpose()?;
    let now = state.clock.now();
    if refresh {
        let mut store = state.write();
        let a = store.account_mut(&customer.id, id, now)?;
        a.transactions_updated_at = now;
    }
    let store = state.read();
    let a = store.account(&customer.id, id, now)?;
    let to = to.unwrap_or(now);
    // Default: the last 12 months, widened to the oldest stored transaction so the default
    // always covers the seeded year even after the sandbox clock has been moved forward.
    let from = from.unwrap_or_else(|| {
        let year_ago = timefmt::minus_months(to, 12);
        match a.oldest_booking().map(timefmt::from_unix) {
            Some(oldest) if oldest < year_ago => oldest,
            _ => year_ago,
        }
    });
    if from > to {
        return Err(ApiError::invalid(
            "fromBookingDateTime must not be after toBookingDateTime",
        ));
    }
    // Bookings are whole seconds: round the bounds inwards so both stay inclusive.
    let from_secs = from.unix_timestamp() + i64::from(from.nanosecond() > 0);
    let matching = a.range(from_secs, to.unix_timestamp());
    let size = u64::from(state.page_size().max(1));
    let total = matching.len() as u64;
    let pages = total.div_ceil(size);
    let skip = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
    let items: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(size as usize)
        .map(|t| tx_json(t, a, view, base))
        .collect();
    let (from_s, to_s) = (timefmt::millis(from), timefmt::millis(to));
    let href = |n: u64| {
        format!("{base}{path}?page={n}&fromBookingDateTime={from_s}&toBookingDateTime={to_s}")
    };
    let mut links = vec![json!({ "rel": "FIRST", "href": href(1) })];
    if page > 1 {
        links.push(json!({ "rel": "PREV", "href": href(page - 1) }));
    }
    if page < pages {
        links.push(json!({ "rel": "NEXT", "href": href(page + 1) }));
    }
    links.push(json!({ "rel": "LAST", "href": href(pages.max(1)) }));
    Ok(json!({
        "transactions": items,
        "meta": {
            "totalCountOfRecords": total,
            "totalCountOfPages": pages,
            "pageNumber": page,
            "pageSize": size,
            "fromBookingDateTime": from_s,
            "toBookingDateTime": to_s,
            "lastTransactionsUpdateDatetime": timefmt::millis(a.transactions_updated_at),
            "transactionsAvailability": "completed",
        },
        "links": links,
    }))
}

/// One transaction. Raw transactions carry no category, and of the merchant only the MCC.
fn tx_json(t: &Tx, a: &Account, view: View, base: &str) -> Value {
    let p = merchants::profile(t.profile);
    let mut v = json!({
        "transactionId": t.id,
        "accountId": a.id,
        "providerId": a.provider.id,
        "transactionDescription": t.description,
        "transactionType": p.tx_type,
        "subTransactionType": p.sub_type,
        "creditDebitIndicator": if t.credit { "Credit" } else { "Debit" },
        "amount": { "value": money::number(t.amount_minor, a.exponent()), "currency": a.currency() },
        "bookingDateTime": timefmt::millis(timefmt::from_unix(t.booking)),
        "status": if t.pending { "Pending" } else { "Booked" },
    });
    let merchant = match (view, p.merchant, p.mcc) {
        (View::Enriched, Some(name), mcc) => Some(json!({
            "name": name,
            "logo": format!("{base}/logos/merchant-{}.svg", slug(name)),
            "merchantCategoryCode": mcc,
        })),
        (_, _, Some(mcc)) => Some(json!({ "merchantCategoryCode": mcc })),
        _ => None,
    };
    if let (Some(m), Some(obj)) = (merchant, v.as_object_mut()) {
        obj.insert("merchant".into(), m);
    }
    if view == View::Enriched {
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "category".into(),
                json!({
                    "group": p.group(),
                    "name": p.category,
                    "icon": format!("{base}/logos/category-{}.svg", slug(p.category)),
                }),
            );
        }
    }
    v
}

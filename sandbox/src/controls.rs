//! Test controls under `/__sandbox/`: move the clock, complete intents without a browser,
//! end consents, edit transactions, change knobs, inject faults and rate limits, and read the
//! call counters. No auth, JSON in and out, and never subject to faults: a test must always be
//! able to reach them.

use axum::{
    extract::State,
    routing::{get, patch, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    connect::{self, Outcome},
    consents::consent_json,
    error::{ApiError, ApiResult, Body, P, Q},
    faults::{RateLimit, RuleSpec},
    merchants, money, seed,
    state::AppState,
    store::{ConsentStatus, Tx},
    timefmt,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/__sandbox/clock", get(get_clock))
        .route("/__sandbox/clock/advance", post(advance_clock))
        .route(
            "/__sandbox/intents/{intentId}/complete",
            post(complete_intent),
        )
        .route(
            "/__sandbox/consents/{consentId}/expire",
            post(expire_consent),
        )
        .route(
            "/__sandbox/consents/{consentId}/revoke",
            post(revoke_consent),
        )
        .route(
            "/__sandbox/accounts/{accountId}/transactions",
            get(list_transactions).post(add_transactions),
        )
        .route(
            "/__sandbox/transactions/{transactionId}",
            patch(patch_transaction).delete(delete_transaction),
        )
        .route("/__sandbox/config", get(get_config).post(set_config))
        .route(
            "/__sandbox/faults",
            get(get_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/__sandbox/rate-limit",
            get(get_rate_limit)
                .post(set_rate_limit)
                .delete(clear_rate_limit),
        )
        .route("/__sandbox/calls", get(get_calls).delete(reset_calls))
        .route("/__sandbox/tokens", get(get_tokens))
}

/// Every access token issued and not yet swept, so a test can check that the client never
/// writes one to its logs.
async fn get_tokens(State(state): State<AppState>) -> Json<Value> {
    let store = state.read();
    let tokens: Vec<&String> = store.tokens.keys().collect();
    Json(json!({ "tokens": tokens }))
}

fn clock_json(state: &AppState) -> Value {
    json!({ "now": timefmt::millis(state.clock.now()), "offsetSecs": state.clock.offset() })
}

async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Secs {
    secs: Option<i64>,
}

/// `{"secs": N}` in the body, or `?secs=N` as in tarabut-api.md §8.
async fn advance_clock(
    State(state): State<AppState>,
    Q(query): Q<Secs>,
    Body(body): Body<Secs>,
) -> ApiResult<Json<Value>> {
    let secs = body
        .secs
        .or(query.secs)
        .ok_or_else(|| ApiError::invalid("secs is required"))?;
    state
        .clock
        .advance(secs)
        .ok_or_else(|| ApiError::invalid("the clock may move at most 200 years"))?;
    Ok(Json(clock_json(&state)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompleteSpec {
    status: Option<String>,
    provider_id: Option<String>,
}

/// The same effect as clicking through the Connect pages.
async fn complete_intent(
    State(state): State<AppState>,
    P(id): P<String>,
    Q(query): Q<CompleteSpec>,
    Body(body): Body<CompleteSpec>,
) -> ApiResult<Json<Value>> {
    let status = body.status.or(query.status).unwrap_or_default();
    let outcome = if status.eq_ignore_ascii_case("SUCCESSFUL") {
        Outcome::Successful
    } else if status.eq_ignore_ascii_case("FAILED") {
        Outcome::Failed
    } else {
        return Err(ApiError::invalid("status must be SUCCESSFUL or FAILED"));
    };
    let provider = body.provider_id.or(query.provider_id);
    let done = connect::complete(&state, &id, outcome, provider.as_deref())?;
    Ok(Json(json!({
        "location": done.location,
        "intentId": id,
        "status": status.to_ascii_uppercase(),
        "consentId": done.consent_id,
    })))
}

fn end_consent(state: &AppState, id: &str, to: ConsentStatus) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let mut store = state.write();
    let c = store
        .consents
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("consent not found"))?;
    c.status = to;
    Ok(Json(consent_json(c, now)))
}

async fn expire_consent(State(state): State<AppState>, P(id): P<String>) -> ApiResult<Json<Value>> {
    end_consent(&state, &id, ConsentStatus::Expired)
}

async fn revoke_consent(State(state): State<AppState>, P(id): P<String>) -> ApiResult<Json<Value>> {
    end_consent(&state, &id, ConsentStatus::Revoked)
}

fn control_tx_json(t: &Tx, currency: &str) -> Value {
    json!({
        "transactionId": t.id,
        "amountMinor": t.amount_minor,
        "currency": currency,
        "creditDebitIndicator": if t.credit { "Credit" } else { "Debit" },
        "description": t.description,
        "bookingDateTime": timefmt::millis(timefmt::from_unix(t.booking)),
        "category": merchants::profile(t.profile).category,
        "pending": t.pending,
    })
}

/// Every current transaction of an account, in listing order, with exact minor units, plus
/// the opening and current balance so tests can check `balance = opening + Σ transactions`.
async fn list_transactions(
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let store = state.read();
    let a = store
        .accounts
        .get(&id)
        .ok_or_else(|| ApiError::not_found("account not found"))?;
    let txs: Vec<Value> = a
        .txs
        .iter()
        .map(|t| control_tx_json(t, a.currency()))
        .collect();
    Ok(Json(json!({
        "accountId": a.id,
        "currency": a.currency(),
        "openingBalanceMinor": a.opening_minor,
        "balanceMinor": a.balance_minor,
        "transactions": txs,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddSpec {
    count: u32,
    /// Add them as pending (not booked yet).
    #[serde(default)]
    pending: bool,
}

/// Adds `count` deterministic transactions booked at the sandbox's now.
async fn add_transactions(
    State(state): State<AppState>,
    P(id): P<String>,
    Body(spec): Body<AddSpec>,
) -> ApiResult<Json<Value>> {
    if !(1..=100_000).contains(&spec.count) {
        return Err(ApiError::invalid("count must be from 1 to 100000"));
    }
    let now = state.clock.now();
    let mut store = state.write();
    let a = store
        .accounts
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("account not found"))?;
    let mut txs = seed::extra_transactions(state.seed, a, spec.count, now.unix_timestamp());
    for t in &mut txs {
        t.pending = spec.pending;
    }
    let ids: Vec<String> = txs.iter().map(|t| t.id.clone()).collect();
    a.next_index += u64::from(spec.count);
    a.insert_many(txs);
    a.transactions_updated_at = now;
    a.balances_updated_at = now;
    a.updated_at = now;
    for tx_id in &ids {
        store.tx_owner.insert(tx_id.clone(), id.clone());
    }
    Ok(Json(json!({ "transactionIds": ids })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchSpec {
    /// A decimal string (`"12.345"`); a JSON number is accepted too.
    amount: Option<Value>,
    description: Option<String>,
    /// `false` books a pending transaction.
    pending: Option<bool>,
}

async fn patch_transaction(
    State(state): State<AppState>,
    P(id): P<String>,
    Body(spec): Body<PatchSpec>,
) -> ApiResult<Json<Value>> {
    if spec.amount.is_none() && spec.description.is_none() && spec.pending.is_none() {
        return Err(ApiError::invalid("give amount, description and/or pending"));
    }
    if let Some(d) = &spec.description {
        if d.is_empty() || d.chars().count() > 500 {
            return Err(ApiError::invalid("description must be 1-500 characters"));
        }
    }
    let now = state.clock.now();
    let mut store = state.write();
    let account_id = store
        .tx_owner
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("transaction not found"))?;
    let a = store
        .accounts
        .get_mut(&account_id)
        .ok_or_else(|| ApiError::not_found("transaction not found"))?;
    let (exp, currency) = (a.exponent(), a.currency());
    let amount = match &spec.amount {
        None => None,
        Some(v) => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            Some(
                money::parse(&text, exp)
                    // Far above any real amount, and far from overflowing balance arithmetic.
                    .filter(|m| *m > 0 && *m <= 1_000_000_000_000_000)
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "amount must be a positive decimal with at most {exp} decimals"
                        ))
                    })?,
            )
        }
    };
    let t = a
        .txs
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("transaction not found"))?;
    let old = t.signed();
    if let Some(m) = amount {
        t.amount_minor = m;
    }
    if let Some(d) = spec.description {
        t.description = d;
    }
    if let Some(p) = spec.pending {
        t.pending = p;
    }
    let delta = t.signed().saturating_sub(old);
    let body = control_tx_json(t, currency);
    a.balance_minor = a.balance_minor.saturating_add(delta);
    a.transactions_updated_at = now;
    a.balances_updated_at = now;
    Ok(Json(body))
}

async fn delete_transaction(
    State(state): State<AppState>,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now();
    let mut store = state.write();
    let account_id = store
        .tx_owner
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("transaction not found"))?;
    if let Some(a) = store.accounts.get_mut(&account_id) {
        if let Some(pos) = a.txs.iter().position(|t| t.id == id) {
            let t = a.txs.remove(pos);
            a.balance_minor = a.balance_minor.saturating_sub(t.signed());
            a.transactions_updated_at = now;
            a.balances_updated_at = now;
        }
    }
    Ok(Json(json!({ "transactionId": id, "deleted": true })))
}

fn config_json(state: &AppState) -> Value {
    json!({
        "transactionsPerAccount": state.transactions_per_account(),
        "pageSize": state.page_size(),
        "tokenTtlSecs": state.token_ttl_secs(),
        "seed": state.seed,
    })
}

async fn get_config(State(state): State<AppState>) -> Json<Value> {
    Json(config_json(&state))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigSpec {
    transactions_per_account: Option<u32>,
    page_size: Option<u32>,
    token_ttl_secs: Option<i64>,
}

/// Applies to data seeded afterwards and to later requests; existing data is untouched.
async fn set_config(
    State(state): State<AppState>,
    Body(spec): Body<ConfigSpec>,
) -> ApiResult<Json<Value>> {
    if spec.transactions_per_account.is_some_and(|n| n > 1_000_000) {
        return Err(ApiError::invalid(
            "transactionsPerAccount must be at most 1000000",
        ));
    }
    if spec.page_size.is_some_and(|n| !(1..=1000).contains(&n)) {
        return Err(ApiError::invalid("pageSize must be from 1 to 1000"));
    }
    if spec
        .token_ttl_secs
        .is_some_and(|n| !(1..=31_536_000).contains(&n))
    {
        return Err(ApiError::invalid("tokenTtlSecs must be from 1 to 31536000"));
    }
    if let Some(n) = spec.transactions_per_account {
        state.set_transactions_per_account(n);
    }
    if let Some(n) = spec.page_size {
        state.set_page_size(n);
    }
    if let Some(n) = spec.token_ttl_secs {
        state.set_token_ttl_secs(n);
    }
    Ok(Json(config_json(&state)))
}

fn faults_json(state: &AppState) -> Value {
    json!({ "faults": state.controls().rules() })
}

async fn get_faults(State(state): State<AppState>) -> Json<Value> {
    Json(faults_json(&state))
}

async fn add_fault(
    State(state): State<AppState>,
    Body(spec): Body<RuleSpec>,
) -> ApiResult<Json<Value>> {
    let id = {
        let mut controls = state.controls();
        let rule = controls.add_rule(spec)?;
        serde_json::to_value(rule).unwrap_or(Value::Null)
    };
    let mut body = faults_json(&state);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("added".into(), id);
    }
    Ok(Json(body))
}

async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    state.controls().clear_rules();
    Json(faults_json(&state))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RateLimitSpec {
    per_second: f64,
    burst: u32,
}

fn rate_limit_json(state: &AppState) -> Value {
    json!({ "rateLimit": state.controls().rate_limit() })
}

async fn get_rate_limit(State(state): State<AppState>) -> Json<Value> {
    Json(rate_limit_json(&state))
}

async fn set_rate_limit(
    State(state): State<AppState>,
    Body(spec): Body<RateLimitSpec>,
) -> ApiResult<Json<Value>> {
    if !(spec.per_second > 0.0 && spec.per_second <= 1e6) {
        return Err(ApiError::invalid(
            "perSecond must be above 0 and at most 1000000",
        ));
    }
    if !(1..=1_000_000).contains(&spec.burst) {
        return Err(ApiError::invalid("burst must be from 1 to 1000000"));
    }
    state.controls().set_rate_limit(Some(RateLimit {
        per_second: spec.per_second,
        burst: spec.burst,
    }));
    Ok(Json(rate_limit_json(&state)))
}

async fn clear_rate_limit(State(state): State<AppState>) -> Json<Value> {
    state.controls().set_rate_limit(None);
    Json(rate_limit_json(&state))
}

async fn get_calls(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "calls": state.controls().calls }))
}

async fn reset_calls(State(state): State<AppState>) -> Json<Value> {
    let mut controls = state.controls();
    controls.calls.clear();
    Json(json!({ "calls": controls.calls }))
}

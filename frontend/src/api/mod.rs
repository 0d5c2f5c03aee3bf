//! One async function per API endpoint, all over one private `send`. Every failure becomes an
//! [`ApiError`]: the API's own error (with its field problems), "signed out" (a 401
//! `unauthenticated`, which also tells the app so it can send the person to sign in), "too many
//! requests" with the wait, or the network being down. An action that needs a fresh sign-in
//! (403 `reauth_required`, the API guide's step-up table) asks the app to have the person
//! confirm it is them, and is sent once more if they did. The session is the HttpOnly cookie the
//! browser sends by itself; the browser also sends `Origin`, which is what CSRF checks.

pub mod account;
pub mod keys;
pub mod mfa;
pub mod passkeys;
pub mod webhooks;
pub mod workspaces;

pub use workspaces::{
    accept_invitation, create_workspace, invite, members, remove_member, workspaces,
};

use std::{cell::RefCell, collections::BTreeMap, future::Future, pin::Pin, rc::Rc};

use gloo_net::http::{Method, RequestBuilder};
use serde::{de::DeserializeOwned, Serialize};
use shared::{
    admin::{AdminUser, AdminUserBody},
    banks::{
        BalanceHistory, BankConnection, BankConnectionBody, BankSync, BankSyncBody,
        CategoryInsight, ConnectRequest, ConnectResponse, SalaryInsight, SyncAccepted,
    },
    finance::{
        Account, Budget, BudgetBody, BudgetRequest, PatchTransactionRequest, Transaction,
        TransactionBody,
    },
    keys::{ApiKey, AuditEvent, CreateKeyRequest, CreatedKeyBody, RotateKeyRequest, ScopesBody},
    ChangePasswordRequest, EmailRequest, ErrorBody, LoginAnswer, LoginRequest, Page, ProvidersBody,
    ReauthBody, ReauthRequest, ResetPasswordRequest, SessionInfo, SignupRequest, StatusBody,
    TokenRequest, User, UserBody,
};

use crate::logic::{retry_message, with_query};

/// Why a call failed, in the terms the UI needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The API answered with its error shape.
    Api {
        status: u16,
        code: String,
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// The session is gone (expired, ended elsewhere, never there).
    SignedOut,
    /// 429: the message says when to try again.
    RateLimited(String),
    /// No answer at all, or one we could not read.
    Network(String),
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Api { message, .. } => message.clone(),
            ApiError::SignedOut => "You have been signed out. Sign in again.".into(),
            ApiError::RateLimited(m) => m.clone(),
            ApiError::Network(m) => m.clone(),
        }
    }

    /// The API's problem with one form field, if it named one.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            ApiError::Api { fields, .. } => fields.get(name).cloned(),
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::Api { code, .. } => code,
            ApiError::SignedOut => "unauthenticated",
            ApiError::RateLimited(_) => "too_many_requests",
            ApiError::Network(_) => "network",
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Asks the person to confirm it is them; resolves to whether they did.
type Reauth = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = bool>>>>;

thread_local! {
    static ON_SIGNED_OUT: RefCell<Option<Rc<dyn Fn()>>> = const { RefCell::new(None) };
    static ON_REAUTH: RefCell<Option<Reauth>> = const { RefCell::new(None) };
}

/// What the app does when an action answers 403 `reauth_required`.
pub fn on_reauth_required(f: impl Fn() -> Pin<Box<dyn Future<Output = bool>>> + 'static) {
    ON_REAUTH.with(|h| *h.borrow_mut() = Some(Rc::new(f)));
}

/// What the app does when any call finds the session gone.
pub fn on_signed_out(f: impl Fn() + 'static) {
    ON_SIGNED_OUT.with(|h| *h.borrow_mut() = Some(Rc::new(f)));
}

fn signed_out() {
    if let Some(f) = ON_SIGNED_OUT.with(|h| h.borrow().clone()) {
        f();
    }
}

/// Sends one request and returns the body of a successful answer; an answer of 403
/// `reauth_required` has the person confirm it is them, then sends it once more. Not generic,
/// so the request and error handling exist once in the `.wasm`; only [`json`] is per answer
/// type.
async fn send(method: Method, url: &str, body: Option<serde_json::Value>) -> ApiResult<String> {
    let res = send_raw(method, url, body).await?;
    res.text().await.map_err(|e| unreadable(&e))
}

/// A file the API answers with (`GET /api/v1/export`): its bytes and the name it suggests.
pub async fn download(url: &str) -> ApiResult<(Vec<u8>, Option<String>)> {
    let res = send_raw(Method::GET, url, None).await?;
    let name = res.headers().get("content-disposition").and_then(|d| {
        let (_, rest) = d.split_once("filename=\"")?;
        rest.split_once('"').map(|(n, _)| n.to_string())
    });
    let bytes = res.binary().await.map_err(|e| unreadable(&e))?;
    Ok((bytes, name))
}

/// [`send`] up to the successful answer, whose body is left unread.
async fn send_raw(
    method: Method,
    url: &str,
    body: Option<serde_json::Value>,
) -> ApiResult<gloo_net::http::Response> {
    let answer = send_once(method.clone(), url, body.clone()).await;
    if !matches!(&answer, Err(e) if e.code() == "reauth_required") {
        return answer;
    }
    let Some(ask) = ON_REAUTH.with(|h| h.borrow().clone()) else {
        return answer;
    };
    if ask().await {
        send_once(method, url, body).await
    } else {
        answer
    }
}

async fn send_once(
    method: Method,
    url: &str,
    body: Option<serde_json::Value>,
) -> ApiResult<gloo_net::http::Response> {
    let builder = RequestBuilder::new(url)
        .method(method)
        .header("Accept", "application/json");
    let request = match body {
        Some(b) => builder.json(&b),
        None => builder.build(),
    }
    .map_err(|e| ApiError::Network(format!("Could not build the request: {e}")))?;
    let res = request.send().await.map_err(|_| {
        ApiError::Network(
            "The server cannot be reached. Check your connection and try again.".into(),
        )
    })?;
    if res.ok() {
        return Ok(res);
    }
    let status = res.status();
    if status == 429 {
        return Err(ApiError::RateLimited(retry_message(
            res.headers().get("retry-after").as_deref(),
        )));
    }
    let (code, message, fields) = match res.json::<ErrorBody>().await {
        Ok(ErrorBody { error }) => (error.code, error.message, error.fields.unwrap_or_default()),
        Err(_) => (
            "unexpected".to_string(),
            format!("The server answered {status} without an explanation."),
            BTreeMap::new(),
        ),
    };
    if status == 401 && code == "unauthenticated" {
        signed_out();
        return Err(ApiError::SignedOut);
    }
    Err(ApiError::Api {
        status,
        code,
        message,
        fields,
    })
}

fn json<T: DeserializeOwned>(body: String) -> ApiResult<T> {
    serde_json::from_str(&body).map_err(|e| unreadable(&e))
}

fn unreadable(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::Network(format!("The server's answer could not be read: {e}"))
}

fn to_value(body: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(body).ok()
}

async fn get<T: DeserializeOwned>(url: &str) -> ApiResult<T> {
    json(send(Method::GET, url, None).await?)
}

async fn post<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> ApiResult<T> {
    json(send(Method::POST, url, to_value(body)).await?)
}

async fn patch<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> ApiResult<T> {
    json(send(Method::PATCH, url, to_value(body)).await?)
}

/// A POST or DELETE whose answer carries no body we need.
async fn act(method: Method, url: &str) -> ApiResult<()> {
    send(method, url, None).await.map(|_| ())
}

/// The `workspaceId` query pair; `None` is the person's personal workspace.
fn ws(path: &str, workspace: &Option<String>, extra: &[(&str, Option<&str>)]) -> String {
    let mut pairs = vec![("workspaceId", workspace.as_deref())];
    pairs.extend_from_slice(extra);
    with_query(path, &pairs)
}

/// A list URL: `limit`, `cursor` and any filters, through the one query-string builder.
fn page(
    path: &str,
    cursor: &Option<String>,
    limit: u32,
    filters: &[(&str, Option<&str>)],
) -> String {
    let limit = limit.to_string();
    let mut pairs = vec![
        ("limit", Some(limit.as_str())),
        ("cursor", cursor.as_deref()),
    ];
    pairs.extend_from_slice(filters);
    with_query(path, &pairs)
}

// --- sign-in -------------------------------------------------------------------------------

pub async fn providers() -> ApiResult<ProvidersBody> {
    get("/api/v1/auth/providers").await
}
pub async fn me() -> ApiResult<User> {
    get::<UserBody>("/api/v1/auth/me").await.map(|b| b.user)
}
pub async fn signup(req: SignupRequest) -> ApiResult<StatusBody> {
    post("/api/v1/auth/signup", &req).await
}
pub async fn verify_email(token: String) -> ApiResult<User> {
    post::<UserBody>("/api/v1/auth/verify-email", &TokenRequest { token })
        .await
        .map(|b| b.user)
}
pub async fn resend_verification(email: String) -> ApiResult<StatusBody> {
    post("/api/v1/auth/verify-email/resend", &EmailRequest { email }).await
}
/// Signed in, or waiting for a second factor (`mfa::verify` completes it).
pub async fn login(req: LoginRequest) -> ApiResult<LoginAnswer> {
    post("/api/v1/auth/login", &req).await
}
pub async fn logout() -> ApiResult<()> {
    act(Method::POST, "/api/v1/auth/logout").await
}
pub async fn forgot_password(email: String) -> ApiResult<StatusBody> {
    post("/api/v1/auth/password/forgot", &EmailRequest { email }).await
}
pub async fn reset_password(req: ResetPasswordRequest) -> ApiResult<StatusBody> {
    post("/api/v1/auth/password/reset", &req).await
}
/// Confirms it is the signed-in person (step-up), with their password.
pub async fn reauth(req: ReauthRequest) -> ApiResult<ReauthBody> {
    post("/api/v1/auth/reauth", &req).await
}

pub async fn change_password(req: ChangePasswordRequest) -> ApiResult<StatusBody> {
    post("/api/v1/auth/password/change", &req).await
}
pub async fn unlink_google() -> ApiResult<()> {
    act(Method::DELETE, "/api/v1/auth/identities/google").await
}
pub async fn sessions() -> ApiResult<Page<SessionInfo>> {
    get(&page("/api/v1/auth/sessions", &None, 200, &[])).await
}
pub async fn end_session(id: String) -> ApiResult<()> {
    act(
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{}", crate::logic::encode(&id)),
    )
    .await
}
pub async fn end_other_sessions() -> ApiResult<()> {
    act(Method::DELETE, "/api/v1/auth/sessions").await
}

// --- keys and audit ------------------------------------------------------------------------

pub async fn scopes() -> ApiResult<ScopesBody> {
    get("/api/v1/scopes").await
}
pub async fn keys(cursor: Option<String>) -> ApiResult<Page<ApiKey>> {
    get(&page("/api/v1/keys", &cursor, 50, &[])).await
}
pub async fn create_key(req: CreateKeyRequest) -> ApiResult<CreatedKeyBody> {
    post("/api/v1/keys", &req).await
}
pub async fn rotate_key(id: String, grace_period_seconds: i64) -> ApiResult<CreatedKeyBody> {
    post(
        &format!("/api/v1/keys/{}/rotate", crate::logic::encode(&id)),
        &RotateKeyRequest {
            grace_period_seconds,
        },
    )
    .await
}
pub async fn revoke_key(id: String) -> ApiResult<()> {
    act(
        Method::DELETE,
        &format!("/api/v1/keys/{}", crate::logic::encode(&id)),
    )
    .await
}
pub async fn audit_log(
    kind: Option<String>,
    cursor: Option<String>,
) -> ApiResult<Page<AuditEvent>> {
    get(&page(
        "/api/v1/audit-log",
        &cursor,
        50,
        &[("type", kind.as_deref())],
    ))
    .await
}

// --- money ---------------------------------------------------------------------------------

pub async fn accounts(workspace: Option<String>) -> ApiResult<Page<Account>> {
    get(&ws(
        "/api/v1/accounts",
        &workspace,
        &[("limit", Some("200"))],
    ))
    .await
}

/// Filters of the transactions list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TxFilter {
    pub account_id: String,
    pub from: String,
    pub to: String,
    pub category: String,
}

pub async fn transactions(
    workspace: Option<String>,
    filter: TxFilter,
    cursor: Option<String>,
    limit: u32,
) -> ApiResult<Page<Transaction>> {
    let limit = limit.to_string();
    get(&ws(
        "/api/v1/transactions",
        &workspace,
        &[
            ("accountId", Some(&filter.account_id)),
            ("from", Some(&filter.from)),
            ("to", Some(&filter.to)),
            ("category", Some(&filter.category)),
            ("limit", Some(&limit)),
            ("cursor", cursor.as_deref()),
        ],
    ))
    .await
}
pub async fn patch_transaction(
    workspace: Option<String>,
    id: String,
    req: PatchTransactionRequest,
) -> ApiResult<Transaction> {
    let url = ws(
        &format!("/api/v1/transactions/{}", crate::logic::encode(&id)),
        &workspace,
        &[],
    );
    patch::<TransactionBody>(&url, &req)
        .await
        .map(|b| b.transaction)
}
pub async fn budgets(workspace: Option<String>) -> ApiResult<Page<Budget>> {
    get(&ws(
        "/api/v1/budgets",
        &workspace,
        &[("limit", Some("200"))],
    ))
    .await
}
pub async fn create_budget(workspace: Option<String>, req: BudgetRequest) -> ApiResult<Budget> {
    post::<BudgetBody>(&ws("/api/v1/budgets", &workspace, &[]), &req)
        .await
        .map(|b| b.budget)
}
pub async fn update_budget(
    workspace: Option<String>,
    id: String,
    req: BudgetRequest,
) -> ApiResult<Budget> {
    let url = ws(
        &format!("/api/v1/budgets/{}", crate::logic::encode(&id)),
        &workspace,
        &[],
    );
    json::<BudgetBody>(send(Method::PUT, &url, to_value(&req)).await?).map(|b| b.budget)
}
pub async fn delete_budget(workspace: Option<String>, id: String) -> ApiResult<()> {
    act(
        Method::DELETE,
        &ws(
            &format!("/api/v1/budgets/{}", crate::logic::encode(&id)),
            &workspace,
            &[],
        ),
    )
    .await
}

// --- banks ---------------------------------------------------------------------------------

pub async fn connections(workspace: Option<String>) -> ApiResult<Vec<BankConnection>> {
    get::<Page<BankConnection>>(&ws("/api/v1/banks/connections", &workspace, &[]))
        .await
        .map(|p| p.items)
}
pub async fn bank_providers(
    workspace: Option<String>,
) -> ApiResult<Vec<shared::banks::BankProvider>> {
    get::<shared::banks::ProvidersBody>(&ws("/api/v1/banks/providers", &workspace, &[]))
        .await
        .map(|b| b.providers)
}
pub async fn connect_bank(
    workspace: Option<String>,
    provider_id: Option<String>,
) -> ApiResult<ConnectResponse> {
    post(
        &ws("/api/v1/banks/connect", &workspace, &[]),
        &ConnectRequest { provider_id },
    )
    .await
}
pub async fn start_sync(workspace: Option<String>, id: String) -> ApiResult<String> {
    let url = ws(
        &format!(
            "/api/v1/banks/connections/{}/sync",
            crate::logic::encode(&id)
        ),
        &workspace,
        &[],
    );
    json::<SyncAccepted>(send(Method::POST, &url, None).await?).map(|s| s.sync_id)
}
pub async fn sync_status(workspace: Option<String>, id: String) -> ApiResult<BankSync> {
    get::<BankSyncBody>(&ws(
        &format!("/api/v1/banks/syncs/{}", crate::logic::encode(&id)),
        &workspace,
        &[],
    ))
    .await
    .map(|b| b.sync)
}
pub async fn refresh_balances(workspace: Option<String>, id: String) -> ApiResult<BankConnection> {
    let url = ws(
        &format!(
            "/api/v1/banks/connections/{}/refresh-balances",
            crate::logic::encode(&id)
        ),
        &workspace,
        &[],
    );
    json::<BankConnectionBody>(send(Method::POST, &url, None).await?).map(|b| b.connection)
}
pub async fn disconnect(workspace: Option<String>, id: String, delete_data: bool) -> ApiResult<()> {
    act(
        Method::DELETE,
        &ws(
            &format!("/api/v1/banks/connections/{}", crate::logic::encode(&id)),
            &workspace,
            &[("deleteData", delete_data.then_some("true"))],
        ),
    )
    .await
}

// --- insights ------------------------------------------------------------------------------

fn window(path: &str, workspace: &Option<String>, from: &str, to: &str) -> String {
    ws(path, workspace, &[("from", Some(from)), ("to", Some(to))])
}
pub async fn spending(
    workspace: Option<String>,
    from: String,
    to: String,
) -> ApiResult<CategoryInsight> {
    get(&window("/api/v1/insights/spending", &workspace, &from, &to)).await
}
pub async fn income(
    workspace: Option<String>,
    from: String,
    to: String,
) -> ApiResult<CategoryInsight> {
    get(&window("/api/v1/insights/income", &workspace, &from, &to)).await
}
pub async fn salary(
    workspace: Option<String>,
    from: String,
    to: String,
) -> ApiResult<SalaryInsight> {
    get(&window("/api/v1/insights/salary", &workspace, &from, &to)).await
}
pub async fn balance_history(
    workspace: Option<String>,
    from: String,
    to: String,
) -> ApiResult<BalanceHistory> {
    get(&window(
        "/api/v1/insights/balance-history",
        &workspace,
        &from,
        &to,
    ))
    .await
}

// --- admin ---------------------------------------------------------------------------------

pub async fn admin_users(q: String, cursor: Option<String>) -> ApiResult<Page<AdminUser>> {
    get(&page(
        "/api/v1/admin/users",
        &cursor,
        50,
        &[("q", Some(&q))],
    ))
    .await
}
pub async fn admin_set_disabled(id: String, disabled: bool) -> ApiResult<AdminUser> {
    let verb = if disabled { "disable" } else { "enable" };
    json::<AdminUserBody>(
        send(
            Method::POST,
            &format!("/api/v1/admin/users/{}/{verb}", crate::logic::encode(&id)),
            None,
        )
        .await?,
    )
    .map(|b| b.user)
}
pub async fn admin_audit(id: String) -> ApiResult<Page<AuditEvent>> {
    get(&page(
        &format!(
            "/api/v1/admin/users/{}/audit-log",
            crate::logic::encode(&id)
        ),
        &None,
        50,
        &[],
    ))
    .await
}

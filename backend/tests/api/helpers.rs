//! `TestApp`: a real pfn server on 127.0.0.1:0 with its own database, data dir and clock.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use backend::{
    config::Config,
    state::{AppState, Clock},
};
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use tokio::sync::oneshot;

#[path = "contract.rs"]
pub mod contract;

pub const PASSWORD: &str = "tangerine-vortex-41";

pub struct TestApp {
    /// The public origin (what browsers send as `Origin` and mail links start with).
    pub origin: String,
    /// Where the server listens (`http://127.0.0.1:<port>`): the public origin in development.
    pub base: String,
    pub state: AppState,
    pub clock: Clock,
    pub data_dir: PathBuf,
    /// A client with its own cookie jar that sends `Origin` like a browser on our page.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pg_db: Option<(String, String)>,
    /// The settings it started with (a replica reuses them).
    vars: HashMap<String, String>,
    /// Replicas share the first server's data dir and database and leave them alone on drop.
    owns_data: bool,
    /// Error answers the OpenAPI document does not list (`contract`); checked on drop.
    violations: contract::Violations,
}

/// Whether this run's servers use PostgreSQL (`PFN_TEST_DB=postgres`), not SQLite.
pub fn on_postgres() -> bool {
    std::env::var("PFN_TEST_DB").as_deref() == Ok("postgres")
}

pub fn postgres_admin_url() -> String {
    std::env::var("PFN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts a server with extra settings (`PFN_*` variables).
    pub async fn spawn_with(settings: &[(&str, &str)]) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("pfn-test-{id}"));
        std::fs::create_dir_all(&data_dir).unwrap();
        let mut pg_db = None;
        let database_url = match std::env::var("PFN_TEST_DB").as_deref() {
            Ok("postgres") => {
                let admin = postgres_admin_url();
                let name = format!("pfn_test_{id}");
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PFN_TEST_DB=postgres but PostgreSQL at {admin} is unreachable: {e}")
                    });
                conn.execute(format!("create database {name}").as_str())
                    .await
                    .unwrap();
                let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
                pg_db = Some((admin, name));
                url
            }
            Ok("sqlite") | Err(_) => format!("sqlite://{}/pfn.db", data_dir.display()),
            Ok(other) => panic!("PFN_TEST_DB={other}: use sqlite or postgres"),
        };
        let mut vars: HashMap<String, String> = HashMap::from([
            ("PFN_DATA_DIR".into(), data_dir.display().to_string()),
            ("PFN_DATABASE_URL".into(), database_url),
        ]);
        for (k, v) in settings {
            vars.insert(k.to_string(), v.to_string());
        }
        Self::start(vars, data_dir, pg_db, true).await
    }

    /// Another replica of this server: same database, data dir (so the same secret) and
    /// settings, plus `overrides`; its own listener, caches, clock and limiter.
    pub async fn spawn_replica(&self, overrides: &[(&str, &str)]) -> Self {
        let mut vars = self.vars.clone();
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        Self::start(vars, self.data_dir.clone(), None, false).await
    }

    async fn start(
        vars: HashMap<String, String>,
        data_dir: PathBuf,
        pg_db: Option<(String, String)>,
        owns_data: bool,
    ) -> Self {
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let clock = Clock::default();
        let state = backend::build(config, port, clock.clone())
            .await
            .expect("app builds");
        let (stop, stopped) = oneshot::channel();
        let violations = contract::Violations::default();
        let app = contract::watch(backend::http::app(state.clone()), violations.clone());
        let served = tokio::spawn(backend::serve_app(listener, state.clone(), app, async {
            let _ = stopped.await;
        }));
        let origin = state.web.public_origin.clone();
        Self {
            client: browser(&origin),
            origin,
            base: format!("http://127.0.0.1:{port}"),
            state,
            clock,
            data_dir,
            stop: Some(stop),
            served: Some(served),
            pg_db,
            vars,
            owns_data,
            violations,
        }
    }

    /// Stops this server (waiting until it has) and starts it again on the same data dir and
    /// database with `overrides` on top of its settings: a restart, e.g. after an upgrade or a
    /// change of configuration. The new server has a new port, clock and caches.
    pub async fn restart_with(mut self, overrides: &[(&str, &str)]) -> Self {
        let mut vars = self.vars.clone();
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        self.stop_serving().await;
        let (data_dir, pg_db) = (self.data_dir.clone(), self.pg_db.take());
        self.owns_data = false;
        let next = Self::start(vars, data_dir, pg_db, true).await;
        drop(self);
        next
    }

    /// Stops serving and waits for the server's tasks to end.
    pub async fn stop_serving(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Another browser (own cookie jar).
    pub fn browser(&self) -> reqwest::Client {
        browser(&self.origin)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path` with this browser, read as JSON (whatever the status).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.get(path).await.json().await.unwrap()
    }

    /// `GET path` with `browser`, read as JSON (whatever the status).
    pub async fn get_json_as<T: serde::de::DeserializeOwned>(
        &self,
        browser: &reqwest::Client,
        path: &str,
    ) -> T {
        let res = browser.get(self.url(path)).send().await.unwrap();
        res.json().await.unwrap()
    }

    /// `DELETE path` with this browser.
    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/signup",
            json!({"email": email, "password": password, "name": "Test User"}),
        )
        .await
    }

    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> Response {
        client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.login_with(&self.client, email, password).await
    }

    /// Signs up, verifies through the mailed link, and signs in `self.client`.
    pub async fn signed_in_user(&self, email: &str) {
        assert_eq!(
            self.signup(email, PASSWORD).await.status(),
            StatusCode::ACCEPTED
        );
        let token = self.newest_token(email, "/verify-email").await;
        let res = self
            .post("/api/v1/auth/verify-email", json!({"token": token}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(self.login(email, PASSWORD).await.status(), StatusCode::OK);
    }

    /// The bootstrap admin (`PFN_BOOTSTRAP_ADMIN_EMAIL` = `email`) sets their password with the
    /// link mailed at start-up and signs in `self.client`.
    pub async fn bootstrap_admin_signs_in(&self, email: &str) {
        let token = self.token_from_mail(email, "/reset-password", 1).await;
        let res = self
            .post(
                "/api/v1/auth/password/reset",
                json!({"token": token, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(self.login(email, PASSWORD).await.status(), StatusCode::OK);
    }

    /// The session `browser` signs in with, as `GET /api/v1/auth/sessions` lists it.
    pub async fn current_session(&self, browser: &reqwest::Client) -> Value {
        let page: Value = self.get_json_as(browser, "/api/v1/auth/sessions").await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .expect("the current session is listed")
            .clone()
    }

    /// The `type` of every event in the signed-in user's audit log (up to 200), newest first.
    pub async fn audit_kinds(&self) -> Vec<String> {
        let log: Value = self.get_json("/api/v1/audit-log?limit=200").await;
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }

    /// Another person: signs `email` up, verifies it through the mailed link, and returns a
    /// browser (own cookie jar) signed in as them.
    pub async fn other_user(&self, email: &str) -> reqwest::Client {
        let browser = self.browser();
        assert_eq!(
            self.signup(email, PASSWORD).await.status(),
            StatusCode::ACCEPTED
        );
        let token = self.newest_token(email, "/verify-email").await;
        let res = browser
            .post(self.url("/api/v1/auth/verify-email"))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            self.login_with(&browser, email, PASSWORD).await.status(),
            StatusCode::OK
        );
        browser
    }

    /// The id of the user signed in on `client`.
    pub async fn user_id(&self, client: &reqwest::Client) -> String {
        let me: Value = self.get_json_as(client, "/api/v1/auth/me").await;
        me["user"]["id"].as_str().unwrap().to_string()
    }

    /// Every `.eml` in the outbox addressed to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        let dir = self.data_dir.join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|m| {
                m.lines()
                    .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")))
            })
            .collect()
    }

    /// Waits (up to 10 s) for the `n`-th mail to `to`, and returns it.
    pub async fn wait_for_mail(&self, to: &str, n: usize) -> String {
        for _ in 0..200 {
            let mails = self.mails_to(to);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail #{n} to {to} in {}", self.data_dir.display());
    }

    /// The token of the `path?token=` link in the `n`-th mail to `to` (a link to this server,
    /// or to the one before a restart: the origin is not compared).
    pub async fn token_from_mail(&self, to: &str, path: &str, n: usize) -> String {
        let mail = self.wait_for_mail(to, n).await;
        link_token(&mail, path).unwrap_or_else(|| panic!("no {path} link in:\n{mail}"))
    }

    /// The token of the `path?token=` link in the newest mail to `to` that has one, waiting
    /// (up to 10 s) for such a mail; for flows where other mail may arrive in between.
    pub async fn newest_token(&self, to: &str, path: &str) -> String {
        for _ in 0..200 {
            if let Some(token) = self
                .mails_to(to)
                .iter()
                .rev()
                .find_map(|m| link_token(m, path))
            {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} with a {path} link");
    }
}

/// The token of the first `…path?token=<token>` link in `mail`.
fn link_token(mail: &str, path: &str) -> Option<String> {
    let marker = format!("{path}?token=");
    mail.lines()
        .find(|l| l.starts_with("http") && l.contains(&marker))
        .map(|l| l.split_once(&marker).unwrap().1.trim().to_string())
}

fn browser(origin: &str) -> reqwest::Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, origin.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The session cookie's value from a login response.
pub fn session_cookie(res: &Response) -> String {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("pfn_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("login sets pfn_session")
}

/// Reads an error body and checks its shape; returns `(code, fields)`.
pub async fn error_of(res: Response) -> (String, Value) {
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/json"),
        "error content-type {ct:?}"
    );
    let body: Value = res.json().await.expect("error body is JSON");
    let err = &body["error"];
    assert!(
        err["code"].is_string() && err["message"].is_string(),
        "bad error shape: {body}"
    );
    (
        err["code"].as_str().unwrap().to_string(),
        err["fields"].clone(),
    )
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.clean_up();
        let violations = std::mem::take(&mut *self.violations.lock().unwrap());
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "answers the OpenAPI document does not list:\n{}",
                violations.join("\n")
            );
        }
    }
}

impl TestApp {
    /// Removes the data dir and the PostgreSQL database, unless a replica shares them.
    fn clean_up(&mut self) {
        if !self.owns_data {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some((admin, name)) = self.pg_db.take() {
            // Drop is sync; use a short-lived runtime on another thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = c
                            .execute(
                                format!("drop database if exists {name} with (force)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Everything the server logs (at debug level) from now on, for tests that grep the logs.
/// One global subscriber for the whole test binary: other tests' lines appear too.
pub fn captured_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A manual cash account named `name` in `currency` of `app.client`'s user (asserts 201).
pub async fn manual_account(app: &TestApp, name: &str, currency: &str) -> String {
    let res = app
        .post(
            "/api/v1/accounts",
            json!({"name": name, "currency": currency, "kind": "cash"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A manual BHD account of `app.client`'s user.
pub async fn cash_account(app: &TestApp) -> String {
    let res = app
        .post(
            "/api/v1/accounts",
            json!({"name": "Cash", "currency": "BHD", "kind": "cash"}),
        )
        .await;
    res.json::<Value>().await.unwrap()["account"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Keeps a test that reads today's usage two minutes clear of midnight (UTC) on the app's
/// clock: counts are flushed to the day of 30 s before the flush, so within that time of
/// midnight they land on the day before the one the usage calls today.
pub fn clear_of_midnight(app: &TestApp) {
    let into_day = app.clock.now().rem_euclid(86_400);
    if !(120..86_400 - 120).contains(&into_day) {
        app.clock.advance((120 - into_day).rem_euclid(86_400));
    }
}

/// Creates an API key through the API with the session of `app.client`; returns (id, secret).
pub async fn create_key(app: &TestApp, body: Value) -> (String, String) {
    let res = app.post("/api/v1/keys", body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    (
        v["key"]["id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

/// `GET path` with `Authorization: Bearer <key>` and no cookie.
pub async fn with_key(app: &TestApp, key: &str, path: &str) -> Response {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

/// A control call to a Tarabut sandbox at `base` (`/__sandbox/...`); asserts it succeeded.
pub async fn sandbox_control(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let res = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "sandbox control {path}: {}",
        res.status()
    );
    res.json().await.unwrap_or(Value::Null)
}

/// Starts a Connect flow on `app`, completes it with `status` at the sandbox at `sandbox`, and
/// follows the redirect back with `browser`. Returns the callback's `Location`.
pub async fn connect_at(
    app: &TestApp,
    browser: &reqwest::Client,
    sandbox: &str,
    provider: &str,
    status: &str,
) -> String {
    let intent = start_connect(app, &app.client, "", provider).await;
    complete_connect(app, browser, sandbox, &intent, provider, status).await
}

/// `client` starts a Connect flow for `provider` (`query`: e.g. `?workspaceId=…`, or ""); returns
/// the intent id.
pub async fn start_connect(
    app: &TestApp,
    client: &reqwest::Client,
    query: &str,
    provider: &str,
) -> String {
    let res = client
        .post(app.url(&format!("/api/v1/banks/connect{query}")))
        .json(&json!({"providerId": provider}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let started: Value = res.json().await.unwrap();
    let intent = started["intentId"].as_str().unwrap().to_string();
    assert!(started["connectUrl"].as_str().unwrap().contains(&intent));
    intent
}

/// Completes `intent` with `status` at the sandbox at `sandbox` and follows the redirect back
/// with `browser`; returns the callback's `Location`.
pub async fn complete_connect(
    app: &TestApp,
    browser: &reqwest::Client,
    sandbox: &str,
    intent: &str,
    provider: &str,
    status: &str,
) -> String {
    let done = sandbox_control(
        sandbox,
        reqwest::Method::POST,
        &format!("/__sandbox/intents/{intent}/complete"),
        json!({"status": status, "providerId": provider}),
    )
    .await;
    let location = done["location"].as_str().unwrap();
    assert!(
        location.starts_with(&app.url("/api/v1/banks/callback")),
        "{location}"
    );
    let res = browser.get(location).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    res.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// Connects `provider` for `app.client`'s user through the sandbox at `sandbox` and waits for
/// the first sync; returns the connection id.
pub async fn connect_and_sync(app: &TestApp, sandbox: &str, provider: &str) -> String {
    let location = connect_at(app, &app.client, sandbox, provider, "SUCCESSFUL").await;
    let id = location
        .strip_prefix("/connections?connected=")
        .unwrap_or_else(|| panic!("connect failed: {location}"))
        .to_string();
    wait_for_sync(app, &id).await;
    id
}

/// Waits until the connection has no sync queued or running; returns the connection.
pub async fn wait_for_sync(app: &TestApp, id: &str) -> Value {
    for _ in 0..600 {
        let c: Value = app
            .get_json(&format!("/api/v1/banks/connections/{id}"))
            .await;
        if c["connection"]["currentSyncId"].is_null()
            && !c["connection"]["lastSyncStatus"].is_null()
        {
            return c["connection"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sync of {id} did not finish in 30 s");
}

/// Invites `email` into `ws` as `role` from `inviter` and has `invitee` accept the `n`-th mail.
pub async fn join(
    app: &TestApp,
    inviter: &reqwest::Client,
    invitee: &reqwest::Client,
    ws: &str,
    email: &str,
    role: &str,
    n: usize,
) {
    let res = inviter
        .post(app.url(&format!("/api/v1/workspaces/{ws}/members")))
        .json(&json!({"email": email, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = app.token_from_mail(email, "/invitations/accept", n).await;
    let res = invitee
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Creates a shared workspace with `app.client`'s session (its owner); returns its id.
pub async fn shared_workspace(app: &TestApp, name: &str) -> String {
    let res = app.post("/api/v1/workspaces", json!({"name": name})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every operation of an OpenAPI document, as `(method, path, operation)` with its path
/// parameters filled in: a workspace route's `{id}` is `workspace` (so its role extractor judges
/// the caller's role there), any other parameter an id naming nothing.
pub fn documented_operations(doc: &Value, workspace: &str) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let filled = path
                .split('/')
                .map(|s| match s {
                    "{id}" if path.starts_with("/api/v1/workspaces/") => workspace,
                    s if s.starts_with('{') => "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c",
                    s => s,
                })
                .collect::<Vec<_>>()
                .join("/");
            ops.push((method.to_uppercase(), filled, op.clone()));
        }
    }
    ops
}

/// Sends `method path` with `client` (with `bearer` as the key, and `{}` as the body of a write)
/// and answers the status and the error code (empty for a success).
pub async fn call_operation(
    app: &TestApp,
    client: &reqwest::Client,
    method: &reqwest::Method,
    path: &str,
    bearer: Option<&str>,
) -> (StatusCode, String) {
    use reqwest::Method;
    let mut req = client.request(method.clone(), app.url(path));
    if let Some(key) = bearer {
        req = req.bearer_auth(key);
    }
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        req = req.json(&json!({}));
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or_default();
    (status, code.to_string())
}

/// Every table of the database and its columns, on SQLite or PostgreSQL.
pub async fn tables_and_columns(db: &backend::db::Db) -> Vec<(String, Vec<String>)> {
    use backend::db::Backend;
    let tables: Vec<String> = match db.backend {
        Backend::Sqlite => sqlx::query_scalar(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'",
        ),
        Backend::Postgres => sqlx::query_scalar(
            "select cast(table_name as text) from information_schema.tables
             where table_schema = 'public' and table_type = 'BASE TABLE'",
        ),
    }
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> = match db.backend {
            Backend::Sqlite => sqlx::query_scalar("select name from pragma_table_info($1)"),
            Backend::Postgres => sqlx::query_scalar(
                "select cast(column_name as text) from information_schema.columns
                 where table_schema = 'public' and table_name = $1",
            ),
        }
        .bind(&table)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        out.push((table, columns));
    }
    out
}

/// The id of the personal workspace of the user `client` is signed in as.
pub async fn personal_workspace(app: &TestApp, client: &reqwest::Client) -> String {
    let list: Value = app.get_json_as(client, "/api/v1/workspaces").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["personal"] == true)
        .expect("a personal workspace")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Tarabut's customer and consent of our bank connection `id`.
pub async fn consent_ids(app: &TestApp, id: &str) -> (String, String) {
    use sqlx::Row;
    let row =
        sqlx::query("select customer_user_id, consent_id from bank_connections where id = $1")
            .bind(id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    (row.try_get(0).unwrap(), row.try_get(1).unwrap())
}

/// The status Tarabut itself gives that consent (`REVOKED` once revoked).
pub async fn consent_status(
    app: &TestApp,
    (customer, consent): &(String, String),
) -> Option<String> {
    app.state
        .banks
        .client
        .consent(customer, consent)
        .await
        .unwrap()
        .status
}

/// Rows of `transactions` and of the rollup tables whose account is gone or is another
/// workspace's, and rows of `account`, table by table.
pub async fn rows_left(app: &TestApp, account: &str) -> Vec<(&'static str, i64, i64)> {
    let mut left = Vec::new();
    for table in backend::db::finance::ACCOUNT_ROW_TABLES {
        let (astray, own): (i64, i64) = sqlx::query_as(&format!(
            "select (select count(*) from {table} r
                     where not exists (select 1 from accounts a
                                       where a.id = r.account_id and a.workspace_id = r.workspace_id)),
                    (select count(*) from {table} where account_id = $1)"
        ))
        .bind(account)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        left.push((table, astray, own));
    }
    left
}

/// Waits until `n` sessions of the test's PostgreSQL database wait for a lock.
pub async fn lock_waits(app: &TestApp, n: i64) {
    for _ in 0..1000 {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{n} lock waits did not happen within 10 s");
}

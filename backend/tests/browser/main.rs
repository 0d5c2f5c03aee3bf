//! Browser tests: headless Chromium (through chromedriver) drives the SPA's release build, served
//! by a real pfn server on port 0 with its bundled Tarabut sandbox. `scripts/test` builds the
//! SPA first; run alone with `scripts/build-spa && cargo test -p backend --test browser`.
//!
//! Screenshots of the main pages (desktop and phone widths) go to the test's temporary
//! directory, or to `docs/screenshots/` with `PFN_UPDATE_SCREENSHOTS=1`.

mod account;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod keys;
mod mfa;
mod passkeys;
#[path = "../api/totp.rs"]
mod totp;
mod webhooks;

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{TestApp, PASSWORD};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The SPA's release build; the test fails (it never skips) when it is missing.
fn spa_dir() -> PathBuf {
    let dir = std::env::var("PFN_SPA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "no SPA build in {}: run scripts/build-spa first",
        dir.display()
    );
    dir
}

/// chromedriver in its own process group; dropping it kills the group, Chromium included.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}): install chromium and chromium-driver (scripts/test does)")
            });
        let profile =
            std::env::temp_dir().join(format!("pfn-chrome-{}", uuid::Uuid::new_v4().simple()));
        Self {
            child,
            port,
            profile,
        }
    }

    async fn connect(&self) -> Client {
        let caps = json!({
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                         format!("--user-data-dir={}", self.profile.display())],
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{}", self.port);
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => return c,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("chromedriver at {url} did not start a browser");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Runs `scenario` in a fresh browser and always closes it, even when the scenario panics.
async fn in_browser<F, Fut>(scenario: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let driver = Driver::start();
    let client = driver.connect().await;
    let c = client.clone();
    let outcome = tokio::spawn(async move { scenario(c).await }).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn spawn_app() -> TestApp {
    let dist = spa_dir();
    TestApp::spawn_with(&[("PFN_SPA_DIR", dist.to_str().unwrap())]).await
}

/// Waits for an element; the error names what was awaited and where the browser is.
/// A lookup that a navigation aborts (a form submitted by the previous click) is made again on
/// the new page.
async fn el(c: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.wait().at_most(left).for_element(Locator::Css(css)).await {
            Ok(e) => return e,
            Err(e) if !left.is_zero() && e.to_string().contains("aborted by navigation") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!(
                "no `{css}` at {} after {WAIT:?}: {e}\n{}",
                c.current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
                c.source().await.unwrap_or_default()
            ),
        }
    }
}

/// Waits until the page's text contains `text`.
async fn see(c: &Client, text: &str) {
    see_within(c, text, WAIT).await
}

/// [`see`] with a wait of its own (a bank sync, while another browser test shares the cores).
async fn see_within(c: &Client, text: &str, wait: Duration) {
    for _ in 0..(wait.as_millis() / 100) {
        if let Ok(body) = c.find(Locator::Css("body")).await {
            if body.text().await.unwrap_or_default().contains(text) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "never saw {text:?} at {}:\n{}",
        c.current_url().await.unwrap(),
        c.find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    );
}

async fn wait_path(c: &Client, path_and_query: &str) {
    for _ in 0..(WAIT.as_millis() / 100) {
        let url = c.current_url().await.unwrap();
        let here = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        if here == path_and_query {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "expected to be at {path_and_query}, but at {}",
        c.current_url().await.unwrap()
    );
}

async fn fill(c: &Client, css: &str, text: &str) {
    let input = el(c, css).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    el(c, css).await.click().await.unwrap();
}

/// Clicks the button whose text is exactly `label` (within `scope`).
async fn click_button(c: &Client, scope: &str, label: &str) {
    let xpath = format!("{scope}//button[normalize-space(.)='{label}']");
    match c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
    {
        Ok(b) => b.click().await.unwrap(),
        Err(e) => panic!("no button {label:?} ({xpath}): {e}"),
    }
}

async fn sign_in(c: &Client, email: &str, password: &str) {
    fill(c, "#f-email", email).await;
    fill(c, "#f-password", password).await;
    click(c, "form button[type=submit]").await;
}

/// Signs a verified user in from the sign-in page and waits for the overview.
async fn open_signed_in(c: &Client, origin: &str, email: &str) {
    c.goto(&format!("{origin}/login")).await.unwrap();
    sign_in(c, email, PASSWORD).await;
    wait_path(c, "/").await;
}

fn screenshot_dir() -> PathBuf {
    let dir = if std::env::var("PFN_UPDATE_SCREENSHOTS").is_ok() {
        workspace_root().join("docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page at desktop and at phone width, as `<name>-desktop.png` and `<name>-phone.png`.
async fn screenshots(c: &Client, name: &str) {
    let dir = screenshot_dir();
    for (suffix, w, h) in [("desktop", 1280, 860), ("phone", 390, 844)] {
        c.set_window_size(w, h).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}-{suffix}.png")), png).unwrap();
    }
    c.set_window_size(1280, 900).await.unwrap();
}

async fn whoami_status(app: &TestApp, key: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_verify_sign_in_create_use_and_revoke_a_key() {
    let app = spawn_app().await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        let email = "layla@example.com";
        // Sign up.
        c.goto(&format!("{origin}/signup")).await.unwrap();
        screenshots(&c, "signup").await;
        fill(&c, "#f-name", "Layla").await;
        fill(&c, "#f-email", email).await;
        fill(&c, "#f-password", PASSWORD).await;
        click(&c, "form button[type=submit]").await;
        see(&c, "Check your inbox").await;

        // Verify with the link from the mail outbox.
        let token = app.token_from_mail(email, "/verify-email", 1).await;
        c.goto(&format!("{origin}/verify-email?token={token}"))
            .await
            .unwrap();
        see(&c, "Your email is confirmed").await;

        // A signed-out visit to /keys goes to sign-in and comes back after it.
        c.goto(&format!("{origin}/keys")).await.unwrap();
        wait_path(&c, "/login?returnTo=%2Fkeys").await;
        screenshots(&c, "login").await;
        sign_in(&c, email, "wrong password 123").await;
        see(&c, "Email or password is incorrect.").await;
        sign_in(&c, email, PASSWORD).await;
        wait_path(&c, "/keys").await;
        see(&c, "No keys yet").await;

        // Create a key: the secret is shown once.
        click_button(&c, "", "Create key").await;
        fill(&c, "#f-name", "Budget agent").await;
        click(&c, "#scope-read-transactions").await;
        click_button(&c, "//dialog", "Create key").await;
        let secret = el(&c, "#key-secret")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        assert!(secret.starts_with("pfn_test_"), "{secret}");
        see(&c, "You will not see it again").await;
        screenshots(&c, "key-created").await;
        assert_eq!(whoami_status(&app, &secret).await, StatusCode::OK);
        click_button(&c, "//dialog", "I have saved it").await;

        // Reload (a deep link): the list is there, the secret is not.
        c.refresh().await.unwrap();
        wait_path(&c, "/keys").await;
        el(&c, "#keys-table").await;
        see(&c, "Budget agent").await;
        assert!(!c.source().await.unwrap().contains(&secret));
        screenshots(&c, "keys").await;

        // Revoke after confirming; the key stops working.
        click(&c, "#keys-table button.danger").await;
        see(&c, "Anything using this key stops working").await;
        click_button(&c, "//dialog", "Revoke key").await;
        see(&c, "revoked").await;
        assert_eq!(whoami_status(&app, &secret).await, StatusCode::UNAUTHORIZED);

        // The "Agent (MCP)" preset picks the read scopes and shows how to connect an agent,
        // with the new key in the command; the key lists the read tools at /mcp.
        click_button(&c, "", "Create key").await;
        click(&c, "#preset-mcp").await;
        for scope in [
            "read-accounts",
            "read-transactions",
            "read-budgets",
            "read-insights",
        ] {
            let checked = el(&c, &format!("#scope-{scope}"))
                .await
                .prop("checked")
                .await
                .unwrap();
            assert_eq!(checked.as_deref(), Some("true"), "{scope}");
        }
        click_button(&c, "//dialog", "Create key").await;
        let agent_key = el(&c, "#key-secret")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        let command = el(&c, "#mcp-command")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        assert!(
            command.contains(&format!("{origin}/mcp")) && command.contains(&agent_key),
            "{command}"
        );
        screenshots(&c, "key-created-mcp").await;
        let tools: serde_json::Value = reqwest::Client::new()
            .post(app.url("/mcp"))
            .bearer_auth(&agent_key)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names = tools.to_string();
        assert!(
            names.contains("list_transactions") && !names.contains("push_transactions"),
            "{names}"
        );
        click_button(&c, "//dialog", "I have saved it").await;

        // Ten minutes after signing in, creating a key first asks to confirm it is you (step-up),
        // then goes on by itself.
        app.clock.advance(10 * 60 + 1);
        click_button(&c, "", "Create key").await;
        fill(&c, "#f-name", "Later agent").await;
        click(&c, "#scope-read-transactions").await;
        click_button(&c, "//dialog", "Create key").await;
        see(&c, "Confirm it is you").await;
        fill(&c, "#f-reauth-password", "wrong password 123").await;
        click_button(&c, "//dialog", "Confirm").await;
        see(&c, "Password is not right.").await;
        fill(&c, "#f-reauth-password", PASSWORD).await;
        click_button(&c, "//dialog", "Confirm").await;
        let later = el(&c, "#key-secret")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(whoami_status(&app, &later).await, StatusCode::OK);
        click_button(&c, "//dialog", "I have saved it").await;

        // Sign out: /keys needs signing in again.
        click_button(&c, "//header", "Sign out").await;
        wait_path(&c, "/login").await;
        c.goto(&format!("{origin}/keys")).await.unwrap();
        wait_path(&c, "/login?returnTo=%2Fkeys").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_and_reset_password_then_sign_in_with_the_new_one() {
    let app = spawn_app().await;
    let email = "sara@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        c.goto(&format!("{origin}/login")).await.unwrap();
        click(&c, "a[href='/forgot-password']").await;
        wait_path(&c, "/forgot-password").await;
        fill(&c, "#f-email", email).await;
        click(&c, "form button[type=submit]").await;
        see(&c, "a reset link is on its way").await;

        // Mail #1 was the address verification.
        let token = app.token_from_mail(email, "/reset-password", 2).await;
        c.goto(&format!("{origin}/reset-password?token={token}"))
            .await
            .unwrap();
        fill(&c, "#f-password", "a-brand-new-passphrase").await;
        fill(&c, "#f-confirm", "a-different-passphrase").await;
        click(&c, "form button[type=submit]").await;
        see(&c, "does not match").await;
        fill(&c, "#f-confirm", "a-brand-new-passphrase").await;
        click(&c, "form button[type=submit]").await;
        wait_path(&c, "/login?reset=1").await;
        see(&c, "Your password was changed").await;

        sign_in(&c, email, PASSWORD).await;
        see(&c, "Email or password is incorrect.").await;
        sign_in(&c, email, "a-brand-new-passphrase").await;
        wait_path(&c, "/").await;
        see(&c, "Hello,").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_the_sandbox_bank_and_see_its_transactions() {
    let app = std::sync::Arc::new(spawn_app().await);
    let email = "omar@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    let app2 = app.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        see(&c, "No accounts yet").await;
        screenshots(&c, "overview-empty").await;

        click(&c, "nav a[href='/connections']").await;
        see(&c, "No banks connected").await;
        click_button(&c, "", "Connect a bank").await;
        // Pick the first bank; its consent page is the sandbox's.
        click(&c, "dialog .providers button").await;
        click(&c, "button[value=allow]").await;

        // Back from the callback: connected, first sync running or done.
        wait_path_prefix(&c, "/connections?connected=").await;
        el(&c, ".connection").await;
        // The first sync runs in the background; on a loaded CI machine (two browsers on two
        // cores) it once took longer than the usual wait.
        see_within(&c, "succeeded", Duration::from_secs(60)).await;
        screenshots(&c, "connections").await;

        click(&c, "nav a[href='/transactions']").await;
        let rows = loop_rows(&c).await;
        assert!(rows > 0, "no transactions listed");
        screenshots(&c, "transactions").await;

        click(&c, "nav a[href='/insights']").await;
        see(&c, "Spending by category").await;
        el(&c, ".bars li").await;
        screenshots(&c, "insights").await;

        // A manual account beside the bank's: the overview shows both balances, the manual
        // one being the sum of what was pushed.
        let wallet = helpers::cash_account(&app2).await;
        let res = app2
            .post(
                "/api/v1/transactions",
                json!({"transactions": [
                    {"accountId": wallet, "externalId": "w-1", "amount": {"amount": "-2.500", "currency": "BHD"},
                     "description": "Coffee", "bookedAt": "2026-11-20T09:00:00Z"},
                    {"accountId": wallet, "externalId": "w-2", "amount": {"amount": "10", "currency": "BHD"},
                     "description": "Refund", "bookedAt": "2026-11-21T09:00:00Z"}
                ]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        click(&c, "nav a[href='/']").await;
        let mut balances = String::new();
        for _ in 0..100 {
            balances = el(&c, ".balances").await.text().await.unwrap_or_default();
            if balances.contains("Cash · manual") && balances.contains("7.500 BHD") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(balances.contains("Cash · manual"), "{balances}");
        assert!(balances.contains("7.500 BHD"), "{balances}");
        assert!(balances.contains("· bank"), "{balances}");
        screenshots(&c, "overview").await;
    })
    .await;
}

/// Each area of the app is a `.wasm` chunk fetched on first use (`scripts/split-spa`). When
/// that fetch fails, the page says so and offers to try again, which works once the chunk is
/// reachable: a failed load is not remembered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_code_cannot_be_fetched_says_so_and_loads_on_retry() {
    let spa = std::env::temp_dir().join(format!("pfn-spa-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&spa).unwrap();
    let mut chunk = None;
    for entry in std::fs::read_dir(spa_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        std::fs::copy(entry.path(), spa.join(&name)).unwrap();
        if name.starts_with("split_workspaces-") && name.ends_with(".wasm") {
            chunk = Some(spa.join(name));
        }
    }
    let chunk = chunk.expect("the build has a split_workspaces chunk");
    let hidden = chunk.with_extension("hidden");
    std::fs::rename(&chunk, &hidden).unwrap();

    let app = TestApp::spawn_with(&[("PFN_SPA_DIR", spa.to_str().unwrap())]).await;
    let email = "noor@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        see(&c, "Hello,").await;

        click(&c, "nav a[href='/workspaces']").await;
        see(&c, "This page could not be loaded").await;
        std::fs::rename(&hidden, &chunk).unwrap();
        click_button(&c, "", "Try again").await;
        see(&c, "New workspace").await;
    })
    .await;
    let _ = std::fs::remove_dir_all(&spa);
}

async fn wait_path_prefix(c: &Client, prefix: &str) {
    for _ in 0..(WAIT.as_millis() / 100) {
        let url = c.current_url().await.unwrap();
        let here = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        if here.starts_with(prefix) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {prefix}…, at {}", c.current_url().await.unwrap());
}

async fn loop_rows(c: &Client) -> usize {
    el(c, "#transactions tbody tr").await;
    c.find_all(Locator::Css("#transactions tbody tr"))
        .await
        .unwrap()
        .len()
}

/// A binary built with `embed-spa` (`scripts/release`) serves the SPA from itself: no
/// `PFN_SPA_DIR`, no `dist/` where it runs (a test's working directory is `backend/`). Every
/// file of the build it was compiled from comes back byte for byte, with its gzip twin, type
/// and cache headers; deep links get `index.html`; the app signs in in a browser.
#[cfg(feature = "embed-spa")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spa_inside_the_binary_is_served_without_a_build_directory() {
    use reqwest::header;
    assert!(
        backend::spa_build::Source::embedded_in_binary(),
        "the files are compiled in, not read from disk at run time"
    );
    assert!(
        !Path::new("dist").exists(),
        "no dist/ where the server runs"
    );
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let get = |path: String, encoding: &'static str| {
        http.get(app.url(&path))
            .header(header::ACCEPT_ENCODING, encoding)
            .send()
    };
    let dist = spa_dir();
    let mut served = 0;
    for entry in std::fs::read_dir(&dist).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        // The build's files; not a directory a stopped build left behind (`.stage`).
        if name.ends_with(".gz") || !entry.file_type().unwrap().is_file() {
            continue;
        }
        let plain = std::fs::read(dist.join(&name)).unwrap();
        let res = get(format!("/{name}"), "identity").await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{name}");
        // Trunk's and scripts/split-spa's names: `<name>-<16 hex digits>[_bg].<ext>`.
        let stem = name
            .rsplit_once('.')
            .map_or(name.as_str(), |(stem, _)| stem);
        let stem = stem.strip_suffix("_bg").unwrap_or(stem);
        let hashed = stem
            .rsplit_once('-')
            .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let cache = res.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            cache,
            if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            },
            "{name}"
        );
        assert!(
            res.headers().get(header::CONTENT_ENCODING).is_none(),
            "{name}"
        );
        assert_eq!(res.bytes().await.unwrap(), plain, "{name}");
        if let Ok(twin) = std::fs::read(dist.join(format!("{name}.gz"))) {
            let res = get(format!("/{name}"), "gzip, br").await.unwrap();
            assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip", "{name}");
            assert_eq!(res.headers()[header::VARY], "accept-encoding", "{name}");
            assert_eq!(res.bytes().await.unwrap(), twin, "{name}.gz");
        }
        served += 1;
    }
    assert!(served >= 3, "index.html, the loader and the .wasm at least");
    let index = std::fs::read(dist.join("index.html")).unwrap();
    let deep = get("/keys".into(), "identity").await.unwrap();
    assert_eq!(
        deep.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(deep.bytes().await.unwrap(), index);
    let stale = get("/frontend-0123456789abcdef.js".into(), "identity")
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);

    let email = "embedded@example.com";
    app.signed_in_user(email).await;
    let origin = app.origin.clone();
    in_browser(move |c| async move {
        open_signed_in(&c, &origin, email).await;
        see(&c, "Hello,").await;
    })
    .await;
}

//! Router assembly and the [`Sandbox`] server handle. The route table below is the whole
//! wire API on one screen; the `/__sandbox/` controls live in [`controls`](crate::controls).

use std::{
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    middleware,
    routing::{get, post},
    Router,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    accounts, auth,
    config::SandboxConfig,
    connect, consents, controls, error, insights, pages,
    state::{AppState, Shared},
    traffic,
};

/// The sandbox as an axum router, for embedding in another server. With `public_url: None`,
/// absolute links (connectUrl, logos, pagination) are built from the request's `Host` header.
pub fn router(config: SandboxConfig) -> Router {
    app(Arc::new(Shared::new(config)))
}

fn app(state: AppState) -> Router {
    const ACCOUNT: &str = "/accountInformation/v2/accounts/{accountId}";
    let wire = Router::new()
        // §2 tokens: the OAuth host's path and the legacy API path.
        .route("/sandbox/token", post(auth::post_token))
        .route("/auth/v1/token", post(auth::post_token))
        // §3 Connect.
        .route("/v1/providers", get(connect::get_providers))
        .route("/accountInformation/v1/intent", post(connect::post_intent))
        .route(
            "/accountInformation/v1/intent/{intentId}",
            get(connect::get_intent),
        )
        .route(
            "/consentInformation/v1/consents",
            get(consents::list_consents),
        )
        .route(
            "/consentInformation/v1/consents/{consentId}",
            get(consents::get_consent).delete(consents::revoke_consent),
        )
        // §4 data.
        .route(
            "/accountInformation/v2/accounts",
            get(accounts::list_accounts),
        )
        .route(ACCOUNT, get(accounts::get_account))
        .route(&format!("{ACCOUNT}/balances"), get(accounts::get_balances))
        .route(
            &format!("{ACCOUNT}/balances/refresh"),
            get(accounts::refresh_balances).post(accounts::refresh_balances),
        )
        .route(&format!("{ACCOUNT}/transactions"), get(accounts::enriched))
        .route(&format!("{ACCOUNT}/rawtransactions"), get(accounts::raw))
        .route(
            &format!("{ACCOUNT}/rawtransactions/refresh"),
            get(accounts::raw_refresh),
        )
        .route(
            "/accountInformation/v1/accounts/{accountId}/transactions",
            get(accounts::enriched),
        )
        // §5 insights.
        .route("/insights/v1/salary", get(insights::salary))
        .route("/insights/v1/balance-insights", get(insights::balance))
        .route("/insights/v1/income-insights", get(insights::income))
        .route("/insights/v1/spending-insights", get(insights::spending))
        .route(
            "/insights/v1/transaction-insights",
            get(insights::transactions),
        )
        // Browser pages (the connectUrl) and the logos every payload links to.
        .route("/connect/launch/", get(pages::get_launch))
        .route("/connect/launch", get(pages::get_launch))
        .route("/connect/launch/authorize", post(pages::post_authorize))
        .route("/logos/{file}", get(pages::get_logo))
        // route_layer: only matched routes, so MatchedPath is known and unknown paths are
        // neither counted nor faulted.
        .route_layer(middleware::from_fn_with_state(state.clone(), traffic::wire));
    Router::new()
        .merge(wire)
        .merge(controls::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// A running sandbox. Dropping it stops the server task; [`Sandbox::shutdown`] does so
/// gracefully, letting in-flight requests finish.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `listen` (e.g. `127.0.0.1:0`) and serves on the current tokio runtime.
    /// `public_url` defaults to [`Sandbox::url`].
    pub async fn start(listen: &str, mut config: SandboxConfig) -> io::Result<Sandbox> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        // A wildcard bind is reachable on loopback; links must name an address a client can
        // actually connect to.
        let host = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let url = format!("http://{}", SocketAddr::new(host, addr.port()));
        if config.public_url.is_none() {
            config.public_url = Some(url.clone());
        }
        let app = router(config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "tarabut sandbox stopped with an error");
            }
        });
        tracing::info!(%url, "tarabut sandbox listening");
        Ok(Sandbox {
            addr,
            url,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting connections and waits (up to 5 s, e.g. for a request held by a
    /// latency fault) for in-flight requests, then stops the task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

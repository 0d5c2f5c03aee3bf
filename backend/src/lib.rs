//! pfn: a self-hostable backend for personal-finance apps.
//!
//! `main.rs` is bootstrap only; this crate holds the application: [`build`] turns a
//! [`Config`](config::Config) and a bound listener into [`AppState`](state::AppState), and
//! [`serve`] runs it until shutdown.

pub mod access;
pub mod admin;
pub mod audit;
pub mod audit_log;
pub mod auth;
pub mod backup;
pub mod banks;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod device;
pub mod email;
pub mod error;
pub mod export;
pub mod files;
pub mod finance;
pub mod hashing;
pub mod http;
pub mod insights;
pub mod keys;
pub mod load;
pub mod mail;
pub mod mcp;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod outbound;
pub mod passkey;
pub mod password;
pub mod ratelimit;
pub mod redis_link;
pub mod request_meta;
pub mod retention;
pub mod spa;
pub mod spa_build;
pub mod state;
pub mod tarabut;
pub mod usage;
pub mod web;
pub mod webhooks;
pub mod workspaces;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    clock::Clock,
    config::{Config, Web},
    db::Db,
    mail::{MailQueue, Transport},
    password::Passwords,
    ratelimit::LocalLimiter,
    state::{AppState, Inner},
};

/// Connects and migrates the database, loads the secret, and assembles the state for a server
/// bound to `port`. `clock` is injectable so tests can move time.
pub async fn build(config: Config, port: u16, clock: Clock) -> anyhow::Result<AppState> {
    if config.data_dir.is_dir() {
        files::private_dir(&config.data_dir)
            .with_context(|| format!("making {} private", config.data_dir.display()))?;
    }
    let db = Db::connect(&config.database_url).await?;
    for (task, report) in db.migrate().await? {
        for line in report.lines() {
            tracing::warn!(task, "{line}");
        }
    }
    let web = Web::new(&config, port);
    let secrets = Arc::new(crypto::Keyring::new(
        load_secret(&config)?,
        config
            .secret_previous
            .as_ref()
            .map(|s| s.expose_secret().as_bytes().to_vec()),
    ));
    let transport = Transport::from_config(&config)?;
    let passwords = Passwords::new(config.limits.hash_concurrency).await?;
    ops::metrics_handle();
    let banks = tarabut::Banks::start(&config, &web.public_origin, clock.clone()).await?;
    let spa = spa_build::Spa::new(config.spa_dir.clone());
    match spa.current() {
        Some(s) => tracing::info!(from = %s.describe(), "serving the SPA"),
        None => tracing::info!(
            dir = %spa.awaited_in().display(),
            "no SPA build there (index.html missing): serving the API, and the SPA once it is built there"
        ),
    }
    let redis = match config.redis_url.as_ref().map(|u| u.expose_secret()) {
        Some(url) => {
            let link = redis_link::RedisLink::new(url, &config.redis_prefix, clock.clone())
                .context("PFN_REDIS_URL is not a Redis URL")?;
            link.connect().await;
            Some(link)
        }
        None => None,
    };
    let limiter: Arc<dyn ratelimit::RateLimiter> = match &redis {
        Some(link) => Arc::new(redis_link::RedisLimiter::new(link.clone(), clock.clone())),
        None => Arc::new(LocalLimiter::new(clock.clone())),
    };
    let google = config.google.clone().map(oidc::Google::new).transpose()?;
    let passkeys = passkey::RelyingParty::new(&web);
    let caches = cache::Caches::new(db.clone(), redis.clone());
    let outbound = outbound::Outbound::new(&config.webhooks)?;
    let state = AppState::new(Inner {
        google,
        passkeys,
        spa,
        banks,
        limiter,
        redis,
        mail: MailQueue::new(transport, web.clone(), secrets.clone(), clock.clone()),
        config,
        web,
        db,
        clock,
        passwords,
        secrets,
        caches,
        outbound,
        usage: Default::default(),
        load: Default::default(),
    });
    auth::bootstrap_admin(&state).await?;
    let resealed = mail::reseal_outbox(&state.db, &state.mail).await?
        + outbound::reseal_secrets(&state.db, &state.secrets).await?;
    if resealed > 0 {
        tracing::info!(
            mails = resealed,
            "queued mail and webhook secrets sealed again under the new PFN_SECRET"
        );
    }
    Ok(state)
}

/// `PFN_SECRET`, or in dev mode a secret generated once into `<data dir>/secret` (mode 0600).
fn load_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &config.secret {
        return Ok(s.expose_secret().as_bytes().to_vec());
    }
    anyhow::ensure!(
        config.dev_mode(),
        "PFN_SECRET is required outside development"
    );
    let path = config.data_dir.join("secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().as_bytes().to_vec());
        }
    }
    files::private_dir(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let secret = crypto::random_token();
    files::write_private(&path, secret.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

/// Serves `state` on `listener` (with the mail worker and housekeeping alongside) until
/// `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = http::app(state.clone());
    serve_app(listener, state, app, shutdown).await
}

/// [`serve`] with the application given (tests wrap [`http::app`] to watch answers), each
/// connection served by its own copy that knows the peer's address.
pub async fn serve_app(
    listener: TcpListener,
    state: AppState,
    app: impl http::edge::PerConnection,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(mail::run_worker(
        state.db.clone(),
        state.mail.clone(),
        stop_rx.clone(),
    ));
    let janitor = tokio::spawn(housekeeping(state.clone(), stop_rx.clone()));
    let checkpointer = {
        let (db, stop) = (state.db.clone(), stop_rx.clone());
        tokio::spawn(async move { db.run_checkpointer(stop).await })
    };
    let usage = tokio::spawn(keys::usage::run_writer(state.clone(), stop_rx.clone()));
    let feed = tokio::spawn(cache::coherence::run_feed(
        state.caches.clone(),
        stop_rx.clone(),
    ));
    let invalidations = tokio::spawn(cache::coherence::run_listener(
        state.caches.clone(),
        stop_rx.clone(),
    ));
    let webhooks = tokio::spawn(webhooks::worker::run(state.clone(), stop_rx.clone()));
    let scheduler = tokio::spawn(banks::sync::run_scheduler(
        state.clone(),
        stop_rx,
        Duration::from_secs(60),
    ));
    axum::serve(listener, http::edge::Connections(app))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving")?;
    let _ = stop_tx.send(true);
    let _ = tokio::join!(
        worker,
        janitor,
        checkpointer,
        usage,
        feed,
        invalidations,
        scheduler,
        webhooks
    );
    Ok(())
}

/// Hourly: retention (on one replica at a time, [`retention`]) and spent cache invalidations
/// (on each, for its own feed).
async fn housekeeping(state: AppState, mut stop: watch::Receiver<bool>) {
    let holder = uuid::Uuid::new_v4().to_string();
    loop {
        if let Err(e) = retention::run(&state, &holder, access::session::IDLE_SECS).await {
            tracing::warn!(error = %e, "retention failed");
        }
        if let Err(e) = cache::coherence::prune(&state.caches).await {
            tracing::warn!(error = %e, "cache invalidation cleanup failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

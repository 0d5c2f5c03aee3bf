//! Tarabut open banking, as a service pfn uses: the client and its token manager, the wire
//! format, the bundled sandbox that stands in for Tarabut when none is configured, and how its
//! failures reach our clients. Bank connections and syncs are the `banks` feature.

pub mod client;
pub mod wire;

use std::{
    collections::HashSet,
    sync::Mutex,
    time::{Duration, Instant},
};

use shared::ErrorBody;

use crate::{
    clock::Clock,
    config::{Config, TarabutTarget},
};
pub use client::{Client, TarabutError};

/// Consents ending within this are flagged (`reauth_required`, `consentExpiringSoon`) so the
/// user can renew in time.
pub const EXPIRING_SOON_SECS: i64 = 7 * 86_400;

/// Upstream failures, as our clients see them.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum UpstreamErrors {
    /// `upstream_error`: Tarabut answered with an error (details are logged, not forwarded).
    #[response(status = 502)]
    BadGateway(ErrorBody),
    /// `upstream_unavailable`: Tarabut is down or rate limiting us; retry later.
    #[response(status = 503)]
    Unavailable(ErrorBody),
    /// `upstream_timeout`: Tarabut did not answer in time.
    #[response(status = 504)]
    Timeout(ErrorBody),
}

/// Everything bank-related that lives as long as the server.
pub struct Banks {
    pub client: Client,
    /// Where Tarabut sends the browser back (`…/api/v1/banks/callback`).
    pub redirect_url: String,
    /// The in-process sandbox when Tarabut is not configured (kept alive here).
    pub sandbox: Option<tarabut_sandbox::Sandbox>,
    /// This process's name for sync leases.
    pub instance: String,
    /// Syncs this process is running now (the lease keeps other replicas out; this keeps the
    /// scheduler from starting a second copy here).
    pub running: Mutex<HashSet<String>>,
    pub sync_interval_secs: u64,
    pub history_days: u32,
    providers: Mutex<Option<(Instant, wire::Providers)>>,
}

impl Banks {
    /// Revokes at Tarabut every consent the workspace still holds, before the workspace (or the
    /// account it belongs to) is deleted: access must not outlive it at the bank. Stops at the
    /// first failure, so the caller deletes nothing.
    pub async fn revoke_consents_in(
        &self,
        db: &crate::db::Db,
        workspace_id: &str,
    ) -> Result<(), crate::error::AppError> {
        for c in crate::db::banks::connections_in(&db.pool, workspace_id).await? {
            if c.status != shared::banks::ConnectionStatus::Revoked {
                self.client
                    .revoke_if_held(&c.customer_user_id, &c.consent_id)
                    .await?;
            }
        }
        Ok(())
    }

    /// Connects to the configured Tarabut, or starts the bundled sandbox.
    pub async fn start(config: &Config, public_origin: &str, clock: Clock) -> anyhow::Result<Self> {
        let redirect_url = format!("{public_origin}/api/v1/banks/callback");
        let (endpoint, sandbox) = match &config.tarabut.target {
            TarabutTarget::Remote {
                url,
                token_url,
                client_id,
                client_secret,
            } => (
                client::Endpoint {
                    api: url.clone(),
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: secrecy::ExposeSecret::expose_secret(client_secret).to_string(),
                },
                None,
            ),
            TarabutTarget::Bundled { listen } => {
                let secret = crate::crypto::random_token();
                let sandbox = tarabut_sandbox::Sandbox::start(
                    listen,
                    tarabut_sandbox::SandboxConfig {
                        clients: vec![tarabut_sandbox::ClientConfig {
                            client_id: "pfn".into(),
                            client_secret: secret.clone(),
                            redirect_urls: vec![redirect_url.clone()],
                        }],
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("starting the Tarabut sandbox on {listen}: {e}"))?;
                tracing::info!(
                    url = sandbox.url(),
                    "Tarabut sandbox started (PFN_TARABUT_URL is unset)"
                );
                let api = url::Url::parse(sandbox.url())?;
                (
                    client::Endpoint {
                        token_url: api.join("/sandbox/token")?,
                        api,
                        client_id: "pfn".into(),
                        client_secret: secret,
                    },
                    Some(sandbox),
                )
            }
        };
        Ok(Self {
            client: Client::new(endpoint, &config.tarabut, clock)?,
            redirect_url,
            sandbox,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            running: Mutex::new(HashSet::new()),
            sync_interval_secs: config.tarabut.sync_interval_secs,
            history_days: config.tarabut.history_days,
            providers: Mutex::new(None),
        })
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Tarabut's providers, cached for ten minutes (they change rarely).
    pub async fn providers(&self) -> Result<wire::Providers, TarabutError> {
        if let Some((at, p)) = self
            .providers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if at.elapsed() < Duration::from_secs(600) {
                return Ok(p.clone());
            }
        }
        let fresh = self.client.providers().await?;
        *self.providers.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

//! Start-up configuration: the registered API clients and the knobs that tests and benchmarks
//! turn. Everything has a default so `SandboxConfig::default()` is a working sandbox.

/// One registered API client, as a Tarabut Dev Portal application would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Redirect URLs an intent may name. Empty means any `http(s)` URL is accepted, which is
    /// what local development wants; the real gateway always checks a registered list.
    pub redirect_urls: Vec<String>,
}

impl ClientConfig {
    /// A client that accepts any `http(s)` redirect URL.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_urls: Vec::new(),
        }
    }
}

/// How a sandbox behaves. Fields are public so callers can use struct-update syntax:
/// `SandboxConfig { transactions_per_account: 25_000, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// Registered clients. Default: one client `pfn-dev` / `pfn-dev-secret`, any redirect URL.
    pub clients: Vec<ClientConfig>,
    /// Lifetime of issued access tokens, on the sandbox clock. Always reported in `expiresIn`.
    pub token_ttl_secs: i64,
    /// Transactions per page on the transaction routes (Tarabut has no page-size parameter).
    pub page_size: u32,
    /// Transactions seeded on each current account (savings accounts get a tenth).
    pub transactions_per_account: u32,
    /// Seed for every generated id, name and amount: same seed, same data.
    pub seed: u64,
    /// Base URL for `connectUrl`, logos and pagination links. `None`: `Sandbox::start` uses
    /// `http://<bound address>`, and [`router`](crate::router) uses the request's `Host` header.
    pub public_url: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            clients: vec![ClientConfig::new("pfn-dev", "pfn-dev-secret")],
            token_ttl_secs: 900,
            page_size: 10,
            transactions_per_account: 300,
            seed: 42,
            public_url: None,
        }
    }
}

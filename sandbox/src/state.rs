//! Shared state: the fixed configuration, the knobs control routes may turn, the sandbox
//! clock, the data store and the test controls (faults, rate limits, call counters).
//!
//! Locks are `std::sync` and never held across an `.await`; a poisoned lock is recovered
//! rather than propagated, since no handler panics while holding one and the data stays valid.

use std::sync::{
    atomic::{AtomicI64, AtomicU32, Ordering},
    Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use axum::http::{header, HeaderMap};

use crate::{
    clock::Clock,
    config::{ClientConfig, SandboxConfig},
    faults::Controls,
    store::Store,
};

pub(crate) type AppState = Arc<Shared>;

#[derive(Debug)]
pub(crate) struct Shared {
    pub clients: Vec<ClientConfig>,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub seed: u64,
    token_ttl_secs: AtomicI64,
    page_size: AtomicU32,
    transactions_per_account: AtomicU32,
    pub clock: Clock,
    store: RwLock<Store>,
    controls: Mutex<Controls>,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        Self {
            clients: config.clients,
            public_url: config
                .public_url
                .map(|u| u.trim_end_matches('/').to_string()),
            seed: config.seed,
            token_ttl_secs: AtomicI64::new(config.token_ttl_secs.max(1)),
            page_size: AtomicU32::new(config.page_size.max(1)),
            transactions_per_account: AtomicU32::new(config.transactions_per_account),
            clock: Clock::default(),
            store: RwLock::default(),
            controls: Mutex::new(Controls::new(config.seed)),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn controls(&self) -> MutexGuard<'_, Controls> {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub(crate) fn token_ttl_secs(&self) -> i64 {
        self.token_ttl_secs.load(Ordering::Relaxed)
    }

    pub(crate) fn page_size(&self) -> u32 {
        self.page_size.load(Ordering::Relaxed)
    }

    pub(crate) fn transactions_per_account(&self) -> u32 {
        self.transactions_per_account.load(Ordering::Relaxed)
    }

    pub(crate) fn set_token_ttl_secs(&self, v: i64) {
        self.token_ttl_secs.store(v, Ordering::Relaxed);
    }

    pub(crate) fn set_page_size(&self, v: u32) {
        self.page_size.store(v, Ordering::Relaxed);
    }

    pub(crate) fn set_transactions_per_account(&self, v: u32) {
        self.transactions_per_account.store(v, Ordering::Relaxed);
    }

    /// The base for absolute links: the configured public URL, else `http://<Host>` so an
    /// embedded router links back to wherever the client reached it.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.public_url {
            return u.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                    })
            })
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

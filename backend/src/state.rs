//! Shared application state: the core services every feature reaches through `AppState`.

use std::{ops::Deref, sync::Arc};

use url::Url;

pub use crate::clock::Clock;
use crate::{
    config::Config,
    db::{invalidations::Kind, Db},
    mail::MailQueue,
    password::Passwords,
    ratelimit::RateLimiter,
};

/// Settings derived once the listener is bound (the dev public URL needs the port).
#[derive(Debug, Clone)]
pub struct Web {
    pub public_url: Url,
    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub public_origin: String,
    /// The public origin, plus `http://localhost:<port>` and `http://127.0.0.1:<port>` in dev.
    pub allowed_origins: Vec<String>,
    pub dev_mode: bool,
    pub cookie_name: &'static str,
    pub secure_cookies: bool,
    pub hsts: bool,
}

impl Web {
    pub fn new(config: &Config, bound_port: u16) -> Self {
        let dev_mode = config.dev_mode();
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("http://127.0.0.1:{bound_port}")).expect("loopback URL parses")
        });
        let public_origin = public_url.origin().ascii_serialization();
        let mut allowed_origins = vec![public_origin.clone()];
        if dev_mode {
            let port = public_url.port_or_known_default().unwrap_or(bound_port);
            for host in ["localhost", "127.0.0.1"] {
                let o = format!("http://{host}:{port}");
                if !allowed_origins.contains(&o) {
                    allowed_origins.push(o);
                }
            }
        }
        let dev_cookie = dev_mode || config.insecure_cookies;
        Self {
            hsts: public_url.scheme() == "https",
            public_url,
            public_origin,
            allowed_origins,
            dev_mode,
            cookie_name: if dev_cookie {
                "pfn_session"
            } else {
                "__Host-pfn_session"
            },
            secure_cookies: !dev_cookie,
        }
    }

    /// An absolute link to an SPA route, e.g. `link("/verify-email", token)`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{}?token={}", self.public_origin, path, token)
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub web: Web,
    pub db: Db,
    pub clock: Clock,
    pub passwords: Passwords,
    pub limiter: Arc<dyn RateLimiter>,
    pub mail: MailQueue,
    /// Bearer-key lookups (invalidated on revoke/rotate).
    pub keys: crate::keys::auth::KeyCache,
    /// Sessions and their users (invalidated on every change to either).
    pub sessions: crate::auth::cache::SessionCache,
    /// Which cache invalidations this replica has applied ([`crate::coherence`]).
    pub feed: crate::coherence::Feed,
    /// Key usage, written off the request path.
    pub usage: crate::keys::auth::UsageRecorder,
    /// Redis (`PFN_REDIS_URL`): shared rate limits and cache invalidation across replicas.
    pub redis: Option<Arc<crate::redis_link::RedisLink>>,
    /// Google sign-in, when configured.
    pub google: Option<crate::auth::google::Google>,
    /// The SPA build being served, if any (`PFN_SPA_DIR`).
    pub spa_dir: Option<std::path::PathBuf>,
    /// Tarabut: the client, the bundled sandbox when in use, sync bookkeeping.
    pub banks: crate::tarabut::Banks,
    /// The server secret (PFN_SECRET or the dev secret file) and, while rotating, the previous
    /// one: seals outbox mail and the Google sign-in flow's cookie.
    pub secrets: crate::crypto::Keyring,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// After a key (by its stored hash) was revoked, rotated or changed: drops it from every
    /// replica's cache, so the change holds everywhere ([`crate::coherence`]).
    pub async fn forget_key(&self, key_hash: &str) {
        crate::coherence::announce(self, Kind::Key, key_hash).await;
    }

    /// After a change to a user, their password, sign-in providers or sessions has committed:
    /// drops the user and their sessions from every replica's cache.
    pub async fn forget_user(&self, user_id: &str) {
        crate::coherence::announce(self, Kind::User, user_id).await;
    }

    /// After a session was saved or deleted: drops it from every replica's cache.
    pub async fn forget_session(&self, digest: &crate::auth::cache::SessionDigest) {
        crate::coherence::announce(self, Kind::Session, &hex::encode(digest)).await;
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

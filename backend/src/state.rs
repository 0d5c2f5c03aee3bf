//! Shared application state: the core services every feature reaches through `AppState`.

use std::{ops::Deref, sync::Arc};

pub use crate::{clock::Clock, config::Web};
use crate::{config::Config, db::Db, mail::MailQueue, password::Passwords, ratelimit::RateLimiter};

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
    /// API keys, sessions and users, kept true across replicas ([`crate::cache`]).
    pub caches: crate::cache::Caches,
    /// Webhooks: the guarded client and the delivery worker's wake-up.
    pub outbound: crate::outbound::Outbound,
    /// Key usage, written off the request path.
    pub usage: crate::usage::UsageRecorder,
    /// Requests in flight, so background work gives way ([`crate::load`]).
    pub load: crate::load::Load,
    /// Redis (`PFN_REDIS_URL`): shared rate limits and cache invalidation across replicas.
    pub redis: Option<Arc<crate::redis_link::RedisLink>>,
    /// Google sign-in, when configured.
    pub google: Option<crate::oidc::Google>,
    /// The WebAuthn relying party; none when the public URL is an IP address.
    pub passkeys: Option<crate::passkey::RelyingParty>,
    /// The SPA build being served, if any (`PFN_SPA_DIR`, or the build in the binary).
    pub spa: crate::spa_build::Spa,
    /// Tarabut: the client, the bundled sandbox when in use, sync bookkeeping.
    pub banks: crate::tarabut::Banks,
    /// The server secret (PFN_SECRET or the dev secret file) and, while rotating, the previous
    /// one: seals outbox mail and the Google sign-in flow's cookie.
    pub secrets: Arc<crate::crypto::Keyring>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// After a key (by its stored hash) was revoked, rotated or changed: drops it from every
    /// replica's cache ([`crate::cache::Caches::forget_key`]).
    pub async fn forget_key(&self, key_hash: &str) {
        self.caches.forget_key(key_hash).await;
    }

    /// After a change to a user, their password, sign-in providers or sessions has committed:
    /// drops the user and their sessions from every replica's cache.
    pub async fn forget_user(&self, user_id: &str) {
        self.caches.forget_user(user_id).await;
    }

    /// After a session was saved or deleted: drops it from every replica's cache.
    pub async fn forget_session(&self, digest: &crate::cache::sessions::SessionDigest) {
        self.caches.forget_session(digest).await;
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

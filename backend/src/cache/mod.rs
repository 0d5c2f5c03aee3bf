//! This replica's in-process caches of API keys, sessions and users, and what keeps them true
//! to the database across replicas ([`coherence`]).

pub mod coherence;
pub mod keys;
pub mod local;
pub mod sessions;

use std::sync::Arc;

use crate::{
    db::{invalidations::Kind, Db},
    redis_link::RedisLink,
};

/// The caches, with what their coherence needs: the database (the invalidation feed) and
/// Redis (its fast path), when configured.
#[derive(Clone)]
pub struct Caches {
    pub keys: keys::KeyCache,
    pub sessions: sessions::SessionCache,
    feed: Arc<coherence::Feed>,
    db: Db,
    redis: Option<Arc<RedisLink>>,
}

impl Caches {
    pub fn new(db: Db, redis: Option<Arc<RedisLink>>) -> Self {
        Self {
            keys: Default::default(),
            sessions: Default::default(),
            feed: Default::default(),
            db,
            redis,
        }
    }

    /// After a key (by its stored hash) was revoked, rotated or changed: drops it from every
    /// replica's cache, so the change holds everywhere.
    pub async fn forget_key(&self, key_hash: &str) {
        coherence::announce(self, Kind::Key, key_hash).await;
    }

    /// After a change to a user, their password, sign-in providers or sessions has committed:
    /// drops the user and their sessions from every replica's cache.
    pub async fn forget_user(&self, user_id: &str) {
        coherence::announce(self, Kind::User, user_id).await;
    }

    /// After a session was saved or deleted: drops it from every replica's cache.
    pub async fn forget_session(&self, digest: &sessions::SessionDigest) {
        coherence::announce(self, Kind::Session, &hex::encode(digest)).await;
    }
}

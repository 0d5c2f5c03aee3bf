//! This replica's cache of browser sessions and of the users behind them, so that a signed-in
//! request reads no database rows (product.md §7: a session-authenticated request at ≥ 0.8× the
//! unauthenticated route).
//!
//! Two maps, both with a 30 s time-to-live as the bound on anything missed:
//! - session records, by the SHA-256 of the session id (as the `sessions` table keys them), with
//!   the user they belong to;
//! - users, by id: the row, the user as a session acts for them (every scope, the personal
//!   workspace), and the user as `GET /api/v1/auth/me` shows
//!   them (with their linked sign-in providers), serialised.
//!
//! What changes them invalidates them at once: the session store drops a record it saves or
//! deletes, and every change to a user or to a user's sessions calls
//! [`crate::state::AppState::forget_user`] after its transaction commits, which also tells the
//! other replicas ([`crate::coherence`]). A load that read the database before such an
//! invalidation never enters the cache after it (the fill gate), so a commit cannot be
//! overtaken by a slow read. Each worker thread keeps copies of what it read in the current
//! second ([`crate::front`]); every invalidation empties them all once its entries are gone.

use std::{cell::RefCell, collections::HashMap, sync::Arc, time::Duration};

use moka::sync::Cache;
use serde::{Deserialize, Serialize};

use crate::{
    cache::{
        coherence::{Epoch, FillGate},
        local::{read_through, Front, Generations},
    },
    crypto::sha256_hex,
    db::users::UserRow,
    hashing::Hasher,
};

/// What a signed-in session holds. Not secret: the secret is the cookie itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthData {
    pub uid: String,
    /// Public id for the sessions list.
    pub sid: String,
    pub ip: Option<String>,
    pub ua: Option<String>,
    pub created: i64,
    pub seen: i64,
    /// Fingerprint of the password hash at sign-in: a password reset or change that commits
    /// while this sign-in was in flight (so after its delete-all-sessions ran) still ends it.
    #[serde(default)]
    pub pw: String,
    /// When the user last proved who they are on this session (sign-in or `POST
    /// /auth/reauth`), unix seconds: step-up (`access::Fresh`) reads it. Sessions from before
    /// it existed read 0, long stale.
    #[serde(default)]
    pub authed: i64,
    /// How the session signed in (`password`, `google`, `password+totp`, …; "" for sessions
    /// from before).
    #[serde(default)]
    pub how: String,
}

/// A short digest of the stored password hash ("" without a password).
pub fn password_fingerprint(hash: Option<&str>) -> String {
    hash.map(|h| sha256_hex(h.as_bytes())[..16].to_string())
        .unwrap_or_default()
}

/// SHA-256 of a session id.
pub type SessionDigest = [u8; 32];

/// A stored session as the store loads it.
pub struct CachedRecord {
    pub user_id: String,
    /// The sign-in the record holds, parsed once.
    pub auth: Option<Arc<AuthData>>,
    pub data: HashMap<String, serde_json::Value>,
    pub expires_at: i64,
}

/// A signed-in user as requests need them. Derefs to the row.
pub struct CachedUser {
    pub row: UserRow,
    /// The user as a browser session acts for them: every scope, their personal workspace
    /// (`None` only for a user without one, which is an error to act as).
    pub principal: Option<Arc<shared::keys::WhoAmI>>,
    /// [`password_fingerprint`] of the row's hash, which sessions must match.
    pub password_fingerprint: String,
    /// Two-step sign-in is on (an admin needs it while `PFN_ADMIN_REQUIRE_MFA` is on).
    pub second_factor: bool,
    /// The `GET /api/v1/auth/me` answer (a `UserBody`), serialised once. Each answer copies
    /// it, as a key's `whoami` answer is copied (`CachedKey::whoami_json` says why).
    pub me_json: Box<[u8]>,
}

impl std::ops::Deref for CachedUser {
    type Target = UserRow;
    fn deref(&self) -> &UserRow {
        &self.row
    }
}

#[derive(Clone)]
pub struct SessionCache(Arc<Inner>);

struct Inner {
    records: Cache<SessionDigest, Arc<CachedRecord>, Hasher>,
    users: Cache<String, Arc<CachedUser>, Hasher>,
    /// A load fills the cache only if nothing was invalidated since it began.
    gate: FillGate,
    /// Bumped after every invalidation has dropped its entries: each worker thread's copies
    /// ([`crate::front`]) then stop answering.
    copies: Generations,
}

thread_local! {
    static RECORDS: RefCell<Front<SessionDigest, Arc<CachedRecord>>> = RefCell::default();
    static USERS: RefCell<Front<String, Arc<CachedUser>>> = RefCell::default();
}

const TTL: Duration = Duration::from_secs(30);

impl Default for SessionCache {
    fn default() -> Self {
        Self(Arc::new(Inner {
            records: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(TTL)
                .support_invalidation_closures()
                .build_with_hasher(Hasher::default()),
            users: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(TTL)
                .build_with_hasher(Hasher::default()),
            gate: FillGate::default(),
            copies: Generations::default(),
        }))
    }
}

impl SessionCache {
    /// Call before reading the database for a value that will be cached.
    pub fn epoch(&self) -> Epoch {
        self.0.gate.epoch()
    }

    pub fn gate(&self) -> &FillGate {
        &self.0.gate
    }

    fn fill(&self, epoch: Epoch, insert: impl FnOnce()) {
        self.0.gate.fill(epoch, insert);
    }

    fn invalidating(&self, drop: impl FnOnce(&Inner)) {
        self.0.gate.invalidating(|| drop(&self.0));
        self.0.copies.bump();
    }

    /// `now` (unix seconds) bounds how long this thread's copy may answer.
    pub fn record(&self, digest: &SessionDigest, now: i64) -> Option<Arc<CachedRecord>> {
        let stamp = self.0.copies.stamp(now);
        read_through(&RECORDS, stamp, digest, || self.0.records.get(digest))
    }

    pub fn put_record(&self, epoch: Epoch, digest: SessionDigest, record: CachedRecord) {
        self.fill(epoch, || self.0.records.insert(digest, Arc::new(record)));
    }

    pub fn user(&self, id: &str, now: i64) -> Option<Arc<CachedUser>> {
        let stamp = self.0.copies.stamp(now);
        read_through(&USERS, stamp, id, || self.0.users.get(id))
    }

    pub fn put_user(&self, epoch: Epoch, user: Arc<CachedUser>) {
        self.fill(epoch, || self.0.users.insert(user.row.id.clone(), user));
    }

    /// Drops one session record (it was saved or deleted).
    pub fn forget_session(&self, digest: &SessionDigest) {
        self.invalidating(|c| c.records.invalidate(digest));
    }

    /// Drops a user and every session record of theirs (the user, their password, their
    /// providers or their sessions changed).
    pub fn forget_user(&self, user_id: &str) {
        self.invalidating(|c| {
            c.users.invalidate(user_id);
            let owner = user_id.to_owned();
            // Only fails when the builder lacks `support_invalidation_closures`, which it has.
            let _ = c
                .records
                .invalidate_entries_if(move |_, r| r.user_id == owner);
        });
    }

    /// Drops everything (after missing invalidations from other replicas).
    pub fn clear(&self) {
        self.invalidating(|c| {
            c.records.invalidate_all();
            c.users.invalidate_all();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Arc<CachedUser> {
        Arc::new(CachedUser {
            row: UserRow {
                id: id.into(),
                ..UserRow::default()
            },
            principal: None,
            password_fingerprint: String::new(),
            second_factor: false,
            me_json: Default::default(),
        })
    }

    fn record(user_id: &str) -> CachedRecord {
        CachedRecord {
            user_id: user_id.into(),
            auth: None,
            data: HashMap::new(),
            expires_at: 0,
        }
    }

    #[test]
    fn a_load_that_started_before_an_invalidation_is_not_cached() {
        let cache = SessionCache::default();
        let before = cache.epoch();
        cache.forget_user("u1");
        cache.put_user(before, user("u1"));
        assert!(cache.user("u1", 0).is_none());
        let after = cache.epoch();
        cache.put_user(after, user("u1"));
        assert!(cache.user("u1", 0).is_some());
    }

    #[test]
    fn forgetting_a_user_drops_their_sessions_only() {
        let cache = SessionCache::default();
        let e = cache.epoch();
        cache.put_record(e, [1; 32], record("u1"));
        cache.put_record(e, [2; 32], record("u1"));
        cache.put_record(e, [3; 32], record("u2"));
        cache.put_user(e, user("u1"));
        cache.forget_user("u1");
        assert!(cache.record(&[1; 32], 0).is_none());
        assert!(cache.record(&[2; 32], 0).is_none());
        assert!(cache.record(&[3; 32], 0).is_some());
        assert!(cache.user("u1", 0).is_none());
    }

    #[test]
    fn forgetting_a_session_keeps_the_others() {
        let cache = SessionCache::default();
        let e = cache.epoch();
        cache.put_record(e, [1; 32], record("u1"));
        cache.put_record(e, [2; 32], record("u1"));
        cache.forget_session(&[1; 32]);
        assert!(cache.record(&[1; 32], 0).is_none());
        assert!(cache.record(&[2; 32], 0).is_some());
    }
}

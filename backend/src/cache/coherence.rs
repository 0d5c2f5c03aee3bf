//! What keeps this replica's caches (API keys, sessions and their users) true to the database.
//!
//! - **The fill gate** ([`FillGate`]): a value read from the database enters a cache only if no
//!   invalidation happened since the read began. Without it, a request that read a key just
//!   before its revocation committed could store the old row after the revocation dropped it,
//!   and the revoked key would live for the cache's lifetime.
//! - **The feed**: every invalidation ([`announce`]) is applied here, written to the
//!   `cache_invalidations` table (stamped by the database's clock) and published on Redis.
//!   Other replicas apply it from Redis within milliseconds, and in any case from the table,
//!   which each replica reads every [`POLL`] ([`run_feed`]). A lost Redis message therefore
//!   costs at most one poll, and Redis is not needed for revocation to hold.
//! - **The stale guard**: a replica that cannot read the table for [`STALE_AFTER`] cannot know
//!   what changed elsewhere, so it empties its caches and stops filling them (every request then
//!   reads the database) until a read succeeds again.
//!
//! Together: a revocation holds on every replica within one poll (~0.5 s; milliseconds while
//! Redis is up), and a replica cut off from the table serves nothing cached for longer than
//! [`STALE_AFTER`] (docs/deploy.md states the promise; `tests/api/replicas.rs` checks it).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
        Mutex, RwLock,
    },
    time::Duration,
};

use futures_util::StreamExt;
use tokio::sync::watch;

use super::Caches;
use crate::db::{self, invalidations::Kind};

/// How often each replica reads the feed.
pub const POLL: Duration = Duration::from_millis(500);
/// How long a replica may go without reading the feed before its caches stop answering.
pub const STALE_AFTER: Duration = Duration::from_secs(5);
/// How far back each read looks beyond the previous one: an invalidation is stamped when its
/// row is written and seen once committed, a few milliseconds later at most.
const OVERLAP_MS: i64 = 2_000;
/// Rows older than this are deleted: every cache entry they concern has expired (30 s).
const KEEP_MS: i64 = 10 * 60 * 1000;

/// Where a cache load started; see [`FillGate::fill`].
#[derive(Clone, Copy, Debug)]
pub struct Epoch(u64);

/// One cache's guard against filling with what an invalidation already dropped.
pub struct FillGate {
    /// Bumped by every invalidation (under the write lock); a load fills the cache only if the
    /// epoch it started in is still current (under the read lock).
    epoch: AtomicU64,
    lock: RwLock<()>,
    /// False while the feed is stale: nothing is cached.
    enabled: AtomicBool,
}

impl Default for FillGate {
    fn default() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            lock: RwLock::new(()),
            enabled: AtomicBool::new(true),
        }
    }
}

impl FillGate {
    /// Call before reading the database for a value that will be cached.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.epoch.load(Ordering::Acquire))
    }

    /// Runs `insert` unless something was invalidated since `epoch` (or caching is off).
    pub fn fill(&self, epoch: Epoch, insert: impl FnOnce()) {
        let _shared = self.lock.read().unwrap_or_else(|e| e.into_inner());
        if self.enabled.load(Ordering::Acquire) && self.epoch.load(Ordering::Acquire) == epoch.0 {
            insert();
        }
    }

    /// Runs `drop` (which removes entries) so that no load that started before it fills the
    /// cache after it.
    pub fn invalidating(&self, drop: impl FnOnce()) {
        let _alone = self.lock.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        drop();
    }

    /// Turns filling on or off (the stale guard).
    pub fn set_enabled(&self, on: bool) {
        let _alone = self.lock.write().unwrap_or_else(|e| e.into_inner());
        self.enabled.store(on, Ordering::Release);
    }
}

/// This replica's side of the feed: which invalidations it has applied.
#[derive(Default)]
pub(super) struct Feed {
    /// Ids applied (from here, Redis or the table), with their stamps, kept for the overlap.
    applied: Mutex<HashMap<String, i64>>,
    /// The database clock at the last successful read (ms); 0 before the first.
    read_at_ms: AtomicI64,
    /// Whether the caches are off because the feed went stale.
    stale: AtomicBool,
}

impl Feed {
    /// Marks an invalidation as applied, with its stamp once the table tells it
    /// ([`UNSTAMPED`] before); false if it was applied already.
    fn first_time(&self, id: &str, at_ms: i64) -> bool {
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        if applied.len() >= MAX_APPLIED {
            // Only ids whose row never showed up (a failed insert) pile up: applying one of
            // the rest a second time costs nothing but a cache miss.
            applied.clear();
        }
        applied.insert(id.to_string(), at_ms).is_none()
    }
}

/// The stamp of an invalidation applied before its row was read from the table.
const UNSTAMPED: i64 = i64::MAX;
const MAX_APPLIED: usize = 100_000;

/// Drops what this replica caches of `target`.
fn apply_locally(caches: &Caches, kind: Kind, target: &str) {
    match kind {
        Kind::Key => caches.keys.invalidate(target),
        Kind::User => caches.sessions.forget_user(target),
        Kind::Session => {
            let mut digest = [0u8; 32];
            if hex::decode_to_slice(target, &mut digest).is_ok() {
                caches.sessions.forget_session(&digest);
            }
        }
    }
}

/// After a change to a key, a user or a session has committed: drops it here at once, and on
/// every other replica through Redis and the feed table.
pub async fn announce(caches: &Caches, kind: Kind, target: &str) {
    apply_locally(caches, kind, target);
    let id = db::new_id();
    // Stamped by the database; this replica applied it already and skips it when read back.
    caches.feed.first_time(&id, UNSTAMPED);
    let db = &caches.db;
    if let Err(e) = db::invalidations::insert(&db.pool, db.backend, &id, kind, target).await {
        tracing::error!(error = %e, kind = kind.as_str(), "could not record a cache invalidation; other replicas drop it within 30 s");
    }
    if let Some(link) = &caches.redis {
        link.publish_invalidation(&message(&id, kind, target)).await;
    }
}

/// An invalidation as Redis carries it: `<id> <kind> <target>`.
fn message(id: &str, kind: Kind, target: &str) -> String {
    format!("{id} {} {target}", kind.as_str())
}

/// An invalidation from Redis (another replica's [`announce`]).
fn receive(caches: &Caches, payload: &str) {
    let mut parts = payload.splitn(3, ' ');
    let (Some(id), Some(kind), Some(target)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let Some(kind) = Kind::parse(kind) else {
        return;
    };
    if caches.feed.first_time(id, UNSTAMPED) {
        apply_locally(caches, kind, target);
    }
}

/// Empties every cache.
fn clear_caches(caches: &Caches) {
    caches.keys.clear();
    caches.sessions.clear();
}

fn set_caching(caches: &Caches, on: bool) {
    caches.keys.gate().set_enabled(on);
    caches.sessions.gate().set_enabled(on);
}

/// Reads the feed table every [`POLL`] until `stop`; turns the caches off while it cannot.
pub async fn run_feed(caches: Caches, mut stop: watch::Receiver<bool>) {
    let mut last_ok = tokio::time::Instant::now();
    loop {
        match tokio::time::timeout(STALE_AFTER / 2, read_feed(&caches)).await {
            Ok(Ok(())) => {
                last_ok = tokio::time::Instant::now();
                if caches.feed.stale.swap(false, Ordering::AcqRel) {
                    set_caching(&caches, true);
                    tracing::info!(
                        "the cache invalidation feed is readable again: caching resumes"
                    );
                }
            }
            Ok(Err(_)) | Err(_) if last_ok.elapsed() >= STALE_AFTER => {
                if !caches.feed.stale.swap(true, Ordering::AcqRel) {
                    set_caching(&caches, false);
                    clear_caches(&caches);
                    tracing::warn!("the cache invalidation feed is unreadable: serving without caches until it is back");
                }
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "reading the invalidation feed failed"),
            Err(_) => tracing::debug!("reading the invalidation feed timed out"),
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One read: applies every invalidation stamped since the previous read (less the overlap)
/// that this replica has not applied yet.
async fn read_feed(caches: &Caches) -> sqlx::Result<()> {
    let pool = &caches.db.pool;
    let now_ms = db::invalidations::clock(pool, caches.db.backend).await?;
    // The first read looks back one overlap too: a request may have filled a cache before it.
    let previous = match caches.feed.read_at_ms.load(Ordering::Acquire) {
        0 => now_ms,
        at => at,
    };
    for row in db::invalidations::since(pool, previous - OVERLAP_MS).await? {
        if let Some(kind) = row.kind {
            if caches.feed.first_time(&row.id, row.at_ms) {
                apply_locally(caches, kind, &row.target);
            }
        }
    }
    caches.feed.read_at_ms.store(now_ms, Ordering::Release);
    // Forget ids that no later read can return (stamped before the next window). Ids still
    // unstamped stay until their row is read.
    let horizon = now_ms - 2 * OVERLAP_MS;
    caches
        .feed
        .applied
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|_, at| *at >= horizon);
    Ok(())
}

/// Deletes feed rows no cache can still need (called by the hourly housekeeping).
pub async fn prune(caches: &Caches) -> sqlx::Result<u64> {
    let db = &caches.db;
    let now_ms = db::invalidations::clock(&db.pool, db.backend).await?;
    db::invalidations::prune(&db.pool, now_ms - KEEP_MS).await
}

/// Applies invalidations other replicas publish on Redis until `stop`. Messages published
/// while this replica was not subscribed are lost here, and read from the feed table instead.
pub async fn run_listener(caches: Caches, mut stop: watch::Receiver<bool>) {
    let Some(link) = caches.redis.clone() else {
        return;
    };
    loop {
        if let Ok(Ok(pubsub)) =
            tokio::time::timeout(Duration::from_secs(2), link.subscribe_invalidations()).await
        {
            let mut messages = pubsub.into_on_message();
            loop {
                tokio::select! {
                    msg = messages.next() => match msg {
                        Some(m) => {
                            if let Ok(payload) = m.get_payload::<String>() {
                                receive(&caches, &payload);
                            }
                        }
                        None => break,
                    },
                    _ = stop.changed() => return,
                }
            }
            tracing::warn!("Redis subscription lost; reconnecting");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

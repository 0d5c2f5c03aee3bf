//! This replica's cache of API keys: keys that exist, and (apart, small) digests known to be
//! no key, behind the fill gate; each worker thread's copies in front ([`super::local`]).

use std::{
    cell::RefCell,
    net::IpAddr,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::Duration,
};

use ipnet::IpNet;
use moka::sync::Cache;
use shared::{key_limits::RateLimitSetting, keys::WhoAmI};

use super::{
    coherence::FillGate,
    local::{read_through, Front, Generations},
};
use crate::{
    db::keys::KeyRow,
    hashing::Hasher,
    usage::{KeyCounts, UsageRecorder},
};

/// SHA-256 of a key: the cache is keyed by the raw digest, so the hot path never hex-encodes.
pub type KeyDigest = [u8; 32];

/// The key cache: digest → key, for keys that exist, and (apart, small) digests known to be no
/// key, so a flood of well-formed unknown keys can neither evict real keys nor make every
/// request read the database. Revocation, rotation and account changes invalidate an entry at
/// once, here and on every replica ([`crate::coherence`]); a load that read the database before
/// such an invalidation never fills the cache after it (the fill gate). Each worker thread
/// keeps copies of the keys it read in the current second ([`crate::front`]).
#[derive(Clone)]
pub struct KeyCache(Arc<KeyCacheInner>);

struct KeyCacheInner {
    keys: Cache<KeyDigest, Arc<CachedKey>, Hasher>,
    /// Digests of well-formed keys of this server's kind that are no key.
    unknown: Cache<KeyDigest, (), Hasher>,
    /// Client addresses over their failed-authentication limit, until when (unix seconds).
    failing: Cache<String, i64, Hasher>,
    gate: FillGate,
    generations: Generations,
}

thread_local! {
    static FRONT: RefCell<Front<KeyDigest, Arc<CachedKey>>> = RefCell::default();
}

/// A cached key row, the principal it authenticates (built once, shared by every request that
/// uses the key), and when this replica last queued a usage report for it, so busy keys cost one
/// queue message a minute rather than one per request.
pub struct CachedKey {
    row: KeyRow,
    /// Who the key authenticates, built once and shared by every request that uses it.
    pub principal: Arc<WhoAmI>,
    /// `principal` as JSON: what `GET /api/v1/whoami` answers for this key, serialised once.
    /// Each answer copies it: a shared `Bytes` would have every worker thread add to and take
    /// from one reference count, a cache line the cores pass back and forth on every request.
    pub whoami_json: Box<[u8]>,
    /// The rate-limit bucket's name, made once rather than per request.
    pub bucket: String,
    /// Where the key may be used from, parsed once; `None`: anywhere.
    pub allowed: Option<Vec<IpNet>>,
    reported: AtomicI64,
    counts: OnceLock<Arc<KeyCounts>>,
    /// The network of the last request, and the networks this copy has seen (see
    /// [`Self::new_network`]).
    last_network: AtomicU64,
    networks: Mutex<Vec<u64>>,
}

impl std::ops::Deref for CachedKey {
    type Target = KeyRow;
    fn deref(&self) -> &KeyRow {
        &self.row
    }
}

impl CachedKey {
    fn new(row: KeyRow) -> Self {
        let principal = WhoAmI {
            user_id: row.user_id.clone(),
            email: row.owner_email.clone(),
            auth: "key".into(),
            key_id: Some(row.id.clone()),
            scopes: row.scopes.clone(),
            workspace_id: row.workspace_id.clone(),
            workspace_role: row.role.clone(),
            allowed_ips: row.limits.allowed_ips.clone(),
            account_ids: row.limits.account_ids.clone(),
            // What is left changes with every request: `whoami` adds it.
            quota: None,
            rate_limit: row.limits.rate.map(|(per_minute, burst)| RateLimitSetting {
                per_minute: per_minute as u32,
                burst: burst as u32,
            }),
        };
        // Stored in canonical form when set: anything that does not parse is left out, so a
        // broken row narrows the list (fails closed), never widens it.
        let allowed = row
            .limits
            .allowed_ips
            .as_ref()
            .map(|list| list.iter().filter_map(|s| s.parse().ok()).collect());
        Self {
            whoami_json: serde_json::to_vec(&principal).unwrap_or_default().into(),
            principal: Arc::new(principal),
            bucket: format!("key:{}", row.id),
            allowed,
            row,
            reported: AtomicI64::new(0),
            counts: OnceLock::new(),
            last_network: AtomicU64::new(0),
            networks: Mutex::default(),
        }
    }

    /// Whether a request from `ip` may use the key (its allowlist, if it has one).
    pub fn allows_ip(&self, ip: Option<IpAddr>) -> bool {
        match (&self.allowed, ip) {
            (None, _) => true,
            (Some(nets), Some(ip)) => {
                let ip = canonical_ip(ip);
                nets.iter().any(|n| n.contains(&ip))
            }
            // No known address: refused (fail closed).
            (Some(_), None) => false,
        }
    }

    /// This key's request counters on this replica.
    pub fn counts(&self, usage: &UsageRecorder) -> &KeyCounts {
        self.counts.get_or_init(|| usage.counts(&self.row.id))
    }

    /// The network of `ip` (IPv4 /24, IPv6 /48) when this copy of the key had not seen it
    /// yet; the usage writer then decides whether it is new for the key. One atomic load for
    /// a request from the same network as the last one.
    pub fn new_network(&self, ip: IpAddr) -> Option<String> {
        let ip = canonical_ip(ip);
        let print = network_print(ip);
        if self.last_network.load(Ordering::Relaxed) == print {
            return None;
        }
        self.last_network.store(print, Ordering::Relaxed);
        let mut seen = self.networks.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&print) {
            return None;
        }
        if seen.len() < 64 {
            seen.push(print);
        }
        Some(network_name(ip))
    }

    /// True (once per minute per key and replica) when a usage report is due.
    pub fn report_due(&self, now: i64) -> bool {
        let last = self.reported.load(Ordering::Relaxed);
        now - last >= 60
            && self
                .reported
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A fingerprint of the network an address belongs to (its IPv4 /24 or IPv6 /48), never 0:
/// what every request compares, without formatting anything.
fn network_print(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => (1 << 62) | u64::from(u32::from(v4) >> 8),
        IpAddr::V6(v6) => (2 << 62) | (u128::from(v6) >> 80) as u64,
    }
}

/// The network's name (`198.51.100.0/24`, `2001:db8:1::/48`), for the writer and the mail.
fn network_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

const KEY_TTL: Duration = Duration::from_secs(30);

impl Default for KeyCache {
    fn default() -> Self {
        Self(Arc::new(KeyCacheInner {
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(KEY_TTL)
                .build_with_hasher(Hasher::default()),
            unknown: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(KEY_TTL)
                .build_with_hasher(Hasher::default()),
            failing: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build_with_hasher(Hasher::default()),
            gate: FillGate::default(),
            generations: Generations::default(),
        }))
    }
}

impl KeyCache {
    /// A cached answer (`Some(None)`: a digest known to be no key), without the database.
    /// `now`: unix seconds, which bound how long this thread's copy may answer.
    pub fn peek(&self, digest: &KeyDigest, now: i64) -> Option<Option<Arc<CachedKey>>> {
        let stamp = self.0.generations.stamp(now);
        if let Some(key) = read_through(&FRONT, stamp, digest, || self.0.keys.get(digest)) {
            return Some(Some(key));
        }
        self.0.unknown.contains_key(digest).then_some(None)
    }

    /// The key from the database.
    pub async fn load(
        &self,
        pool: &sqlx::AnyPool,
        digest: &KeyDigest,
    ) -> sqlx::Result<Option<Arc<CachedKey>>> {
        let hash = hex::encode(digest);
        self.load_with(digest, crate::db::keys::by_hash(pool, &hash))
            .await
    }

    /// [`Self::load`] with the database read passed in (tests interleave it with revocations).
    async fn load_with(
        &self,
        digest: &KeyDigest,
        read: impl std::future::Future<Output = sqlx::Result<Option<KeyRow>>>,
    ) -> sqlx::Result<Option<Arc<CachedKey>>> {
        let epoch = self.0.gate.epoch();
        let found = read.await?.map(|row| Arc::new(CachedKey::new(row)));
        self.0.gate.fill(epoch, || match &found {
            Some(key) => self.0.keys.insert(*digest, key.clone()),
            None => self.0.unknown.insert(*digest, ()),
        });
        Ok(found)
    }

    pub fn gate(&self) -> &FillGate {
        &self.0.gate
    }

    /// Seconds until `bucket` may try unknown keys again, while it is over its limit.
    pub fn failing(&self, bucket: &str, now: i64) -> Option<u64> {
        let until = self.0.failing.get(bucket)?;
        (until > now).then(|| (until - now) as u64)
    }

    pub fn fail_until(&self, bucket: String, until: i64) {
        self.0.failing.insert(bucket, until);
    }

    /// Drops every cached key.
    pub fn clear(&self) {
        self.0.gate.invalidating(|| {
            self.0.keys.invalidate_all();
            self.0.unknown.invalidate_all();
        });
        self.0.generations.bump();
    }

    /// Drops a key (by its stored hex hash) from this replica's cache.
    pub fn invalidate(&self, key_hash: &str) {
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(key_hash, &mut digest).is_ok() {
            self.0.gate.invalidating(|| {
                self.0.keys.invalidate(&digest);
                self.0.unknown.invalidate(&digest);
            });
            self.0.generations.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Arc<CachedKey> {
        Arc::new(CachedKey::new(KeyRow {
            id: id.into(),
            workspace_id: "ws".into(),
            user_id: "user".into(),
            name: "agent".into(),
            key_hash: hex::encode([7u8; 32]),
            hint: "abcd".into(),
            scopes: vec!["read:accounts".into()],
            created_at: 0,
            expires_at: None,
            expiry_days: None,
            revoked_at: None,
            last_used_at: None,
            last_used_ip: None,
            last_used_user_agent: None,
            owner_disabled: false,
            owner_email: "a@example.com".into(),
            role: "owner".into(),
            limits: Default::default(),
        }))
    }

    fn id_of(found: Option<Option<Arc<CachedKey>>>) -> Option<String> {
        found.flatten().map(|k| k.id.clone())
    }

    fn row(id: &str) -> KeyRow {
        let key = key(id);
        KeyRow::clone(&key)
    }

    /// Loads `row` into `cache` as the database would answer it.
    async fn load(cache: &KeyCache, digest: &KeyDigest, row: Option<KeyRow>) {
        cache.load_with(digest, async { Ok(row) }).await.unwrap();
    }

    #[tokio::test]
    async fn invalidation_reaches_the_threads_copies_and_caches_keep_their_own() {
        let digest = [7u8; 32];
        let (a, b) = (KeyCache::default(), KeyCache::default());
        load(&a, &digest, Some(row("in-a"))).await;
        load(&b, &digest, Some(row("in-b"))).await;
        // The first read copies the key into this thread's front; the second answers from it.
        for _ in 0..2 {
            assert_eq!(id_of(a.peek(&digest, 100)).as_deref(), Some("in-a"));
            assert_eq!(id_of(b.peek(&digest, 100)).as_deref(), Some("in-b"));
        }
        a.invalidate(&hex::encode(digest));
        assert_eq!(id_of(a.peek(&digest, 100)), None, "invalidated");
        assert!(a.peek(&digest, 100).is_none(), "not even as unknown");
        assert_eq!(id_of(b.peek(&digest, 100)).as_deref(), Some("in-b"));
        b.clear();
        assert!(b.peek(&digest, 100).is_none(), "cleared");

        // A copy answers within its second only; then the shared cache is asked again.
        load(&a, &digest, Some(row("first"))).await;
        assert_eq!(id_of(a.peek(&digest, 200)).as_deref(), Some("first"));
        a.0.keys.insert(digest, key("second"));
        assert_eq!(id_of(a.peek(&digest, 200)).as_deref(), Some("first"));
        assert_eq!(id_of(a.peek(&digest, 201)).as_deref(), Some("second"));
    }

    #[tokio::test]
    async fn a_load_that_read_the_key_before_its_revocation_does_not_cache_it() {
        let cache = KeyCache::default();
        let digest = [9u8; 32];
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        // The load reads the row as it was before the revocation...
        let loading = tokio::spawn({
            let cache = cache.clone();
            async move {
                let read = async {
                    let _ = started_tx.send(());
                    let _ = released.await;
                    Ok(Some(row("live-then")))
                };
                cache.load_with(&digest, read).await.unwrap()
            }
        });
        started.await.unwrap();
        // ...the revocation commits and invalidates while the read is in flight...
        cache.invalidate(&hex::encode(digest));
        // ...and only then does the read return.
        release.send(()).unwrap();
        let answered = loading.await.unwrap();
        assert_eq!(answered.map(|k| k.id.clone()).as_deref(), Some("live-then"));
        assert!(
            cache.peek(&digest, 100).is_none(),
            "the row read before the revocation must not enter the cache"
        );
        // A load that starts after the invalidation caches as usual.
        load(&cache, &digest, Some(row("fresh"))).await;
        assert_eq!(id_of(cache.peek(&digest, 100)).as_deref(), Some("fresh"));
    }

    #[tokio::test]
    async fn unknown_keys_are_remembered_apart_and_cannot_evict_real_ones() {
        let cache = KeyCache::default();
        let real = [1u8; 32];
        load(&cache, &real, Some(row("real"))).await;
        // Far more unknown digests than the unknown cache holds.
        for i in 0..30_000u32 {
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            digest[31] = 0xff;
            load(&cache, &digest, None).await;
        }
        cache.0.keys.run_pending_tasks();
        cache.0.unknown.run_pending_tasks();
        assert!(
            cache.0.unknown.entry_count() <= 10_000,
            "the unknown cache is bounded"
        );
        assert_eq!(id_of(cache.peek(&real, 100)).as_deref(), Some("real"));
        let mut last = [0u8; 32];
        last[..4].copy_from_slice(&29_999u32.to_be_bytes());
        last[31] = 0xff;
        assert!(matches!(cache.peek(&last, 100), Some(None) | None));
    }

    #[test]
    fn allowlists_match_v4_v6_and_mapped_addresses_and_fail_closed() {
        let mut row = row("k");
        row.limits.allowed_ips = Some(vec![
            "203.0.113.0/24".into(),
            "2001:db8:abcd::/48".into(),
            "not an address".into(),
        ]);
        let k = CachedKey::new(row);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(k.allows_ip(ip("203.0.113.200")));
        assert!(k.allows_ip(ip("::ffff:203.0.113.7")), "IPv4-mapped");
        assert!(k.allows_ip(ip("2001:db8:abcd:12::1")));
        assert!(!k.allows_ip(ip("203.0.114.1")));
        assert!(!k.allows_ip(ip("2001:db8:abce::1")));
        assert!(!k.allows_ip(None), "no address: refused");
        let mut empty = KeyRow::clone(&k);
        empty.limits.allowed_ips = Some(vec!["junk".into()]);
        assert!(
            !CachedKey::new(empty).allows_ip(ip("203.0.113.1")),
            "fails closed"
        );
        assert!(key("open").allows_ip(None));
    }

    #[test]
    fn a_network_is_new_once_per_copy() {
        let k = key("k");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            k.new_network(ip("198.51.100.7")).as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(k.new_network(ip("198.51.100.99")), None, "same /24");
        assert_eq!(
            k.new_network(ip("2001:db8:1:2::3")).as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(k.new_network(ip("198.51.100.1")), None, "seen before");
        assert_eq!(
            k.new_network(ip("::ffff:198.51.100.1")),
            None,
            "mapped is the same"
        );
    }
}

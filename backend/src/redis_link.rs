//! The optional Redis that lets replicas act as one: shared rate limits (an atomic Lua token
//! bucket) and the fast fan-out of cache invalidations (pub/sub; `crate::coherence`). Redis is never required to serve:
//! when it is unreachable, limits fall back to this process's own buckets, `/readyz` says
//! `degraded`, and the log says so once per change.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use tokio::sync::RwLock;

use crate::{
    clock::Clock,
    ratelimit::{Decision, LocalLimiter, RateLimiter},
};

/// A Redis command that takes longer than this counts as Redis being down.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// A lazily (re)connected Redis connection with its health.
pub struct RedisLink {
    client: redis::Client,
    /// `PFN_REDIS_PREFIX`: every key and channel starts with it.
    prefix: String,
    conn: RwLock<Option<ConnectionManager>>,
    up: AtomicBool,
    last_attempt_ms: AtomicI64,
    clock: Clock,
}

impl RedisLink {
    pub fn new(url: &str, prefix: &str, clock: Clock) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            client: redis::Client::open(url)?,
            prefix: prefix.to_string(),
            conn: RwLock::new(None),
            up: AtomicBool::new(false),
            last_attempt_ms: AtomicI64::new(i64::MIN / 2),
            clock,
        }))
    }

    /// Connects now (start-up); failure is logged, not fatal.
    pub async fn connect(self: &Arc<Self>) {
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            ConnectionManager::new(self.client.clone()),
        )
        .await;
        match attempt {
            Ok(Ok(c)) => {
                *self.conn.write().await = Some(c);
                self.mark(true);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Redis unreachable: using in-process rate limits");
                self.mark(false);
            }
            Err(_) => {
                tracing::warn!("Redis did not answer: using in-process rate limits");
                self.mark(false);
            }
        }
    }

    /// Records Redis's health, logging each change once.
    fn mark(&self, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was != up {
            if up {
                tracing::info!("Redis is reachable: rate limits are shared between replicas");
            } else {
                tracing::warn!("Redis is down: falling back to in-process rate limits");
            }
        }
    }

    /// Where cache invalidations travel between replicas (`crate::cache::coherence`).
    fn invalidation_channel(&self) -> String {
        format!("{}:invalidate", self.prefix)
    }

    /// A subscription to the invalidations other replicas publish.
    pub async fn subscribe_invalidations(&self) -> redis::RedisResult<redis::aio::PubSub> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(self.invalidation_channel()).await?;
        Ok(pubsub)
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A `PING` with the command timeout: whether Redis answers now (and the health is updated).
    pub async fn ping(self: &Arc<Self>) -> bool {
        self.run(async |mut c| redis::cmd("PING").query_async::<String>(&mut c).await)
            .await
            .is_some()
    }

    /// The connection, or `None` (then a reconnect is tried in the background, at most every
    /// few seconds, so requests never wait for it).
    async fn conn(self: &Arc<Self>) -> Option<ConnectionManager> {
        if let Some(c) = self.conn.read().await.as_ref() {
            return Some(c.clone());
        }
        let now = self.clock.now_ms();
        let last = self.last_attempt_ms.load(Ordering::Relaxed);
        if now - last >= 3000
            && self
                .last_attempt_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let me = self.clone();
            tokio::spawn(async move { me.connect().await });
        }
        None
    }

    /// Runs a command with a timeout; any failure marks Redis down.
    async fn run<T: redis::FromRedisValue>(
        self: &Arc<Self>,
        f: impl AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>,
    ) -> Option<T> {
        let c = self.conn().await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, f(c)).await {
            Ok(Ok(v)) => {
                self.mark(true);
                Some(v)
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "Redis command failed");
                self.mark(false);
                None
            }
            Err(_) => {
                self.mark(false);
                None
            }
        }
    }

    /// Tells every replica to apply an invalidation now. Best effort: a lost message is read
    /// from the database's feed within one poll (`crate::coherence`).
    pub async fn publish_invalidation(self: &Arc<Self>, payload: &str) {
        let channel = self.invalidation_channel();
        let sent = self
            .run(async |mut c| {
                redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(payload)
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await;
        if sent.is_none() {
            tracing::debug!(
                "could not publish a cache invalidation; other replicas read it from the feed"
            );
        }
    }
}

/// Token buckets in Redis, updated atomically by one Lua script, so every replica draws from
/// the same bucket. Falls back to this process's buckets while Redis is down.
pub struct RedisLimiter {
    link: Arc<RedisLink>,
    script: redis::Script,
    local: LocalLimiter,
    clock: Clock,
}

/// `KEYS[1]`: the bucket. `ARGV`: capacity, refill per millisecond, now (ms). Returns
/// `{allowed, tokens left}` (the count as a string: Redis truncates Lua numbers to integers).
const TOKEN_BUCKET: &str = r#"
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then
  tokens = cap
  at = now
end
if now > at then
  tokens = math.min(cap, tokens + (now - at) * rate)
  at = now
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate) + 1000)
return {allowed, tostring(tokens)}
"#;

impl RedisLimiter {
    pub fn new(link: Arc<RedisLink>, clock: Clock) -> Self {
        Self {
            link,
            script: redis::Script::new(TOKEN_BUCKET),
            local: LocalLimiter::new(clock.clone()),
            clock,
        }
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn take(&self, key: &str, capacity: u32, refill_per_sec: f64) -> Decision {
        if capacity == 0 || refill_per_sec <= 0.0 {
            return self.local.take(key, capacity, refill_per_sec).await;
        }
        let now = self.clock.now_ms();
        let per_ms = refill_per_sec / 1000.0;
        let bucket = format!("{}:rl:{key}", self.link.prefix);
        let result = self
            .link
            .run(async |mut c| {
                self.script
                    .key(&bucket)
                    .arg(capacity)
                    .arg(per_ms)
                    .arg(now)
                    .invoke_async::<(i64, String)>(&mut c)
                    .await
            })
            .await;
        match result {
            Some((allowed, tokens)) => crate::ratelimit::decision(
                allowed == 1,
                tokens.parse().unwrap_or(0.0),
                capacity,
                refill_per_sec,
            ),
            None => self.local.take(key, capacity, refill_per_sec).await,
        }
    }

    async fn shared(&self) -> Option<bool> {
        Some(self.link.ping().await)
    }
}

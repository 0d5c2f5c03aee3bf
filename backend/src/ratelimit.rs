//! Keyed rate limits (token buckets) behind a trait, so a Redis implementation shared by
//! replicas can replace the in-process one.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;

use crate::{clock::Clock, hashing::Hasher};

/// A limit of `limit` events per `per_secs`, refilling smoothly; `limit == 0` means off.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub limit: u32,
    pub per_secs: u64,
}

impl Rate {
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            per_secs: 60,
        }
    }
    pub const fn per_hour(limit: u32) -> Self {
        Self {
            limit,
            per_secs: 3600,
        }
    }
}

/// The outcome of taking a token, with what the `RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Bucket size (`RateLimit-Limit`).
    pub limit: u32,
    /// Whole tokens left (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Seconds until the bucket is full again (`RateLimit-Reset`).
    pub reset_secs: u64,
    /// Seconds until one token is available (`Retry-After`), 0 when allowed.
    pub retry_after: u64,
}

/// Where the key extractor leaves its rate-limit decision for `http::edge`, which writes the
/// `RateLimit-*` headers from it (`http::ratelimit_headers`). Made by `http::edge` for requests
/// with an `Authorization` header, in their [`Arrival`](crate::request_meta::Arrival).
#[derive(Clone, Default)]
pub struct RateSlot(Arc<Mutex<Option<Decision>>>);

impl RateSlot {
    pub fn set(&self, decision: Decision) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(decision);
    }

    /// What the extractor decided, if it ran.
    pub fn decision(&self) -> Option<Decision> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token from the bucket `key` holding at most `capacity` tokens and refilling
    /// `refill_per_sec` tokens a second. `capacity == 0` means no limit.
    async fn take(&self, key: &str, capacity: u32, refill_per_sec: f64) -> Decision;

    /// `None` for in-process limits; `Some(up)` for limits shared through Redis, checked now
    /// (`/readyz` asks, so a Redis that came back shows without waiting for traffic).
    async fn shared(&self) -> Option<bool> {
        None
    }

    /// Takes one token for `key` at `rate`; `Err(retry_after_secs)` when the bucket is empty.
    async fn hit(&self, key: &str, rate: Rate) -> Result<(), u64> {
        let d = self
            .take(
                key,
                rate.limit,
                f64::from(rate.limit) / rate.per_secs as f64,
            )
            .await;
        if d.allowed {
            Ok(())
        } else {
            Err(d.retry_after)
        }
    }
}

/// Token buckets in process memory: right for a single replica.
pub struct LocalLimiter {
    clock: Clock,
    buckets: Mutex<HashMap<String, (f64, i64), Hasher>>,
}

impl LocalLimiter {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::default()),
        }
    }
}

const MAX_KEYS: usize = 100_000;

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn take(&self, key: &str, capacity: u32, refill_per_sec: f64) -> Decision {
        if capacity == 0 || refill_per_sec <= 0.0 {
            return Decision {
                allowed: true,
                limit: capacity,
                remaining: capacity,
                reset_secs: 0,
                retry_after: 0,
            };
        }
        let now = self.clock.now_ms();
        let cap = f64::from(capacity);
        let per_ms = refill_per_sec / 1000.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS {
            // Full buckets carry no information: dropping them forgets nothing.
            buckets.retain(|_, (tokens, at)| *tokens + (now - *at) as f64 * per_ms < cap);
        }
        // Look up before inserting: `entry` would allocate the key on every request.
        if !buckets.contains_key(key) {
            buckets.insert(key.to_string(), (cap, now));
        }
        let Some((tokens, at)) = buckets.get_mut(key) else {
            unreachable!("inserted above while holding the lock")
        };
        *tokens = (*tokens + (now - *at).max(0) as f64 * per_ms).min(cap);
        *at = now;
        let allowed = *tokens >= 1.0;
        if allowed {
            *tokens -= 1.0;
        }
        decision(allowed, *tokens, capacity, refill_per_sec)
    }
}

/// The headers' view of a bucket holding `tokens` after a take.
pub fn decision(allowed: bool, tokens: f64, capacity: u32, refill_per_sec: f64) -> Decision {
    let secs = |missing: f64| (missing / refill_per_sec).ceil().max(0.0) as u64;
    Decision {
        allowed,
        limit: capacity,
        remaining: tokens.floor().max(0.0) as u32,
        reset_secs: secs(f64::from(capacity) - tokens),
        retry_after: if allowed {
            0
        } else {
            secs(1.0 - tokens).max(1)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bucket_empties_and_refills_with_the_clock() {
        let clock = Clock::default();
        let l = LocalLimiter::new(clock.clone());
        let rate = Rate::per_hour(3);
        for _ in 0..3 {
            l.hit("k", rate).await.unwrap();
        }
        let wait = l.hit("k", rate).await.unwrap_err();
        assert!((1..=1200).contains(&wait), "{wait}");
        assert!(l.hit("other", rate).await.is_ok(), "keys are independent");
        clock.advance(1200);
        assert!(l.hit("k", rate).await.is_ok());
        assert!(
            l.hit("k", Rate::per_minute(0)).await.is_ok(),
            "0 turns the limit off"
        );
    }
}

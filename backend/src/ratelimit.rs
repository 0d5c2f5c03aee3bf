//! Keyed rate limits (token buckets) behind a trait, so a Redis implementation shared by
//! replicas can replace the in-process one.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use crate::state::Clock;

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

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token for `key`; `Err(retry_after_secs)` when the bucket is empty.
    async fn hit(&self, key: &str, rate: Rate) -> Result<(), u64>;
}

/// Token buckets in process memory: right for a single replica.
pub struct LocalLimiter {
    clock: Clock,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl LocalLimiter {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

const MAX_KEYS: usize = 100_000;

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn hit(&self, key: &str, rate: Rate) -> Result<(), u64> {
        if rate.limit == 0 {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let capacity = f64::from(rate.limit);
        let per_ms = capacity / (rate.per_secs as f64 * 1000.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS {
            // Full buckets carry no information: dropping them forgets nothing.
            buckets.retain(|_, (tokens, at)| *tokens + (now - *at) as f64 * per_ms < capacity);
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((capacity, now));
        *tokens = (*tokens + (now - *at).max(0) as f64 * per_ms).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_ms / 1000.0).ceil().max(1.0) as u64)
        }
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

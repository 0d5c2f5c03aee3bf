//! Traffic controls on the wire routes: call counters, injected faults and a per-client
//! rate limit, applied by one middleware ([`traffic::wire`](crate::traffic::wire)) on every
//! wire route and never on the `/__sandbox/` controls.
//!
//! How fault rules combine: rules are checked in the order they were added, against the
//! request path (`pathPrefix`, default: every wire route). A rule *hits* a request when it still
//! has `count` left (if it has a count) and its `rate` die succeeds (if it has a rate); a hit
//! uses up one of its `count`, and a rule whose count reaches 0 is removed. A hit adds the
//! rule's `latencyMs` to the request's delay, and if the rule fails requests, checking stops
//! there and the request fails with that rule's status (after the summed delay). A rule fails
//! requests with its `status`, or 503 when no status is given, except that a rule with
//! `latencyMs` and no explicit status only delays, and a `timeout` rule never fails: it holds
//! the request for `latencyMs` (default 30 s) and then answers it normally, late. Dice come
//! from the seeded PRNG, so a sequence of requests sees the same faults on every run.

use std::{
    collections::{BTreeMap, HashMap},
    time::Instant,
};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::{error::ApiError, prng::SplitMix64};

/// Upper bound on any injected delay, so a typo cannot hang a test run for hours.
const MAX_LATENCY_MS: u64 = 600_000;
const DEFAULT_TIMEOUT_MS: u64 = 30_000;

#[derive(Debug)]
pub(crate) struct Controls {
    rules: Vec<Rule>,
    next_rule_id: u64,
    dice: SplitMix64,
    rate_limit: Option<RateLimit>,
    buckets: HashMap<String, Bucket>,
    /// `"METHOD /route/{template}"` → requests that reached it.
    pub calls: BTreeMap<String, u64>,
}

/// A fault rule as stored and as listed by `GET /__sandbox/faults`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    id: u64,
    /// The status a hit fails with; `None` for delay-only and timeout rules.
    status: Option<u16>,
    count: Option<u64>,
    rate: Option<f64>,
    retry_after: Option<u64>,
    latency_ms: u64,
    timeout: bool,
    path_prefix: Option<String>,
}

/// The body of `POST /__sandbox/faults`. Unknown fields are refused so a typo
/// (`"latency"`) is a 400, not a silently different test.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RuleSpec {
    status: Option<u16>,
    count: Option<u64>,
    rate: Option<f64>,
    retry_after: Option<u64>,
    latency_ms: Option<u64>,
    timeout: Option<bool>,
    path_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What the fault rules decided for one request.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Verdict {
    pub delay_ms: u64,
    pub fail: Option<(StatusCode, Option<u64>)>,
}

impl Controls {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            next_rule_id: 1,
            dice: SplitMix64::new(crate::prng::hash(seed, &["faults"])),
            rate_limit: None,
            buckets: HashMap::new(),
            calls: BTreeMap::new(),
        }
    }

    pub(crate) fn add_rule(&mut self, spec: RuleSpec) -> Result<&Rule, ApiError> {
        if let Some(s) = spec.status {
            if !(400..=599).contains(&s) {
                return Err(ApiError::invalid("status must be from 400 to 599"));
            }
        }
        if let Some(r) = spec.rate {
            if !(0.0..=1.0).contains(&r) {
                return Err(ApiError::invalid("rate must be from 0 to 1"));
            }
        }
        if spec.latency_ms.is_some_and(|l| l > MAX_LATENCY_MS) {
            return Err(ApiError::invalid("latencyMs must be at most 600000"));
        }
        if spec
            .path_prefix
            .as_deref()
            .is_some_and(|p| !p.starts_with('/'))
        {
            return Err(ApiError::invalid("pathPrefix must start with /"));
        }
        let timeout = spec.timeout.unwrap_or(false);
        let latency_ms = match (spec.latency_ms, timeout) {
            (Some(l), _) => l,
            (None, true) => DEFAULT_TIMEOUT_MS,
            (None, false) => 0,
        };
        let status = match (timeout, spec.status, spec.latency_ms) {
            (true, _, _) => None,
            (false, Some(s), _) => Some(s),
            (false, None, Some(_)) => None,
            (false, None, None) => Some(503),
        };
        let rule = Rule {
            id: self.next_rule_id,
            status,
            count: spec.count,
            rate: spec.rate,
            retry_after: spec.retry_after,
            latency_ms,
            timeout,
            path_prefix: spec.path_prefix,
        };
        self.next_rule_id += 1;
        self.rules.push(rule);
        self.rules
            .last()
            .ok_or_else(|| ApiError::invalid("rule not stored"))
    }

    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub(crate) fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// Applies the rules to one request (see the module docs for how they combine).
    pub(crate) fn evaluate(&mut self, path: &str) -> Verdict {
        let mut verdict = Verdict::default();
        for rule in &mut self.rules {
            if rule.count == Some(0)
                || rule
                    .path_prefix
                    .as_deref()
                    .is_some_and(|p| !path.starts_with(p))
            {
                continue;
            }
            if let Some(rate) = rule.rate {
                if self.dice.unit() >= rate {
                    continue;
                }
            }
            if let Some(c) = rule.count.as_mut() {
                *c -= 1;
            }
            verdict.delay_ms = verdict
                .delay_ms
                .saturating_add(rule.latency_ms)
                .min(MAX_LATENCY_MS);
            if let Some(status) = rule.status.and_then(|s| StatusCode::from_u16(s).ok()) {
                verdict.fail = Some((status, rule.retry_after));
                break;
            }
        }
        self.rules.retain(|r| r.count != Some(0));
        verdict
    }

    pub(crate) fn set_rate_limit(&mut self, limit: Option<RateLimit>) {
        self.rate_limit = limit;
        self.buckets.clear();
    }

    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// Takes one token from `client`'s bucket, or returns the seconds until one is available.
    /// Buckets refill on real time, not the sandbox clock: moving the clock is for expiry,
    /// and should not hand out a burst of requests.
    pub(crate) fn take(&mut self, client: &str, now: Instant) -> Result<(), u64> {
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        let burst = f64::from(limit.burst.max(1));
        let bucket = self.buckets.entry(client.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / limit.per_second).ceil();
            Err(if wait.is_finite() {
                wait.max(1.0) as u64
            } else {
                1
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(json: &str) -> RuleSpec {
        serde_json::from_str(json).expect("spec")
    }

    #[test]
    fn count_rules_fail_n_times_then_vanish() {
        let mut c = Controls::new(1);
        assert!(c.add_rule(spec(r#"{"count":2}"#)).is_ok());
        let fail = Some((StatusCode::SERVICE_UNAVAILABLE, None));
        assert_eq!(c.evaluate("/x").fail, fail);
        assert_eq!(c.evaluate("/x").fail, fail);
        assert_eq!(c.evaluate("/x"), Verdict::default());
        assert!(c.rules().is_empty());
    }

    #[test]
    fn prefix_latency_and_order() {
        let mut c = Controls::new(1);
        assert!(c.add_rule(spec(r#"{"latencyMs":100}"#)).is_ok());
        assert!(c
            .add_rule(spec(
                r#"{"status":429,"retryAfter":7,"pathPrefix":"/accountInformation"}"#
            ))
            .is_ok());
        assert_eq!(
            c.evaluate("/accountInformation/v2/accounts"),
            Verdict {
                delay_ms: 100,
                fail: Some((StatusCode::TOO_MANY_REQUESTS, Some(7)))
            }
        );
        assert_eq!(c.evaluate("/v1/providers").fail, None);
    }

    #[test]
    fn rates_are_deterministic_and_roughly_right() {
        let run = || {
            let mut c = Controls::new(9);
            assert!(c.add_rule(spec(r#"{"rate":0.3}"#)).is_ok());
            (0..1000)
                .map(|_| c.evaluate("/a").fail.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|x| **x).count();
        assert!((230..370).contains(&hits), "{hits}");
    }

    #[test]
    fn timeout_rules_only_delay() {
        let mut c = Controls::new(1);
        assert!(c.add_rule(spec(r#"{"timeout":true,"status":503}"#)).is_ok());
        assert_eq!(
            c.evaluate("/a"),
            Verdict {
                delay_ms: 30_000,
                fail: None
            }
        );
    }

    #[test]
    fn bad_specs_are_refused() {
        let mut c = Controls::new(1);
        for bad in [
            r#"{"status":200}"#,
            r#"{"rate":1.5}"#,
            r#"{"latencyMs":999999999}"#,
            r#"{"pathPrefix":"x"}"#,
        ] {
            assert!(c.add_rule(spec(bad)).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<RuleSpec>(r#"{"latency":5}"#).is_err());
    }

    #[test]
    fn token_bucket() {
        let mut c = Controls::new(1);
        c.set_rate_limit(Some(RateLimit {
            per_second: 2.0,
            burst: 2,
        }));
        let t0 = Instant::now();
        assert_eq!(c.take("a", t0), Ok(()));
        assert_eq!(c.take("a", t0), Ok(()));
        assert_eq!(c.take("a", t0), Err(1));
        assert_eq!(c.take("b", t0), Ok(()));
        assert_eq!(c.take("a", t0 + Duration::from_millis(600)), Ok(()));
    }
}

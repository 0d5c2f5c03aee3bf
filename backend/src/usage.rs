//! Key usage, recorded off the request path: a bounded queue the key extractor fills and the
//! keys feature's writer drains (`keys::usage`).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use tokio::sync::mpsc;

use crate::request_meta::RequestMeta;

/// A successful or refused key use, recorded off the request path.
pub enum Usage {
    Used {
        key_id: String,
        user_id: String,
        at: i64,
        meta: RequestMeta,
    },
    Denied {
        key_id: String,
        user_id: String,
        at: i64,
        meta: RequestMeta,
        reason: &'static str,
    },
    /// The key was used from a network (IPv4 /24, IPv6 /48) this replica had not seen it use.
    Network {
        key_id: String,
        user_id: String,
        at: i64,
        network: String,
        meta: RequestMeta,
    },
}

/// A bounded queue of usage events; `keys::usage::run_writer` (started by `serve`) drains it.
pub struct UsageRecorder {
    tx: mpsc::Sender<Usage>,
    rx: Mutex<Option<mpsc::Receiver<Usage>>>,
    /// Each key's request counts since the last flush (`keys::usage::flush_counts`).
    counts: Mutex<HashMap<String, Arc<KeyCounts>>>,
}

impl Default for UsageRecorder {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(10_000);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            counts: Mutex::default(),
        }
    }
}

/// What became of a key's request, as `GET /api/v1/keys/{id}/usage` counts it.
pub const OUTCOMES: [&str; 9] = [
    "ok",
    "rate_limited",
    "denied:revoked",
    "denied:expired",
    "denied:scope",
    "denied:ip",
    "denied:accounts",
    "denied:quota",
    "denied:other",
];

/// A key's requests since the last flush, by outcome ([`OUTCOMES`]): atomics, so counting costs
/// the request path one relaxed add. Allowed requests, the busy case, count in one of several
/// cache lines picked by thread, so threads serving one key do not contend for one line.
#[derive(Default)]
pub struct KeyCounts {
    ok: [Padded; STRIPES],
    other: [AtomicU64; OUTCOMES.len()],
}

const STRIPES: usize = 8;

/// An atomic alone on its cache line (128 bytes: two lines, for the adjacent-line prefetcher).
#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

thread_local! {
    /// This thread's stripe of [`KeyCounts::ok`].
    static STRIPE: usize = {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) as usize % STRIPES
    };
}

impl KeyCounts {
    pub fn ok(&self) {
        let stripe = STRIPE.with(|s| *s);
        self.ok[stripe].0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn rate_limited(&self) {
        self.other[1].fetch_add(1, Ordering::Relaxed);
    }

    /// A refusal for `reason` (`revoked`, `expired`, `scope`, `ip`, `accounts`, `quota`).
    pub fn denied(&self, reason: &str) {
        let slot = OUTCOMES[2..]
            .iter()
            .position(|o| o.strip_prefix("denied:") == Some(reason))
            .unwrap_or(OUTCOMES.len() - 3);
        self.other[2 + slot].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts, set back to zero.
    fn take(&self) -> [u64; OUTCOMES.len()] {
        let mut out: [u64; OUTCOMES.len()] =
            std::array::from_fn(|i| self.other[i].swap(0, Ordering::Relaxed));
        out[0] = self.ok.iter().map(|s| s.0.swap(0, Ordering::Relaxed)).sum();
        out
    }
}

impl UsageRecorder {
    /// The counters of key `key_id` (one per key and replica; cached keys hold theirs).
    pub fn counts(&self, key_id: &str) -> Arc<KeyCounts> {
        let mut all = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(key_id.to_string()).or_default().clone()
    }

    /// Every key's counts since the last call, set back to zero; counters nobody else holds
    /// and that counted nothing are forgotten.
    pub fn take_counts(&self) -> Vec<(String, [u64; OUTCOMES.len()])> {
        let mut all = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        all.retain(|id, c| {
            let taken = c.take();
            let any = taken.iter().any(|&n| n > 0);
            if any {
                out.push((id.clone(), taken));
            }
            any || Arc::strong_count(c) > 1
        });
        out
    }
}

impl UsageRecorder {
    /// Never blocks and never fails the request: when the queue is full the event is dropped.
    pub fn record(&self, usage: Usage) {
        let _ = self.tx.try_send(usage);
    }
}

impl UsageRecorder {
    /// The receiving end, once (the writer takes it when it starts).
    pub fn take_receiver(&self) -> Option<mpsc::Receiver<Usage>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

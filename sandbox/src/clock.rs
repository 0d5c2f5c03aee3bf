//! The sandbox clock: wall-clock time plus an offset that tests move forward, so token, intent
//! and consent expiry can be exercised without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

/// The offset is bounded so every date the sandbox computes stays well inside `time`'s range
/// (its arithmetic panics on overflow, and formatting fails past year 9999).
const MAX_OFFSET_SECS: i64 = 200 * 366 * 86_400;

#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        let real = OffsetDateTime::now_utc();
        real.checked_add(Duration::seconds(self.offset()))
            .unwrap_or(real)
    }

    pub(crate) fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }

    /// Moves the clock by `secs` (negative moves it back). `None` if the result would leave the
    /// supported range; the clock is then unchanged.
    pub(crate) fn advance(&self, secs: i64) -> Option<i64> {
        self.offset_secs
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
                cur.checked_add(secs)
                    .filter(|n| n.unsigned_abs() <= MAX_OFFSET_SECS as u64)
            })
            .ok()
            .and_then(|old| old.checked_add(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_and_refuses_absurd_offsets() {
        let c = Clock::default();
        let before = c.now();
        assert_eq!(c.advance(3600), Some(3600));
        assert!(c.now() - before >= Duration::seconds(3599));
        assert_eq!(c.advance(i64::MAX), None);
        assert_eq!(c.offset(), 3600);
        assert_eq!(c.advance(-7200), Some(-3600));
    }
}

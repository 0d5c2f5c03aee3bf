//! The clock every time-dependent rule reads.

use std::{
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// Wall-clock time plus an adjustable offset. Production never moves it; tests advance it to
/// expire tokens, locks and sessions without sleeping.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        wall + self.0.load(Ordering::Relaxed)
    }
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1000, Ordering::Relaxed);
    }
}

/// The UTC day of unix seconds `ts`, `YYYY-MM-DD`.
pub fn utc_day(ts: i64) -> String {
    rfc3339(ts).get(..10).unwrap_or_default().to_string()
}

/// The UTC month, `YYYY-MM`, of day number `day` (days since 1970-01-01), as
/// [`rfc3339`] would print it for any second of that day.
pub fn utc_month_of_day(day: i64) -> String {
    rfc3339(day.saturating_mul(86_400))
        .get(..7)
        .unwrap_or_default()
        .to_string()
}

/// RFC 3339 in UTC from unix seconds.
pub fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// When the quota refill period containing `now` began (unix seconds, UTC): today's 00:00 or
/// the 1st of this month's.
pub fn period_start(refill: shared::key_limits::QuotaRefill, now: i64) -> i64 {
    let day = now.div_euclid(86_400) * 86_400;
    match refill {
        shared::key_limits::QuotaRefill::Daily => day,
        shared::key_limits::QuotaRefill::Monthly => time::OffsetDateTime::from_unix_timestamp(day)
            .ok()
            .and_then(|t| t.replace_day(1).ok())
            .map_or(day, |t| t.unix_timestamp()),
    }
}

/// When the period containing `now` ends: the next refill (unix seconds, UTC).
pub fn next_refill(refill: shared::key_limits::QuotaRefill, now: i64) -> i64 {
    let start = period_start(refill, now);
    match refill {
        shared::key_limits::QuotaRefill::Daily => start + 86_400,
        shared::key_limits::QuotaRefill::Monthly => {
            // 32 days after the 1st is always in the next month.
            period_start(refill, start + 32 * 86_400)
        }
    }
}

#[cfg(test)]
mod refill_tests {
    use shared::key_limits::QuotaRefill::{Daily, Monthly};

    use super::{next_refill, period_start};

    #[test]
    fn periods_start_and_end_at_utc_midnight_and_the_first() {
        let now = 1_796_441_700; // 2026-12-05T03:35:00Z
        assert_eq!(period_start(Daily, now), 1_796_428_800); // 2026-12-05
        assert_eq!(next_refill(Daily, now), 1_796_515_200); // 2026-12-06
        assert_eq!(period_start(Monthly, now), 1_796_083_200); // 2026-12-01
        assert_eq!(next_refill(Monthly, now), 1_798_761_600); // 2027-01-01
        let feb = 1_832_976_000; // 2028-02-01, a leap year
        assert_eq!(period_start(Monthly, feb + 28 * 86_400 + 5), feb);
        assert_eq!(next_refill(Monthly, feb), feb + 29 * 86_400);
        assert_eq!(period_start(Daily, now - now % 86_400), now - now % 86_400);
    }
}

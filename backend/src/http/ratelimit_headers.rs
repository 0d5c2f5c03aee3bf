//! The `RateLimit-*` headers of key-authenticated answers: the key extractor decides (and
//! leaves its decision in the request's `access::RateSlot`, which `http::edge` gives every
//! request with an `Authorization` header), [`write`] writes the headers.

use std::cell::RefCell;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::{ratelimit::Decision, web::LATER_HEADERS};

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Adds `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` to an answer whose key
/// the extractor rate-limited; none when key limits are turned off (limit 0). Out of line for
/// `bench/layers.py`.
#[inline(never)]
pub fn write(h: &mut HeaderMap, decision: Option<Decision>) {
    if let Some(d) = decision.filter(|d| d.limit > 0) {
        // Room for these three and what is added after them (security headers, Cache-Control,
        // the request id) in one step: a map that grows later re-hashes every header in it.
        h.reserve(3 + LATER_HEADERS);
        h.insert(RATELIMIT_LIMIT, number_value(d.limit.into()));
        h.insert(RATELIMIT_REMAINING, number_value(d.remaining.into()));
        h.insert(RATELIMIT_RESET, number_value(d.reset_secs));
    }
}

/// A number as a header value. Numbers below 1024 (every `RateLimit-*` value under the default
/// limits) are static values made once: no formatting, allocating or freeing per answer.
/// Larger ones (a key with a large limit of its own) are kept per thread, the last few: a
/// key's limit repeats on every answer, and so does the remaining count of a bucket that stays
/// full.
fn number_value(n: u64) -> HeaderValue {
    const SMALL: usize = 1024;
    static TABLE: std::sync::LazyLock<Vec<HeaderValue>> = std::sync::LazyLock::new(|| {
        let digits: &'static str = (0..SMALL).map(|n| n.to_string()).collect::<String>().leak();
        let mut end = 0;
        (0..SMALL)
            .map(|n| {
                let start = end;
                end += n.checked_ilog10().unwrap_or(0) as usize + 1;
                HeaderValue::from_static(&digits[start..end])
            })
            .collect()
    });
    /// The last few large numbers made, and where the next one goes.
    type Recent = ([Option<(u64, HeaderValue)>; 4], usize);
    thread_local! {
        static RECENT: RefCell<Recent> = const { RefCell::new(([None, None, None, None], 0)) };
    }
    if let Some(v) = usize::try_from(n).ok().and_then(|i| TABLE.get(i)) {
        return v.clone();
    }
    RECENT.with_borrow_mut(|(recent, next)| {
        if let Some((_, v)) = recent.iter().flatten().find(|(m, _)| *m == n) {
            return v.clone();
        }
        let v = HeaderValue::from(n);
        recent[*next] = Some((n, v.clone()));
        *next = (*next + 1) % recent.len();
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_values_are_the_decimal_numbers_inside_and_beyond_the_table() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            599,
            600,
            999,
            1000,
            1023,
            1024,
            86_400,
            u64::MAX,
        ] {
            assert_eq!(number_value(n).to_str().unwrap(), n.to_string(), "{n}");
        }
        // Kept ones come back as they were, also once pushed out by newer ones.
        for round in 0..3 {
            for n in 5_000..5_010 {
                assert_eq!(
                    number_value(n).to_str().unwrap(),
                    n.to_string(),
                    "{n}, round {round}"
                );
            }
        }
    }
}

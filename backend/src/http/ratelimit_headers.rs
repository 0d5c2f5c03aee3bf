//! The `RateLimit-*` headers of key-authenticated answers: the key extractor decides (and
//! leaves its decision in the request's [`RateSlot`]), this layer writes the headers.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

use crate::{access::RateSlot, web::LATER_HEADERS};

/// Adds `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` to key-authenticated
/// answers (the extractor decides; this layer writes the headers).
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

pub async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    let decision = slot.decision();
    // No headers when key limits are turned off (limit 0).
    if let Some(d) = decision.filter(|d| d.limit > 0) {
        let h = res.headers_mut();
        // Room for these three and what the outer layers add (security headers, Cache-Control,
        // the request id) in one step: a map that grows later re-hashes every header in it.
        h.reserve(3 + LATER_HEADERS);
        h.insert(RATELIMIT_LIMIT, number_value(d.limit.into()));
        h.insert(RATELIMIT_REMAINING, number_value(d.remaining.into()));
        h.insert(RATELIMIT_RESET, number_value(d.reset_secs));
    }
    res
}

/// A number as a header value. Numbers below 1024 (every `RateLimit-*` value under the default
/// limits) are static values made once: no formatting, allocating or freeing per answer.
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
    match usize::try_from(n).ok().and_then(|i| TABLE.get(i)) {
        Some(v) => v.clone(),
        None => HeaderValue::from(n),
    }
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
    }
}

//! `parse_key` on any text: never panics, accepts only `pfn_(live|test)_` + 49 base62
//! characters, and always accepts what `format_key` makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::keys::{format_key, parse_key, KeyEnv};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if parse_key(text).is_ok() {
            assert_eq!(text.len(), 58, "{text:?}");
            assert!(text.starts_with("pfn_live_") || text.starts_with("pfn_test_"));
            assert!(text[9..].bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
    if let Ok(random) = <[u8; 32]>::try_from(data.get(..32).unwrap_or_default()) {
        for env in [KeyEnv::Live, KeyEnv::Test] {
            let key = format_key(env, random);
            assert!(matches!(parse_key(&key), Ok(e) if e == env), "{key}");
        }
    }
});

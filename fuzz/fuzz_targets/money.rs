//! Money on the wire: `parse_minor` never panics or overflows, and what it accepts formats back
//! to a string that parses to the same minor units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::money::{format_minor, parse_minor};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for exponent in [0, 2, 3] {
        if let Ok(minor) = parse_minor(text, exponent) {
            let formatted = format_minor(minor, exponent);
            assert_eq!(parse_minor(&formatted, exponent), Ok(minor), "{text:?} → {formatted:?}");
        }
    }
});

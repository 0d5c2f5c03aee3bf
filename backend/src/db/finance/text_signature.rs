//! A transaction's text signature (`transactions.text_sig`): one bit of 64 for each trigram of
//! its description and of its merchant, so that a list's text filter can skip, in an index, the
//! rows that cannot hold the text, and read from the table only the rest.
//!
//! A list's text filter (`ListPlan`) matches a row when its description or its merchant holds
//! the text as a run of bytes, ASCII letters compared without case (SQLite's `like`, and
//! PostgreSQL's `like` over `lower(… collate "C")`). Such a row holds each 3-byte run of the
//! text, ASCII letters in lower case, in one of the two fields, so the text's signature
//! ([`query_signature`]) has no bit the row's ([`row_signature`]) lacks: the filter
//! `text_sig & q = q` never skips a row the text matches (the property test below). The
//! converse does not hold: a row whose bits happen to cover the text's is read and checked as
//! before. A text shorter than 3 bytes has no trigram and skips nothing.
//!
//! `-1` (every bit) is what migration 0019 gives the rows it finds, before the maintenance task
//! `0023_text_signatures` computes theirs: such a row passes every signature and is checked.
//!
//! Why our own code: the signature is a Bloom filter of one 64-bit word with one hash, ~20
//! lines; what the database offers for substrings (`pg_trgm`, SQLite's FTS5 trigram tables)
//! keeps an index entry per trigram, which every push would write (docs/architecture.md).
//! The hash and the width are stored with every row: changing either needs a new maintenance
//! task that recomputes them.

/// The signature migration 0019 gives the rows it finds, until `0023_text_signatures` computes
/// theirs: every bit, which every text's signature passes.
pub const NOT_COMPUTED: i64 = -1;

/// The bit of a 3-byte run, ASCII letters in lower case: the top 6 bits of a Fibonacci hash
/// of its bytes.
fn bit(run: &[u8]) -> u64 {
    let byte = |i: usize| u32::from(run[i].to_ascii_lowercase());
    let word = byte(0) | byte(1) << 8 | byte(2) << 16;
    1 << (word.wrapping_mul(0x9E37_79B1) >> 26)
}

/// The bits of the 3-byte runs of `text` (folded run by run: a push signs every row, and a
/// lower-case copy of each field would be an allocation apiece).
fn bits(text: &str) -> u64 {
    text.as_bytes()
        .windows(3)
        .fold(0, |sig, run| sig | bit(run))
}

/// The signature a row stores: its description's bits and its merchant's.
pub fn row_signature(description: &str, merchant: Option<&str>) -> i64 {
    (bits(description) | merchant.map_or(0, bits)) as i64
}

/// The bits a row must have to hold `text`; 0 (every row passes) for a text of fewer than 3
/// bytes.
pub fn query_signature(text: &str) -> i64 {
    bits(text) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The lists' signature check (`text_sig & q = q`).
    fn passes(sig: i64, q: i64) -> bool {
        sig & q == q
    }

    /// The lists' text filter, as both databases evaluate it.
    fn matches(field: &str, text: &str) -> bool {
        let field = field.as_bytes().to_ascii_lowercase();
        let text = text.as_bytes().to_ascii_lowercase();
        text.is_empty() || field.windows(text.len()).any(|w| w == text)
    }

    /// Text from a small alphabet (so that matches are frequent), both cases, and bytes of
    /// several lengths in UTF-8.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop::sample::select(vec![
                'a', 'B', 'b', 'A', ' ', '%', '_', '\\', 'é', 'É', '€', '7',
            ]),
            0..24,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn a_row_the_text_matches_has_every_bit_of_the_texts_signature(
            description in text(),
            merchant in proptest::option::of(text()),
            from in 0usize..24,
            len in 0usize..12,
            in_merchant: bool,
        ) {
            // The text is a piece of one field, in another case, or any text.
            let source = if in_merchant { merchant.clone().unwrap_or_default() } else { description.clone() };
            let chars: Vec<char> = source.chars().collect();
            let piece: String = chars.iter().skip(from).take(len).collect();
            for text in [piece.clone(), piece.to_ascii_uppercase(), piece.to_ascii_lowercase()] {
                let q = query_signature(&text);
                let row = row_signature(&description, merchant.as_deref());
                let holds = matches(&description, &text)
                    || merchant.as_deref().is_some_and(|m| matches(m, &text));
                if holds {
                    prop_assert!(passes(row, q), "{:?} in {:?} / {:?}", text, description, merchant);
                }
                prop_assert!(passes(NOT_COMPUTED, q));
            }
        }
    }

    #[test]
    fn signatures_are_stable() {
        // Stored with every row: a change here needs a task that recomputes them all.
        assert_eq!(query_signature("ab"), 0, "too short to say anything");
        assert_eq!(query_signature("abc"), query_signature("ABC"));
        assert_eq!(query_signature("abc").count_ones(), 1);
        assert_eq!(query_signature("abc"), 1 << 15);
        assert_eq!(
            row_signature("Card purchase 12", Some("merchant 07")),
            row_signature("card PURCHASE 12", Some("MERCHANT 07"))
        );
        // A text no row of the benchmark holds shares few bits with one of its rows.
        let row = row_signature("Card purchase 123456", Some("merchant 07"));
        let q = query_signature("no such text");
        assert_ne!(row & q, q);
    }
}

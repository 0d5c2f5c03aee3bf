//! Deterministic pseudo-randomness. Ids, names and amounts must be identical for the same seed
//! on every run and every machine, so this is a fixed algorithm (SplitMix64) rather than a
//! crate whose output may change between versions.

/// SplitMix64: tiny, fast, and good enough for synthetic data and fault dice.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0). Multiply-shift instead of `%` avoids modulo bias
    /// without a rejection loop.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`; returns `lo` when the range is empty.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.saturating_add_unsigned(self.below(span))
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index into a slice of `len` items (0 for an empty slice, so callers use `get`).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// The SplitMix64 finaliser: a bijective avalanche of all 64 bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of `seed` and `parts` (FNV-1a, then mixed). Parts are separated by a
/// byte that never occurs in UTF-8, so `["ab","c"]` and `["a","bc"]` differ.
pub(crate) fn hash(seed: u64, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ mix(seed);
    for part in parts {
        for &b in part.as_bytes().iter().chain(std::iter::once(&0xFF)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01B3);
        }
    }
    mix(h)
}

/// A UUID-formatted id derived from `seed` and `parts`. The version/variant bits are set as for
/// v4 so strict parsers accept it; the other 122 bits come from the hash.
pub(crate) fn uuid(seed: u64, parts: &[&str]) -> String {
    let mut rng = SplitMix64::new(hash(seed, parts));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn range_stays_inside_and_handles_empty() {
        let mut r = SplitMix64::new(1);
        for _ in 0..1000 {
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
        }
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.range(5, 1), 5);
        let v = r.range(i64::MIN, i64::MAX);
        let _ = v; // must not overflow
        assert_eq!(r.index(0), 0);
    }

    #[test]
    fn hash_separates_parts_and_uuid_is_stable() {
        assert_ne!(hash(1, &["ab", "c"]), hash(1, &["a", "bc"]));
        assert_ne!(hash(1, &["a"]), hash(2, &["a"]));
        let id = uuid(42, &["acct", "u1"]);
        assert_eq!(id, uuid(42, &["acct", "u1"]));
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
    }
}

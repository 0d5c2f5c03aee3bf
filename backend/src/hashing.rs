//! The hasher of the in-process maps on the request path (caches, rate-limit buckets).

/// Seeded per process like std's SipHash, several times cheaper.
pub type Hasher = foldhash::quality::RandomState;

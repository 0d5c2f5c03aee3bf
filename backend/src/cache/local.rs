//! Per-thread copies in front of a shared in-process cache (moka): what a worker thread read
//! during the current second, in a plain map of its own, so a busy entry costs a map read
//! rather than the shared cache's bookkeeping, which both cores would otherwise share.
//!
//! A cache that has copies owns a [`Generations`] and bumps it **after** every invalidation
//! has dropped its entries. A reader takes its [`Stamp`] **before** it reads the shared cache,
//! so a copy made from a read that raced an invalidation carries the generation that
//! invalidation ended, and is never served. Copies thus outlive the shared cache by at most
//! the rest of the second they were made in.
//!
//! Each cache declares its own `thread_local!` of [`Front`]s; a stamp also names the cache, so
//! several servers in one process (tests) never see each other's copies.

use std::{
    borrow::Borrow,
    cell::RefCell,
    collections::HashMap,
    hash::Hash,
    sync::atomic::{AtomicU64, Ordering},
    thread::LocalKey,
};

use crate::hashing::Hasher;

/// One cache's generation counter and its identity among the process's caches.
pub struct Generations {
    cache: u64,
    counter: AtomicU64,
}

impl Default for Generations {
    fn default() -> Self {
        static CACHES: AtomicU64 = AtomicU64::new(1);
        Self {
            cache: CACHES.fetch_add(1, Ordering::Relaxed),
            counter: AtomicU64::new(0),
        }
    }
}

impl Generations {
    /// Take before reading the shared cache. `now`: unix seconds.
    pub fn stamp(&self, now: i64) -> Stamp {
        Stamp {
            cache: self.cache,
            generation: self.counter.load(Ordering::Acquire),
            second: now,
        }
    }

    /// Call after an invalidation has dropped its entries from the shared cache: every
    /// thread's copies of this cache stop answering.
    pub fn bump(&self) {
        self.counter.fetch_add(1, Ordering::Release);
    }
}

/// Which cache, which generation of it, which second.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stamp {
    cache: u64,
    generation: u64,
    second: i64,
}

/// A thread's copies of one cache's entries, all made under one [`Stamp`].
pub struct Front<K, V> {
    stamp: Option<Stamp>,
    entries: HashMap<K, V, Hasher>,
}

/// A busy replica's thread sees a few entries a second; one that meets more starts over.
const MAX_ENTRIES: usize = 1024;

impl<K, V> Default for Front<K, V> {
    fn default() -> Self {
        Self {
            stamp: None,
            entries: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq, V: Clone> Front<K, V> {
    /// The copy, if one was made under this very stamp.
    pub fn get<Q>(&self, stamp: Stamp, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.stamp != Some(stamp) {
            return None;
        }
        self.entries.get(key).cloned()
    }

    /// Keeps a copy of what was read under `stamp`, dropping copies made under another.
    pub fn put(&mut self, stamp: Stamp, key: K, value: V) {
        if self.stamp != Some(stamp) || self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
            self.stamp = Some(stamp);
        }
        self.entries.insert(key, value);
    }
}

/// What `read` (the shared cache) has for `key`, through this thread's copies in `front`.
pub fn read_through<K, Q, V>(
    front: &'static LocalKey<RefCell<Front<K, V>>>,
    stamp: Stamp,
    key: &Q,
    read: impl FnOnce() -> Option<V>,
) -> Option<V>
where
    K: Borrow<Q> + Hash + Eq,
    Q: ToOwned<Owned = K> + Hash + Eq + ?Sized,
    V: Clone,
{
    if let Some(copy) = front.with_borrow(|f| f.get(stamp, key)) {
        return Some(copy);
    }
    let found = read()?;
    front.with_borrow_mut(|f| f.put(stamp, key.to_owned(), found.clone()));
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_answer_only_under_the_stamp_they_were_made_under() {
        let (a, b) = (Generations::default(), Generations::default());
        let mut front = Front::<String, u32>::default();
        front.put(a.stamp(100), "k".into(), 1);
        assert_eq!(front.get(a.stamp(100), "k"), Some(1));
        assert_eq!(front.get(a.stamp(101), "k"), None, "the next second");
        assert_eq!(front.get(b.stamp(100), "k"), None, "another cache");
        let before = a.stamp(100);
        a.bump();
        assert_eq!(front.get(a.stamp(100), "k"), None, "after an invalidation");
        // A copy of a read that started before the bump is dead on arrival.
        front.put(before, "k".into(), 2);
        assert_eq!(front.get(a.stamp(100), "k"), None);
        front.put(a.stamp(100), "k".into(), 3);
        assert_eq!(front.get(a.stamp(100), "k"), Some(3));
    }

    #[test]
    fn a_full_front_starts_over() {
        let g = Generations::default();
        let mut front = Front::<u32, u32>::default();
        for i in 0..MAX_ENTRIES as u32 {
            front.put(g.stamp(0), i, i);
        }
        assert_eq!(front.get(g.stamp(0), &0), Some(0));
        front.put(g.stamp(0), u32::MAX, 7);
        assert_eq!(front.get(g.stamp(0), &0), None);
        assert_eq!(front.get(g.stamp(0), &u32::MAX), Some(7));
    }
}

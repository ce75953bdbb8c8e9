//! A bounded map of recently used values by a 32-byte digest of their inputs: the node's
//! memoisation of pure functions (signatures by signature base, encoded responses, message IDs).
//!
//! Eviction is by two generations: new entries go to the *hot* map; when it holds half the
//! entries (or half the weight, e.g. bytes) it becomes the *cold* map and the previous cold map
//! is dropped; a hit in the cold map moves the entry back to hot. Recently used entries survive,
//! memory stays bounded, and every operation is O(1).

mod key;

pub use key::KeyHasher;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A key: a digest of everything the value depends on ([`KeyHasher`]).
pub type Digest = [u8; 32];

/// Hashes a [`Digest`] key by its first eight bytes: they already are uniformly distributed,
/// and nobody can choose them, so running SipHash over them again would buy nothing.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length, then its bytes.
        if let Some(first) = bytes.first_chunk::<8>() {
            self.0 = u64::from_le_bytes(*first);
        }
    }

    fn write_usize(&mut self, _: usize) {}
}

type DigestMap<V> = HashMap<Digest, V, BuildHasherDefault<DigestHasher>>;

/// Hit and miss counts since the cache was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
}

/// At most `entries` values of at most `weight` total weight, the recently used ones kept.
#[derive(Debug)]
pub struct Recent<V> {
    generations: Mutex<Generations<V>>,
    half_entries: usize,
    half_weight: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug)]
struct Generations<V> {
    hot: DigestMap<(V, usize)>,
    hot_weight: usize,
    cold: DigestMap<(V, usize)>,
}

impl<V: Clone> Recent<V> {
    /// A cache of at most `entries` values (0: it keeps nothing) and about `weight` weight.
    pub fn new(entries: usize, weight: usize) -> Self {
        Recent {
            generations: Mutex::new(Generations {
                hot: DigestMap::default(),
                hot_weight: 0,
                cold: DigestMap::default(),
            }),
            half_entries: entries / 2,
            half_weight: weight / 2,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Whether the cache keeps anything at all.
    pub fn enabled(&self) -> bool {
        self.half_entries > 0
    }

    /// The value under `key`, counted as a hit or a miss.
    pub fn get(&self, key: &Digest) -> Option<V> {
        let found = self.find(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `value` of `weight` under `key`; a value heavier than half the weight bound is
    /// not kept.
    pub fn insert(&self, key: Digest, value: V, weight: usize) {
        if !self.enabled() || weight > self.half_weight {
            return;
        }
        let mut g = self.lock();
        self.promote(&mut g, key, value, weight);
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.hot.len() + g.cold.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn find(&self, key: &Digest) -> Option<V> {
        let mut g = self.lock();
        if let Some((value, _)) = g.hot.get(key) {
            return Some(value.clone());
        }
        let (value, weight) = g.cold.remove(key)?;
        self.promote(&mut g, *key, value.clone(), weight);
        Some(value)
    }

    fn promote(&self, g: &mut Generations<V>, key: Digest, value: V, weight: usize) {
        if g.hot.len() >= self.half_entries || g.hot_weight + weight > self.half_weight {
            g.cold = std::mem::take(&mut g.hot);
            g.hot_weight = 0;
        }
        if let Some((_, old)) = g.hot.insert(key, (value, weight)) {
            g.hot_weight -= old;
        }
        g.hot_weight += weight;
    }

    fn lock(&self) -> MutexGuard<'_, Generations<V>> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Digest {
        [n; 32]
    }

    #[test]
    fn remembers_and_counts() {
        let cache = Recent::new(8, usize::MAX);
        assert!(cache.get(&key(1)).is_none());
        cache.insert(key(1), "one", 1);
        assert_eq!(cache.get(&key(1)), Some("one"));
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn stays_bounded_by_entries_and_keeps_recently_used_ones() {
        let cache = Recent::new(8, usize::MAX);
        cache.insert(key(255), 255, 0);
        for i in 0..100u8 {
            cache.insert(key(i), i, 0);
            // Touching 255 keeps it in the hot generation.
            assert_eq!(cache.get(&key(255)), Some(255), "evicted at {i}");
            assert!(cache.len() <= 8, "{} entries", cache.len());
        }
        assert!(cache.get(&key(0)).is_none(), "an old entry survived");
    }

    #[test]
    fn stays_bounded_by_weight_and_refuses_heavy_values() {
        let cache = Recent::new(1000, 100);
        for i in 0..100u8 {
            cache.insert(key(i), i, 20);
        }
        // Two generations of at most 50 each: at most five values of 20.
        assert!(cache.len() <= 5, "{} entries", cache.len());
        cache.insert(key(200), 200, 51);
        assert!(
            cache.get(&key(200)).is_none(),
            "heavier than half the bound"
        );
    }

    #[test]
    fn reinserting_a_key_does_not_count_its_weight_twice() {
        let cache = Recent::new(1000, 100);
        for _ in 0..10 {
            cache.insert(key(1), 1, 20);
        }
        cache.insert(key(2), 2, 20);
        assert_eq!(cache.get(&key(1)), Some(1));
        assert_eq!(cache.get(&key(2)), Some(2));
    }

    #[test]
    fn zero_entries_keeps_nothing() {
        let cache = Recent::new(0, usize::MAX);
        cache.insert(key(1), 1, 0);
        assert!(cache.get(&key(1)).is_none());
        assert!(!cache.enabled());
    }
}

//! A bounded map of recently used values by everything they depend on ([`Key`]): the node's
//! memoisation of pure functions (signatures by signature base, encoded responses, decoded
//! requests, message IDs).
//!
//! Eviction is by two generations: new entries go to the *hot* map; when it holds half the
//! entries (or half the weight, e.g. bytes) it becomes the *cold* map and the previous cold map
//! is dropped; a hit in the cold map moves the entry back to hot. Recently used entries survive,
//! memory stays bounded, and every operation is O(1) in the number of entries.

mod key;

pub use key::{Key, KeyBuilder};

use hashbrown::hash_table::{Entry as Slot, HashTable};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A key's hash: foldhash with a random seed per cache. A client chooses much of what goes
/// into a key, and the seed keeps it from choosing keys that share a bucket; lookups compare
/// keys whole, so a shared bucket could only slow a lookup, never answer it wrongly. The hash
/// is computed before the cache is locked, so that another thread does not wait while a key of
/// kilobytes is read.
type KeyHash = foldhash::quality::RandomState;

/// A value held, with its key, the key's hash and its weight.
#[derive(Debug)]
struct Entry<V> {
    key: Box<[u8]>,
    hash: u64,
    value: V,
    weight: usize,
}

/// Hit and miss counts since the cache was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
}

/// A cache's figures for `/metrics`: its lookups so far and what it holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheReport {
    /// The cache's name, the `cache` label (`request`, `response`, `id`, `signature`).
    pub name: &'static str,
    /// Hits and misses so far.
    pub stats: CacheStats,
    /// Values held now.
    pub entries: usize,
    /// Their weight now, keys included: bytes, about, for each of the node's caches.
    pub weight: usize,
}

/// At most `entries` values of at most `weight` total weight, the recently used ones kept.
#[derive(Debug)]
pub struct Recent<V> {
    generations: Mutex<Generations<V>>,
    hasher: KeyHash,
    half_entries: usize,
    half_weight: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug)]
struct Generations<V> {
    hot: HashTable<Entry<V>>,
    hot_weight: usize,
    cold: HashTable<Entry<V>>,
    cold_weight: usize,
}

impl<V: Clone> Recent<V> {
    /// A cache of at most `entries` values (0: it keeps nothing) and about `weight` weight,
    /// the keys' bytes included.
    pub fn new(entries: usize, weight: usize) -> Self {
        Recent {
            generations: Mutex::new(Generations {
                hot: HashTable::new(),
                hot_weight: 0,
                cold: HashTable::new(),
                cold_weight: 0,
            }),
            hasher: KeyHash::default(),
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
    pub fn get(&self, key: &Key) -> Option<V> {
        let found = self.find(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `value` of `weight` under `key` (which weighs its length in bytes more); a value
    /// heavier than half the weight bound is not kept.
    pub fn insert(&self, key: &Key, value: V, weight: usize) {
        let weight = weight.saturating_add(key.as_bytes().len());
        if !self.enabled() || weight > self.half_weight {
            return;
        }
        let entry = Entry {
            key: key.to_stored(),
            hash: self.hasher.hash_one(key.as_bytes()),
            value,
            weight,
        };
        let mut g = self.lock();
        self.promote(&mut g, entry);
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

    /// Its figures, under `name`.
    pub fn report(&self, name: &'static str) -> CacheReport {
        let (entries, weight) = {
            let g = self.lock();
            (g.hot.len() + g.cold.len(), g.hot_weight + g.cold_weight)
        };
        CacheReport {
            name,
            stats: self.stats(),
            entries,
            weight,
        }
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn find(&self, key: &Key) -> Option<V> {
        let (hash, key) = (self.hasher.hash_one(key.as_bytes()), key.as_bytes());
        let is_key = |e: &Entry<V>| *e.key == *key;
        let mut g = self.lock();
        if let Some(e) = g.hot.find(hash, is_key) {
            return Some(e.value.clone());
        }
        let (entry, _) = g.cold.find_entry(hash, is_key).ok()?.remove();
        g.cold_weight -= entry.weight;
        let value = entry.value.clone();
        self.promote(&mut g, entry);
        Some(value)
    }

    fn promote(&self, g: &mut Generations<V>, entry: Entry<V>) {
        let weight = entry.weight;
        if g.hot.len() >= self.half_entries || g.hot_weight + weight > self.half_weight {
            g.cold = std::mem::take(&mut g.hot);
            g.cold_weight = std::mem::take(&mut g.hot_weight);
        }
        let Generations {
            hot, hot_weight, ..
        } = g;
        match hot.entry(entry.hash, |e| e.key == entry.key, |e| e.hash) {
            Slot::Occupied(mut held) => {
                *hot_weight -= held.get().weight;
                *held.get_mut() = entry;
            }
            Slot::Vacant(free) => {
                free.insert(entry);
            }
        }
        *hot_weight += weight;
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

    fn key(n: u8) -> Key {
        let mut k = KeyBuilder::new(b"test v1");
        k.update([n]);
        k.finish()
    }

    #[test]
    fn remembers_and_counts() {
        let cache = Recent::new(8, usize::MAX);
        assert!(cache.get(&key(1)).is_none());
        cache.insert(&key(1), "one", 1);
        assert_eq!(cache.get(&key(1)), Some("one"));
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn stays_bounded_by_entries_and_keeps_recently_used_ones() {
        let cache = Recent::new(8, usize::MAX);
        cache.insert(&key(255), 255, 0);
        for i in 0..100u8 {
            cache.insert(&key(i), i, 0);
            // Touching 255 keeps it in the hot generation.
            assert_eq!(cache.get(&key(255)), Some(255), "evicted at {i}");
            assert!(cache.len() <= 8, "{} entries", cache.len());
        }
        assert!(cache.get(&key(0)).is_none(), "an old entry survived");
    }

    /// Every test key's length in bytes, which it weighs on top of its value.
    fn key_weight() -> usize {
        key(0).as_bytes().len()
    }

    #[test]
    fn stays_bounded_by_weight_and_refuses_heavy_values() {
        let cache = Recent::new(1000, 10 * key_weight() + 100);
        for i in 0..100u8 {
            cache.insert(&key(i), i, 20);
        }
        // Two generations of at most 5 keys and 50 each: at most five values of 20.
        assert!(cache.len() <= 5, "{} entries", cache.len());
        cache.insert(&key(200), 200, 20);
        assert_eq!(cache.get(&key(200)), Some(200));
        // Half the bound, less the key's own weight, and one more.
        cache.insert(&key(201), 201, 5 * key_weight() + 50 - key_weight() + 1);
        assert!(
            cache.get(&key(201)).is_none(),
            "heavier than half the bound"
        );
    }

    #[test]
    fn keys_weigh_their_length() {
        let long = |n: u8| {
            let mut k = KeyBuilder::new(b"test v1");
            k.update([n; 1000]);
            k.finish()
        };
        let cache = Recent::new(1000, 4000);
        for i in 0..100u8 {
            cache.insert(&long(i), i, 0);
        }
        // Two generations of at most 2000 bytes: one key of 1,000 bytes and more in each.
        assert!(cache.len() <= 2, "{} entries", cache.len());
    }

    #[test]
    fn reinserting_a_key_does_not_count_its_weight_twice() {
        // Each generation holds two entries of weight 20 (and their keys).
        let cache = Recent::new(1000, 4 * (key_weight() + 20));
        for _ in 0..10 {
            cache.insert(&key(1), 1, 20);
        }
        // Counted once, 1 shares the hot generation with 2, moves to the cold one with it
        // when 3 comes, and is still there after 4; counted ten times, it would be alone in
        // the cold generation when 2 came, and dropped when 4 did.
        for n in 2..=4 {
            cache.insert(&key(n), n, 20);
        }
        assert_eq!(cache.get(&key(1)), Some(1));
    }

    #[test]
    fn a_report_counts_what_both_generations_hold() {
        let w = key_weight() + 20;
        // Each generation holds two entries.
        let cache = Recent::new(4, usize::MAX);
        let held = |c: &Recent<u8>| {
            let r = c.report("test");
            (r.entries, r.weight)
        };
        cache.insert(&key(1), 1, 20);
        cache.insert(&key(2), 2, 20);
        assert_eq!(held(&cache), (2, 2 * w));
        // 3 turns the hot generation cold: 1 and 2 are still held, and counted.
        cache.insert(&key(3), 3, 20);
        assert_eq!(held(&cache), (3, 3 * w));
        // A hit in the cold generation moves 1 to the hot one: counted once.
        assert_eq!(cache.get(&key(1)), Some(1));
        assert_eq!(held(&cache), (3, 3 * w));
        // 4 turns {3, 1} cold and drops {2}.
        cache.insert(&key(4), 4, 20);
        assert_eq!(held(&cache), (3, 3 * w));
        let report = cache.report("test");
        assert_eq!(report.name, "test");
        assert_eq!(report.stats, CacheStats { hits: 1, misses: 0 });
    }

    #[test]
    fn zero_entries_keeps_nothing() {
        let cache = Recent::new(0, usize::MAX);
        cache.insert(&key(1), 1, 0);
        assert!(cache.get(&key(1)).is_none());
        assert!(!cache.enabled());
    }
}

//! A bounded cache of signatures by signature base, so answers that do not change (the same
//! response to the same request) are not re-signed: an RSA-4096 signature costs milliseconds,
//! a lookup microseconds.
//!
//! Any valid signature of a base is as good as any other (RSA-PSS salts are random, so two
//! signatures of one base differ, and both verify). Entries are keyed by sha256 of the base.
//! Eviction is by two generations: new entries go to the *hot* map; when it holds half the
//! capacity it becomes the *cold* map and the previous cold map is dropped; a hit in the cold
//! map moves the entry back to hot. Recently used entries survive, memory stays bounded at
//! `capacity` entries, and every operation is O(1).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

type Key = [u8; 32];

/// Signatures by signature base, at most `capacity` of them.
#[derive(Debug)]
pub struct SignatureCache {
    generations: Mutex<Generations>,
    half: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Generations {
    hot: HashMap<Key, Arc<[u8]>>,
    cold: HashMap<Key, Arc<[u8]>>,
}

/// Hit and miss counts since the cache was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
}

impl SignatureCache {
    /// A cache of at most `capacity` signatures (at least 2).
    pub fn new(capacity: usize) -> Self {
        SignatureCache {
            generations: Mutex::new(Generations::default()),
            half: (capacity / 2).max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached signature of `base`, if any.
    pub fn get(&self, base: &[u8]) -> Option<Arc<[u8]>> {
        let key = key_of(base);
        let mut g = self.lock();
        let found = match g.hot.get(&key) {
            Some(sig) => Some(sig.clone()),
            None => g.cold.remove(&key).inspect(|sig| {
                self.promote(&mut g, key, sig.clone());
            }),
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers `signature` as the signature of `base`.
    pub fn insert(&self, base: &[u8], signature: Arc<[u8]>) {
        let key = key_of(base);
        let mut g = self.lock();
        self.promote(&mut g, key, signature);
    }

    /// How many entries are held (hot and cold).
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.hot.len() + g.cold.len()
    }

    /// Whether nothing is cached.
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

    fn promote(&self, g: &mut Generations, key: Key, signature: Arc<[u8]>) {
        if g.hot.len() >= self.half {
            g.cold = std::mem::take(&mut g.hot);
        }
        g.hot.insert(key, signature);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn key_of(base: &[u8]) -> Key {
    Sha256::digest(base).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(n: u8) -> Arc<[u8]> {
        Arc::from(vec![n; 4])
    }

    #[test]
    fn remembers_and_counts() {
        let cache = SignatureCache::new(8);
        assert!(cache.get(b"base").is_none());
        cache.insert(b"base", sig(1));
        assert_eq!(cache.get(b"base").as_deref(), Some(&[1u8; 4][..]));
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn stays_bounded_and_keeps_recently_used_entries() {
        let cache = SignatureCache::new(8);
        cache.insert(b"keep", sig(0));
        for i in 0..100u8 {
            cache.insert(&[i], sig(i));
            // Touching "keep" keeps it in the hot generation.
            assert!(cache.get(b"keep").is_some(), "evicted at {i}");
            assert!(cache.len() <= 8, "{} entries", cache.len());
        }
        assert!(cache.get(&[0u8]).is_none(), "an old entry survived");
    }
}

//! A bounded cache of signatures by signature base, so answers that do not change (the same
//! response to the same request) are not re-signed: an RSA-4096 signature costs milliseconds,
//! a lookup microseconds.
//!
//! Any valid signature of a base is as good as any other (RSA-PSS salts are random, so two
//! signatures of one base differ, and both verify). Entries are keyed by the base itself
//! ([`KeyBuilder`]) and kept by [`Recent`]'s two generations: memory stays bounded at
//! `capacity` entries and [`CACHE_BYTES`] bytes.

pub use crate::cache::CacheStats;
use crate::cache::{Key, KeyBuilder, Recent};
use std::sync::Arc;

/// How many bytes of signatures and their bases the cache holds at most.
pub const CACHE_BYTES: usize = 8 << 20;

/// Signatures by signature base, at most `capacity` of them.
#[derive(Debug)]
pub struct SignatureCache {
    signatures: Recent<Arc<[u8]>>,
}

impl SignatureCache {
    /// A cache of at most `capacity` signatures (at least 2).
    pub fn new(capacity: usize) -> Self {
        SignatureCache {
            signatures: Recent::new(capacity.max(2), CACHE_BYTES),
        }
    }

    /// The cached signature of `base`, if any.
    pub fn get(&self, base: &[u8]) -> Option<Arc<[u8]>> {
        self.signatures.get(&key_of(base))
    }

    /// Remembers `signature` as the signature of `base`.
    pub fn insert(&self, base: &[u8], signature: Arc<[u8]>) {
        let weight = signature.len();
        self.signatures.insert(&key_of(base), signature, weight);
    }

    /// How many entries are held (hot and cold).
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        self.signatures.stats()
    }

    /// Its figures for `/metrics`, as the `signature` cache.
    pub fn report(&self) -> crate::cache::CacheReport {
        self.signatures.report("signature")
    }
}

fn key_of(base: &[u8]) -> Key {
    let mut key = KeyBuilder::new(b"ferrobeam signature v1");
    key.part(base);
    key.finish()
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

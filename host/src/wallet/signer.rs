//! The node's signer: its wallet plus the signature cache.

use super::{SignatureCache, Wallet, WalletError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many signatures the node remembers (about 0.6 MB at 512 bytes each plus keys).
pub const CACHE_CAPACITY: usize = 1024;

/// Signs with the node wallet, reusing the signature of a base signed before.
#[derive(Debug)]
pub struct Signer {
    wallet: Wallet,
    cache: SignatureCache,
    /// Fresh signatures made so far.
    signed: AtomicU64,
    /// The time they took, in nanoseconds.
    signing_nanos: AtomicU64,
}

/// What the node's wallet has signed: how many fresh signatures and the time they took. A node
/// answering new requests signs each answer (RSA-4096, milliseconds each), so the time divided
/// by the elapsed time is how many cores signing keeps busy.
///
/// ```
/// # use ferrobeam::wallet::SigningTotals;
/// let t = SigningTotals { signatures: 2, time: std::time::Duration::from_millis(7) };
/// assert_eq!(t.time.as_secs_f64() / t.signatures as f64, 0.0035);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SigningTotals {
    /// Fresh signatures made (a signature found in the cache is not one).
    pub signatures: u64,
    /// The time spent making them.
    pub time: Duration,
}

impl Signer {
    /// A signer over `wallet` with a cache of [`CACHE_CAPACITY`] signatures.
    pub fn new(wallet: Wallet) -> Self {
        Signer::with_capacity(wallet, CACHE_CAPACITY)
    }

    /// A signer whose cache holds at most `capacity` signatures.
    pub fn with_capacity(wallet: Wallet, capacity: usize) -> Self {
        Signer {
            wallet,
            cache: SignatureCache::new(capacity),
            signed: AtomicU64::new(0),
            signing_nanos: AtomicU64::new(0),
        }
    }

    /// The wallet.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// The cache (for its statistics).
    pub fn cache(&self) -> &SignatureCache {
        &self.cache
    }

    /// A signature of `base`: the cached one when this base was signed before, else a fresh
    /// one, which is remembered.
    pub fn sign(&self, base: &[u8]) -> Result<Arc<[u8]>, WalletError> {
        if let Some(sig) = self.cache.get(base) {
            return Ok(sig);
        }
        let started = Instant::now();
        let sig: Arc<[u8]> = Arc::from(self.wallet.sign(base)?);
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.signed.fetch_add(1, Ordering::Relaxed);
        self.signing_nanos.fetch_add(took, Ordering::Relaxed);
        self.cache.insert(base, sig.clone());
        Ok(sig)
    }

    /// The fresh signatures made so far, and the time they took.
    pub fn totals(&self) -> SigningTotals {
        SigningTotals {
            signatures: self.signed.load(Ordering::Relaxed),
            time: Duration::from_nanos(self.signing_nanos.load(Ordering::Relaxed)),
        }
    }
}

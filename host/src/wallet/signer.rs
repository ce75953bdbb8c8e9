//! The node's signer: its wallet plus the signature cache.

use super::{SignatureCache, Wallet, WalletError};
use std::sync::Arc;

/// How many signatures the node remembers (about 0.6 MB at 512 bytes each plus keys).
pub const CACHE_CAPACITY: usize = 1024;

/// Signs with the node wallet, reusing the signature of a base signed before.
#[derive(Debug)]
pub struct Signer {
    wallet: Wallet,
    cache: SignatureCache,
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
        let sig: Arc<[u8]> = Arc::from(self.wallet.sign(base)?);
        self.cache.insert(base, sig.clone());
        Ok(sig)
    }
}

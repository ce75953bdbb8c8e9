//! A bounded cache of whole encoded responses.
//!
//! Encoding a result (`structured@1.0`, `httpsig@1.0` `prepare_commit`, the node's signature,
//! `finish_commit`, `to`) is a pure function of the result message, the response codec, the
//! codec libraries that run it, the options they are given and the node's key. The same result
//! — the same answer of a device to the same request, e.g. `GET /~meta@1.0/info` — is therefore
//! served from here without those four codec calls. Device methods still run on every request:
//! only the encoding of what they returned is reused.
//!
//! The key ([`KeyBuilder`](crate::cache::KeyBuilder)) holds all of those inputs: the
//! result's wire bytes, the codec's name, the load generation of every codec device involved
//! (a reloaded codec library gets a new one, so its entries are simply never found again), and
//! SHA-256 of the options' wire bytes and the signer's modulus (computed again only when the
//! options change).
//! The signature inside a cached response is the one the signature cache
//! ([`crate::wallet::SignatureCache`]) holds for the same signature base, so a hit is
//! byte-identical to encoding again.
//!
//! Bounded by entries and by bytes ([`Recent`]'s two generations). Responses larger than
//! [`MAX_ENTRY_BYTES`] are not kept.

use super::codec::{self, ResponseCodec, HTTPSIG, STRUCTURED};
use super::response::Prepared;
use crate::cache::{Key, KeyBuilder, Recent};
use crate::node::Node;
use ferrobeam_device_api::{DeviceError, Message};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, PoisonError};

/// Entries the edge keeps by default.
pub const DEFAULT_ENTRIES: usize = 1024;
/// Bytes the edge keeps by default (keys, header names and values, bodies).
pub const DEFAULT_BYTES: usize = 8 << 20;
/// The largest response kept.
pub const MAX_ENTRY_BYTES: usize = 64 << 10;

/// Encoded responses by their inputs, bounded.
#[derive(Debug)]
pub struct ResponseCache {
    responses: Recent<Arc<Prepared>>,
    fixed: Mutex<Option<Fixed>>,
}

/// sha256 of the inputs that change rarely (the options, the signer), remembered with the
/// options it was computed from: the options are replaced, never changed in place, and holding
/// them keeps their address from being reused, so pointer equality means the same options.
#[derive(Debug)]
struct Fixed {
    opts: Arc<Vec<u8>>,
    digest: [u8; 32],
}

impl ResponseCache {
    /// A cache of at most `entries` responses and about `bytes` bytes (0 entries: no cache).
    pub fn new(entries: usize, bytes: usize) -> ResponseCache {
        ResponseCache {
            responses: Recent::new(entries, bytes),
            fixed: Mutex::new(None),
        }
    }

    /// `result` encoded for `codec` ([`codec::encode_response`]), from the cache when the same
    /// inputs were encoded before.
    pub fn encode(
        &self,
        node: &Node,
        response_codec: &ResponseCodec,
        result: &Message,
    ) -> Result<Arc<Prepared>, DeviceError> {
        let uncached = || {
            codec::encode_response(node, response_codec, result)
                .map(|http| Arc::new(Prepared::from_message(http)))
        };
        if !self.responses.enabled() {
            return uncached();
        }
        let Some(key) = key_of(node, &self.fixed_digest(node), response_codec, result) else {
            return uncached();
        };
        if let Some(hit) = self.responses.get(&key) {
            return Ok(hit);
        }
        let encoded = uncached()?;
        let size = encoded.size();
        if size <= MAX_ENTRY_BYTES {
            self.responses.insert(&key, encoded.clone(), size);
        }
        Ok(encoded)
    }

    /// Lookups answered from the cache and lookups that were not, so far.
    pub fn stats(&self) -> (u64, u64) {
        let stats = self.responses.stats();
        (stats.hits, stats.misses)
    }

    /// Its figures for `/metrics`, as the `response` cache.
    pub fn report(&self) -> crate::cache::CacheReport {
        self.responses.report("response")
    }

    /// How many responses are held.
    pub fn len(&self) -> usize {
        self.responses.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The digest of the options and the signer, computed again only when the options change.
    fn fixed_digest(&self, node: &Node) -> [u8; 32] {
        let opts = node.opts_wire();
        let mut fixed = self.fixed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = fixed.as_ref().filter(|f| Arc::ptr_eq(&f.opts, &opts)) {
            return f.digest;
        }
        let mut h = Sha256::new();
        h.update((opts.len() as u64).to_le_bytes());
        h.update(opts.as_slice());
        match node.signer() {
            Some(signer) => {
                h.update([1u8]);
                h.update(signer.wallet().modulus());
            }
            None => h.update([0u8]),
        }
        let digest = h.finalize().into();
        *fixed = Some(Fixed { opts, digest });
        digest
    }
}

/// The key of every input of the encoding (`fixed`: the options and the signer, see
/// [`ResponseCache::fixed_digest`]); `None` when a codec device it needs is not loaded (the
/// uncached path then answers with the right error).
fn key_of(
    node: &Node,
    fixed: &[u8; 32],
    response_codec: &ResponseCodec,
    result: &Message,
) -> Option<Key> {
    let other = match response_codec {
        ResponseCodec::Httpsig => None,
        ResponseCodec::Other(device) => Some(device.as_str()),
    };
    // One look at the registry for all three (`httpsig@1.0` again in the third place when
    // there is no other codec: that generation is then not used).
    let [httpsig, structured, other_generation] =
        node.registry()
            .generations([HTTPSIG, STRUCTURED, other.unwrap_or(HTTPSIG)]);
    let mut h = KeyBuilder::new(b"ferrobeam response v1");
    h.update(fixed);
    for generation in [httpsig?, structured?] {
        h.update(generation.to_le_bytes());
    }
    match other {
        None => h.update([0u8]),
        Some(device) => {
            h.update([1u8]);
            h.part(device.as_bytes());
            h.update(other_generation?.to_le_bytes());
        }
    }
    h.message(result);
    Some(h.finish())
}

//! A bounded memo of decoded requests.
//!
//! Decoding a request (`httpsig@1.0` `from`: multipart, signature checks, the HMAC commitment;
//! then `structured@1.0` `to`) is a pure function of its HTTP message, its method and target,
//! and the codec libraries that run it: nothing else is read, not the clock, not the options.
//! The same request sent again — a client polling `/<process>~process@1.0/now/…`, a retry — is
//! therefore decoded once. Devices still run on every request: only the decoding is reused.
//!
//! The key ([`KeyBuilder`](crate::cache::KeyBuilder)) holds the method, the target, the
//! HTTP message's wire bytes and the load generations of the two codec devices and of
//! `httpsig@1.0`, which identifies the remembered first step (a reloaded device gets a new
//! generation, so its entries are never found again). Requests larger than
//! [`MAX_REQUEST_BYTES`] are decoded every time: hashing them would cost a good part of
//! decoding them, and few are sent twice. Only requests that decode and pass the limits are
//! kept.

use super::codec::{self, Decoded, STRUCTURED};
use super::error::EdgeError;
use crate::cache::{Key, KeyBuilder, Recent};
use crate::node::Node;
use crate::resolve::hashpath::ID_DEVICE;
use ferrobeam_device_api::Message;
use std::sync::Arc;

/// Entries the edge keeps by default.
pub const DEFAULT_ENTRIES: usize = 1024;
/// Bytes the edge keeps by default (about: the decoded messages' wire size).
pub const DEFAULT_BYTES: usize = 8 << 20;
/// The largest HTTP message (header names and values, body) whose decoding is kept.
pub const MAX_REQUEST_BYTES: usize = 16 << 10;

/// Decoded requests by their inputs, bounded.
#[derive(Debug)]
pub struct RequestCache {
    decoded: Recent<Decoded>,
}

impl RequestCache {
    /// A cache of at most `entries` decoded requests and about `bytes` bytes (0 entries: none).
    pub fn new(entries: usize, bytes: usize) -> RequestCache {
        RequestCache {
            decoded: Recent::new(entries, bytes),
        }
    }

    /// `http` decoded ([`codec::decode_request`]), with `method` added to both forms, and
    /// accepted by `check`; from the cache when the same request was decoded before. `before`
    /// runs first when it was not, and can refuse the request before it is decoded. The node
    /// gives one cache the same checks for all its requests (the edge's limits), so a request
    /// found here has passed them already.
    pub fn decode(
        &self,
        node: &Node,
        http: &Message,
        method: &str,
        target: &str,
        before: impl FnOnce() -> Result<(), EdgeError>,
        check: impl FnOnce(&Decoded) -> Result<(), EdgeError>,
    ) -> Result<Decoded, EdgeError> {
        let key = self
            .decoded
            .enabled()
            .then(|| key_of(node, http, method, target))
            .flatten();
        if let Some(hit) = key.as_ref().and_then(|(k, _)| self.decoded.get(k)) {
            return Ok(hit);
        }
        before()?;
        let mut decoded = codec::decode_request(node, http, method, target)?;
        check(&decoded)?;
        for m in [&mut decoded.tabm, &mut decoded.typed] {
            Arc::make_mut(m).insert("method", method);
        }
        if let Some((key, size)) = key {
            // Both forms hold about what the request held, plus the commitments.
            self.decoded.insert(&key, decoded.clone(), 3 * size);
        }
        Ok(decoded)
    }

    /// Lookups answered from the cache and lookups that were not, so far.
    pub fn stats(&self) -> crate::cache::CacheStats {
        self.decoded.stats()
    }

    /// Its figures for `/metrics`, as the `request` cache.
    pub fn report(&self) -> crate::cache::CacheReport {
        self.decoded.report("request")
    }
}

/// The key of every input of the decoding; `None` for a request too large to keep, or when a
/// codec device it needs is not loaded (decoding then answers with the right error).
fn key_of(node: &Node, http: &Message, method: &str, target: &str) -> Option<(Key, usize)> {
    // An HTTP message holds only binaries; anything else counts as too large to keep.
    let size: usize = http
        .iter()
        .map(|(k, v)| k.as_str().len() + v.as_bytes().map_or(MAX_REQUEST_BYTES, <[u8]>::len))
        .sum();
    if size > MAX_REQUEST_BYTES {
        return None;
    }
    // The device that identifies the remembered first step (`resolve::FirstStep`): a request
    // decoded by another codec (`ans104@1.0`) is remembered again once it is reloaded.
    let [codec, structured, id_device] =
        node.registry()
            .generations([codec::request_codec(http), STRUCTURED, ID_DEVICE]);
    let mut h = KeyBuilder::new(b"ferrobeam request v1");
    for generation in [codec?, structured?] {
        h.update(generation.to_le_bytes());
    }
    h.update(id_device.map_or([0xff; 8], u64::to_le_bytes));
    for part in [method, target] {
        h.part(part.as_bytes());
    }
    h.message(http);
    Some((h.finish(), size))
}

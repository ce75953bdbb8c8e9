//! Hashpaths (`spec/codecs.md` §7.2): the content-addressed history of a resolution. Each
//! result that is a message records, in `priv.hashpath`, the hashpath of its base followed by
//! the ID of the request step that made it; the node's signature on a response carries it as
//! the `tag` parameter.
//!
//! IDs are the `httpsig@1.0` device's (`id`, §7.1, with all commitments), so the node holds no
//! codec logic here: only the chaining. An ID is a pure function of the message and of the
//! codec library computing it, so the node remembers the IDs it computed ([`IdCache`]): the same
//! base message — a process, read again and again at `/<process>~process@1.0/…` — is identified
//! once, not on every request.

use super::call_with;
use crate::cache::{KeyBuilder, Recent};
use crate::node::Node;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ferrobeam_device_api::{Message, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The device computing IDs (HyperBEAM's default commitment device).
pub(crate) const ID_DEVICE: &str = "httpsig@1.0";

/// How many message IDs the node remembers.
pub const ID_CACHE_ENTRIES: usize = 4096;

/// How many bytes of IDs and their keys the node remembers at most.
pub const ID_CACHE_BYTES: usize = 8 << 20;

/// IDs by a key ([`KeyBuilder`]) of the `httpsig@1.0` load generation and the message's wire
/// encoding.
#[derive(Debug)]
pub struct IdCache(Recent<Arc<str>>);

impl Default for IdCache {
    fn default() -> Self {
        IdCache(Recent::new(ID_CACHE_ENTRIES, ID_CACHE_BYTES))
    }
}

impl IdCache {
    /// Hits and misses so far.
    pub fn stats(&self) -> crate::cache::CacheStats {
        self.0.stats()
    }

    /// Its figures for `/metrics`, as the `id` cache.
    pub fn report(&self) -> crate::cache::CacheReport {
        self.0.report("id")
    }
}

/// Keys that do not make a request step a message of its own: a step holding only these is
/// identified by its key (`compute`), not by an ID.
const BARE_STEP_KEYS: [&str; 3] = ["path", "hashpath", "priv"];

/// The hashpath of `base` (its `priv.hashpath`, else its ID).
pub fn of_message(node: &Node, base: &Message) -> Option<String> {
    match base.get_message("priv").and_then(|p| p.get_str("hashpath")) {
        Some(h) => Some(h.to_owned()),
        None => id(node, base),
    }
}

/// The hashpath of the result of applying `req` to `base`; `None` when an ID cannot be
/// computed (the result then simply carries no hashpath).
pub fn of_step(node: &Node, base: &Message, req: &Message) -> Option<String> {
    let base_path = of_message(node, base)?;
    let step = if req.keys().all(|k| BARE_STEP_KEYS.contains(&k.as_str())) {
        req.get_str("path")?.to_owned()
    } else {
        id(node, req)?
    };
    chain(&base_path, &step)
}

/// `P/step` for a one-segment hashpath `P`; for `P1/P2`, the two are first folded into one
/// with `sha-256-chain`: base64url(sha256(raw(P1) ‖ raw(P2))), where `raw` decodes an ID and
/// leaves any other segment (a key) as its bytes.
///
/// ```
/// # use ferrobeam::resolve::hashpath::chain;
/// let a = "A".repeat(43);
/// assert_eq!(chain(&a, "k").unwrap(), format!("{a}/k"));
/// let folded = chain(&format!("{a}/{a}"), "k").unwrap();
/// assert_eq!(folded.len(), 43 + 2);
/// ```
pub fn chain(base_path: &str, step: &str) -> Option<String> {
    let prefix = match base_path.split_once('/') {
        None => base_path.to_owned(),
        Some((p1, p2)) => {
            let mut hasher = Sha256::new();
            hasher.update(raw_id(p1)?);
            match raw_id(p2) {
                Some(raw) if p2.len() == 43 => hasher.update(raw),
                _ => hasher.update(p2.as_bytes()),
            }
            URL_SAFE_NO_PAD.encode(hasher.finalize())
        }
    };
    Some(format!("{prefix}/{step}"))
}

/// Records `hashpath` in `result.priv`.
pub fn record(result: &mut Message, hashpath: String) {
    match result.get_mut("priv") {
        Some(Value::Message(private)) => {
            private.insert("hashpath", hashpath);
        }
        _ => {
            result.insert("priv", Message::new().with("hashpath", hashpath));
        }
    }
}

fn raw_id(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

/// The ID of `msg`, remembered by the node ([`IdCache`]).
pub fn id(node: &Node, msg: &Message) -> Option<String> {
    // Without the device there is no ID (and `call_with` says why below).
    let [generation] = node.registry().generations([ID_DEVICE]);
    let key = generation.map(|generation| {
        let mut key = KeyBuilder::new(b"ferrobeam id v1");
        key.update(generation.to_le_bytes());
        key.message(msg);
        key.finish()
    });
    if let Some(known) = key.as_ref().and_then(|k| node.ids().0.get(k)) {
        return Some(known.to_string());
    }
    match call_with(node, ID_DEVICE, "id", msg, &Message::new()) {
        Ok(v) => {
            let id = v.as_str()?.to_owned();
            if let Some(key) = key {
                node.ids().0.insert(&key, Arc::from(id.as_str()), id.len());
            }
            Some(id)
        }
        Err(e) => {
            tracing::debug!("no hashpath: {ID_DEVICE} could not identify a step: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_segment_hashpaths_fold_with_sha256_chain() {
        let p1 = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let p2 = URL_SAFE_NO_PAD.encode([2u8; 32]);
        let mut concat = vec![1u8; 32];
        concat.extend([2u8; 32]);
        let folded = URL_SAFE_NO_PAD.encode(Sha256::digest(&concat));
        assert_eq!(
            chain(&format!("{p1}/{p2}"), "next").unwrap(),
            format!("{folded}/next")
        );
        // A key segment is hashed as its bytes.
        let mut concat = vec![1u8; 32];
        concat.extend(b"compute");
        let folded = URL_SAFE_NO_PAD.encode(Sha256::digest(&concat));
        assert_eq!(
            chain(&format!("{p1}/compute"), "x").unwrap(),
            format!("{folded}/x")
        );
    }

    #[test]
    fn recording_keeps_other_private_fields() {
        let mut m = Message::new().with("priv", Message::new().with("other", "x"));
        record(&mut m, "h".to_owned());
        let private = m.get_message("priv").unwrap_or_else(|| unreachable!());
        assert_eq!(private.get_str("hashpath"), Some("h"));
        assert_eq!(private.get_str("other"), Some("x"));
    }
}

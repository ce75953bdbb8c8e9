//! The head of a schedule: the last slot assigned, the hash chain after it and its timestamp
//! (`spec/process.md` §3.3). Stored at [`keys::head`](crate::keys::head); every assignment is a
//! compare-and-swap of the head.

use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes that start every encoded head (format version 1).
const MAGIC: &[u8; 3] = b"FH1";
const ENCODED_LEN: usize = 3 + 8 + 8 + 32;

/// A schedule's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last slot assigned.
    pub slot: u64,
    /// The hash chain after that slot (raw SHA-256).
    pub chain: [u8; 32],
    /// Its assignment's `timestamp` (milliseconds since the Unix epoch).
    pub timestamp: u64,
}

/// A stored head that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptHead;

impl Head {
    /// The head after assigning the message with ID `message_id` on top of `previous` (none for
    /// slot 0) at local time `now_ms`:
    ///
    /// * slot = previous slot + 1 (0 first);
    /// * chain = SHA-256(previous chain ‖ the message ID as base64url text) — HyperBEAM's
    ///   `next_hashchain`, whose first link hashes the ID alone;
    /// * timestamp = `now_ms`, but never earlier than the previous one, so a process sees
    ///   non-decreasing time even if the clock steps back.
    ///
    /// ```
    /// use ferrobeam_process::scheduler::head::Head;
    /// let first = Head::next(None, "A".repeat(43).as_str(), 1_000);
    /// assert_eq!(first.slot, 0);
    /// let second = Head::next(Some(&first), "B".repeat(43).as_str(), 900);
    /// assert_eq!((second.slot, second.timestamp), (1, 1_000));
    /// assert_eq!(Head::decode(&second.encode()), Ok(second));
    /// ```
    pub fn next(previous: Option<&Head>, message_id: &str, now_ms: u64) -> Head {
        let mut hasher = Sha256::new();
        if let Some(p) = previous {
            hasher.update(p.chain);
        }
        hasher.update(message_id.as_bytes());
        Head {
            slot: previous.map_or(0, |p| p.slot.saturating_add(1)),
            chain: hasher.finalize().into(),
            timestamp: previous.map_or(now_ms, |p| now_ms.max(p.timestamp)),
        }
    }

    /// The stored form: `FH1`, slot and timestamp (big-endian), chain.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.chain);
        out
    }

    /// Reads the stored form.
    pub fn decode(bytes: &[u8]) -> Result<Head, CorruptHead> {
        if bytes.len() != ENCODED_LEN || &bytes[..3] != MAGIC {
            return Err(CorruptHead);
        }
        let u64_at = |at: usize| -> Result<u64, CorruptHead> {
            Ok(u64::from_be_bytes(
                bytes[at..at + 8].try_into().map_err(|_| CorruptHead)?,
            ))
        };
        Ok(Head {
            slot: u64_at(3)?,
            timestamp: u64_at(11)?,
            chain: bytes[19..].try_into().map_err(|_| CorruptHead)?,
        })
    }
}

/// The local time in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_links_every_message_id_in_order() {
        let a = Head::next(None, "a", 5);
        let b = Head::next(Some(&a), "b", 6);
        let expected_a: [u8; 32] = Sha256::digest(b"a").into();
        assert_eq!(a.chain, expected_a);
        let mut h = Sha256::new();
        h.update(expected_a);
        h.update(b"b");
        let expected_b: [u8; 32] = h.finalize().into();
        assert_eq!(b.chain, expected_b);
        // Another order gives another chain.
        let b_first = Head::next(None, "b", 5);
        assert_ne!(Head::next(Some(&b_first), "a", 6).chain, b.chain);
    }

    #[test]
    fn damaged_heads_are_refused() {
        let mut bytes = Head::next(None, "a", 1).encode();
        assert!(Head::decode(&bytes[..10]).is_err());
        bytes[0] = b'X';
        assert_eq!(Head::decode(&bytes), Err(CorruptHead));
    }
}

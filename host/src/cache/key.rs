//! Cache keys: a collision-resistant digest of everything a remembered value depends on.
//!
//! A key is SHA-256 of its inputs when they are short and BLAKE3 of them when they are long.
//! With SHA-NI, SHA-256 is the faster of the two up to about 8–16 KiB; above that BLAKE3 runs
//! several lanes at once and is ~3.5x faster (78 KB: 43 µs against 12 µs, `BENCHMARKS.md`). The
//! two cannot collide with each other in practice (that would take a SHA-256 output equal to a
//! BLAKE3 output, as hard as a preimage), and an input is always hashed with the same one,
//! since the choice depends only on its length. Both are cryptographic: a client can make the
//! node remember a message's ID, so finding two messages with one key would let it lend one
//! message the other's ID (and hashpath).

use super::Digest;
use ferrobeam_device_api::{wire, Message};
use sha2::{Digest as _, Sha256};
use std::cell::Cell;

/// Inputs longer than this are hashed with BLAKE3, shorter ones with SHA-256.
pub(crate) const BLAKE3_ABOVE: usize = 16 << 10;

/// Buffers kept per thread for keys up to this size; a larger one is freed when done.
const KEEP_BUFFER: usize = 64 << 10;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A cache key being built: the inputs are written into a buffer this thread reuses, and
/// hashed once at the end, when their length (and so the hash) is known.
///
/// ```
/// # use ferrobeam::cache::KeyHasher;
/// # use ferrobeam_device_api::Message;
/// let mut a = KeyHasher::new(b"example v1");
/// a.message(&Message::new().with("k", "v"));
/// let mut b = KeyHasher::new(b"example v1");
/// b.message(&Message::new().with("k", "w"));
/// assert_ne!(a.finish(), b.finish());
/// ```
pub struct KeyHasher {
    input: Vec<u8>,
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyHasher")
            .field("len", &self.input.len())
            .finish()
    }
}

impl KeyHasher {
    /// A key of the kind `domain` names (e.g. `b"ferrobeam response v1"`): keys of different
    /// domains never share inputs.
    pub fn new(domain: &[u8]) -> Self {
        // Re-entrant: a key built inside another one's simply gets a buffer of its own.
        let mut input = SCRATCH.try_with(Cell::take).unwrap_or_default();
        input.clear();
        let mut key = KeyHasher { input };
        key.part(domain);
        key
    }

    /// Adds fixed-size bytes (a generation, a tag byte, a digest).
    pub fn update(&mut self, bytes: impl AsRef<[u8]>) {
        self.input.extend_from_slice(bytes.as_ref());
    }

    /// Adds bytes of any length, prefixed with their length so that consecutive parts cannot
    /// run into each other.
    pub fn part(&mut self, bytes: &[u8]) {
        self.update((bytes.len() as u64).to_le_bytes());
        self.update(bytes);
    }

    /// Adds `message`'s wire frame (which is self-delimiting).
    pub fn message(&mut self, message: &Message) {
        wire::encode_message_into(message, &mut self.input);
    }

    /// The key.
    pub fn finish(self) -> Digest {
        digest_of(&self.input)
    }
}

impl Drop for KeyHasher {
    /// Gives the buffer back to the thread (also when a key is given up half-built).
    fn drop(&mut self) {
        let input = std::mem::take(&mut self.input);
        if input.capacity() <= KEEP_BUFFER {
            // (Not while the thread's locals are being destroyed: then the buffer just goes.)
            let _ = SCRATCH.try_with(|scratch| scratch.set(input));
        }
    }
}

/// The digest of `input`: SHA-256 up to [`BLAKE3_ABOVE`] bytes, BLAKE3 above.
fn digest_of(input: &[u8]) -> Digest {
    if input.len() > BLAKE3_ABOVE {
        *blake3::hash(input).as_bytes()
    } else {
        Sha256::digest(input).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_inputs_are_sha256_and_long_ones_blake3() {
        let short = vec![7u8; BLAKE3_ABOVE];
        let long = vec![7u8; BLAKE3_ABOVE + 1];
        assert_eq!(digest_of(&short), <[u8; 32]>::from(Sha256::digest(&short)));
        assert_eq!(digest_of(&long), *blake3::hash(&long).as_bytes());
    }

    #[test]
    fn keys_depend_on_every_input_and_on_where_parts_end() {
        let key = |parts: &[&[u8]], body: &[u8]| {
            let mut k = KeyHasher::new(b"test v1");
            for p in parts {
                k.part(p);
            }
            k.message(&Message::new().with("body", body));
            k.finish()
        };
        let big = vec![1u8; 100 << 10];
        let mut big2 = big.clone();
        big2[50 << 10] = 2;
        assert_ne!(key(&[b"ab", b"c"], b"x"), key(&[b"a", b"bc"], b"x"));
        assert_ne!(key(&[b"a"], &big), key(&[b"a"], &big2));
        assert_eq!(key(&[b"a"], &big), key(&[b"a"], &big));
        let mut other = KeyHasher::new(b"test v2");
        other.part(b"a");
        other.message(&Message::new().with("body", big.clone()));
        assert_ne!(other.finish(), key(&[b"a"], &big));
    }

    #[test]
    fn a_key_built_inside_another_does_not_disturb_it() {
        let mut outer = KeyHasher::new(b"outer");
        outer.part(b"before");
        let mut inner = KeyHasher::new(b"inner");
        inner.part(b"x");
        let inner = inner.finish();
        outer.update(inner);
        let mut again = KeyHasher::new(b"outer");
        again.part(b"before");
        again.update(inner);
        assert_eq!(outer.finish(), again.finish());
    }
}

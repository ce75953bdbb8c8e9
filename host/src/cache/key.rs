//! Cache keys: everything a remembered value depends on, written out.
//!
//! A key holds its inputs themselves when they are short, and their BLAKE3 digest when they
//! are long. The maps that hold keys ([`Recent`](super::Recent)) hash them with a seeded fast
//! hash and compare them whole, so two short keys are equal only when their inputs are: no
//! digest needs to be collision-resistant for that, and none is computed on the hot path
//! (SHA-256 of a request's or a response's few kilobytes cost more than the rest of the
//! lookup; `BENCHMARKS.md`, "The load command"). Long inputs are digested with BLAKE3, which
//! is cryptographic: a client can make the node remember a message's ID, so finding two long
//! messages with one key would let it lend one message the other's ID (and hashpath). A byte
//! at the start of every key says which kind it is, so a short key never equals a long one.

use ferrobeam_device_api::{wire, Message};
use std::cell::Cell;

/// Keys whose inputs are longer than this hold their BLAKE3 digest; shorter ones hold the
/// inputs. Above it BLAKE3 runs several lanes at once (78 KB: ~11 µs), and a key that long
/// would cost the cache more memory than the value it finds.
pub(crate) const EXACT_UP_TO: usize = 16 << 10;

/// Buffers kept per thread for keys up to this size; a larger one is freed when done.
const KEEP_BUFFER: usize = 64 << 10;

/// The first byte of a key holding its inputs.
const INPUTS: u8 = 0;
/// The first byte of a key holding the BLAKE3 digest of its inputs.
const DIGEST: u8 = 1;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A cache key being built: the inputs are written into a buffer this thread reuses.
///
/// ```
/// # use ferrobeam::cache::KeyBuilder;
/// # use ferrobeam_device_api::Message;
/// let mut a = KeyBuilder::new(b"example v1");
/// a.message(&Message::new().with("k", "v"));
/// let mut b = KeyBuilder::new(b"example v1");
/// b.message(&Message::new().with("k", "w"));
/// assert_ne!(a.finish(), b.finish());
/// ```
pub struct KeyBuilder {
    input: Vec<u8>,
}

impl std::fmt::Debug for KeyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyBuilder")
            .field("len", &self.input.len())
            .finish()
    }
}

impl KeyBuilder {
    /// A key of the kind `domain` names (e.g. `b"ferrobeam response v1"`): keys of different
    /// domains never share inputs.
    pub fn new(domain: &[u8]) -> Self {
        // Re-entrant: a key built inside another one's simply gets a buffer of its own.
        let mut input = SCRATCH.try_with(Cell::take).unwrap_or_default();
        input.clear();
        input.push(INPUTS);
        let mut key = KeyBuilder { input };
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

    /// The key: the inputs, or their BLAKE3 digest when there are more than [`EXACT_UP_TO`]
    /// bytes of them.
    pub fn finish(mut self) -> Key {
        let mut bytes = std::mem::take(&mut self.input);
        if bytes.len() - 1 > EXACT_UP_TO {
            let digest = blake3::hash(&bytes[1..]);
            bytes.clear();
            bytes.push(DIGEST);
            bytes.extend_from_slice(digest.as_bytes());
        }
        Key { bytes }
    }
}

impl Drop for KeyBuilder {
    /// Gives the buffer back to the thread (also when a key is given up half-built).
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.input));
    }
}

/// A finished key ([`KeyBuilder::finish`]). Its buffer goes back to the thread when it is
/// dropped; a cache that keeps it copies the bytes ([`Key::to_stored`]).
#[derive(PartialEq, Eq)]
pub struct Key {
    bytes: Vec<u8>,
}

impl Key {
    /// The key's bytes, as a map of keys compares them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the key holds a digest of its inputs rather than the inputs.
    pub fn is_digest(&self) -> bool {
        self.bytes.first() == Some(&DIGEST)
    }

    /// The bytes as a cache keeps them: exactly as long as they are.
    pub(crate) fn to_stored(&self) -> Box<[u8]> {
        Box::from(self.as_bytes())
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_digest() { "digest" } else { "inputs" };
        write!(f, "Key({kind}, {} bytes)", self.bytes.len())
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.bytes));
    }
}

/// Gives `buffer` to this thread for its next key, unless it has no room (a builder whose
/// buffer went to its key) or grew too large to keep.
fn recycle(buffer: Vec<u8>) {
    if (1..=KEEP_BUFFER).contains(&buffer.capacity()) {
        // (Not while the thread's locals are being destroyed: then the buffer just goes.)
        let _ = SCRATCH.try_with(|scratch| scratch.set(buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of_body(body: &[u8]) -> Key {
        let mut k = KeyBuilder::new(b"test v1");
        k.message(&Message::new().with("body", body));
        k.finish()
    }

    #[test]
    fn short_inputs_are_kept_and_long_ones_digested() {
        let short = key_of_body(&[7u8; 1000]);
        assert!(!short.is_digest());
        assert!(short.as_bytes().windows(1000).any(|w| w == [7u8; 1000]));
        let long = key_of_body(&vec![7u8; EXACT_UP_TO + 1]);
        assert!(long.is_digest());
        assert_eq!(long.as_bytes().len(), 33);
    }

    #[test]
    fn the_boundary_between_the_two_kinds_is_exact() {
        let inputs = |n: usize| {
            let mut k = KeyBuilder::new(b"");
            k.update(vec![0u8; n - 8]);
            k.finish()
        };
        // The domain's length prefix is 8 of the bytes.
        assert!(!inputs(EXACT_UP_TO).is_digest());
        assert!(inputs(EXACT_UP_TO + 1).is_digest());
    }

    #[test]
    fn keys_depend_on_every_input_and_on_where_parts_end() {
        let key = |parts: &[&[u8]], body: &[u8]| {
            let mut k = KeyBuilder::new(b"test v1");
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
        assert_ne!(key(&[b"a"], b"x"), key(&[b"a"], b"y"));
        assert_eq!(key(&[b"a"], b"x"), key(&[b"a"], b"x"));
        assert_ne!(key(&[b"a"], &big), key(&[b"a"], &big2));
        assert_eq!(key(&[b"a"], &big), key(&[b"a"], &big));
        let mut other = KeyBuilder::new(b"test v2");
        other.part(b"a");
        other.message(&Message::new().with("body", big.clone()));
        assert_ne!(other.finish(), key(&[b"a"], &big));
    }

    #[test]
    fn a_short_key_never_equals_a_digest() {
        // A short key whose bytes after the kind are those of a long key's digest.
        let long = key_of_body(&vec![3u8; EXACT_UP_TO + 1]);
        let mut forged = KeyBuilder::new(b"");
        forged.input.truncate(1);
        forged.update(&long.as_bytes()[1..]);
        let forged = forged.finish();
        assert_eq!(forged.as_bytes()[1..], long.as_bytes()[1..]);
        assert_ne!(forged, long);
    }

    #[test]
    fn a_key_built_inside_another_does_not_disturb_it() {
        let mut outer = KeyBuilder::new(b"outer");
        outer.part(b"before");
        let mut inner = KeyBuilder::new(b"inner");
        inner.part(b"x");
        let inner = inner.finish();
        outer.update(inner.as_bytes());
        let mut again = KeyBuilder::new(b"outer");
        again.part(b"before");
        again.update(inner.as_bytes());
        assert_eq!(outer.finish(), again.finish());
    }

    #[test]
    fn a_dropped_key_gives_its_buffer_back() {
        let scratch = || SCRATCH.with(Cell::take);
        let key = key_of_body(&[1u8; 4000]);
        // The builder took the thread's buffer, and finishing it left none behind.
        assert_eq!(scratch().capacity(), 0);
        let address = key.as_bytes().as_ptr();
        drop(key);
        let kept = scratch();
        assert!(kept.capacity() >= 4000, "{}", kept.capacity());
        assert_eq!(kept.as_ptr(), address);
    }
}

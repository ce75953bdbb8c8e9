//! [`Binary`]: the bytes of a binary [`Value`](crate::Value), held in the value itself when they
//! are short.
//!
//! Most binaries in a message are short: header values, numbers in text, type names in
//! `ao-types`. A [`Binary`] made of at most [`Binary::INLINE`] bytes is held inline, so building,
//! cloning and dropping a message of short values costs no call to the allocator per value (the
//! BEAM keeps binaries of up to 64 bytes on the process heap for the same reason). Longer
//! binaries are an ordinary `Vec<u8>`, which converts to and from a `Binary` (and so does a
//! `bytes::Bytes`, the node's HTTP body) without a copy of its bytes.
//!
//! A `Binary` dereferences to `[u8]`, so slice methods work on it directly:
//!
//! ```
//! use ferrobeam_device_api::Binary;
//! let b = Binary::from("hello");
//! assert_eq!(b.len(), 5);
//! assert!(b.starts_with(b"he"));
//! assert_eq!(b, b"hello");
//! assert_eq!(std::str::from_utf8(&b), Ok("hello"));
//! ```

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// A byte string: inline up to [`Binary::INLINE`] bytes, on the heap beyond.
///
/// It behaves as a `Vec<u8>` does (it compares, orders and hashes as its bytes, and derefs to
/// `[u8]`); where it lives is never visible except in what it costs.
///
/// ```
/// use ferrobeam_device_api::Binary;
/// let mut b = Binary::from(&b"content-"[..]);
/// b.extend_from_slice(b"type");
/// assert_eq!(b.as_slice(), b"content-type");
/// let v: Vec<u8> = b.into_vec();
/// assert_eq!(v, b"content-type");
/// ```
pub struct Binary(Repr);

impl Clone for Binary {
    #[inline]
    fn clone(&self) -> Self {
        Binary(self.0.clone())
    }

    /// Where the binary is: an inline binary over an inline one is a copy of its 32 bytes (a
    /// binary made and then moved would be read back right after it was stored, a stall).
    #[inline]
    fn clone_from(&mut self, source: &Self) {
        match (&mut self.0, &source.0) {
            (
                Repr::Inline { len, bytes },
                Repr::Inline {
                    len: from_len,
                    bytes: from,
                },
            ) => {
                *len = *from_len;
                *bytes = *from;
            }
            (into, from) => *into = from.clone(),
        }
    }
}

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]`, with `len <= INLINE`.
    Inline {
        len: u8,
        bytes: [u8; Binary::INLINE],
    },
    /// More than `INLINE` bytes when made or grown (fewer after [`Binary::clear`], which keeps
    /// the allocation).
    Heap(Vec<u8>),
}

impl Binary {
    /// The most bytes held without an allocation. With the length and the variant, a `Binary`
    /// is 32 bytes, which a [`Value`](crate::Value) holds without growing.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// assert_eq!(Binary::INLINE, 30);
    /// assert_eq!(std::mem::size_of::<Binary>(), 32);
    /// ```
    pub const INLINE: usize = 30;

    /// An empty binary.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// assert!(Binary::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Binary(Repr::Inline {
            len: 0,
            bytes: [0; Binary::INLINE],
        })
    }

    /// Whether the bytes are held inline: such a binary owns no memory, so a copy of its bytes
    /// is a clone of it (what [`Message`](crate::Message)'s clone relies on).
    #[inline]
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// An empty binary with room for `capacity` bytes.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let mut b = Binary::with_capacity(100);
    /// b.extend_from_slice(&[1; 100]);
    /// assert_eq!(b.len(), 100);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        if capacity <= Binary::INLINE {
            Binary::new()
        } else {
            Binary(Repr::Heap(Vec::with_capacity(capacity)))
        }
    }

    /// A copy of `bytes`: inline if they fit, else one allocation of exactly their size.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// assert_eq!(Binary::copy_from_slice(b"id"), b"id");
    /// ```
    pub fn copy_from_slice(bytes: &[u8]) -> Self {
        Binary::inline(bytes).unwrap_or_else(|| Binary(Repr::Heap(bytes.to_vec())))
    }

    /// A copy of `bytes` held inline, if they fit.
    fn inline(bytes: &[u8]) -> Option<Self> {
        let n = bytes.len();
        if n > Binary::INLINE {
            return None;
        }
        let mut inline = [0; Binary::INLINE];
        fill_inline(&mut inline, bytes);
        Some(Binary(Repr::Inline {
            len: n as u8,
            bytes: inline,
        }))
    }

    /// Makes this binary a copy of `bytes`, written where it is: a binary just placed in a
    /// vector (an entry of a message being decoded) is filled there rather than made elsewhere
    /// and moved in, which would read back at once what was just stored ([`fill_inline`]).
    pub(crate) fn assign(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, bytes: inline } if bytes.len() <= Binary::INLINE => {
                fill_inline(inline, bytes);
                *len = bytes.len() as u8;
            }
            _ => *self = Binary::copy_from_slice(bytes),
        }
    }

    /// The bytes.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// assert_eq!(Binary::from("ab").as_slice(), b"ab");
    /// ```
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }

    /// The bytes, mutably (their number cannot change through the slice).
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let mut b = Binary::from("ab");
    /// b.as_mut_slice().make_ascii_uppercase();
    /// assert_eq!(b, b"AB");
    /// ```
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, bytes } => &mut bytes[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }

    /// The bytes as a `Vec<u8>`: without a copy when they are on the heap.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let big = vec![7u8; 1000];
    /// let ptr = big.as_ptr();
    /// let back = Binary::from(big).into_vec();
    /// assert_eq!(back.as_ptr(), ptr);
    /// ```
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline { len, bytes } => bytes[..usize::from(len)].to_vec(),
            Repr::Heap(v) => v,
        }
    }

    /// Appends `more`, moving the bytes to the heap once they no longer fit inline.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let mut b = Binary::from("gzip");
    /// b.extend_from_slice(b", deflate");
    /// assert_eq!(b, b"gzip, deflate");
    /// b.extend_from_slice(&[b'x'; 40]);
    /// assert_eq!(b.len(), 53);
    /// ```
    pub fn extend_from_slice(&mut self, more: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, bytes } => {
                let at = usize::from(*len);
                let end = at + more.len();
                match u8::try_from(end) {
                    Ok(new_len) if end <= Binary::INLINE => {
                        bytes[at..end].copy_from_slice(more);
                        *len = new_len;
                    }
                    _ => {
                        let mut v = Vec::with_capacity(end);
                        v.extend_from_slice(&bytes[..at]);
                        v.extend_from_slice(more);
                        self.0 = Repr::Heap(v);
                    }
                }
            }
            Repr::Heap(v) => v.extend_from_slice(more),
        }
    }

    /// Appends one byte.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let mut b = Binary::new();
    /// b.push(b'a');
    /// assert_eq!(b, b"a");
    /// ```
    pub fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    /// Removes every byte (a heap binary keeps its allocation).
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let mut b = Binary::from("abc");
    /// b.clear();
    /// assert!(b.is_empty());
    /// ```
    pub fn clear(&mut self) {
        match &mut self.0 {
            Repr::Inline { len, .. } => *len = 0,
            Repr::Heap(v) => v.clear(),
        }
    }
}

/// The `W` bytes of `bytes` from `at`, for reading as one word.
#[inline]
pub(crate) fn bytes_at<const W: usize>(bytes: &[u8], at: usize) -> [u8; W] {
    let mut word = [0u8; W];
    word.copy_from_slice(&bytes[at..at + W]);
    word
}

/// Copies `bytes` (at most `N`, with `16 <= N <= 31`) into `inline`, zeros after them, in two
/// 16-byte stores: bytes `0..16` and `N - 16..N`.
///
/// An array filled by `memcpy`, which stores a short slice piecemeal, and then moved into its
/// value is read back whole right away, a load the CPU cannot forward from those stores (for
/// a short binary, that stall was the largest cost of making one). Here the two words are
/// gathered by loads from `bytes` alone (they may overlap; a byte read twice is shifted to the
/// same place both times) and written whole. Where the array then goes is the compiler's
/// choice: filling a binary where it stays ([`Binary::assign`]) is what avoids a move.
#[inline]
pub(crate) fn fill_inline<const N: usize>(inline: &mut [u8; N], bytes: &[u8]) {
    let n = bytes.len();
    debug_assert!(n <= N && (16..32).contains(&N));
    let u128_at = |i: usize| u128::from_le_bytes(bytes_at(bytes, i));
    let u64_at = |i: usize| u128::from(u64::from_le_bytes(bytes_at(bytes, i)));
    let u32_at = |i: usize| u128::from(u32::from_le_bytes(bytes_at(bytes, i)));
    let head = match n {
        0 => 0,
        1..=3 => bytes
            .iter()
            .enumerate()
            .fold(0, |w, (j, &b)| w | u128::from(b) << (8 * j)),
        4..=7 => u32_at(0) | u32_at(n - 4) << (8 * (n - 4)),
        8..=15 => u64_at(0) | u64_at(n - 8) << (8 * (n - 8)),
        _ => u128_at(0),
    };
    // Byte `N - 16 + k` is byte `k + N - n` of the last sixteen.
    let tail = if n >= 16 {
        u128_at(n - 16) >> (8 * (N - n))
    } else {
        head >> (8 * (N - 16))
    };
    inline[N - 16..].copy_from_slice(&tail.to_le_bytes());
    inline[..16].copy_from_slice(&head.to_le_bytes());
}

impl Default for Binary {
    fn default() -> Self {
        Binary::new()
    }
}

impl Deref for Binary {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl DerefMut for Binary {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl AsRef<[u8]> for Binary {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Binary {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Binary {
    fn eq(&self, other: &Binary) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Binary {}

impl PartialEq<[u8]> for Binary {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Binary {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Binary {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Binary {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Binary {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Binary> for Vec<u8> {
    fn eq(&self, other: &Binary) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Binary> for [u8] {
    fn eq(&self, other: &Binary) -> bool {
        self == other.as_slice()
    }
}

impl PartialOrd for Binary {
    fn partial_cmp(&self, other: &Binary) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Binary {
    fn cmp(&self, other: &Binary) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

// Hashed as its bytes, as `[u8]` is (`Borrow<[u8]>` requires it).
impl Hash for Binary {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl From<Vec<u8>> for Binary {
    /// Takes the vector's allocation, or copies its bytes inline when they fit (and frees it),
    /// so that a short binary is inline however it was made.
    fn from(v: Vec<u8>) -> Self {
        Binary::inline(&v).unwrap_or(Binary(Repr::Heap(v)))
    }
}

impl From<bytes::Bytes> for Binary {
    /// Takes the bytes' buffer when nothing else holds it (as [`Vec::from`] does), or copies
    /// them; inline when they fit.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let body = bytes::Bytes::from(vec![1u8; 100]);
    /// assert_eq!(Binary::from(body), vec![1u8; 100]);
    /// ```
    fn from(b: bytes::Bytes) -> Self {
        Binary::inline(&b).unwrap_or_else(|| Binary(Repr::Heap(Vec::from(b))))
    }
}

impl From<Binary> for bytes::Bytes {
    /// Hands long bytes over without a copy; copies short ones.
    ///
    /// ```
    /// # use ferrobeam_device_api::Binary;
    /// let b = Binary::from(vec![1u8; 100]);
    /// let ptr = b.as_ptr();
    /// assert_eq!(bytes::Bytes::from(b).as_ptr(), ptr);
    /// ```
    fn from(b: Binary) -> Self {
        match b.0 {
            Repr::Inline { len, bytes } => {
                bytes::Bytes::copy_from_slice(&bytes[..usize::from(len)])
            }
            Repr::Heap(v) => bytes::Bytes::from(v),
        }
    }
}

impl From<&Binary> for Binary {
    fn from(b: &Binary) -> Self {
        b.clone()
    }
}

impl From<&Vec<u8>> for Binary {
    fn from(v: &Vec<u8>) -> Self {
        Binary::copy_from_slice(v)
    }
}

impl From<&[u8]> for Binary {
    fn from(bytes: &[u8]) -> Self {
        Binary::copy_from_slice(bytes)
    }
}

impl<const N: usize> From<&[u8; N]> for Binary {
    fn from(bytes: &[u8; N]) -> Self {
        Binary::copy_from_slice(bytes)
    }
}

impl<const N: usize> From<[u8; N]> for Binary {
    fn from(bytes: [u8; N]) -> Self {
        Binary::copy_from_slice(&bytes)
    }
}

impl From<&str> for Binary {
    fn from(text: &str) -> Self {
        Binary::copy_from_slice(text.as_bytes())
    }
}

impl From<String> for Binary {
    fn from(text: String) -> Self {
        Binary::from(text.into_bytes())
    }
}

impl From<&String> for Binary {
    fn from(text: &String) -> Self {
        Binary::copy_from_slice(text.as_bytes())
    }
}

impl From<std::borrow::Cow<'_, [u8]>> for Binary {
    fn from(bytes: std::borrow::Cow<'_, [u8]>) -> Self {
        match bytes {
            std::borrow::Cow::Borrowed(b) => Binary::copy_from_slice(b),
            std::borrow::Cow::Owned(v) => Binary::from(v),
        }
    }
}

impl From<Binary> for Vec<u8> {
    fn from(b: Binary) -> Self {
        b.into_vec()
    }
}

impl Extend<u8> for Binary {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        for byte in iter {
            self.push(byte);
        }
    }
}

impl<'a> Extend<&'a u8> for Binary {
    fn extend<I: IntoIterator<Item = &'a u8>>(&mut self, iter: I) {
        self.extend(iter.into_iter().copied());
    }
}

impl FromIterator<u8> for Binary {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut b = Binary::new();
        b.extend(iter);
        b
    }
}

impl std::io::Write for Binary {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_is_copied_byte_for_byte() {
        // Distinct bytes, read from the middle of a larger buffer, so that a word read from the
        // wrong place, or shifted to the wrong place, shows.
        let buffer: Vec<u8> = (1..=100).collect();
        for n in 0..=Binary::INLINE + 4 {
            for start in [0, 7, 50] {
                let bytes = &buffer[start..start + n];
                assert_eq!(
                    Binary::copy_from_slice(bytes).as_slice(),
                    bytes,
                    "{n} from {start}"
                );
            }
            if n <= Binary::INLINE {
                let mut inline = [0xffu8; Binary::INLINE];
                fill_inline(&mut inline, &buffer[..n]);
                let mut padded = [0u8; Binary::INLINE];
                padded[..n].copy_from_slice(&buffer[..n]);
                assert_eq!(inline, padded, "{n}");
            }
        }
    }

    #[test]
    fn short_binaries_are_inline_and_long_ones_on_the_heap() {
        for n in 0..=Binary::INLINE {
            let b = Binary::copy_from_slice(&vec![1; n]);
            assert!(matches!(b.0, Repr::Inline { .. }), "{n} bytes");
            assert_eq!(b.len(), n);
        }
        let b = Binary::copy_from_slice(&[1; Binary::INLINE + 1]);
        assert!(matches!(b.0, Repr::Heap(_)));
        assert!(matches!(
            Binary::from(b"short".to_vec()).0,
            Repr::Inline { .. }
        ));
        assert!(matches!(Binary::from(vec![0; 31]).0, Repr::Heap(_)));
    }

    #[test]
    fn an_inline_copy_holds_every_byte_in_place() {
        // Distinct bytes at every inline length: each in its place, nothing written past them.
        for n in 0..=Binary::INLINE {
            let bytes: Vec<u8> = (1..=n as u8).collect();
            let b = Binary::copy_from_slice(&bytes);
            assert_eq!(b.as_slice(), bytes.as_slice(), "{n} bytes");
            let Repr::Inline { bytes: inline, .. } = b.0 else {
                panic!("{n} bytes are not inline");
            };
            assert!(
                inline[n..].iter().all(|&x| x == 0),
                "{n} bytes: past the end"
            );
        }
    }

    #[test]
    fn appending_matches_a_vector_across_the_inline_limit() {
        let (mut b, mut v) = (Binary::new(), Vec::new());
        for step in 0..20u8 {
            let more: Vec<u8> = (0..step % 7).map(|i| step.wrapping_mul(31) ^ i).collect();
            b.extend_from_slice(&more);
            v.extend_from_slice(&more);
            assert_eq!(b, v);
            b.push(step);
            v.push(step);
            assert_eq!(b.as_slice(), v.as_slice());
        }
        assert!(v.len() > Binary::INLINE);
        assert_eq!(b.into_vec(), v);
    }

    #[test]
    fn compares_orders_and_hashes_as_its_bytes() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |x: &dyn Fn(&mut DefaultHasher)| {
            let mut h = DefaultHasher::new();
            x(&mut h);
            h.finish()
        };
        let short = Binary::from("abc");
        let mut same_on_heap = Binary::from(vec![b'x'; 40]);
        same_on_heap.clear();
        same_on_heap.extend_from_slice(b"abc");
        assert!(matches!(same_on_heap.0, Repr::Heap(_)));
        assert_eq!(short, same_on_heap);
        assert_eq!(
            hash(&|h| short.hash(h)),
            hash(&|h| b"abc"[..].hash(h)),
            "Borrow<[u8]> requires the slice's hash"
        );
        assert_eq!(hash(&|h| same_on_heap.hash(h)), hash(&|h| short.hash(h)));
        assert!(Binary::from("abc") < Binary::from("abd"));
        let long = Binary::from(vec![b'a'; 40]);
        assert!(Binary::from("aa") < long);
        assert!(Binary::from("ab") > long);
    }

    #[test]
    fn clearing_keeps_it_usable() {
        let mut b = Binary::from(vec![0; 64]);
        b.clear();
        assert!(b.is_empty());
        b.extend_from_slice(b"x");
        assert_eq!(b, b"x");
    }
}

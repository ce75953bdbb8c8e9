//! The byte encoding of messages crossing the plugin boundary.
//!
//! Host and plugins are built separately, so no Rust type crosses the boundary: a [`Message`] is
//! encoded to bytes on one side and decoded on the other, with this module on both sides. The
//! format is versioned by [`WIRE_VERSION`], which is part of the ABI version.
//!
//! ```text
//! frame   := "FBW" version:u8 value
//! value   := 0x01 len bytes                binary
//!          | 0x02 zigzag                   integer (LEB128 of the zigzag form)
//!          | 0x03 f64 (8 bytes, LE)        float
//!          | 0x04 len utf8                 atom
//!          | 0x05 count value*             list
//!          | 0x06 count (len utf8 value)*  message (entries in order)
//! len, count := unsigned LEB128
//! ```
//!
//! Decoding checks every length against the bytes left and limits nesting to [`MAX_DEPTH`], so
//! a malformed frame is an error, never a panic or a huge allocation.
//!
//! ```
//! use ferrobeam_device_api::{wire, Message, Value};
//! let m = Message::new().with("a", 1).with("list", vec![Value::from("x"), Value::from(2.5)]);
//! let bytes = wire::encode_message(&m);
//! assert_eq!(wire::decode_message(&bytes).unwrap(), m);
//! ```

use crate::message::{push_empty, Message, Value};
use crate::Binary;
use std::fmt;

/// Version of this encoding. A change here is an ABI change.
pub const WIRE_VERSION: u8 = 1;

/// Deepest nesting of lists and messages a frame may have.
pub const MAX_DEPTH: usize = 256;

const MAGIC: &[u8; 3] = b"FBW";
const TAG_BINARY: u8 = 0x01;
const TAG_INTEGER: u8 = 0x02;
const TAG_FLOAT: u8 = 0x03;
const TAG_ATOM: u8 = 0x04;
const TAG_LIST: u8 = 0x05;
const TAG_MESSAGE: u8 = 0x06;

/// Why a frame could not be decoded.
///
/// ```
/// use ferrobeam_device_api::wire::{self, WireError};
/// assert_eq!(wire::decode_value(b"XYZ\x01\x01\x00"), Err(WireError::BadMagic));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The frame does not start with `FBW`.
    BadMagic,
    /// The frame is of another encoding version.
    Version {
        /// The version found in the frame.
        found: u8,
    },
    /// The frame ends before a value does.
    Truncated,
    /// An unknown value tag.
    BadTag(u8),
    /// A key or atom is not UTF-8.
    NotUtf8,
    /// Lists and messages nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Bytes are left after the value.
    TrailingBytes,
    /// The frame holds a value, but not the message that was expected.
    NotAMessage,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadMagic => f.write_str("not a ferrobeam message frame"),
            WireError::Version { found } => {
                write!(f, "message frame version {found}, expected {WIRE_VERSION}")
            }
            WireError::Truncated => f.write_str("message frame is truncated"),
            WireError::BadTag(t) => write!(f, "unknown value tag 0x{t:02x} in message frame"),
            WireError::NotUtf8 => f.write_str("key or atom in message frame is not UTF-8"),
            WireError::TooDeep => write!(f, "message frame nests deeper than {MAX_DEPTH}"),
            WireError::TrailingBytes => f.write_str("bytes left after the message frame"),
            WireError::NotAMessage => f.write_str("message frame holds a value, not a message"),
        }
    }
}

impl std::error::Error for WireError {}

/// Encodes a value as a frame.
///
/// ```
/// # use ferrobeam_device_api::{wire, Value};
/// let bytes = wire::encode_value(&Value::from(7));
/// assert_eq!(wire::decode_value(&bytes).unwrap(), Value::Integer(7));
/// ```
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + value_len(value));
    out.extend_from_slice(MAGIC);
    out.push(WIRE_VERSION);
    put_value(&mut out, value);
    out
}

/// Encodes a message as a frame.
///
/// ```
/// # use ferrobeam_device_api::{wire, Message};
/// let bytes = wire::encode_message(&Message::new().with("k", "v"));
/// assert!(bytes.starts_with(b"FBW"));
/// ```
pub fn encode_message(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_message_into(message, &mut out);
    out
}

/// Appends the frame of `message` to `out`, as [`encode_message`] would return it: for a caller
/// that reuses one buffer for many frames (hashing them, say) instead of allocating each.
///
/// ```
/// # use ferrobeam_device_api::{wire, Message};
/// let m = Message::new().with("k", "v");
/// let mut buf = Vec::new();
/// wire::encode_message_into(&m, &mut buf);
/// assert_eq!(buf, wire::encode_message(&m));
/// ```
pub fn encode_message_into(message: &Message, out: &mut Vec<u8>) {
    // The frame's exact size first: one walk over the message costs less than growing the
    // buffer (and copying what it holds) as a large or nested message is written.
    out.reserve(encoded_len(message));
    out.extend_from_slice(MAGIC);
    out.push(WIRE_VERSION);
    put_message(out, message);
}

/// The length of [`encode_message`]'s frame for `message`, found without writing it.
///
/// ```
/// # use ferrobeam_device_api::{wire, Message};
/// let m = Message::new().with("k", "v").with("n", Message::new().with("deep", 7));
/// assert_eq!(wire::encoded_len(&m), wire::encode_message(&m).len());
/// ```
pub fn encoded_len(message: &Message) -> usize {
    HEADER_LEN + 1 + message_len(message)
}

/// Decodes a frame holding any value.
///
/// ```
/// # use ferrobeam_device_api::{wire, Value};
/// let bytes = wire::encode_value(&Value::from("body"));
/// assert_eq!(wire::decode_value(&bytes).unwrap().as_str(), Some("body"));
/// ```
pub fn decode_value(bytes: &[u8]) -> Result<Value, WireError> {
    let mut r = Reader { bytes, pos: 0 };
    r.header()?;
    let v = r.value(0)?;
    if r.pos != bytes.len() {
        return Err(WireError::TrailingBytes);
    }
    Ok(v)
}

/// Decodes a frame that must hold a message.
///
/// ```
/// # use ferrobeam_device_api::{wire, Value};
/// let bytes = wire::encode_value(&Value::from(1));
/// assert_eq!(wire::decode_message(&bytes), Err(wire::WireError::NotAMessage));
/// ```
pub fn decode_message(bytes: &[u8]) -> Result<Message, WireError> {
    match decode_value(bytes)? {
        Value::Message(m) => Ok(m),
        _ => Err(WireError::NotAMessage),
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The frame header: [`MAGIC`] and [`WIRE_VERSION`].
const HEADER_LEN: usize = MAGIC.len() + 1;

/// How many bytes [`put_uvarint`] writes for `n`.
fn uvarint_len(n: u64) -> usize {
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

/// How many bytes [`put_bytes`] writes for `b`.
fn bytes_len(b: &[u8]) -> usize {
    uvarint_len(b.len() as u64) + b.len()
}

/// How many bytes [`put_value`] writes for `v`.
fn value_len(v: &Value) -> usize {
    match v {
        Value::Binary(b) => 1 + bytes_len(b),
        Value::Integer(i) => 1 + uvarint_len(zigzag(*i)),
        Value::Float(_) => 1 + 8,
        Value::Atom(a) => 1 + bytes_len(a.as_bytes()),
        Value::List(l) => {
            1 + uvarint_len(l.len() as u64) + l.iter().map(entry_value_len).sum::<usize>()
        }
        Value::Message(m) => 1 + message_len(m),
    }
}

/// How many bytes [`put_message`] writes for `m` after its tag.
fn message_len(m: &Message) -> usize {
    uvarint_len(m.len() as u64)
        + m.iter()
            .map(|(k, v)| bytes_len(k.as_str().as_bytes()) + entry_value_len(v))
            .sum::<usize>()
}

/// [`value_len`] of a message's or list's item, binaries (nearly every one) worked out in place.
#[inline(always)]
fn entry_value_len(v: &Value) -> usize {
    match v {
        Value::Binary(b) => 1 + bytes_len(b),
        other => value_len(other),
    }
}

/// An integer as the unsigned varint the frame holds (zig-zag: small magnitudes, few bytes).
fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_message(out: &mut Vec<u8>, m: &Message) {
    out.push(TAG_MESSAGE);
    put_uvarint(out, m.len() as u64);
    for (k, v) in m.iter() {
        put_bytes(out, k.as_str().as_bytes());
        put_entry_value(out, v);
    }
}

/// [`put_value`] of a message's or list's item, binaries (nearly every one) written in place.
#[inline(always)]
fn put_entry_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Binary(b) => {
            out.push(TAG_BINARY);
            put_bytes(out, b);
        }
        other => put_value(out, other),
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Binary(b) => {
            out.push(TAG_BINARY);
            put_bytes(out, b);
        }
        Value::Integer(i) => {
            out.push(TAG_INTEGER);
            put_uvarint(out, zigzag(*i));
        }
        Value::Float(x) => {
            out.push(TAG_FLOAT);
            out.extend_from_slice(&x.to_le_bytes());
        }
        Value::Atom(a) => {
            out.push(TAG_ATOM);
            put_bytes(out, a.as_bytes());
        }
        Value::List(l) => {
            out.push(TAG_LIST);
            put_uvarint(out, l.len() as u64);
            for item in l {
                put_entry_value(out, item);
            }
        }
        Value::Message(m) => put_message(out, m),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn header(&mut self) -> Result<(), WireError> {
        let head = self.take(4).map_err(|_| WireError::BadMagic)?;
        if &head[..3] != MAGIC {
            return Err(WireError::BadMagic);
        }
        if head[3] != WIRE_VERSION {
            return Err(WireError::Version { found: head[3] });
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated)?;
        let s = self.bytes.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn uvarint(&mut self) -> Result<u64, WireError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(WireError::Truncated)
    }

    /// A length or count, which can never exceed the bytes left (every item takes at least one).
    fn len(&mut self) -> Result<usize, WireError> {
        let n = self.uvarint()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(WireError::Truncated);
        }
        Ok(n as usize)
    }

    fn text(&mut self) -> Result<&'a str, WireError> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| WireError::NotUtf8)
    }

    /// [`Reader::value`] into `slot`, which holds a binary: a binary is copied into it in place.
    #[inline]
    fn value_into(&mut self, depth: usize, slot: &mut Value) -> Result<(), WireError> {
        if self.bytes.get(self.pos) == Some(&TAG_BINARY) && depth <= MAX_DEPTH {
            self.pos += 1;
            let n = self.len()?;
            let bytes = self.take(n)?;
            match slot {
                Value::Binary(binary) => binary.assign(bytes),
                other => *other = Value::Binary(bytes.into()),
            }
            Ok(())
        } else {
            *slot = self.value(depth)?;
            Ok(())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, WireError> {
        // A list item's place to fill, pushed as a constant (see `push_empty`).
        const EMPTY_VALUE: Value = Value::Binary(Binary::new());
        if depth > MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        match self.byte()? {
            TAG_BINARY => {
                let n = self.len()?;
                Ok(Value::Binary(self.take(n)?.into()))
            }
            TAG_INTEGER => {
                let z = self.uvarint()?;
                Ok(Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64)))
            }
            TAG_FLOAT => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Ok(Value::Float(f64::from_le_bytes(a)))
            }
            TAG_ATOM => Ok(Value::Atom(self.text()?.to_owned())),
            TAG_LIST => {
                let n = self.len()?;
                let mut l = Vec::with_capacity(n);
                for at in 0..n {
                    // Filled where it lies, as a message's entries are (below).
                    l.push(EMPTY_VALUE);
                    self.value_into(depth + 1, &mut l[at])?;
                }
                Ok(Value::List(l))
            }
            TAG_MESSAGE => {
                let n = self.len()?;
                // A frame's top message gets room for one more key: the node records each
                // step result's hashpath in it, which would otherwise move every entry.
                let mut entries =
                    crate::message::entries_with_capacity(n + usize::from(depth == 0));
                for _ in 0..n {
                    // Each entry is filled where it lies in the vector (nearly every value is
                    // a short binary): made elsewhere and moved in, its bytes would be read
                    // back right after they were stored, a stall per entry.
                    let (key, value) = push_empty(&mut entries);
                    key.assign(self.text()?);
                    self.value_into(depth + 1, value)?;
                }
                // Keys repeated in a frame (which no encoder writes) are merged as by insert.
                Ok(Value::Message(Message::from_entries(entries)))
            }
            t => Err(WireError::BadTag(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    #[test]
    fn a_large_body_is_written_without_regrowing_the_frame() {
        let big = Message::new()
            .with("body", vec![7u8; 200_000])
            .with("after", "a few small keys")
            .with("nested", sample());
        let bytes = encode_message(&big);
        assert_eq!(
            bytes.capacity(),
            bytes.len(),
            "the frame's size is known up front"
        );
        assert_eq!(decode_message(&bytes).as_ref(), Ok(&big));
    }

    #[test]
    fn frames_are_sized_exactly_before_they_are_written() {
        // Varints at each length boundary, every value type, nesting in lists and messages.
        let mut m = sample();
        for n in [0usize, 1, 127, 128, 16_383, 16_384, 2_097_152] {
            m.insert(format!("b{n}"), vec![1u8; n]);
        }
        for i in [0i64, 63, 64, -64, -65, 8191, 8192, i64::MAX, i64::MIN] {
            m.insert(format!("i{i}"), i);
        }
        let keys: Vec<String> = (0..200).map(|i| format!("key-{i}")).collect();
        let wide = keys
            .iter()
            .fold(Message::new(), |m, k| m.with(k.as_str(), k.as_str()));
        m.insert("wide", wide);
        m.insert(
            "lists",
            vec![Value::List(vec![Value::from(sample()); 3]); 2],
        );
        for value in [
            Value::from(m.clone()),
            Value::from(""),
            Value::from(1.5),
            Value::atom("ok"),
        ] {
            let bytes = encode_value(&value);
            assert_eq!(bytes.capacity(), bytes.len());
            assert_eq!(decode_value(&bytes).as_ref(), Ok(&value));
        }
        let bytes = encode_message(&m);
        assert_eq!(bytes.capacity(), bytes.len());
        let mut after = b"prefix".to_vec();
        encode_message_into(&m, &mut after);
        assert_eq!(&after[6..], &bytes[..]);
    }

    fn sample() -> Message {
        Message::new()
            .with("bin", vec![0u8, 255, 10])
            .with("int", i64::MIN)
            .with("max", i64::MAX)
            .with("neg", -1)
            .with("float", -0.25)
            .with("atom", true)
            .with(
                "list",
                vec![Value::from(1), Value::List(vec![]), Value::from("x")],
            )
            .with("nested", Message::new().with("deep", Message::new()))
    }

    #[test]
    fn binaries_and_keys_of_every_length_decode_in_place() {
        // Values filled where they lie: binaries on both sides of the inline limit, in
        // messages and in lists, after and before values of other kinds; keys on both sides of
        // the inline key limit, some with capitals (normalised on the way in).
        let bytes: Vec<u8> = (0..=255).cycle().skip(3).take(80).collect();
        let mut m = Message::new();
        let mut list = Vec::new();
        for n in 0..=40 {
            let key = format!("{}{n}", "K".repeat(n % 3) + &"k".repeat(n));
            m.insert(key.as_str(), &bytes[n..2 * n]);
            m.insert(format!("int-{n}"), n as i64);
            list.push(Value::from(&bytes[..n]));
            list.push(Value::from(n as f64));
        }
        m.insert("list", list);
        let decoded = decode_message(&encode_message(&m)).unwrap();
        assert_eq!(decoded, m);
        let keys = |m: &Message| m.keys().map(Key::as_str).collect::<Vec<_>>().join(",");
        assert_eq!(keys(&decoded), keys(&m), "order kept");
    }

    #[test]
    fn round_trips_every_value_type() {
        let m = sample();
        assert_eq!(decode_message(&encode_message(&m)), Ok(m));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_message(&sample());
        for n in 0..bytes.len() {
            assert!(decode_value(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn rejects_other_versions_and_trailing_bytes() {
        let mut bytes = encode_message(&Message::new());
        bytes[3] = 9;
        assert_eq!(decode_value(&bytes), Err(WireError::Version { found: 9 }));
        let mut bytes = encode_message(&Message::new());
        bytes.push(0);
        assert_eq!(decode_value(&bytes), Err(WireError::TrailingBytes));
    }

    #[test]
    fn a_key_repeated_in_a_frame_is_merged_as_insert_merges_it() {
        // No encoder writes a key twice, but a frame is a plugin's input: {a: 1, B: 2, a: 3}
        // decodes as inserting those entries in order would (`B` normalised to `b`).
        let mut bytes = b"FBW\x01".to_vec();
        bytes.extend([TAG_MESSAGE, 3]);
        bytes.extend([1, b'a', TAG_INTEGER, 2]);
        bytes.extend([1, b'B', TAG_INTEGER, 4]);
        bytes.extend([1, b'a', TAG_INTEGER, 6]);
        let m = decode_message(&bytes).unwrap_or_default();
        assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m, Message::new().with("a", 3).with("b", 2));
    }

    #[test]
    fn keys_read_from_a_frame_are_checked_and_normalised_as_key_new_does() {
        // A frame is a plugin's input: its keys may be of any bytes, not only those an encoder
        // writes. Every one decodes to what `Key::new` makes of its text, or to `NotUtf8`.
        let id = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
        let texts = [
            "a",
            "key-9",
            "Content-Type",
            "ÉTÉ",
            "été",
            "x\u{80}",
            "\u{7f}",
            "",
            id,
            "with space",
            "UPPER-CASE-KEY-OF-MORE-THAN-16-BYTES",
        ];
        for text in texts {
            let mut bytes = b"FBW\x01".to_vec();
            bytes.extend([TAG_MESSAGE, 1]);
            put_uvarint(&mut bytes, text.len() as u64);
            bytes.extend(text.as_bytes());
            bytes.extend([TAG_INTEGER, 2]);
            let m = decode_message(&bytes).unwrap_or_default();
            let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
            assert_eq!(keys, [Key::new(text).as_str()], "{text:?}");
        }
        for bad in [&b"\xff"[..], b"ab\xc3", b"\xc3\x28", b"key-\x80"] {
            let mut bytes = b"FBW\x01".to_vec();
            bytes.extend([TAG_MESSAGE, 1, bad.len() as u8]);
            bytes.extend(bad);
            bytes.extend([TAG_INTEGER, 2]);
            assert_eq!(decode_message(&bytes), Err(WireError::NotUtf8), "{bad:?}");
        }
    }

    #[test]
    fn rejects_nesting_deeper_than_the_limit() {
        let mut bytes = b"FBW\x01".to_vec();
        bytes.extend(std::iter::repeat_n([TAG_LIST, 1], MAX_DEPTH + 2).flatten());
        bytes.extend([TAG_INTEGER, 0]);
        assert_eq!(decode_value(&bytes), Err(WireError::TooDeep));
    }

    #[test]
    fn the_depth_limit_holds_for_every_kind_of_leaf() {
        // `lists` lists, each holding the next, the last holding one leaf at depth `lists`:
        // a leaf at `MAX_DEPTH` is read, one deeper is refused, of whatever kind.
        let nested = |lists: usize, leaf: &[u8]| {
            let mut bytes = b"FBW\x01".to_vec();
            bytes.extend(std::iter::repeat_n([TAG_LIST, 1], lists).flatten());
            bytes.extend(leaf);
            decode_value(&bytes)
        };
        for leaf in [
            &[TAG_BINARY, 1, b'x'][..],
            &[TAG_INTEGER, 0],
            &[TAG_ATOM, 1, b'a'],
        ] {
            assert!(nested(MAX_DEPTH, leaf).is_ok(), "{leaf:?}");
            assert_eq!(
                nested(MAX_DEPTH + 1, leaf),
                Err(WireError::TooDeep),
                "{leaf:?}"
            );
        }
    }

    #[test]
    fn huge_claimed_lengths_do_not_allocate() {
        let mut bytes = b"FBW\x01".to_vec();
        bytes.push(TAG_LIST);
        put_uvarint(&mut bytes, u64::MAX / 2);
        assert_eq!(decode_value(&bytes), Err(WireError::Truncated));
    }
}

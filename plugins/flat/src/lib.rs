//! # ferrobeam-flat — `flat@1.0`
//!
//! Flattens nested TABMs into single-level maps whose keys are `/`-joined paths, and back; and
//! reads and writes the `key: value` line format of `config.flat` files (`spec/codecs.md` §3).
//!
//! ```
//! use ferrobeam_device_api::Message;
//! let rich = Message::new().with("a", 1).with("b", Message::new().with("c", "x"));
//! let text = ferrobeam_flat::serialize(&rich).unwrap();
//! assert_eq!(text, b"a: 1\nao-types: a=\"integer\"\nb/c: x\n");
//! assert_eq!(ferrobeam_flat::deserialize(&text).unwrap(), rich);
//! ```
//!
//! Keys are paths of message keys. A segment keeps its case when it is ID-shaped (32, 42 or 43
//! bytes), like every message key, so the path-keyed functions here ([`to_pairs`],
//! [`from_pairs`]) work on strings rather than [`Key`]s: a whole path such as
//! `body/commitments/XgN1…` is not itself ID-shaped and would otherwise be lower-cased.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use ferrobeam_device_api::{Entry, Message, Value};
use ferrobeam_structured::map_order;

/// Why flattening, un-flattening or the line format failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two paths claim the same slot, one as a value and one as a message (`a` and `a/b`).
    #[error("path collision at {0:?}")]
    PathCollision(String),
    /// A key made only of `/` (no segments).
    #[error("empty path {0:?}")]
    EmptyPath(String),
    /// A TABM holds something other than binaries and messages.
    #[error("{path}: a TABM holds only binaries and messages, not a {found}")]
    NotTabm {
        /// Where.
        path: String,
        /// The value's type.
        found: &'static str,
    },
    /// A key in the line format that is not UTF-8.
    #[error("key is not UTF-8: {0:?}")]
    KeyNotUtf8(String),
    /// Nesting deeper than [`ferrobeam_structured::MAX_DEPTH`].
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// structured@1.0 failed (before serialising or after deserialising).
    #[error(transparent)]
    Structured(#[from] ferrobeam_structured::Error),
}

/// Flattens a TABM into `(path, bytes)` pairs, depth first in the message's order
/// (`codecs.md` §3 `to`). Empty nested messages vanish; empty path segments are dropped.
///
/// ```
/// use ferrobeam_device_api::Message;
/// let tabm = Message::new().with("x", Message::new().with("y", "1").with("z", "2"));
/// let flat = ferrobeam_flat::to_pairs(&tabm).unwrap();
/// assert_eq!(flat, [("x/y".to_string(), &b"1"[..]), ("x/z".to_string(), &b"2"[..])]);
/// ```
pub fn to_pairs(tabm: &Message) -> Result<Vec<(String, &[u8])>, Error> {
    let mut out = Vec::with_capacity(tabm.len());
    flatten_into(tabm, "", &mut out, 0)?;
    Ok(out)
}

fn flatten_into<'a>(
    msg: &'a Message,
    prefix: &str,
    out: &mut Vec<(String, &'a [u8])>,
    depth: usize,
) -> Result<(), Error> {
    if depth >= ferrobeam_structured::MAX_DEPTH {
        return Err(Error::TooDeep(ferrobeam_structured::MAX_DEPTH));
    }
    for (key, value) in msg.iter() {
        let path = join_path(prefix, key.as_str());
        match value {
            Value::Binary(b) => out.push((path, b)),
            Value::Message(m) => flatten_into(m, &path, out, depth + 1)?,
            other => {
                return Err(Error::NotTabm {
                    path,
                    found: other.type_name(),
                })
            }
        }
    }
    Ok(())
}

/// `prefix/key` with empty segments (and leading or trailing `/`) removed.
fn join_path(prefix: &str, key: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + key.len() + 1);
    for segment in prefix.split('/').chain(key.split('/')) {
        if segment.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(segment);
    }
    out
}

/// [`to_pairs`] as a message keyed by path (`flat@1.0`'s `to`). Paths are [`Key`]s here, so a
/// long path containing an ID segment is lower-cased; use [`to_pairs`] to keep it.
pub fn to(tabm: &Message) -> Result<Message, Error> {
    Ok(to_pairs(tabm)?
        .into_iter()
        .map(|(k, v)| (k, Value::binary(v)))
        .collect())
}

/// Un-flattens `(path, value)` pairs into a nested TABM (`codecs.md` §3 `from`).
///
/// Each path is split on `/` (empty segments dropped) and the value stored at that path; a
/// message stored where a message already is merges into it (shallowly); any other clash is
/// [`Error::PathCollision`].
///
/// ```
/// use ferrobeam_device_api::{Message, Value};
/// let tabm = ferrobeam_flat::from_pairs([("x/y", Value::from("1")), ("x/z", "2".into()), ("a", "3".into())]).unwrap();
/// assert_eq!(tabm, Message::new().with("x", Message::new().with("y", "1").with("z", "2")).with("a", "3"));
/// assert!(ferrobeam_flat::from_pairs([("a", Value::from("1")), ("a/b", "2".into())]).is_err());
/// ```
pub fn from_pairs<K: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, Value)>,
) -> Result<Message, Error> {
    let mut out = Message::new();
    for (path, value) in pairs {
        insert_path(&mut out, path.as_ref(), value)?;
    }
    Ok(out)
}

/// Stores `value` at `path` inside `root` (the step of [`from_pairs`] for one pair).
pub fn insert_path(root: &mut Message, path: &str, value: Value) -> Result<(), Error> {
    let collision = || Error::PathCollision(path.to_owned());
    if !path.contains('/') {
        // The whole path is the key, even when it is empty.
        return store(root, path, value).ok_or_else(collision);
    }
    let segments = path.split('/').filter(|s| !s.is_empty());
    let depth = segments.clone().count();
    // Deeper paths would build messages too deep to process (or even drop) safely.
    if depth > ferrobeam_structured::MAX_DEPTH {
        return Err(Error::TooDeep(ferrobeam_structured::MAX_DEPTH));
    }
    let mut segments = segments;
    let mut cur = root;
    for segment in segments.by_ref().take(depth.saturating_sub(1)) {
        cur = cur
            .entry(segment)
            .or_insert(Message::new())
            .as_message_mut()
            .ok_or_else(collision)?;
    }
    let Some(last) = segments.next() else {
        return Err(Error::EmptyPath(path.to_owned()));
    };
    store(cur, last, value).ok_or_else(collision)
}

/// Stores `value` at `key` of `message`: a new key, or a message merged (shallowly) into the
/// message there. `None` if anything else is there.
fn store(message: &mut Message, key: &str, value: Value) -> Option<()> {
    match (message.entry(key), value) {
        (Entry::Vacant(place), value) => {
            place.insert(value);
        }
        (Entry::Occupied(Value::Message(existing)), Value::Message(new)) => {
            for (k, v) in new {
                existing.insert(k, v);
            }
        }
        _ => return None,
    }
    Some(())
}

/// Un-flattens a message keyed by path (`flat@1.0`'s `from`). See [`from_pairs`].
pub fn from(flat: &Message) -> Result<Message, Error> {
    from_pairs(flat.iter().map(|(k, v)| (k.as_str(), v.clone())))
}

/// Serialises a rich message to the line format (`codecs.md` §3 `serialize`): structured@1.0
/// encode, flatten, then `path: value\n` for every path in Erlang map order (sorted when there
/// are up to 32 lines, hash order beyond).
pub fn serialize(msg: &Message) -> Result<Vec<u8>, Error> {
    let tabm = ferrobeam_structured::from(msg)?;
    serialize_tabm(&tabm)
}

/// The line format of a TABM (no structured encoding).
pub fn serialize_tabm(tabm: &Message) -> Result<Vec<u8>, Error> {
    let mut pairs = to_pairs(tabm)?;
    map_order::sort_in_map_order(&mut pairs, |(k, _)| k.as_bytes());
    let size = pairs.iter().map(|(k, v)| k.len() + v.len() + 3).sum();
    let mut out = Vec::with_capacity(size);
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    Ok(out)
}

/// Parses the line format into a rich message (`codecs.md` §3 `deserialize`): lines split on
/// LF, each split on every `": "`; lines that do not give exactly two parts are ignored; then
/// un-flatten and structured@1.0 decode.
pub fn deserialize(text: &[u8]) -> Result<Message, Error> {
    Ok(ferrobeam_structured::to_owned(deserialize_tabm(text)?)?)
}

/// The TABM of the line format (no structured decoding).
///
/// ```
/// let tabm = ferrobeam_flat::deserialize_tabm(b"raw: binary\nignored line\na: b: c\n").unwrap();
/// assert_eq!(tabm.len(), 1);
/// assert_eq!(tabm.get_str("raw"), Some("binary"));
/// ```
pub fn deserialize_tabm(text: &[u8]) -> Result<Message, Error> {
    let mut out = Message::new();
    for line in text.split(|&b| b == b'\n') {
        let Some(at) = find(line, b": ") else {
            continue;
        };
        let (key, value) = (&line[..at], &line[at + 2..]);
        if find(value, b": ").is_some() {
            continue;
        }
        let key = std::str::from_utf8(key)
            .map_err(|_| Error::KeyNotUtf8(String::from_utf8_lossy(key).into_owned()))?;
        insert_path(&mut out, key, Value::binary(value))?;
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

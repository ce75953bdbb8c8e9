//! The message model: ordered maps of typed values (`spec/codecs.md` §1).
//!
//! A [`Message`] is what every device method receives and returns. Its keys are [`Key`]s, always
//! normalised as HyperBEAM's `normalize_key` does (§1.2): lower-cased, except ID-shaped keys
//! (32, 42 or 43 bytes) whose case is kept. Its values are [`Value`]s: binaries, integers,
//! floats, atoms (booleans are the atoms `true` and `false`), lists and nested messages.
//!
//! Entries keep the order they were inserted in; codecs that need HyperBEAM's map order sort
//! for themselves.

use crate::binary::bytes_at;
use crate::Binary;
use compact_str::CompactString;
use std::borrow::Borrow;
use std::fmt;

mod key_set;
mod pool;

pub use key_set::KeySet;

/// A normalised message key (`spec/codecs.md` §1.2).
///
/// Construction lower-cases the text unless it is ID-shaped (32, 42 or 43 bytes long), so two
/// spellings of one key can never coexist in a [`Message`].
///
/// ```
/// use ferrobeam_device_api::Key;
/// assert_eq!(Key::new("Content-Type").as_str(), "content-type");
/// // 43 bytes: an ID keeps its case.
/// let id = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
/// assert_eq!(Key::new(id).as_str(), id);
/// assert!(Key::new("priv_wallet").is_private());
/// ```
pub struct Key {
    text: CompactString,
    /// [`tag_of`] the text: lets a message search its keys without reading their bytes.
    tag: u32,
    /// [`prefix_of`] the text: orders most pairs of keys without reading their bytes. It
    /// takes the room the struct leaves after `tag`, so a key is no larger for it.
    prefix: u32,
}

impl Clone for Key {
    #[inline]
    fn clone(&self) -> Self {
        Key {
            text: self.text.clone(),
            tag: self.tag,
            prefix: self.prefix,
        }
    }

    /// Field by field, where the key is: a key copied into an entry already in place (as a
    /// codec fills the entries of a message it builds) is written there, not made elsewhere
    /// and moved in.
    #[inline]
    fn clone_from(&mut self, source: &Self) {
        self.text.clone_from(&source.text);
        self.tag = source.tag;
        self.prefix = source.prefix;
    }
}

/// A summary of a key's bytes (length, first, middle and last byte): two keys with different
/// tags differ, so a search compares bytes only when the tags are equal.
#[inline]
const fn tag_of(bytes: &[u8]) -> u32 {
    match bytes {
        [] => 0,
        [first, .., last] | [first @ last] => {
            let len = if bytes.len() > 255 {
                255
            } else {
                bytes.len() as u32
            };
            len << 24 | (*first as u32) << 16 | (bytes[bytes.len() / 2] as u32) << 8 | *last as u32
        }
    }
}

/// One bit of 64 for a key of tag `tag`, from its length and last byte (which the tag holds):
/// two keys with different bits differ ([`Key::filter_bit`]).
#[inline]
const fn filter_bit(tag: u32) -> u64 {
    1 << (((tag >> 24) + (tag & 0xff)) & 63)
}

/// [`Key::filter_bit`] of the key whose text is `text`, without making the key: for a set of
/// key texts kept as text (such as the keys an `ao-types` field names), whose bits or-ed
/// together rule out most keys without comparing them with each.
///
/// ```
/// use ferrobeam_device_api::message::filter_bit_of;
/// use ferrobeam_device_api::Key;
/// let typed = filter_bit_of("num") | filter_bit_of("list");
/// assert_ne!(typed & Key::new("num").filter_bit(), 0);
/// assert_eq!(typed & Key::new("hello").filter_bit(), 0);
/// ```
#[inline]
pub const fn filter_bit_of(text: &str) -> u64 {
    // The two bytes of the tag `filter_bit` reads: the length (at most 255) and the last byte.
    let len = if text.len() > 255 {
        255
    } else {
        text.len() as u32
    };
    let last = match text.as_bytes() {
        [.., last] => *last as u32,
        [] => 0,
    };
    filter_bit(len << 24 | last)
}

/// Whether `bytes` are ASCII without capitals: a normalised key that is not ID-shaped, which
/// the keys built when compiled must be ([`Key::from_static`], [`KeySet::new`]).
const fn is_lower_ascii(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii() || bytes[i].is_ascii_uppercase() {
            return false;
        }
        i += 1;
    }
    true
}

/// The first four bytes of a key, big-endian and zero-padded: two keys with different
/// prefixes are ordered as their prefixes are (a key's first differing byte, or its end, lies
/// within them), so a comparison reads their bytes only when the prefixes are equal.
#[inline]
const fn prefix_of(bytes: &[u8]) -> u32 {
    match bytes {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        // Shifted in rather than copied into a zeroed word: see `needs_normalising`.
        [a, b, c] => (*a as u32) << 24 | (*b as u32) << 16 | (*c as u32) << 8,
        [a, b] => (*a as u32) << 24 | (*b as u32) << 16,
        [a] => (*a as u32) << 24,
        [] => 0,
    }
}

impl Key {
    /// Normalises `text` into a key.
    pub fn new(text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        if needs_normalising(text) {
            Key::from_normalised(CompactString::from(text.to_lowercase()))
        } else {
            Key::from_normalised(CompactString::from(text))
        }
    }

    /// The key of `text`, built when compiled: for a key a plugin names often (a field it
    /// reads or writes on every call), which [`Key::new`] would check and copy each time.
    /// `text` must be a normalised key already — ASCII without capitals; anything else stops
    /// the build (or, outside a constant, panics). An ID-shaped key with capitals, which
    /// `Key::new` keeps as it is, takes `Key::new`. A clone of the key allocates nothing.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Key, Message};
    /// const TYPES: Key = Key::from_static("ao-types");
    /// assert_eq!(TYPES, Key::new("ao-types"));
    /// let m = Message::new().with(TYPES, "x=\"atom\"");
    /// assert!(m.contains_key("ao-types"));
    /// ```
    ///
    /// ```compile_fail,E0080
    /// # use ferrobeam_device_api::Key;
    /// const BAD: Key = Key::from_static("Ao-Types"); // capitals: use `Key::new`
    /// ```
    pub const fn from_static(text: &'static str) -> Key {
        let bytes = text.as_bytes();
        assert!(
            is_lower_ascii(bytes),
            "Key::from_static takes ASCII without capitals; use Key::new"
        );
        Key {
            text: CompactString::const_new(text),
            tag: tag_of(bytes),
            prefix: prefix_of(bytes),
        }
    }

    /// A key of text that is normalised already.
    fn from_normalised(text: CompactString) -> Self {
        let tag = tag_of(text.as_bytes());
        let prefix = prefix_of(text.as_bytes());
        Key { text, tag, prefix }
    }

    /// The empty key: a place to fill, e.g. with [`Clone::clone_from`], in an entry pushed
    /// first. A constant, so that an entry of it is copied into place rather than built.
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// let mut key = Key::EMPTY;
    /// assert_eq!(key.as_str(), "");
    /// key.clone_from(&Key::new("Name"));
    /// assert_eq!(key, Key::new("name"));
    /// ```
    pub const EMPTY: Key = Key {
        text: CompactString::const_new(""),
        tag: 0,
        prefix: 0,
    };

    /// Makes this key `Key::new(text)`, written where it is: a key just placed in a vector (an
    /// entry of a message being decoded) is filled there rather than made elsewhere and moved
    /// in, which would read back at once what was just stored, a load the CPU cannot forward
    /// from those stores.
    pub(crate) fn assign(&mut self, text: &str) {
        if needs_normalising(text) {
            *self = Key::new(text);
        } else {
            self.text.clear();
            self.text.push_str(text);
            self.tag = tag_of(text.as_bytes());
            self.prefix = prefix_of(text.as_bytes());
        }
    }

    /// Whether the key's text is exactly `text`, whose [`tag_of`] is `tag`.
    #[inline]
    fn is(&self, text: &[u8], tag: u32) -> bool {
        self.tag == tag && self.text.as_bytes() == text
    }

    /// The key's text.
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// assert_eq!(Key::new("Name").as_str(), "name");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the key is private (`spec/codecs.md` §1.3): it starts with `priv`. Private keys are
    /// never encoded, returned by `keys`, or sent over HTTP.
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// assert!(Key::new("private").is_private());
    /// assert!(!Key::new("prize").is_private());
    /// ```
    pub fn is_private(&self) -> bool {
        // Its first four bytes, which the prefix holds (a shorter key's is zero-padded).
        self.prefix == u32::from_be_bytes(*b"priv")
    }

    /// One bit of 64, from the key's length and last byte: two keys with different bits
    /// differ, so a set of keys whose bits are or-ed together (a [`KeySet`], or keys kept as
    /// text through [`filter_bit_of`]) rules out most other keys without comparing them.
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// assert_ne!(Key::new("data").filter_bit(), Key::new("date").filter_bit());
    /// assert_eq!(Key::new("Data").filter_bit(), Key::new("data").filter_bit());
    /// ```
    #[inline]
    pub fn filter_bit(&self) -> u64 {
        filter_bit(self.tag)
    }

    /// Whether the key's text begins with `text`. The key's first four bytes, which it keeps
    /// beside its text, rule out most keys without reading the text.
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// assert!(Key::new("Hashpath1").starts_with("hashpath"));
    /// assert!(!Key::new("hash").starts_with("hashpath"));
    /// assert!(Key::new("x").starts_with(""));
    /// ```
    #[inline]
    pub fn starts_with(&self, text: &str) -> bool {
        // The bits of the prefix that `text` covers (none for an empty `text`).
        let covered = u32::MAX
            .checked_shl(32 - 8 * text.len().min(4) as u32)
            .unwrap_or(0);
        self.prefix & covered == prefix_of(text.as_bytes()) & covered
            && self.text.as_bytes().starts_with(text.as_bytes())
    }

    /// Whether the key is ID-shaped (32, 42 or 43 bytes).
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// assert!(Key::new("0123456789012345678901234567890123456789012").is_id_shaped());
    /// assert!(!Key::new("body").is_id_shaped());
    /// ```
    pub fn is_id_shaped(&self) -> bool {
        // The length the tag holds, which is exact below 255.
        matches!(self.tag >> 24, 32 | 42 | 43)
    }

    /// Consumes the key, returning its text.
    ///
    /// ```
    /// # use ferrobeam_device_api::Key;
    /// let text: String = Key::new("A").into_string();
    /// assert_eq!(text, "a");
    /// ```
    pub fn into_string(self) -> String {
        self.text.into_string()
    }
}

/// Whether `bytes` has the length of an ID: 32 (raw), 42 (`0x…` address) or 43 (base64url).
///
/// ```
/// use ferrobeam_device_api::message::is_id_shaped;
/// assert!(is_id_shaped(&[0u8; 32]));
/// assert!(!is_id_shaped(b"short"));
/// ```
pub fn is_id_shaped(bytes: &[u8]) -> bool {
    matches!(bytes.len(), 32 | 42 | 43)
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.is(other.text.as_bytes(), other.tag)
    }
}

/// A key equals the text it holds. Against a literal the text's tag is worked out when the
/// program is compiled, so most keys are told apart from it by one comparison of tags, where
/// comparing texts reads both whenever their lengths are equal.
///
/// ```
/// # use ferrobeam_device_api::Key;
/// assert!(Key::new("Body") == "body");
/// assert!(Key::new("host") != "path");
/// ```
impl PartialEq<str> for Key {
    #[inline]
    fn eq(&self, other: &str) -> bool {
        self.is(other.as_bytes(), tag_of(other.as_bytes()))
    }
}

/// As `Key == str`.
///
/// ```
/// # use ferrobeam_device_api::Key;
/// let name: &str = "body";
/// assert!(Key::new("body") == name);
/// ```
impl PartialEq<&str> for Key {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Eq for Key {}

// Ordered and hashed by the text alone, as `str` is (`Borrow<str>` requires it).
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        // The prefixes hold the first four bytes: when they differ they decide, as they would
        // in comparing the texts.
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.as_str().cmp(other.as_str()))
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for Key {
    fn from(text: &str) -> Self {
        Key::new(text)
    }
}

impl From<String> for Key {
    fn from(text: String) -> Self {
        if needs_normalising(&text) {
            Key::new(text)
        } else {
            Key::from_normalised(CompactString::from(text))
        }
    }
}

impl From<&String> for Key {
    fn from(text: &String) -> Self {
        Key::new(text)
    }
}

impl From<&Key> for Key {
    fn from(key: &Key) -> Self {
        key.clone()
    }
}

/// One typed value of a message (`spec/codecs.md` §1.1).
///
/// ```
/// use ferrobeam_device_api::{Message, Value};
/// let v = Value::from(42);
/// assert_eq!(v.as_integer(), Some(42));
/// assert_eq!(Value::from(true), Value::atom("true"));
/// assert_eq!(Value::from("hi").as_str(), Some("hi"));
/// let nested = Value::from(Message::new().with("a", 1));
/// assert!(nested.as_message().is_some());
/// ```
#[derive(PartialEq)]
pub enum Value {
    /// Bytes: text or binary data. Most values on the wire are binaries, and most are short
    /// enough to be held without an allocation ([`Binary`]).
    Binary(Binary),
    /// A signed 64-bit integer. HyperBEAM's codecs carry at most 15 digits.
    Integer(i64),
    /// A 64-bit float.
    Float(f64),
    /// An atom: a symbolic name such as `true`, `false`, `null` or `ok`.
    Atom(String),
    /// An ordered list of values.
    List(Vec<Value>),
    /// A nested message.
    Message(Message),
}

impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Binary(b) => Value::Binary(b.clone()),
            Value::Integer(n) => Value::Integer(*n),
            Value::Float(f) => Value::Float(*f),
            Value::Atom(a) => Value::Atom(a.clone()),
            Value::List(l) => Value::List(l.clone()),
            Value::Message(m) => Value::Message(m.clone()),
        }
    }

    /// A binary over a binary is copied where it is ([`Binary`]'s `clone_from`); any other
    /// value is cloned and moved in.
    #[inline]
    fn clone_from(&mut self, source: &Self) {
        match (self, source) {
            (Value::Binary(into), Value::Binary(from)) => into.clone_from(from),
            (into, from) => *into = from.clone(),
        }
    }
}

impl Value {
    /// An atom value.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::atom("ok").as_atom(), Some("ok"));
    /// ```
    pub fn atom(name: impl Into<String>) -> Self {
        Value::Atom(name.into())
    }

    /// A binary value from bytes.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::binary(vec![0u8, 1]).as_bytes(), Some(&[0u8, 1][..]));
    /// ```
    pub fn binary(bytes: impl Into<Binary>) -> Self {
        Value::Binary(bytes.into())
    }

    /// The bytes of a binary value.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from("x").as_bytes(), Some(&b"x"[..]));
    /// assert_eq!(Value::from(1).as_bytes(), None);
    /// ```
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// A binary value as UTF-8 text, if it is both.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from("hello").as_str(), Some("hello"));
    /// assert_eq!(Value::binary(vec![0xff]).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The integer, if this is one.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from(-7).as_integer(), Some(-7));
    /// ```
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if this is one.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from(1.5).as_float(), Some(1.5));
    /// ```
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The atom's name, if this is an atom.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from(false).as_atom(), Some("false"));
    /// ```
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Value::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// The boolean, if this is the atom `true` or `false`.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from(true).as_bool(), Some(true));
    /// assert_eq!(Value::atom("ok").as_bool(), None);
    /// ```
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_atom() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }
    }

    /// The list, if this is one.
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// let l = Value::List(vec![1.into(), 2.into()]);
    /// assert_eq!(l.as_list().map(|l| l.len()), Some(2));
    /// ```
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The nested message, if this is one.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let v = Value::from(Message::new().with("k", "v"));
    /// assert_eq!(v.as_message().and_then(|m| m.get_str("k")), Some("v"));
    /// ```
    pub fn as_message(&self) -> Option<&Message> {
        match self {
            Value::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The nested message, mutably, if this is one.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let mut v = Value::from(Message::new());
    /// v.as_message_mut().unwrap().insert("k", 1);
    /// assert_eq!(v.as_message().unwrap().len(), 1);
    /// ```
    pub fn as_message_mut(&mut self) -> Option<&mut Message> {
        match self {
            Value::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The name of the value's type as `ao-types` writes it (`binary` for binaries).
    ///
    /// ```
    /// # use ferrobeam_device_api::Value;
    /// assert_eq!(Value::from(1).type_name(), "integer");
    /// assert_eq!(Value::from("x").type_name(), "binary");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Binary(_) => "binary",
            Value::Integer(_) => "integer",
            Value::Float(_) => "float",
            Value::Atom(_) => "atom",
            Value::List(_) => "list",
            Value::Message(_) => "message",
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Binary(b) => match std::str::from_utf8(b) {
                Ok(s) => fmt::Debug::fmt(s, f),
                Err(_) => write!(f, "<<{} bytes>>", b.len()),
            },
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Atom(a) => write!(f, "'{a}'"),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Message(m) => fmt::Debug::fmt(m, f),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Binary(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Binary(s.into())
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Binary(s.into())
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Binary(b.into())
    }
}
impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Binary(b.into())
    }
}
impl From<Binary> for Value {
    fn from(b: Binary) -> Self {
        Value::Binary(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Integer(i64::from(i))
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Integer(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Atom(if b { "true" } else { "false" }.to_owned())
    }
}
impl From<Message> for Value {
    fn from(m: Message) -> Self {
        Value::Message(m)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}

/// An ordered map from [`Key`] to [`Value`]: the unit of AO-Core.
///
/// ```
/// use ferrobeam_device_api::{Message, Value};
/// let mut m = Message::new().with("Version", "1.0");
/// m.insert("count", 3);
/// assert_eq!(m.get_str("version"), Some("1.0"));
/// assert_eq!(m.get("count"), Some(&Value::Integer(3)));
/// assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["version", "count"]);
/// ```
///
/// Two messages are equal when they hold the same entries, in any order.
#[derive(Default)]
pub struct Message {
    /// The entries in insertion order; keys are unique.
    entries: Vec<(Key, Value)>,
    /// Positions of `entries` by key hash, kept only once there are more than
    /// [`Message::SCAN_LIMIT`] entries: a message of a handful of keys (nearly all of them) is
    /// searched by comparing keys, which costs less than hashing one, and needs no table.
    index: Option<Box<Index>>,
}

impl Clone for Message {
    fn clone(&self) -> Self {
        let mut entries = pool::take(self.entries.len());
        for entry in &self.entries {
            push_clone(&mut entries, entry);
        }
        Message {
            entries,
            index: self.index.clone(),
        }
    }
}

/// Only the entries that own memory are dropped: the others ([`owns_nothing`], nearly every
/// entry of a request) are forgotten, where dropping each would look into its key and its
/// value only to find nothing to free.
impl Drop for Message {
    fn drop(&mut self) {
        let len = self.entries.len();
        let entries = self.entries.as_mut_ptr();
        // SAFETY: the vector is emptied first, so it drops none of its entries and no entry
        // is dropped twice (should a drop below panic, the rest leak). Each of its `len`
        // entries is initialised, and is either dropped here, once, or forgotten, which is
        // sound for an entry that owns nothing. The vector still frees its buffer.
        unsafe {
            self.entries.set_len(0);
            for i in 0..len {
                let entry = entries.add(i);
                if !owns_nothing(&*entry) {
                    std::ptr::drop_in_place(entry);
                }
            }
        }
        // The buffer, empty now, may serve the next message of its size on this thread.
        if pool::in_range(self.entries.capacity()) {
            pool::keep(std::mem::take(&mut self.entries));
        }
    }
}

/// An empty vector with room for at least `capacity` entries, to build a message from
/// ([`Message::from_entries`], [`Message::from_sorted`]): where a message of that size dropped
/// on this thread left its buffer, that buffer. A vector of 15 entries or more is larger than
/// the blocks glibc reuses cheaply, and a request often has that many headers.
///
/// ```
/// use ferrobeam_device_api::message::{entries_with_capacity, push_clone};
/// use ferrobeam_device_api::Message;
/// let m = Message::new().with("a", "1").with("b", 2);
/// let mut entries = entries_with_capacity(m.len());
/// assert!(entries.capacity() >= 2);
/// for entry in m.entries() {
///     push_clone(&mut entries, entry);
/// }
/// assert_eq!(Message::from_entries(entries), m);
/// ```
#[inline]
pub fn entries_with_capacity(capacity: usize) -> Vec<(Key, Value)> {
    pool::take(capacity)
}

/// Pushes an empty entry (the empty key and an empty binary) onto `entries` and returns it, to
/// be filled where it stays: with [`Clone::clone_from`], or [`Binary::extend_from_slice`] on
/// the value. The empty entry is a constant, copied into the vector as it stands. An entry
/// made first and then pushed would be stored in pieces and read back whole at once to be
/// moved, a load the CPU cannot forward from those stores: in a codec building a message of a
/// handful of short keys and values, that wait cost more than the copying.
///
/// ```
/// use ferrobeam_device_api::message::push_empty;
/// use ferrobeam_device_api::{Key, Message, Value};
/// let mut entries = Vec::new();
/// let (key, value) = push_empty(&mut entries);
/// key.clone_from(&Key::new("a"));
/// value.clone_from(&Value::from("1"));
/// assert_eq!(Message::from_entries(entries), Message::new().with("a", "1"));
/// ```
#[inline]
pub fn push_empty(entries: &mut Vec<(Key, Value)>) -> &mut (Key, Value) {
    const EMPTY: (Key, Value) = (Key::EMPTY, Value::Binary(Binary::new()));
    entries.push(EMPTY);
    let at = entries.len() - 1;
    &mut entries[at]
}

/// Pushes a clone of `entry` onto `entries`: the way to copy an entry of one message into
/// another being built. An entry that owns no memory (a key of up to 24 bytes, and a binary
/// of up to [`Binary::INLINE`] bytes or a number: nearly every header of a request) is copied
/// as its bytes, in one move; any other is filled where it stays ([`push_empty`]).
///
/// ```
/// use ferrobeam_device_api::message::push_clone;
/// use ferrobeam_device_api::Message;
/// let m = Message::new().with("a", "1").with("b", 2);
/// let mut entries = Vec::new();
/// push_clone(&mut entries, &m.entries()[1]);
/// assert_eq!(Message::from_entries(entries), Message::new().with("b", 2));
/// ```
#[inline(always)]
pub fn push_clone(entries: &mut Vec<(Key, Value)>, entry: &(Key, Value)) {
    if owns_nothing(entry) {
        // SAFETY: `entry` holds no pointer to memory it owns (`owns_nothing`): a copy of its
        // bytes is a value equal to its clone (compact_str clones an inline or static string
        // the same way), and dropping both the copy and the original frees nothing twice.
        entries.push(unsafe { std::ptr::read(entry) });
    } else {
        let (k, v) = push_empty(entries);
        k.clone_from(&entry.0);
        v.clone_from(&entry.1);
    }
}

/// Whether an entry owns no memory: its key is held inline (or is static text) and its value
/// is an inline binary or a number. Nearly every entry of a request's headers is such an entry.
#[inline]
fn owns_nothing((key, value): &(Key, Value)) -> bool {
    !key.text.is_heap_allocated()
        && match value {
            Value::Binary(b) => b.is_inline(),
            Value::Integer(_) | Value::Float(_) => true,
            Value::Atom(_) | Value::List(_) | Value::Message(_) => false,
        }
}

/// Whether no two of (at most [`Message::TAG_CHECK_LIMIT`]) entries have the same key tag,
/// which proves their keys differ.
fn tags_differ(entries: &[(Key, Value)]) -> bool {
    let mut tags = [0u32; Message::TAG_CHECK_LIMIT];
    for (slot, (key, _)) in tags.iter_mut().zip(entries) {
        *slot = key.tag;
    }
    let tags = &tags[..entries.len().min(Message::TAG_CHECK_LIMIT)];
    (1..tags.len()).all(|i| !tags[..i].contains(&tags[i]))
}

/// The hash index of a large message.
#[derive(Clone)]
struct Index {
    table: hashbrown::HashTable<usize>,
    // foldhash: several times faster than SipHash on short keys and still seeded per process,
    // so keys chosen by a remote client cannot be made to collide.
    hasher: foldhash::fast::RandomState,
}

impl Index {
    fn hash(&self, key: &str) -> u64 {
        hash_with(&self.hasher, key)
    }

    /// An index of `entries`.
    fn of(entries: &[(Key, Value)]) -> Box<Index> {
        let mut index = Box::new(Index {
            table: hashbrown::HashTable::with_capacity(entries.len()),
            hasher: Default::default(),
        });
        for (i, (key, _)) in entries.iter().enumerate() {
            index.add(entries, key.as_str(), i);
        }
        index
    }

    /// Records that `entries[i]` holds `key` (not yet in the table).
    fn add(&mut self, entries: &[(Key, Value)], key: &str, i: usize) {
        let hash = self.hash(key);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, i, |&j| hash_with(hasher, entries[j].0.as_str()));
    }

    /// Drops `key`, at position `i`, from the table and shifts the later positions down, as
    /// removing it from the entries does.
    fn forget(&mut self, key: &str, i: usize) {
        if let Ok(slot) = self.table.find_entry(self.hash(key), |&j| j == i) {
            slot.remove();
        }
        for j in self.table.iter_mut() {
            if *j > i {
                *j -= 1;
            }
        }
    }

    /// The position of `key` in `entries`.
    fn find(&self, entries: &[(Key, Value)], key: &str) -> Option<usize> {
        self.table
            .find(self.hash(key), |&i| entries[i].0.as_str() == key)
            .copied()
    }
}

/// `key` hashed as an [`Index`] hashes it (growing the table rehashes with the same function).
fn hash_with(hasher: &foldhash::fast::RandomState, key: &str) -> u64 {
    use std::hash::BuildHasher as _;
    hasher.hash_one(key)
}

impl Message {
    /// Up to this many entries, keys are found by comparing them rather than by hash.
    const SCAN_LIMIT: usize = 32;

    /// Up to this many entries, [`Message::from_entries`] proves keys unique by their tags.
    const TAG_CHECK_LIMIT: usize = 16;

    /// An empty message.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// assert!(Message::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Message::default()
    }

    /// An empty message with room for `n` entries.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// assert!(Message::with_capacity(8).is_empty());
    /// ```
    pub fn with_capacity(n: usize) -> Self {
        Message {
            entries: pool::take(n),
            index: None,
        }
    }

    /// A message of `entries` in the order given, as inserting them one by one with
    /// [`Message::insert`] would build it: a key given twice keeps its first place and its
    /// last value. A handful of entries whose keys' tags all differ (nearly always) is taken as
    /// it is, after comparing the tags side by side, which costs less than searching the
    /// message once per key.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Key, Message, Value};
    /// let entries = vec![(Key::new("b"), Value::from(1)), (Key::new("a"), Value::from(2))];
    /// let m = Message::from_entries(entries);
    /// assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["b", "a"]);
    /// let twice = vec![(Key::new("b"), Value::from(1)), (Key::new("b"), Value::from(2))];
    /// assert_eq!(Message::from_entries(twice), Message::new().with("b", 2));
    /// ```
    pub fn from_entries(entries: Vec<(Key, Value)>) -> Self {
        if entries.len() <= Self::TAG_CHECK_LIMIT && tags_differ(&entries) {
            return Message::from_unique(entries);
        }
        let mut message = Message::with_capacity(entries.capacity());
        for (key, value) in entries {
            message.insert(key, value);
        }
        message
    }

    /// A message of `entries` whose keys are known to be unique: indexed, never searched.
    fn from_unique(entries: Vec<(Key, Value)>) -> Self {
        let mut message = Message {
            entries,
            index: None,
        };
        message.reindex();
        message
    }

    /// A message of `entries` given in ascending key order, as a codec that sorts its keys
    /// produces them: built without searching for duplicates, since in ascending order a
    /// duplicate can only follow its twin, which one comparison per entry rules out. Entries
    /// in any other order are inserted one by one instead, the last of a duplicated key
    /// winning, as with [`Message::insert`].
    ///
    /// ```
    /// # use ferrobeam_device_api::{Key, Message, Value};
    /// let sorted = vec![(Key::new("a"), Value::from(1)), (Key::new("b"), Value::from(2))];
    /// let m = Message::from_sorted(sorted);
    /// assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// // Not ascending: still a message, with one entry per key.
    /// let twice = vec![(Key::new("b"), Value::from(1)), (Key::new("b"), Value::from(2))];
    /// assert_eq!(Message::from_sorted(twice), Message::new().with("b", 2));
    /// ```
    pub fn from_sorted(entries: Vec<(Key, Value)>) -> Self {
        if entries.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            Message::from_unique(entries)
        } else {
            Message::from_entries(entries)
        }
    }

    /// Builder form of [`Message::insert`].
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("a", 1).with("b", "two");
    /// assert_eq!(m.len(), 2);
    /// ```
    pub fn with(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`, returning the value it replaces. A replaced key keeps its position.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let mut m = Message::new();
    /// assert!(m.insert("k", 1).is_none());
    /// assert!(m.insert("K", 2).is_some()); // same key once normalised
    /// ```
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<Value>) -> Option<Value> {
        match self.entry(key) {
            Entry::Occupied(existing) => Some(std::mem::replace(existing, value.into())),
            Entry::Vacant(place) => {
                place.insert(value);
                None
            }
        }
    }

    /// Sets `key` to `value` as [`Message::insert`] does, but a new key goes before the first
    /// key that sorts after it rather than at the end: a message in key order (after
    /// [`Message::sort_keys`]) stays in key order without being sorted again. A replaced key
    /// keeps its position.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let mut m = Message::new().with("a", 1).with("c", 3);
    /// assert!(m.insert_in_order("b", 2).is_none());
    /// let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
    /// assert_eq!(keys, ["a", "b", "c"]);
    /// assert_eq!(m.insert_in_order("C", 4), Some(Value::from(3)));
    /// assert_eq!(m.len(), 3);
    /// ```
    pub fn insert_in_order(
        &mut self,
        key: impl Into<Key>,
        value: impl Into<Value>,
    ) -> Option<Value> {
        let key = key.into();
        // Searched for first, as `insert` does: in a message that is not in order the key may
        // follow keys that sort after it.
        if let Some(i) = self.position(key.as_str()) {
            return Some(std::mem::replace(&mut self.entries[i].1, value.into()));
        }
        match self.entries.iter().position(|(k, _)| *k > key) {
            Some(at) => {
                self.entries.insert(at, (key, value.into()));
                // The entries after it moved.
                if self.index.is_some() || self.entries.len() > Self::SCAN_LIMIT {
                    self.reindex();
                }
            }
            None => self.push_new(key, value.into()),
        }
        None
    }

    /// Appends an entry whose key is not in the message yet.
    fn push_new(&mut self, key: Key, value: Value) {
        let i = self.entries.len();
        self.entries.push((key, value));
        match &mut self.index {
            Some(index) => index.add(&self.entries, self.entries[i].0.as_str(), i),
            None if self.entries.len() > Self::SCAN_LIMIT => {
                self.index = Some(Index::of(&self.entries));
            }
            None => {}
        }
    }

    /// The position of the entry whose key is exactly `key`.
    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.find(&self.entries, key),
            None => {
                let (key, tag) = (key.as_bytes(), tag_of(key.as_bytes()));
                self.entries.iter().position(|(k, _)| k.is(key, tag))
            }
        }
    }

    /// The position of `key`, normalised first if it is not found as it is.
    fn position_normalised(&self, key: &str) -> Option<usize> {
        match self.position(key) {
            Some(i) => Some(i),
            None if needs_normalising(key) => self.position(Key::new(key).as_str()),
            None => None,
        }
    }

    /// Rebuilds the hash index after entries moved (or drops it once the message is small).
    fn reindex(&mut self) {
        self.index = (self.entries.len() > Self::SCAN_LIMIT).then(|| Index::of(&self.entries));
    }

    /// The value at `key` (normalised first).
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("a", 1);
    /// assert!(m.get("A").is_some());
    /// assert!(m.get("b").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position_normalised(key).map(|i| &self.entries[i].1)
    }

    /// The place of `key` in the message, found once: its value if it is there, or a place to
    /// insert one. Use it where a value is either updated or added, instead of a lookup and
    /// then [`Message::insert`], which would search the keys twice.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::{Entry, Message, Value};
    /// let mut m = Message::new().with("seen", 1);
    /// for key in ["seen", "new"] {
    ///     match m.entry(key) {
    ///         Entry::Occupied(Value::Integer(n)) => *n += 1,
    ///         Entry::Occupied(other) => *other = Value::from(1),
    ///         Entry::Vacant(place) => {
    ///             place.insert(1);
    ///         }
    ///     }
    /// }
    /// assert_eq!(m.get("seen"), Some(&Value::Integer(2)));
    /// assert_eq!(m.get("new"), Some(&Value::Integer(1)));
    /// ```
    #[inline]
    pub fn entry(&mut self, key: impl Into<Key>) -> Entry<'_> {
        let key = key.into();
        match self.position(key.as_str()) {
            Some(i) => Entry::Occupied(&mut self.entries[i].1),
            None => Entry::Vacant(VacantEntry { message: self, key }),
        }
    }

    /// The value at `key`, mutably.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let mut m = Message::new().with("a", 1);
    /// *m.get_mut("a").unwrap() = Value::from(2);
    /// assert_eq!(m.get("a"), Some(&Value::Integer(2)));
    /// ```
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position_normalised(key)
            .map(|i| &mut self.entries[i].1)
    }

    /// The value at `key` as UTF-8 text, if it is a binary holding text.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("name", "Wao");
    /// assert_eq!(m.get_str("name"), Some("Wao"));
    /// ```
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The nested message at `key`, if there is one.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("inner", Message::new().with("x", 1));
    /// assert_eq!(m.get_message("inner").map(|i| i.len()), Some(1));
    /// ```
    pub fn get_message(&self, key: &str) -> Option<&Message> {
        self.get(key).and_then(Value::as_message)
    }

    /// Case-insensitive lookup, as `message@1.0`'s `get` does when the exact key is absent.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let id = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
    /// let m = Message::new().with(id, "v");
    /// assert!(m.get_ignore_case(&id.to_lowercase()).is_some());
    /// ```
    pub fn get_ignore_case(&self, key: &str) -> Option<&Value> {
        self.get(key).or_else(|| {
            self.entries
                .iter()
                .find(|(k, _)| k.as_str().eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    /// Whether `key` is present.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// assert!(Message::new().with("a", 1).contains_key("a"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.position_normalised(key).is_some()
    }

    /// Removes `key`, keeping the order of the other entries.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let mut m = Message::new().with("a", 1).with("b", 2).with("c", 3);
    /// m.remove("b");
    /// assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position_normalised(key)?;
        if let Some(index) = &mut self.index {
            index.forget(self.entries[i].0.as_str(), i);
        }
        let (_, value) = self.entries.remove(i);
        Some(value)
    }

    /// Number of entries.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// assert_eq!(Message::new().with("a", 1).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// assert!(Message::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys, in order.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("b", 1).with("a", 2);
    /// assert_eq!(m.keys().count(), 2);
    /// ```
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Key> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The entries, in order.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("a", 1);
    /// for (key, value) in m.iter() {
    ///     assert_eq!(key.as_str(), "a");
    ///     assert_eq!(value.as_integer(), Some(1));
    /// }
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// The entries as a slice of `(key, value)` pairs, in order: what [`push_clone`] copies
    /// from, for a codec building a message of some of another's entries.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let m = Message::new().with("a", 1).with("b", "x");
    /// let (key, value) = &m.entries()[1];
    /// assert_eq!((key.as_str(), value), ("b", &Value::from("x")));
    /// ```
    pub fn entries(&self) -> &[(Key, Value)] {
        &self.entries
    }

    /// The entries, in order, with mutable values.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let mut m = Message::new().with("a", 1);
    /// for (_, v) in m.iter_mut() { *v = Value::from(2); }
    /// assert_eq!(m.get("a"), Some(&Value::Integer(2)));
    /// ```
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&Key, &mut Value)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Keeps only the entries for which `keep` returns true.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let mut m = Message::new().with("a", 1).with("priv", 2);
    /// m.retain(|k, _| !k.is_private());
    /// assert_eq!(m.len(), 1);
    /// ```
    pub fn retain(&mut self, mut keep: impl FnMut(&Key, &mut Value) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(|(k, v)| keep(k, v));
        if self.index.is_some() && self.entries.len() != before {
            self.reindex();
        }
    }

    /// A new message of the same keys, in the same order, with each value `map` returns;
    /// `Ok(None)` leaves the key out, and the first error is returned. The keys are this
    /// message's, so they need no search for duplicates: the way to transform every value of
    /// a message, as a codec does.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let m = Message::new().with("a", "1").with("b", "x").with("c", "3");
    /// let numbers = m.try_map_values(|_, v| match v.as_str().map(str::parse::<i64>) {
    ///     Some(Ok(n)) => Ok(Some(Value::from(n))),
    ///     Some(Err(_)) => Ok(None),
    ///     None => Err("not text"),
    /// });
    /// assert_eq!(numbers, Ok(Message::new().with("a", 1).with("c", 3)));
    /// ```
    pub fn try_map_values<E>(
        &self,
        mut map: impl FnMut(&Key, &Value) -> Result<Option<Value>, E>,
    ) -> Result<Message, E> {
        let mut entries = pool::take(self.entries.len());
        for (key, value) in &self.entries {
            if let Some(mapped) = map(key, value)? {
                entries.push((key.clone(), mapped));
            }
        }
        Ok(Message::from_unique(entries))
    }

    /// A copy without `key` (normalised first), the other entries in their order: cheaper than
    /// copying the whole message and removing `key`, which copies its value for nothing.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("a", 1).with("body", "bytes").with("b", 2);
    /// let fields = m.without("body");
    /// assert_eq!(fields.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// assert_eq!(m.len(), 3);
    /// ```
    pub fn without(&self, key: &str) -> Message {
        let key = Key::new(key);
        self.filtered(|k, _| *k != key)
    }

    /// A copy of the entries `keep` accepts, in their order ([`push_clone`]): cheaper than a
    /// copy whose other entries are then removed, which copies their values for nothing, and
    /// than a new message they are inserted into, which searches for each key.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("a", 1).with("b", 2).with("c", 3);
    /// let odd = m.filtered(|_, v| v.as_integer().is_some_and(|n| n % 2 == 1));
    /// assert_eq!(odd, Message::new().with("a", 1).with("c", 3));
    /// ```
    pub fn filtered(&self, mut keep: impl FnMut(&Key, &Value) -> bool) -> Message {
        // Room for as many entries as there were: a copy is usually added to.
        let mut entries = pool::take(self.entries.len());
        for entry in &self.entries {
            if keep(&entry.0, &entry.1) {
                push_clone(&mut entries, entry);
            }
        }
        // The keys of `self` are unique already.
        Message::from_unique(entries)
    }

    /// Removes every private key (§1.3), at every depth, where the message is: what
    /// [`Message::without_private`] returns, for a message the caller owns, with nothing copied.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let mut m = Message::new().with("a", 1).with("priv_wallet", "secret")
    ///     .with("inner", Message::new().with("private", 1).with("b", 2));
    /// m.remove_private();
    /// assert!(m.get("priv_wallet").is_none());
    /// assert_eq!(m.get_message("inner").map(|i| i.len()), Some(1));
    /// ```
    pub fn remove_private(&mut self) {
        self.retain(|key, value| {
            if let Value::Message(inner) = value {
                inner.remove_private();
            }
            !key.is_private()
        });
    }

    /// A copy without private keys (§1.3), at every depth.
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let m = Message::new().with("a", 1).with("priv_wallet", "secret")
    ///     .with("inner", Message::new().with("private", 1).with("b", 2));
    /// let public = m.without_private();
    /// assert!(public.get("priv_wallet").is_none());
    /// assert_eq!(public.get_message("inner").map(|i| i.len()), Some(1));
    /// ```
    pub fn without_private(&self) -> Message {
        let mut out = Message::with_capacity(self.len());
        for (k, v) in self.iter() {
            if k.is_private() {
                continue;
            }
            let v = match v {
                Value::Message(inner) => Value::Message(inner.without_private()),
                other => other.clone(),
            };
            // The keys of `self` are unique already.
            out.entries.push((k.clone(), v));
        }
        out.reindex();
        out
    }

    /// Sorts the entries by key bytes (the order of an Erlang map of up to 32 keys, §1.4).
    ///
    /// ```
    /// # use ferrobeam_device_api::Message;
    /// let mut m = Message::new().with("b", 1).with("a", 2);
    /// m.sort_keys();
    /// assert_eq!(m.keys().next().unwrap().as_str(), "a");
    /// ```
    pub fn sort_keys(&mut self) {
        self.entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if self.index.is_some() {
            self.reindex();
        }
    }
}

/// Whether [`Key::new`] would change `key`: it has upper-case or non-ASCII letters and is not an ID.
fn needs_normalising(key: &str) -> bool {
    // Eight bytes at a time (keys are short, and nearly all of them are lower-case already).
    // Every read is a load from the key itself: a tail copied into a zeroed word first would be
    // stored in pieces and read back whole, a load the CPU cannot forward from those stores,
    // which cost more than the rest of the check. Reads may overlap: a byte seen twice changes
    // nothing.
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per byte, without carries between bytes: the high bit of `low + 0x3f` is set from `A`
    // (0x41) on, and that of `low + 0x25` from the byte after `Z` (0x5b) on; a byte of 0x80 or
    // more has its own high bit set. A zero byte sets nothing.
    let odd = |word: u64| {
        let low = word & LOW;
        let upper = (low + 0x3f3f_3f3f_3f3f_3f3f) & !(low + 0x2525_2525_2525_2525);
        (word | upper) & HIGH
    };
    let bytes = key.as_bytes();
    let n = bytes.len();
    let u64_at = |i: usize| u64::from_le_bytes(bytes_at(bytes, i));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes(bytes_at(bytes, i)));
    let found = match n {
        0 => 0,
        // The first, middle and last bytes are all of them.
        1..=3 => {
            odd(u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16)
        }
        // The first four and the last four, overlapping.
        4..=7 => odd(u32_at(0) | u32_at(n - 4) << 32),
        _ => {
            let mut found = 0;
            let mut i = 0;
            while i + 8 <= n {
                found |= odd(u64_at(i));
                i += 8;
            }
            if i < n {
                // The last eight bytes, overlapping the words already read.
                found |= odd(u64_at(n - 8));
            }
            found
        }
    };
    found != 0 && !is_id_shaped(bytes)
}

impl PartialEq for Message {
    /// Same entries, in any order (as for any map).
    fn eq(&self, other: &Message) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(k, v)| other.position(k.as_str()).map(|i| &other.entries[i].1) == Some(v))
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Key>, V: Into<Value>> FromIterator<(K, V)> for Message {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Message::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl IntoIterator for Message {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;
    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(&mut self.entries).into_iter()
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = (&'a Key, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Where a key is in a message, from [`Message::entry`].
///
/// ```
/// # use ferrobeam_device_api::message::{Entry, Message};
/// let mut m = Message::new().with("a", 1);
/// assert!(matches!(m.entry("a"), Entry::Occupied(_)));
/// assert!(matches!(m.entry("b"), Entry::Vacant(_)));
/// ```
#[derive(Debug)]
pub enum Entry<'a> {
    /// The key is in the message: its value.
    Occupied(&'a mut Value),
    /// The key is not in the message yet.
    Vacant(VacantEntry<'a>),
}

impl<'a> Entry<'a> {
    /// The value at the key, inserting `value` first if the key is not there.
    ///
    /// ```
    /// # use ferrobeam_device_api::{Message, Value};
    /// let mut m = Message::new();
    /// *m.entry("hits").or_insert(0) = Value::from(5);
    /// assert_eq!(m.entry("hits").or_insert(0), &Value::Integer(5));
    /// ```
    pub fn or_insert(self, value: impl Into<Value>) -> &'a mut Value {
        match self {
            Entry::Occupied(existing) => existing,
            Entry::Vacant(place) => place.insert(value),
        }
    }
}

/// A key that is not in a message yet, and the message to insert it into
/// ([`Entry::Vacant`]).
///
/// ```
/// # use ferrobeam_device_api::message::{Entry, Message};
/// let mut m = Message::new();
/// if let Entry::Vacant(place) = m.entry("Name") {
///     assert_eq!(place.key().as_str(), "name"); // normalised
///     place.insert("Wao");
/// }
/// assert_eq!(m.get_str("name"), Some("Wao"));
/// ```
#[derive(Debug)]
pub struct VacantEntry<'a> {
    message: &'a mut Message,
    key: Key,
}

impl<'a> VacantEntry<'a> {
    /// The key, normalised.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::{Entry, Message};
    /// let mut m = Message::new();
    /// let Entry::Vacant(place) = m.entry("k") else { unreachable!() };
    /// assert_eq!(place.key().as_str(), "k");
    /// ```
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Inserts `value` at the key, after the message's other entries, and returns it.
    ///
    /// ```
    /// # use ferrobeam_device_api::message::{Entry, Message, Value};
    /// let mut m = Message::new().with("a", 1);
    /// if let Entry::Vacant(place) = m.entry("b") {
    ///     assert_eq!(place.insert(2), &Value::Integer(2));
    /// }
    /// assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    #[inline]
    pub fn insert(self, value: impl Into<Value>) -> &'a mut Value {
        let message = self.message;
        message.push_new(self.key, value.into());
        let last = message.entries.len() - 1;
        &mut message.entries[last].1
    }
}

/// The entries of a [`Message`] in order, borrowed: what [`Message::iter`] and `for … in &msg`
/// give.
///
/// ```
/// # use ferrobeam_device_api::Message;
/// let m = Message::new().with("a", 1).with("b", 2);
/// let mut iter = m.iter();
/// assert_eq!(iter.len(), 2);
/// assert_eq!(iter.next_back().map(|(k, _)| k.as_str()), Some("b"));
/// ```
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (Key, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Key, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_normalisation_lowercases_except_ids() {
        assert_eq!(Key::new("Test-Header").as_str(), "test-header");
        let id42 = "0xABCDEF0123456789ABCDEF0123456789ABCDEF01";
        assert_eq!(id42.len(), 42);
        assert_eq!(Key::new(id42).as_str(), id42);
        assert_eq!(Key::new("ÄB").as_str(), "äb");
        assert_eq!(Key::from(String::from("MiXed")).as_str(), "mixed");
    }

    /// `is_private` reads the prefix: it agrees with the text's `starts_with("priv")`.
    #[test]
    fn private_keys_are_those_starting_with_priv() {
        for text in [
            "",
            "p",
            "pr",
            "pri",
            "pri\u{0}",
            "priv",
            "private",
            "priv_wallet",
            "privé",
            "prize",
            "apriv",
            "PRIV",
            "Priv-X",
            "pri\u{0}v",
        ] {
            let key = Key::new(text);
            assert_eq!(
                key.is_private(),
                key.as_str().starts_with("priv"),
                "{text:?}"
            );
            let mut assigned = Key::new("longer than any of them");
            assigned.assign(text);
            assert_eq!(assigned.is_private(), key.is_private(), "{text:?} assigned");
        }
    }

    #[test]
    fn keys_are_ordered_as_their_texts() {
        let mut texts: Vec<String> = [
            "", "a", "A0", "ab", "b", "\u{0}", "\u{0}a", "é", "z", "-", "0x", "aa", "ä",
        ]
        .map(String::from)
        .to_vec();
        // Around the four bytes a prefix holds: equal prefixes with different ends, a key and
        // its extensions (by a zero byte too, which a zero-padded prefix cannot tell apart),
        // and keys filled in place over longer ones (`Key::assign`, as the wire decoder does).
        for stem in ["acc", "acce", "accep", "con", "conn", "cont"] {
            for end in [
                "",
                "\u{0}",
                "\u{0}\u{0}",
                "a",
                "ept",
                "ept-encoding",
                "ept-language",
            ] {
                texts.push(format!("{stem}{end}"));
            }
        }
        let keys: Vec<Key> = texts.iter().map(Key::new).collect();
        let mut assigned = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let mut k = keys[(i * 7 + 3) % keys.len()].clone();
            k.assign(key.as_str());
            assigned.push(k);
        }
        for (a, a2) in keys.iter().zip(&assigned) {
            for b in &keys {
                let want = a.as_str().cmp(b.as_str());
                assert_eq!(a.cmp(b), want, "{a:?} {b:?}");
                assert_eq!(a2.cmp(b), want, "{a:?} (assigned) {b:?}");
            }
        }
        // The prefix takes the room after the tag: a key is no larger for it.
        assert_eq!(std::mem::size_of::<Key>(), 32);
    }

    #[test]
    fn needs_normalising_agrees_with_a_byte_by_byte_reading() {
        let by_bytes = |key: &str| {
            !is_id_shaped(key.as_bytes())
                && key.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80)
        };
        // Every ASCII character and some multi-byte ones, at every position of keys of 1 to
        // 26 bytes: the three-byte and four-byte readings of short keys, one to three whole
        // eight-byte words, their seams, and the last word read again over a remainder.
        let odd: Vec<char> = (0u8..0x80).map(char::from).chain(['é', 'Ä', '€']).collect();
        for len in 1..=26 {
            for at in 0..len {
                for &c in &odd {
                    let mut key: String = "a".repeat(at);
                    key.push(c);
                    key.push_str(&"z".repeat(len - at - 1));
                    assert_eq!(needs_normalising(&key), by_bytes(&key), "{key:?}");
                }
            }
        }
        assert!(!needs_normalising(""));
    }

    /// A fixed sequence of numbers below `n` (`next(n)`) from `seed`, so that a failure can be
    /// run again.
    fn numbers(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        }
    }

    /// A message past the scan limit, built key by key: `k0`, `k1`, …
    fn numbered(n: usize) -> Message {
        (0..n).map(|i| (format!("k{i}"), i as i64)).collect()
    }

    /// Every operation, checked on both sides of the scan limit against a plain list.
    #[test]
    fn small_and_indexed_messages_behave_alike() {
        for n in [0, 1, Message::SCAN_LIMIT, Message::SCAN_LIMIT + 1, 100] {
            let mut m = numbered(n);
            assert_eq!(m.index.is_some(), n > Message::SCAN_LIMIT, "n = {n}");
            for i in 0..n {
                assert_eq!(m.get(&format!("K{i}")), Some(&Value::Integer(i as i64)));
            }
            assert!(m.get("absent").is_none());
            // Replacing keeps the position.
            if n > 0 {
                assert_eq!(m.insert("k0", "again"), Some(Value::Integer(0)));
                assert_eq!(m.keys().next().map(Key::as_str), Some("k0"));
            }
            // Removing keeps the order of the rest and every later key findable.
            let mut expected: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            for i in (0..n).step_by(3) {
                assert!(m.remove(&format!("k{i}")).is_some());
                expected.retain(|k| *k != format!("k{i}"));
            }
            assert_eq!(m.keys().map(Key::as_str).collect::<Vec<_>>(), expected);
            for k in &expected {
                assert!(m.contains_key(k), "{k} lost after removals (n = {n})");
            }
            m.retain(|k, _| !k.as_str().ends_with('1'));
            expected.retain(|k| !k.ends_with('1'));
            assert_eq!(m.keys().map(Key::as_str).collect::<Vec<_>>(), expected);
            for k in &expected {
                assert!(m.get(k).is_some(), "{k} lost after retain (n = {n})");
            }
            m.sort_keys();
            expected.sort();
            assert_eq!(m.keys().map(Key::as_str).collect::<Vec<_>>(), expected);
            for k in &expected {
                assert!(m.get(k).is_some(), "{k} lost after sorting (n = {n})");
            }
            // A key added in order, among the rest: every key after it moved.
            assert_eq!(m.insert_in_order("k1a", "between"), None);
            let at = expected.partition_point(|k| k.as_str() < "k1a");
            expected.insert(at, "k1a".to_owned());
            assert_eq!(m.keys().map(Key::as_str).collect::<Vec<_>>(), expected);
            for k in &expected {
                assert!(
                    m.get(k).is_some(),
                    "{k} lost after inserting in order (n = {n})"
                );
            }
            let fresh = m.len();
            m.insert("new", 1);
            assert_eq!(m.len(), fresh + 1);
            assert_eq!(m.get("new"), Some(&Value::Integer(1)));
        }
    }

    /// A key built when compiled is the key `Key::new` makes of the same text: the same text,
    /// tag and prefix, short (inline) or long, so it finds and orders as any other.
    #[test]
    fn static_keys_are_the_keys_new_makes() {
        const EMPTY: Key = Key::from_static("");
        const SHORT: Key = Key::from_static("a");
        const THREE: Key = Key::from_static("a-b");
        const TYPES: Key = Key::from_static("ao-types");
        const LONG: Key = Key::from_static("a-key-longer-than-twenty-four-bytes");
        for (key, text) in [
            (EMPTY, ""),
            (SHORT, "a"),
            (THREE, "a-b"),
            (TYPES, "ao-types"),
            (LONG, "a-key-longer-than-twenty-four-bytes"),
        ] {
            let new = Key::new(text);
            assert_eq!(
                (key.as_str(), key.tag, key.prefix),
                (text, new.tag, new.prefix)
            );
            assert_eq!(key.clone(), new);
            let m = Message::new().with(key, 1).with("b", 2);
            assert_eq!(m.get(text), Some(&Value::Integer(1)), "{text:?}");
        }
    }

    /// `from_static` refuses text that `Key::new` would change.
    #[test]
    #[should_panic(expected = "Key::from_static takes ASCII without capitals")]
    fn static_keys_refuse_capitals() {
        // Called when the test runs, not when compiled, so that the panic is caught.
        let _ = Key::from_static(std::hint::black_box("Ao-Types"));
    }

    /// Random inserts, removals, filters and sorts, checked after each against a plain list
    /// of `(key, value)` pairs, so that messages cross the scan limit both ways many times.
    #[test]
    fn random_operations_agree_with_a_plain_list() {
        let mut next = numbers(0x9e37_79b9_7f4a_7c15);
        let (mut m, mut model) = (Message::new(), Vec::<(String, i64)>::new());
        for step in 0..20_000 {
            let key = format!("key-{}", next(40));
            match next(10) {
                0..=3 => {
                    let value = step as i64;
                    let spelled = if next(2) == 0 {
                        key.to_uppercase()
                    } else {
                        key.clone()
                    };
                    // Half the time through `entry`, which must find and add keys alike.
                    let old = if next(2) == 0 {
                        m.insert(spelled, value)
                    } else {
                        match m.entry(spelled) {
                            Entry::Occupied(v) => Some(std::mem::replace(v, Value::from(value))),
                            Entry::Vacant(place) => {
                                assert_eq!(place.key().as_str(), key);
                                place.insert(value);
                                None
                            }
                        }
                    };
                    let known = model.iter_mut().find(|(k, _)| *k == key);
                    assert_eq!(
                        old.and_then(|v| v.as_integer()),
                        known.as_ref().map(|(_, v)| *v)
                    );
                    match known {
                        Some((_, v)) => *v = value,
                        None => model.push((key, value)),
                    }
                }
                4 => {
                    // A new key goes before the first that sorts after it, whether or not the
                    // message is in order; a known key is replaced where it is.
                    let old = m.insert_in_order(key.to_uppercase(), step as i64);
                    match model.iter().position(|(k, _)| *k == key) {
                        Some(i) => {
                            assert_eq!(old, Some(Value::Integer(model[i].1)), "step {step}");
                            model[i].1 = step as i64;
                        }
                        None => {
                            assert_eq!(old, None, "step {step}");
                            let at = model.iter().position(|(k, _)| *k > key);
                            model.insert(at.unwrap_or(model.len()), (key, step as i64));
                        }
                    }
                }
                5..=7 => {
                    let old = m.remove(&key);
                    let at = model.iter().position(|(k, _)| *k == key);
                    assert_eq!(old.is_some(), at.is_some());
                    if let Some(at) = at {
                        model.remove(at);
                    }
                }
                8 => {
                    let digit = next(10).to_string();
                    m.retain(|k, _| !k.as_str().ends_with(&digit));
                    model.retain(|(k, _)| !k.ends_with(&digit));
                }
                _ => {
                    m.sort_keys();
                    model.sort();
                }
            }
            let keys: Vec<&str> = m.keys().map(Key::as_str).collect();
            let want: Vec<&str> = model.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, want, "step {step}");
            for (k, v) in &model {
                assert_eq!(m.get(k), Some(&Value::Integer(*v)), "{k} at step {step}");
            }
        }
    }

    /// `build` makes of `entries` what inserting them one by one makes, in the same order, and
    /// indexes a large result.
    fn builds_as_inserting(
        entries: Vec<(Key, Value)>,
        build: impl Fn(Vec<(Key, Value)>) -> Message,
        round: usize,
    ) {
        let mut one_by_one = Message::new();
        for (k, v) in entries.clone() {
            one_by_one.insert(k, v);
        }
        let built = build(entries);
        let keys = |m: &Message| m.keys().map(|k| k.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(keys(&built), keys(&one_by_one), "round {round}");
        assert_eq!(built, one_by_one, "round {round}");
        assert_eq!(built.index.is_some(), built.len() > Message::SCAN_LIMIT);
        for (k, v) in one_by_one.iter() {
            let found = built.get(k.as_str());
            assert_eq!(found, Some(v), "{} in round {round}", k.as_str());
        }
    }

    /// `from_sorted` builds what inserting the same entries one by one builds, in order, and
    /// large messages it builds are indexed; unsorted input and duplicates take the slow path.
    #[test]
    fn from_sorted_is_inserting_one_by_one() {
        let mut next = numbers(0x2545_f491_4f6c_dd1d);
        for round in 0..2_000 {
            let n = next(2 * Message::SCAN_LIMIT as u64 + 4);
            let mut entries: Vec<(Key, Value)> = (0..n)
                .map(|i| (Key::new(format!("k{}", next(60))), Value::from(i as i64)))
                .collect();
            match round % 3 {
                // Ascending with no duplicates: the fast path.
                0 => {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                    entries.dedup_by(|a, b| a.0 == b.0);
                }
                // Ascending with any duplicates kept.
                1 => entries.sort_by(|a, b| a.0.cmp(&b.0)),
                // As drawn.
                _ => {}
            }
            builds_as_inserting(entries, Message::from_sorted, round);
        }
    }

    /// `from_entries` builds what inserting the same entries one by one builds, in order:
    /// with and without repeated keys, with distinct keys whose tags are equal, and on both
    /// sides of the scan limit.
    #[test]
    fn from_entries_is_inserting_one_by_one() {
        let mut next = numbers(0x5851_f42d_4c95_7f2d);
        // Same length, first, middle (index 2) and last byte: one tag for two different keys.
        assert_eq!(Key::new("abcd").tag, Key::new("axcd").tag);
        for round in 0..3_000 {
            let n = next(2 * Message::SCAN_LIMIT as u64 + 4);
            let distinct = round % 3 == 0;
            let entries: Vec<(Key, Value)> = (0..n)
                .map(|i| {
                    let key = match (distinct, next(4)) {
                        (true, _) => format!("key-{i}"),
                        (false, 0) => "abcd".to_owned(),
                        (false, 1) => "axcd".to_owned(),
                        (false, _) => format!("k{}", next(24)),
                    };
                    (Key::new(key), Value::from(i as i64))
                })
                .collect();
            builds_as_inserting(entries, Message::from_entries, round);
        }
    }

    /// `try_map_values` keeps the keys it is given in order, drops the ones mapped to `None`,
    /// stops at the first error, and leaves large results findable.
    #[test]
    fn mapping_values_keeps_keys_and_order() {
        for n in [0, 3, Message::SCAN_LIMIT, Message::SCAN_LIMIT + 1, 60] {
            let m = numbered(n);
            let odd = m
                .try_map_values(|_, v| {
                    let i = v.as_integer().ok_or("not an integer")?;
                    Ok::<_, &str>((i % 2 == 1).then(|| Value::from(i * 10)))
                })
                .unwrap_or_default();
            let want: Vec<String> = (0..n)
                .filter(|i| i % 2 == 1)
                .map(|i| format!("k{i}"))
                .collect();
            assert_eq!(odd.keys().map(Key::as_str).collect::<Vec<_>>(), want);
            assert_eq!(odd.index.is_some(), odd.len() > Message::SCAN_LIMIT);
            for k in &want {
                let i: i64 = k[1..].parse().unwrap_or_default();
                assert_eq!(odd.get(k), Some(&Value::Integer(i * 10)), "n = {n}");
            }
            let mut seen = 0;
            let failed = m.try_map_values(|_, _| {
                seen += 1;
                if seen == 2 {
                    Err(seen)
                } else {
                    Ok(None)
                }
            });
            assert_eq!(failed.err(), (n >= 2).then_some(2));
        }
    }

    #[test]
    fn equality_ignores_order() {
        for n in [3, 40] {
            let forward = numbered(n);
            let backward: Message = forward
                .iter()
                .rev()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(forward, backward);
            let mut changed = backward.clone();
            changed.insert("k1", "other");
            assert_ne!(forward, changed);
            let mut shorter = backward;
            shorter.remove("k2");
            assert_ne!(forward, shorter);
            assert_ne!(shorter, forward);
        }
    }

    #[test]
    fn copies_and_filters_keep_large_messages_findable() {
        let mut m = numbered(40);
        m.insert("priv_key", "secret");
        let public = m.without_private();
        assert_eq!(public.len(), 40);
        assert!(public.get("k39").is_some() && public.get("priv_key").is_none());
        let cloned = public.clone();
        assert_eq!(cloned.get("k17"), Some(&Value::Integer(17)));
        let owned: Vec<(Key, Value)> = cloned.into_iter().collect();
        assert_eq!(owned.len(), 40);
    }

    #[test]
    fn lookups_normalise_the_query_key() {
        let mut m = Message::new().with("Test-Header", 1);
        assert_eq!(m.get("TEST-HEADER"), Some(&Value::Integer(1)));
        assert!(m.get_mut("Test-header").is_some());
        assert!(m.remove("TEST-header").is_some());
        assert!(m.is_empty());
    }

    #[test]
    fn without_a_key_and_private_keys_removed_in_place() {
        for n in [3, Message::SCAN_LIMIT + 2, 80] {
            let mut m = numbered(n);
            m.insert("body", "bytes");
            m.insert("k_last", 1);
            let fields = m.without("Body");
            assert_eq!(fields.len(), m.len() - 1);
            assert!(fields.get("body").is_none());
            let mut model = m.clone();
            model.remove("body");
            assert_eq!(
                fields.keys().collect::<Vec<_>>(),
                model.keys().collect::<Vec<_>>()
            );
            // A large copy is found by its index, as any large message is.
            assert_eq!(fields.get("k_last"), Some(&Value::Integer(1)));
            assert_eq!(m.without("absent"), m);
            // A filtered copy is the copy without the keys left out, in the same order.
            let filtered = m.filtered(|k, _| k.as_str() != "body");
            assert_eq!(
                filtered.iter().collect::<Vec<_>>(),
                fields.iter().collect::<Vec<_>>()
            );
            assert_eq!(filtered.get("k_last"), Some(&Value::Integer(1)));
            assert!(m.filtered(|_, _| false).is_empty());

            let nested = Message::new()
                .with("priv_x", 1)
                .with("y", numbered(n).with("private", 2));
            m.insert("inner", nested);
            m.insert("priv_top", "secret");
            let public = m.without_private();
            m.remove_private();
            assert_eq!(m, public);
            assert!(m.get("priv_top").is_none());
            let inner = m.get_message("inner").unwrap();
            assert!(inner.get("priv_x").is_none());
            assert_eq!(inner.get_message("y").map(Message::len), Some(n));
        }
    }

    /// Every kind of value, binaries and keys on both sides of their inline limits.
    fn assorted_values() -> Vec<Value> {
        let mut values: Vec<Value> = [0, 1, Binary::INLINE, Binary::INLINE + 1, 100]
            .map(|n| Value::binary(vec![b'x'; n]))
            .to_vec();
        values.extend([
            Value::Integer(-7),
            Value::Float(1.5),
            Value::atom("true"),
            Value::List(vec![Value::from(1), Value::from("two")]),
            Value::Message(numbered(3)),
            Value::Message(numbered(Message::SCAN_LIMIT + 5)),
        ]);
        values
    }

    /// Only entries whose key and value hold no allocation are copied as bytes by a clone:
    /// keys up to compact_str's 24 inline bytes, binaries up to `Binary::INLINE`, numbers.
    #[test]
    fn only_entries_owning_no_memory_are_copied_as_bytes() {
        for n in 0..=60 {
            let key = Key::new("k".repeat(n));
            assert_eq!(
                owns_nothing(&(key, Value::Integer(1))),
                n <= 24,
                "key of {n} bytes"
            );
        }
        assert!(owns_nothing(&(Key::EMPTY, Value::Float(0.5))));
        for n in 0..=100 {
            let entry = (Key::new("k"), Value::binary(vec![b'x'; n]));
            assert_eq!(
                owns_nothing(&entry),
                n <= Binary::INLINE,
                "binary of {n} bytes"
            );
        }
        for value in [
            Value::atom("ok"),
            Value::List(Vec::new()),
            Value::Message(Message::new()),
        ] {
            assert!(!owns_nothing(&(Key::new("k"), value)));
        }
        // A clone outlives its source, and each is dropped once.
        let source = Message::new()
            .with("a", "short")
            .with("k".repeat(40), "x".repeat(40))
            .with("n", 7)
            .with("list", Value::List(vec![Value::from("item")]));
        let copy = source.clone();
        let expected = format!("{source:?}");
        drop(source);
        assert_eq!(format!("{copy:?}"), expected);
    }

    #[test]
    fn clones_made_in_place_equal_their_sources() {
        let keys: Vec<Key> = [0, 1, 23, 24, 25, 43, 60]
            .map(|n| Key::new("k".repeat(n)))
            .to_vec();
        for into in &keys {
            for from in &keys {
                let mut copy = into.clone();
                copy.clone_from(from);
                assert_eq!(&copy, from);
                assert_eq!(copy.cmp(from), std::cmp::Ordering::Equal);
            }
        }
        let values = assorted_values();
        for into in &values {
            for from in &values {
                let mut copy = into.clone();
                copy.clone_from(from);
                assert!(&copy == from, "{into:?} <- {from:?}");
            }
        }
        // A message's clone keeps its entries, their order, and a large one's index.
        for n in [0, 5, Message::SCAN_LIMIT + 5] {
            let mut m = numbered(n);
            for (i, value) in values.iter().enumerate() {
                m.insert(format!("v{i}-{}", "long".repeat(i)), value.clone());
            }
            let copy = m.clone();
            assert_eq!(
                copy.iter().collect::<Vec<_>>(),
                m.iter().collect::<Vec<_>>()
            );
            for (key, value) in m.iter() {
                assert_eq!(copy.get(key.as_str()), Some(value));
            }
        }
    }

    /// A key's ID shape, read from its tag, is the shape of its text at every length,
    /// including past the 255 bytes a tag's length counts.
    #[test]
    fn id_shape_is_read_from_the_tag() {
        for len in 0..300 {
            let text = "a".repeat(len);
            assert_eq!(
                Key::new(&text).is_id_shaped(),
                is_id_shaped(text.as_bytes()),
                "{len}"
            );
        }
    }

    /// A key's filter bit is the bit of its text, at every length (a tag counts lengths up to
    /// 255), and keys of different lengths or last bytes mostly get different bits.
    #[test]
    fn filter_bits_of_keys_and_texts_agree() {
        let mut bits = 0u64;
        for len in 0..300 {
            for last in ["a", "z", "-"] {
                let text = format!("{}{last}", "k".repeat(len));
                assert_eq!(Key::new(&text).filter_bit(), filter_bit_of(&text), "{len}");
                assert_eq!(filter_bit_of(&text).count_ones(), 1);
                bits |= filter_bit_of(&text);
            }
        }
        assert_eq!(bits, u64::MAX, "every bit is some key's");
    }

    /// `starts_with` answers as the text's own `starts_with`, for every pair of texts of up to
    /// five bytes over a small alphabet (a key's prefix zero-pads keys of fewer than four
    /// bytes, so the alphabet holds a zero byte).
    #[test]
    fn starts_with_is_the_texts() {
        let mut texts: Vec<String> = vec![String::new()];
        let mut last: Vec<String> = texts.clone();
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|t| ['a', 'b', '\0'].map(|c| format!("{t}{c}")))
                .collect();
            texts.extend(last.iter().cloned());
        }
        for key in &texts {
            for text in &texts {
                assert_eq!(
                    Key::new(key).starts_with(text),
                    key.starts_with(text.as_str()),
                    "{key:?} {text:?}"
                );
            }
        }
    }
}

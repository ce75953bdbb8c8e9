//! HyperBEAM's dialect of HTTP structured fields (RFC 8941), `codecs.md` §2.4.
//!
//! `ao-types`, scalar lists, `ao-ids`, `body-keys`, `signature` and `signature-input` are all
//! structured fields. HyperBEAM's parser (`hb_structured_fields`) is a little more liberal than
//! RFC 8941 in some places and stricter in others; this module reproduces it:
//!
//! * dictionary keys may start with `A-Z`, a digit, `*`, `%`, `_` or `-` and contain `A-Z . * %`
//!   (so escaped `ao-types` keys and raw IDs in `ao-ids` parse);
//! * integers have at most 15 digits, decimals at most 12 integer and 3 fraction digits;
//! * strings hold only printable ASCII (0x20–0x7E), escapes only `\\` and `\"`;
//! * tokens may contain `:` and `/` (so `text/plain` is a token).
//!
//! Serialisation joins list and dictionary members with `", "`, writes a boolean-true dictionary
//! member or parameter as its bare key, and escapes only `\` and `"` in strings.

mod parse;
pub(crate) mod plain;
mod serialize;

pub use parse::{parse_dictionary, parse_item, parse_list};

/// The contents of `text` when it is an SF string and nothing else, with no escapes: `"…"` of
/// printable ASCII but `"` and `\`. `None` for anything else, which [`parse_item`] reads (and
/// where this answers, reads the same). For a field in the form encoders write, read in one
/// pass without building the parser's item.
///
/// ```
/// use ferrobeam_structured::sf::plain_string;
/// assert_eq!(plain_string(b"\"a b\""), Some("a b"));
/// assert_eq!(plain_string(b"\"a\\\"b\""), None); // an escape: the parser's to read
/// assert_eq!(plain_string(b"token"), None);
/// ```
pub fn plain_string(text: &[u8]) -> Option<&str> {
    plain::string(text)
}
// The encoder's tests write a list as it was written before `encode::annotate`.
#[cfg(test)]
pub(crate) use serialize::write_escaped;
pub use serialize::{
    serialize_bare_item, serialize_dictionary, serialize_item, serialize_list, write_bare_item,
    write_dictionary, write_inner_list, write_item, write_list, write_member, write_params,
    write_string,
};

use std::fmt;

/// A bare item: the value part of an item or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum BareItem {
    /// An integer of at most 15 digits.
    Integer(i64),
    /// A decimal (at most 12 integer and 3 fraction digits on the wire).
    Decimal(f64),
    /// A string; its bytes are printable ASCII when parsed.
    String(Vec<u8>),
    /// A token (`foo`, `text/plain`, `*x`).
    Token(String),
    /// A byte sequence (`:base64:`).
    ByteSequence(Vec<u8>),
    /// A boolean (`?1` / `?0`; also a parameter or member without a value).
    Boolean(bool),
}

impl BareItem {
    /// The item's bytes if it is a string.
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            BareItem::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a string, a token or a byte sequence (the "text-like" items HyperBEAM
    /// accepts wherever it wants a name, e.g. an atom or an `ao-types` type).
    pub fn as_text_bytes(&self) -> Option<&[u8]> {
        match self {
            BareItem::String(s) | BareItem::ByteSequence(s) => Some(s),
            BareItem::Token(t) => Some(t.as_bytes()),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            BareItem::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

/// Parameters of an item or inner list, in wire order (a repeated name replaces in place).
pub type Parameters = Vec<(String, BareItem)>;

/// An item: a bare item with parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The value.
    pub bare: BareItem,
    /// Its parameters.
    pub params: Parameters,
}

impl Item {
    /// An item without parameters.
    pub fn new(bare: BareItem) -> Self {
        Item {
            bare,
            params: Vec::new(),
        }
    }

    /// The value of parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&BareItem> {
        find_param(&self.params, name)
    }
}

/// An inner list `(a b c);p=v`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InnerList {
    /// The items.
    pub items: Vec<Item>,
    /// The list's own parameters.
    pub params: Parameters,
}

impl InnerList {
    /// The value of parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&BareItem> {
        find_param(&self.params, name)
    }
}

/// A member of a list or dictionary: an item or an inner list.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// A single item.
    Item(Item),
    /// An inner list.
    InnerList(InnerList),
}

impl Member {
    /// The item, if this member is one.
    pub fn as_item(&self) -> Option<&Item> {
        match self {
            Member::Item(i) => Some(i),
            Member::InnerList(_) => None,
        }
    }

    /// The inner list, if this member is one.
    pub fn as_inner_list(&self) -> Option<&InnerList> {
        match self {
            Member::InnerList(l) => Some(l),
            Member::Item(_) => None,
        }
    }
}

/// A list of members.
pub type List = Vec<Member>;

/// A dictionary: ordered `(key, member)` pairs; a repeated key replaces in place.
pub type Dictionary = Vec<(String, Member)>;

fn find_param<'a>(params: &'a Parameters, name: &str) -> Option<&'a BareItem> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Why a structured field did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    /// What went wrong.
    pub reason: &'static str,
    /// Byte offset in the input.
    pub offset: usize,
}

impl fmt::Display for SfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for SfError {}

#[cfg(test)]
mod tests;

//! Serialisation of structured fields the way HyperBEAM writes them (`codecs.md` §2.4).

use super::{BareItem, InnerList, Item, Member, Parameters};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Appends `bytes` as an SF string: quoted, with `\` and `"` escaped (nothing else is checked,
/// as in HyperBEAM; bytes outside 0x20–0x7E make a string that will not parse back).
///
/// ```
/// let mut out = Vec::new();
/// ferrobeam_structured::sf::write_string(&mut out, b"say \"hi\"");
/// assert_eq!(out, br#""say \"hi\"""#);
/// ```
pub fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    write_escaped(out, bytes);
    out.push(b'"');
}

/// Appends `bytes` as the inside of an SF string: `"` and `\` escaped, no quotes around. A
/// string written in pieces ([`write_string`] is one piece) opens and closes its quotes itself.
pub(crate) fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
        out.extend_from_slice(&rest[..at]);
        out.push(b'\\');
        out.push(rest[at]);
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends a bare item.
pub fn write_bare_item(out: &mut Vec<u8>, item: &BareItem) {
    match item {
        BareItem::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        BareItem::Decimal(d) => write_decimal(out, *d),
        BareItem::String(s) => write_string(out, s),
        BareItem::Token(t) => out.extend_from_slice(t.as_bytes()),
        BareItem::ByteSequence(b) => {
            out.push(b':');
            out.extend_from_slice(STANDARD.encode(b).as_bytes());
            out.push(b':');
        }
        BareItem::Boolean(b) => out.extend_from_slice(if *b { b"?1" } else { b"?0" }),
    }
}

/// A decimal with at most three fraction digits (trailing zeros dropped, at least one kept).
fn write_decimal(out: &mut Vec<u8>, d: f64) {
    let text = format!("{d:.3}");
    let trimmed = text.trim_end_matches('0');
    out.extend_from_slice(trimmed.as_bytes());
    if trimmed.ends_with('.') {
        out.push(b'0');
    }
}

/// Appends parameters: `;key` for a boolean true, `;key=value` otherwise.
pub fn write_params(out: &mut Vec<u8>, params: &Parameters) {
    for (k, v) in params {
        out.push(b';');
        out.extend_from_slice(k.as_bytes());
        if *v != BareItem::Boolean(true) {
            out.push(b'=');
            write_bare_item(out, v);
        }
    }
}

/// Appends an item with its parameters.
pub fn write_item(out: &mut Vec<u8>, item: &Item) {
    write_bare_item(out, &item.bare);
    write_params(out, &item.params);
}

/// Appends an inner list `(a b);p=v`.
pub fn write_inner_list(out: &mut Vec<u8>, list: &InnerList) {
    out.push(b'(');
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_item(out, item);
    }
    out.push(b')');
    write_params(out, &list.params);
}

/// Appends a list or dictionary member.
pub fn write_member(out: &mut Vec<u8>, member: &Member) {
    match member {
        Member::Item(item) => write_item(out, item),
        Member::InnerList(list) => write_inner_list(out, list),
    }
}

/// Appends a list, members joined by `", "`.
pub fn write_list(out: &mut Vec<u8>, list: &[Member]) {
    for (i, member) in list.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_member(out, member);
    }
}

/// Appends a dictionary, members joined by `", "`; a boolean-true item is written as its key
/// (plus parameters).
pub fn write_dictionary<K: AsRef<str>>(out: &mut Vec<u8>, dict: &[(K, Member)]) {
    for (i, (key, member)) in dict.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(key.as_ref().as_bytes());
        match member {
            Member::Item(Item {
                bare: BareItem::Boolean(true),
                params,
            }) => write_params(out, params),
            other => {
                out.push(b'=');
                write_member(out, other);
            }
        }
    }
}

/// A bare item as bytes.
///
/// ```
/// use ferrobeam_structured::sf::{serialize_bare_item, BareItem};
/// assert_eq!(serialize_bare_item(&BareItem::ByteSequence(vec![1, 2])), b":AQI=:");
/// ```
pub fn serialize_bare_item(item: &BareItem) -> Vec<u8> {
    let mut out = Vec::new();
    write_bare_item(&mut out, item);
    out
}

/// An item as bytes.
pub fn serialize_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::new();
    write_item(&mut out, item);
    out
}

/// A list as bytes.
pub fn serialize_list(list: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    write_list(&mut out, list);
    out
}

/// A dictionary as bytes.
///
/// ```
/// use ferrobeam_structured::sf::{parse_dictionary, serialize_dictionary};
/// let text = b"a=1, b=(\"x\" \"y\");alg=\"z\", c";
/// assert_eq!(serialize_dictionary(&parse_dictionary(text).unwrap()), text);
/// ```
pub fn serialize_dictionary<K: AsRef<str>>(dict: &[(K, Member)]) -> Vec<u8> {
    let mut out = Vec::new();
    write_dictionary(&mut out, dict);
    out
}

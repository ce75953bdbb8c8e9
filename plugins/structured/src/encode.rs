//! Rich message → TABM (`codecs.md` §2.1, §2.2).

use crate::{escape, float, sf, Error, MAX_DEPTH};
use ferrobeam_device_api::{Key, Message, Value};

/// The key of the field that names the types of the others.
const AO_TYPES: Key = Key::from_static("ao-types");

/// Keys the encoder drops because they are recomputed on arrival (`codecs.md` §1.3).
pub const REGENERABLE_KEYS: [&str; 2] = ["unsigned_id", "content-digest"];

/// Encodes a rich message as a TABM (HyperBEAM's `dev_codec_structured:from`) where it is: its
/// entries are sorted in place, binaries and keys stay, scalars are replaced by their text.
pub(crate) fn encode_message(mut msg: Message, depth: usize) -> Result<Message, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    msg.sort_keys();
    // Binaries alone (nearly every request's fields), none empty, all kept: nothing to encode.
    if msg
        .iter()
        .all(|(key, value)| matches!(value, Value::Binary(b) if !b.is_empty()) && keeps(key))
    {
        return Ok(msg);
    }
    // The `ao-types` field, written as the types are found (the entries are in order by now),
    // with room for a short member per entry: growing it as types are found reallocates.
    let mut types = Vec::with_capacity(msg.len() * 24);
    // A scalar's text is written here, then copied into its value (inline when short). Room
    // for a short list's text: growing it as a list is written reallocates.
    let mut text = Vec::with_capacity(128);
    let mut failed = None;
    msg.retain(|key, value| {
        if failed.is_some() {
            return true;
        }
        if !keeps(key) {
            return false;
        }
        match encode_in_place(key, value, depth, &mut types, &mut text) {
            Ok(kept) => kept,
            Err(e) => {
                failed = Some(e.at_key(key.as_str()));
                true
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if !types.is_empty() {
        // Where it sorts, so that the TABM stays in map order.
        msg.insert_in_order(AO_TYPES, Value::binary(types));
    }
    Ok(msg)
}

/// Encodes the value of `key` where it is, adding its type to the `ao-types` field `types`
/// unless it is a binary or a message; `false` when only its type is kept (an empty value).
#[inline]
fn encode_in_place(
    key: &Key,
    value: &mut Value,
    depth: usize,
    types: &mut Vec<u8>,
    text: &mut Vec<u8>,
) -> Result<bool, Error> {
    match value {
        Value::Binary(b) if b.is_empty() => add_type(types, key, "empty-binary"),
        Value::List(l) if l.is_empty() => add_type(types, key, "empty-list"),
        Value::Message(m) if is_empty_message(m) => add_type(types, key, "empty-message"),
        Value::Binary(_) => return Ok(true),
        Value::Message(m) => {
            *m = encode_message(std::mem::take(m), depth + 1)?;
            return Ok(true);
        }
        Value::List(l) if matches!(l[0], Value::Message(_) | Value::List(_)) => {
            *value = Value::Message(encode_numbered(std::mem::take(l), depth + 1)?);
            add_type(types, key, "list");
            return Ok(true);
        }
        _ => {
            text.clear();
            let ty = encode_value(text, value, depth)?;
            *value = Value::binary(text.as_slice());
            add_type(types, key, ty);
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the encoder keeps `key`: private and regenerable keys are dropped (`§1.3`).
fn keeps(key: &Key) -> bool {
    !key.is_private() && !REGENERABLE_KEYS.contains(&key.as_str())
}

/// A list whose first element is a message or list becomes `{"1": …, "2": …}` (`§2.1`).
fn encode_numbered(list: Vec<Value>, depth: usize) -> Result<Message, Error> {
    let numbered = list
        .into_iter()
        .enumerate()
        .map(|(i, v)| (Key::from((i + 1).to_string()), v))
        .collect();
    encode_message(Message::from_entries(numbered), depth)
}

/// Adds the member `escape(key)="type"` to the `ao-types` field `field`, after a `", "` unless
/// it is the first; members are added in the message's (ascending) key order. Type names are
/// the codec's own, lower-case letters and `-`, so they are quoted without escaping.
fn add_type(field: &mut Vec<u8>, key: &Key, ty: &'static str) {
    debug_assert!(ty.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    if !field.is_empty() {
        field.extend_from_slice(b", ");
    }
    escape::write(field, key.as_str().as_bytes());
    field.extend_from_slice(b"=\"");
    field.extend_from_slice(ty.as_bytes());
    field.push(b'"');
}

/// A message that encodes as `empty-message`: no keys, or only `priv` (`§1.3`).
pub fn is_empty_message(m: &Message) -> bool {
    m.is_empty() || (m.len() == 1 && m.contains_key("priv"))
}

/// HyperBEAM's `encode_value`: appends the text of a scalar or scalar list and returns its
/// type name (`§2.2`).
fn encode_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<&'static str, Error> {
    match value {
        Value::Integer(i) => {
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes());
            Ok("integer")
        }
        Value::Float(x) => {
            float::write_float(out, *x)?;
            Ok("float")
        }
        Value::Atom(a) => {
            sf::write_string(out, a.as_bytes());
            Ok("atom")
        }
        Value::Binary(b) => {
            out.extend_from_slice(b);
            Ok("binary")
        }
        Value::List(items) => {
            if depth >= MAX_DEPTH {
                return Err(Error::TooDeep(MAX_DEPTH));
            }
            // Room for each item with its annotation, quotes and separator, so that a longer list
            // grows its text once, not at each doubling.
            out.reserve(items.len() * 24);
            // An item's own text, before it is escaped into the list's string (allocated by
            // the first item that is not a binary).
            let mut inner = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                match item {
                    Value::Binary(b) => sf::write_string(out, b),
                    Value::Message(_) => return Err(Error::MessageInScalarList),
                    other => {
                        inner.clear();
                        let ty = encode_value(&mut inner, other, depth + 1)?;
                        // The string `(ao-type-<ty>) <inner>`, written in pieces: the
                        // annotation needs no escaping (type names are lower-case letters
                        // and `-`), the item's text does.
                        out.extend_from_slice(b"\"(ao-type-");
                        out.extend_from_slice(ty.as_bytes());
                        out.extend_from_slice(b") ");
                        sf::write_escaped(out, &inner);
                        out.push(b'"');
                    }
                }
            }
            Ok("list")
        }
        Value::Message(_) => Err(Error::MessageInScalarList),
    }
}

/// HyperBEAM's `encode_value` (see [`crate::encode_value`]).
pub(crate) fn encode_scalar(value: &Value) -> Result<(&'static str, Vec<u8>), Error> {
    let mut out = Vec::new();
    let ty = encode_value(&mut out, value, 0)?;
    Ok((ty, out))
}

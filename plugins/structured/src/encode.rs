//! Rich message → TABM (`codecs.md` §2.1, §2.2).

use crate::{escape, float, sf, Error, MAX_DEPTH};
use ferrobeam_device_api::{Binary, Key, Message, Value};
use std::borrow::Cow;

/// Keys the encoder drops because they are recomputed on arrival (`codecs.md` §1.3).
pub const REGENERABLE_KEYS: [&str; 2] = ["unsigned_id", "content-digest"];

/// Encodes a rich message as a TABM (HyperBEAM's `dev_codec_structured:from`). A borrowed
/// message has its binaries copied; an owned one has them moved.
pub(crate) fn encode_message(msg: Cow<'_, Message>, depth: usize) -> Result<Message, Error> {
    // Sized for every entry: a filtered iterator would grow the vector from empty.
    let mut entries: Vec<(Key, Cow<'_, Value>)> = Vec::with_capacity(msg.len());
    match msg {
        Cow::Borrowed(msg) => entries.extend(
            msg.iter()
                .filter(|(k, _)| keeps(k))
                .map(|(k, v)| (k.clone(), Cow::Borrowed(v))),
        ),
        Cow::Owned(msg) => entries.extend(
            msg.into_iter()
                .filter(|(k, _)| keeps(k))
                .map(|(k, v)| (k, Cow::Owned(v))),
        ),
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    encode_entries(entries, depth)
}

/// [`encode_message`] for a message the caller no longer needs: its entries are sorted and
/// encoded where they are, so binaries and keys are neither copied nor moved. The result is
/// the same (the tests compare them).
pub(crate) fn encode_message_owned(mut msg: Message, depth: usize) -> Result<Message, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    msg.sort_keys();
    let mut types: Vec<(Key, &'static str)> = Vec::new();
    // A scalar's text is written here, then copied into its value (inline when short).
    let mut text = Vec::with_capacity(32);
    let mut failed = None;
    msg.retain(|key, value| {
        if failed.is_some() || !keeps(key) {
            return failed.is_some();
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
        msg.insert("ao-types", Value::binary(ao_types_field(&types)));
    }
    Ok(msg)
}

/// Encodes the value of `key` where it is, recording its type in `types` unless it is a
/// binary or a message; `false` when only its type is kept (an empty value).
fn encode_in_place(
    key: &Key,
    value: &mut Value,
    depth: usize,
    types: &mut Vec<(Key, &'static str)>,
    text: &mut Vec<u8>,
) -> Result<bool, Error> {
    match value {
        Value::Binary(b) if b.is_empty() => types.push((key.clone(), "empty-binary")),
        Value::List(l) if l.is_empty() => types.push((key.clone(), "empty-list")),
        Value::Message(m) if is_empty_message(m) => types.push((key.clone(), "empty-message")),
        Value::Binary(_) => return Ok(true),
        Value::Message(m) => {
            *m = encode_message_owned(std::mem::take(m), depth + 1)?;
            return Ok(true);
        }
        Value::List(l) if matches!(l[0], Value::Message(_) | Value::List(_)) => {
            let list = Cow::Owned(std::mem::take(l));
            *value = Value::Message(encode_numbered(list, depth + 1)?);
            types.push((key.clone(), "list"));
            return Ok(true);
        }
        _ => {
            text.clear();
            let ty = encode_value(text, value, depth)?;
            *value = Value::binary(text.as_slice());
            types.push((key.clone(), ty));
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
fn encode_numbered(list: Cow<'_, [Value]>, depth: usize) -> Result<Message, Error> {
    let number = |i: usize| Key::from((i + 1).to_string());
    let mut entries: Vec<(Key, Cow<'_, Value>)> = match list {
        Cow::Borrowed(list) => list
            .iter()
            .enumerate()
            .map(|(i, v)| (number(i), Cow::Borrowed(v)))
            .collect(),
        Cow::Owned(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, v)| (number(i), Cow::Owned(v)))
            .collect(),
    };
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    encode_entries(entries, depth)
}

/// Encodes entries that are already in ascending key order, collecting `ao-types`.
fn encode_entries(entries: Vec<(Key, Cow<'_, Value>)>, depth: usize) -> Result<Message, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    // In the entries' ascending order, so the message is built without searching its keys.
    let mut out: Vec<(Key, Value)> = Vec::with_capacity(entries.len() + 1);
    let mut types: Vec<(Key, &'static str)> = Vec::new();
    // A scalar's text is written here, then copied into its value (inline when short).
    let mut text = Vec::with_capacity(32);
    for (key, value) in entries {
        match value.as_ref() {
            Value::Binary(b) if b.is_empty() => types.push((key, "empty-binary")),
            Value::List(l) if l.is_empty() => types.push((key, "empty-list")),
            Value::Message(m) if is_empty_message(m) => types.push((key, "empty-message")),
            Value::Binary(_) => out.push((key, Value::Binary(into_binary(value)))),
            Value::Message(_) => {
                let tabm = encode_message(into_message(value), depth + 1)
                    .map_err(|e| e.at_key(key.as_str()))?;
                out.push((key, Value::Message(tabm)));
            }
            Value::List(l) if matches!(l[0], Value::Message(_) | Value::List(_)) => {
                let tabm = encode_numbered(into_list(value), depth + 1)
                    .map_err(|e| e.at_key(key.as_str()))?;
                out.push((key.clone(), Value::Message(tabm)));
                types.push((key, "list"));
            }
            scalar => {
                text.clear();
                let ty =
                    encode_value(&mut text, scalar, depth).map_err(|e| e.at_key(key.as_str()))?;
                out.push((key.clone(), Value::binary(text.as_slice())));
                types.push((key, ty));
            }
        }
    }
    let mut out = Message::from_sorted(out);
    if !types.is_empty() {
        out.insert("ao-types", Value::binary(ao_types_field(&types)));
    }
    Ok(out)
}

/// The bytes of a binary value: moved if owned, copied if borrowed (empty for other values).
fn into_binary(value: Cow<'_, Value>) -> Binary {
    match value {
        Cow::Owned(Value::Binary(b)) => b,
        Cow::Borrowed(Value::Binary(b)) => b.clone(),
        _ => Binary::new(),
    }
}

/// The message of a message value, owned or borrowed as the value is (empty for others).
fn into_message(value: Cow<'_, Value>) -> Cow<'_, Message> {
    match value {
        Cow::Owned(Value::Message(m)) => Cow::Owned(m),
        Cow::Borrowed(Value::Message(m)) => Cow::Borrowed(m),
        _ => Cow::Owned(Message::new()),
    }
}

/// The items of a list value, owned or borrowed as the value is (empty for others).
fn into_list(value: Cow<'_, Value>) -> Cow<'_, [Value]> {
    match value {
        Cow::Owned(Value::List(l)) => Cow::Owned(l),
        Cow::Borrowed(Value::List(l)) => Cow::Borrowed(l),
        _ => Cow::Owned(Vec::new()),
    }
}

/// `escape(key)="type"` members in the (already ascending) order given, joined by `", "`.
fn ao_types_field(types: &[(Key, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(types.len() * 24);
    for (i, (key, ty)) in types.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        escape::write(&mut out, key.as_str().as_bytes());
        out.push(b'=');
        sf::write_string(&mut out, ty.as_bytes());
    }
    out
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
            let mut item_text = Vec::with_capacity(32);
            let mut inner = Vec::with_capacity(16);
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
                        item_text.clear();
                        item_text.extend_from_slice(b"(ao-type-");
                        item_text.extend_from_slice(ty.as_bytes());
                        item_text.extend_from_slice(b") ");
                        item_text.extend_from_slice(&inner);
                        sf::write_string(out, &item_text);
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

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
    // with room for a short member per entry: growing it as types are found reallocates. A
    // scalar's text is written after it for a moment ([`encode_in_place`]).
    let mut types = Vec::with_capacity(msg.len() * 24);
    let mut failed = None;
    msg.retain(|key, value| {
        if failed.is_some() {
            return true;
        }
        if !keeps(key) {
            return false;
        }
        match encode_in_place(key, value, depth, &mut types) {
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
/// A scalar's text is written at the end of `types`, copied into its value (inline when
/// short) and cut off again before its type is added: it needs no buffer of its own.
#[inline]
fn encode_in_place(
    key: &Key,
    value: &mut Value,
    depth: usize,
    types: &mut Vec<u8>,
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
            let field_end = types.len();
            let ty = encode_value(types, value, depth)?;
            *value = Value::binary(&types[field_end..]);
            types.truncate(field_end);
            add_type(types, key, ty);
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the encoder keeps `key`: private and regenerable keys are dropped (`§1.3`).
fn keeps(key: &Key) -> bool {
    !key.is_private() && !is_regenerable(key)
}

/// Whether `key` is one of [`REGENERABLE_KEYS`], which encoders drop. Compared as keys: most
/// keys differ from each name by their tags alone, where comparing texts reads them.
///
/// ```
/// use ferrobeam_device_api::Key;
/// assert!(ferrobeam_structured::is_regenerable(&Key::new("Content-Digest")));
/// assert!(!ferrobeam_structured::is_regenerable(&Key::new("content-type")));
/// ```
#[inline]
pub fn is_regenerable(key: &Key) -> bool {
    let [unsigned_id, content_digest] = REGENERABLE_KEYS;
    *key == unsigned_id || *key == content_digest
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
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                match item {
                    Value::Binary(b) => sf::write_string(out, b),
                    Value::Message(_) => return Err(Error::MessageInScalarList),
                    other => {
                        // The item's own text is written where its string goes, then made
                        // the string.
                        let start = out.len();
                        let ty = encode_value(out, other, depth + 1)?;
                        annotate(out, start, ty);
                    }
                }
            }
            Ok("list")
        }
        Value::Message(_) => Err(Error::MessageInScalarList),
    }
}

/// Makes the text `out[start..]` of a list item of type `ty` the list's string
/// `"(ao-type-<ty>) <text>"`, the text escaped, where it is: the text moves up once, escaped as
/// it moves (from its end, so that no byte is overwritten before it is read), and the
/// annotation, which needs no escaping (type names are lower-case letters and `-`), is written
/// before it. The text needs no buffer of its own.
fn annotate(out: &mut Vec<u8>, start: usize, ty: &str) {
    const OPEN: &[u8] = b"\"(ao-type-";
    let is_escaped = |b: u8| b == b'"' || b == b'\\';
    let text_end = out.len();
    let escapes = out[start..].iter().filter(|&&b| is_escaped(b)).count();
    let head = OPEN.len() + ty.len() + 2;
    out.resize(text_end + head + escapes + 1, 0);
    let mut to = out.len() - 1;
    out[to] = b'"';
    for from in (start..text_end).rev() {
        let b = out[from];
        to -= 1;
        out[to] = b;
        if is_escaped(b) {
            to -= 1;
            out[to] = b'\\';
        }
    }
    debug_assert_eq!(to, start + head);
    let (open, rest) = out[start..to].split_at_mut(OPEN.len());
    open.copy_from_slice(OPEN);
    let (name, close) = rest.split_at_mut(ty.len());
    name.copy_from_slice(ty.as_bytes());
    close.copy_from_slice(b") ");
}

/// HyperBEAM's `encode_value` (see [`crate::encode_value`]).
pub(crate) fn encode_scalar(value: &Value) -> Result<(&'static str, Vec<u8>), Error> {
    let mut out = Vec::new();
    let ty = encode_value(&mut out, value, 0)?;
    Ok((ty, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splitmix::random;

    /// Keys are regenerable exactly when their text is one of the names: the names themselves
    /// (in any case), and not their prefixes, extensions or neighbours.
    #[test]
    fn regenerable_keys_are_the_names() {
        for name in REGENERABLE_KEYS {
            for text in [name.to_owned(), name.to_ascii_uppercase()] {
                assert!(is_regenerable(&Key::new(&text)), "{text}");
            }
            for other in [&name[1..], &name[..name.len() - 1], &format!("{name}s")] {
                assert!(!is_regenerable(&Key::new(other)), "{other}");
            }
        }
        for other in ["content-type", "unsigned-id", "digest", "", "body"] {
            assert!(!is_regenerable(&Key::new(other)), "{other}");
        }
    }

    /// A list's text as written before [`annotate`]: each item's text in a buffer of its own,
    /// escaped into the list's string in pieces.
    fn by_pieces(items: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            match item {
                Value::Binary(b) => sf::write_string(&mut out, b),
                other => {
                    let (ty, inner) = match other {
                        Value::List(l) => ("list", by_pieces(l)),
                        scalar => encode_scalar(scalar).unwrap_or_default(),
                    };
                    out.extend_from_slice(b"\"(ao-type-");
                    out.extend_from_slice(ty.as_bytes());
                    out.extend_from_slice(b") ");
                    sf::write_escaped(&mut out, &inner);
                    out.push(b'"');
                }
            }
        }
        out
    }

    /// A scalar list of up to four items, nested up to `depth` more levels, with quotes and
    /// backslashes in its binaries and atoms.
    fn list(state: &mut u64, depth: u32) -> Vec<Value> {
        let text = |state: &mut u64| -> String {
            let len = random(state) % 6;
            (0..len)
                .map(|_| ['a', '"', '\\', ' ', 'z'][(random(state) % 5) as usize])
                .collect()
        };
        (0..random(state) % 5)
            .map(|_| match random(state) % 6 {
                0 => Value::Integer(random(state) as i64 % 1_000_000),
                1 => Value::Float((random(state) % 1000) as f64 / 8.0),
                2 => Value::Atom(text(state)),
                3 if depth > 0 => Value::List(list(state, depth - 1)),
                _ => Value::binary(text(state)),
            })
            .collect()
    }

    #[test]
    fn list_items_are_annotated_as_when_written_in_pieces() {
        let mut state = 3;
        for _ in 0..20_000 {
            let items = list(&mut state, 3);
            let mut out = b"before".to_vec();
            let ty = encode_value(&mut out, &Value::List(items.clone()), 0);
            assert_eq!(ty.ok(), Some("list"));
            assert_eq!(&out[..6], b"before");
            assert_eq!(
                String::from_utf8_lossy(&out[6..]),
                String::from_utf8_lossy(&by_pieces(&items)),
                "{items:?}"
            );
        }
    }
}

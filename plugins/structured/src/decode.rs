//! TABM → rich message (`codecs.md` §2.3).

use crate::error::snippet;
use crate::{defaults, escape, float, sf, Error, MAX_DEPTH};
use ferrobeam_device_api::{Key, Message, Value};
use std::collections::HashMap;

/// Decodes a TABM into a rich message (HyperBEAM's `dev_codec_structured:to`).
pub(crate) fn decode_message(tabm: &Message, depth: usize) -> Result<Message, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    let types = match tabm.get("ao-types") {
        None => Vec::new(),
        Some(Value::Binary(b)) if b.is_empty() => Vec::new(),
        Some(Value::Binary(b)) => parse_ao_types(b)?,
        Some(other) => {
            return Err(Error::InvalidTabm(format!(
                "ao-types is a {}, not a binary",
                other.type_name()
            )))
        }
    };
    let mut out = Message::with_capacity(tabm.len() + types.len());
    for (key, ty) in &types {
        match ty.as_str() {
            "empty-binary" => out.insert(key.clone(), Value::Binary(Vec::new())),
            "empty-list" => out.insert(key.clone(), Value::List(Vec::new())),
            "empty-message" => out.insert(key.clone(), Value::Message(Message::new())),
            _ => None,
        };
    }
    let by_key: HashMap<&str, &str> = types
        .iter()
        .map(|(k, t)| (k.as_str(), t.as_str()))
        .collect();
    for (key, value) in tabm.iter() {
        if key.as_str() == "ao-types" {
            continue;
        }
        let ty = by_key.get(key.as_str()).copied();
        let decoded = match value {
            Value::Binary(bytes) => match ty {
                None => value.clone(),
                Some(ty) => decode_value(ty, bytes, depth).map_err(|e| e.at_key(key.as_str()))?,
            },
            Value::Message(child) => {
                let child = decode_message(child, depth + 1).map_err(|e| e.at_key(key.as_str()))?;
                match ty {
                    None => Value::Message(child),
                    Some("list") => {
                        Value::List(numbered_to_list(child).map_err(|e| e.at_key(key.as_str()))?)
                    }
                    Some(other) => {
                        return Err(Error::MapWithType(other.to_owned()).at_key(key.as_str()))
                    }
                }
            }
            // Numbers, atoms and lists arrive this way from JSON; they are kept as they are.
            other => other.clone(),
        };
        out.insert(key.clone(), decoded);
    }
    defaults::filter_default_tx_keys(&mut out);
    Ok(out)
}

/// Parses `ao-types` into `(key, lower-case type)` pairs; keys are un-escaped and normalised.
///
/// ```
/// use ferrobeam_structured::parse_ao_types;
/// let types = parse_ao_types(b"a=\"integer\", %58y=atom").unwrap();
/// assert_eq!(types[0].0.as_str(), "a");
/// assert_eq!(types[1].0.as_str(), "xy"); // "Xy" normalised: not an ID
/// assert_eq!(types[1].1, "atom");
/// ```
pub fn parse_ao_types(field: &[u8]) -> Result<Vec<(Key, String)>, Error> {
    let dict = sf::parse_dictionary(field).map_err(Error::sf("ao-types"))?;
    let mut out = Vec::with_capacity(dict.len());
    for (escaped, member) in dict {
        let ty = member
            .as_item()
            .and_then(|item| item.bare.as_text_bytes())
            .ok_or_else(|| Error::BadAoTypes(escaped.clone()))?;
        let ty = std::str::from_utf8(ty)
            .map_err(|_| Error::NotUtf8(snippet(ty)))?
            .to_ascii_lowercase();
        let raw = escape::decode(escaped.as_bytes())?;
        let key = String::from_utf8(raw).map_err(|e| Error::NotUtf8(snippet(e.as_bytes())))?;
        out.push((Key::from(key), ty));
    }
    Ok(out)
}

/// HyperBEAM's `decode_value` at nesting `depth` (see [`crate::decode_value`]).
pub(crate) fn decode_value(ty: &str, text: &[u8], depth: usize) -> Result<Value, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    match ty.to_ascii_lowercase().as_str() {
        "integer" => {
            let item = sf::parse_item(text).map_err(Error::sf("integer"))?;
            item.bare
                .as_integer()
                .map(Value::Integer)
                .ok_or_else(|| Error::TypeMismatch {
                    expected: "integer",
                    got: snippet(text),
                })
        }
        "float" => float::parse_float(text).map(Value::Float),
        "atom" => {
            let item = sf::parse_item(text).map_err(Error::sf("atom"))?;
            let name = item
                .bare
                .as_text_bytes()
                .ok_or_else(|| Error::TypeMismatch {
                    expected: "atom",
                    got: snippet(text),
                })?;
            atom_from_bytes(name)
        }
        "list" => {
            let members = sf::parse_list(text).map_err(Error::sf("list"))?;
            let mut out = Vec::with_capacity(members.len());
            for member in members {
                let sf::Member::Item(item) = member else {
                    return Err(Error::InnerList("list"));
                };
                out.push(list_item(item.bare, depth)?);
            }
            Ok(Value::List(out))
        }
        "map" => {
            let dict = sf::parse_dictionary(text).map_err(Error::sf("map"))?;
            let mut out = Message::with_capacity(dict.len());
            for (key, member) in dict {
                let sf::Member::Item(item) = member else {
                    return Err(Error::InnerList("map"));
                };
                out.insert(key, from_bare_item(item.bare)?);
            }
            Ok(Value::Message(out))
        }
        other => Err(Error::UnknownType(other.to_owned())),
    }
}

/// One SF list item: `"(ao-type-T) payload"` strings recurse into `decode_value(T, payload)`.
fn list_item(bare: sf::BareItem, depth: usize) -> Result<Value, Error> {
    const PREFIX: &[u8] = b"(ao-type-";
    match bare {
        sf::BareItem::String(s) if s.starts_with(PREFIX) => {
            let rest = &s[PREFIX.len()..];
            let split = rest
                .windows(2)
                .position(|w| w == b") ")
                .ok_or_else(|| Error::BadListAnnotation(snippet(&s)))?;
            let ty = std::str::from_utf8(&rest[..split])
                .map_err(|_| Error::BadListAnnotation(snippet(&s)))?;
            decode_value(ty, &rest[split + 2..], depth + 1)
        }
        other => from_bare_item(other),
    }
}

/// A bare SF item as a value: strings and byte sequences are binaries, booleans and tokens atoms.
fn from_bare_item(bare: sf::BareItem) -> Result<Value, Error> {
    Ok(match bare {
        sf::BareItem::Integer(i) => Value::Integer(i),
        sf::BareItem::Decimal(d) => Value::Float(d),
        sf::BareItem::String(s) | sf::BareItem::ByteSequence(s) => Value::Binary(s),
        sf::BareItem::Boolean(b) => Value::from(b),
        sf::BareItem::Token(t) => Value::Atom(t),
    })
}

fn atom_from_bytes(name: &[u8]) -> Result<Value, Error> {
    std::str::from_utf8(name)
        .map(|s| Value::Atom(s.to_owned()))
        .map_err(|_| Error::NotUtf8(snippet(name)))
}

/// A numbered message `{"1": a, "2": b}` as the list `[a, b]`: keys must be integers, and
/// consecutive from the smallest (`§2.3`). Private keys are ignored.
fn numbered_to_list(msg: Message) -> Result<Vec<Value>, Error> {
    let mut numbered: Vec<(i64, Value)> = Vec::with_capacity(msg.len());
    for (key, value) in msg {
        if key.is_private() {
            continue;
        }
        let n: i64 = key
            .as_str()
            .parse()
            .map_err(|_| Error::ListKeyNotInteger(key.as_str().to_owned()))?;
        numbered.push((n, value));
    }
    numbered.sort_by_key(|(n, _)| *n);
    let mut expected = numbered.first().map_or(0, |(n, _)| *n);
    let mut out = Vec::with_capacity(numbered.len());
    for (n, value) in numbered {
        if n != expected {
            return Err(Error::ListKeysNotConsecutive);
        }
        expected = expected.saturating_add(1);
        out.push(value);
    }
    Ok(out)
}

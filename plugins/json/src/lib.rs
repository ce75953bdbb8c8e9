//! # ferrobeam-json — `json@1.0`
//!
//! Messages ⇄ JSON text (`spec/codecs.md` §8), as the guides show users seeing it: a typed
//! message encodes with JSON's own types — integers and floats as numbers, `true`/`false` as
//! booleans, `null` as null, lists as arrays, nested messages as objects, binaries as strings.
//! A TABM (all binaries, with an `ao-types` string) encodes as strings, exactly as it is.
//! Objects are compact, keys in Erlang map order (sorted up to 32 keys, hash order above),
//! private keys dropped.
//!
//! ```
//! use ferrobeam_device_api::{Message, Value};
//! let m = Message::new().with("list", vec![Value::from(1), Value::from(2)]).with("bool", true);
//! assert_eq!(ferrobeam_json::to(&m).unwrap(), r#"{"bool":true,"list":[1,2]}"#);
//! let back = ferrobeam_json::from(br#"{"bool":true,"list":[1,2]}"#).unwrap();
//! assert_eq!(back, Message::new().with("bool", true).with("list", vec![Value::from(1), Value::from(2)]));
//! ```
//!
//! Why not strings everywhere: `spec/codecs.md` §8 reads HyperBEAM's encoder as writing the
//! structured TABM, but the custom-devices guide's `forward` output and the process guide's
//! `{"alice":100}` show numbers and booleans, and the guides come first
//! (`spec/README.md`, order of authority). `docs/protocol-notes.md` records the decision.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use ferrobeam_device_api::{Message, Value};
use ferrobeam_structured::map_order::sort_in_map_order;
use std::fmt::Write;

/// Deepest nesting accepted in either direction.
pub const MAX_DEPTH: usize = ferrobeam_structured::MAX_DEPTH;

/// The content type of JSON bodies.
pub const CONTENT_TYPE: &str = "application/json";

/// Why a message could not become JSON, or JSON a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A binary that is not UTF-8 has no JSON string form.
    #[error("{0}: binary is not UTF-8 text, which JSON cannot carry")]
    NotUtf8(String),
    /// NaN and infinities have no JSON form.
    #[error("{0}: {1} has no JSON form")]
    NotFinite(String, f64),
    /// The text is not JSON.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The JSON is valid but not an object.
    #[error("JSON must be an object to become a message, not {0}")]
    NotAnObject(&'static str),
    /// A JSON number that fits neither i64 nor f64.
    #[error("{0}: number out of range")]
    Number(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The decoded object did not pass structured@1.0 (e.g. a bad `ao-types`).
    #[error(transparent)]
    Structured(#[from] ferrobeam_structured::Error),
}

/// A message as compact JSON text.
pub fn to(message: &Message) -> Result<String, Error> {
    let mut out = String::with_capacity(64 + message.len() * 24);
    write_message(&mut out, message, "", 0)?;
    Ok(out)
}

/// JSON text (an object) as a message: strings become binaries, numbers integers or floats,
/// booleans and null atoms, arrays lists, objects messages; then `structured@1.0` applies any
/// `ao-types` the object carries.
pub fn from(text: &[u8]) -> Result<Message, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| Error::Syntax(e.to_string()))?;
    let serde_json::Value::Object(obj) = value else {
        return Err(Error::NotAnObject(kind(&value)));
    };
    let raw = object(&obj, 0)?;
    Ok(ferrobeam_structured::to(&raw)?)
}

/// `serialize`: `{content-type: application/json, body: to(base)}`. The `device` key that
/// selecting this codec put on the message (`…/serialize~json@1.0`) is not part of it.
pub fn serialize(base: &Message) -> Result<Message, Error> {
    let body = if base.get_str("device") == Some("json@1.0") {
        let mut m = base.clone();
        m.remove("device");
        to(&m)?
    } else {
        to(base)?
    };
    Ok(Message::new()
        .with("content-type", CONTENT_TYPE)
        .with("body", body))
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn object(obj: &serde_json::Map<String, serde_json::Value>, depth: usize) -> Result<Message, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let mut m = Message::with_capacity(obj.len());
    for (k, v) in obj {
        m.insert(k.as_str(), value(k, v, depth)?);
    }
    Ok(m)
}

fn value(key: &str, v: &serde_json::Value, depth: usize) -> Result<Value, Error> {
    Ok(match v {
        serde_json::Value::Null => Value::atom("null"),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) if n.is_f64() => Value::Float(f),
            _ => return Err(Error::Number(key.to_owned())),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            if depth > MAX_DEPTH {
                return Err(Error::TooDeep);
            }
            Value::List(
                items
                    .iter()
                    .map(|i| value(key, i, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        serde_json::Value::Object(o) => Value::from(object(o, depth + 1)?),
    })
}

fn write_message(out: &mut String, m: &Message, path: &str, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let mut entries: Vec<_> = m.iter().filter(|(k, _)| !k.is_private()).collect();
    sort_in_map_order(&mut entries, |(k, _)| k.as_str().as_bytes());
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k.as_str());
        out.push(':');
        let inner = if path.is_empty() {
            k.as_str().to_owned()
        } else {
            format!("{path}/{k}")
        };
        write_value(out, v, &inner, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

fn write_value(out: &mut String, v: &Value, path: &str, depth: usize) -> Result<(), Error> {
    match v {
        Value::Binary(b) => {
            let s = std::str::from_utf8(b).map_err(|_| Error::NotUtf8(path.to_owned()))?;
            write_string(out, s);
        }
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(Error::NotFinite(path.to_owned(), *f));
            }
            // Shortest text that reads back as the same float, as OTP's encoder writes it.
            let text = serde_json::Number::from_f64(*f)
                .map(|n| n.to_string())
                .ok_or_else(|| Error::NotFinite(path.to_owned(), *f))?;
            out.push_str(&text);
        }
        Value::Atom(a) => match a.as_str() {
            "true" | "false" | "null" => out.push_str(a),
            other => write_string(out, other),
        },
        Value::List(items) => {
            if depth > MAX_DEPTH {
                return Err(Error::TooDeep);
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, path, depth + 1)?;
            }
            out.push(']');
        }
        Value::Message(m) => write_message(out, m, path, depth)?,
    }
    Ok(())
}

/// A JSON string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX`
/// escapes, everything else (UTF-8 included) as it is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_messages_use_json_types() {
        let m = Message::new()
            .with("num", 123)
            .with("f", 1.5)
            .with("b", false)
            .with("n", Value::atom("null"))
            .with("a", Value::atom("ok"))
            .with("map", Message::new().with("abc", "123"))
            .with("priv_x", "hidden");
        assert_eq!(
            to(&m).unwrap(),
            r#"{"a":"ok","b":false,"f":1.5,"map":{"abc":"123"},"n":null,"num":123}"#
        );
    }

    #[test]
    fn tabms_stay_strings() {
        let tabm = Message::new()
            .with("a", "1")
            .with("ao-types", "a=\"integer\"");
        assert_eq!(to(&tabm).unwrap(), r#"{"a":"1","ao-types":"a=\"integer\""}"#);
        // …and read back typed.
        assert_eq!(from(br#"{"a":"1","ao-types":"a=\"integer\""}"#).unwrap(), Message::new().with("a", 1));
    }

    #[test]
    fn large_objects_follow_erlang_map_order() {
        let m: Message = (0..40).map(|i| (format!("k{i}"), i)).collect();
        let text = to(&m).unwrap();
        let back = from(text.as_bytes()).unwrap();
        assert_eq!(back.len(), 40);
        assert!(!text.starts_with(r#"{"k0":0,"k1":1,"k10""#), "hash order, not sorted: {text}");
    }

    #[test]
    fn escapes_control_characters_and_keeps_utf8() {
        let m = Message::new().with("s", "a\"b\\c\nd\u{1}é");
        assert_eq!(to(&m).unwrap(), "{\"s\":\"a\\\"b\\\\c\\nd\\u0001é\"}");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(from(b"{"), Err(Error::Syntax(_))));
        assert!(matches!(from(b"[1]"), Err(Error::NotAnObject(_))));
        assert!(matches!(to(&Message::new().with("b", vec![0xffu8])), Err(Error::NotUtf8(_))));
        assert!(matches!(to(&Message::new().with("f", f64::NAN)), Err(Error::NotFinite(..))));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(from(format!("{{\"d\":{deep}}}").as_bytes()).is_err());
    }

    #[test]
    fn serialize_drops_the_codec_device_key() {
        let m = Message::new().with("alice", 100).with("device", "json@1.0");
        let s = serialize(&m).unwrap();
        assert_eq!(s.get_str("content-type"), Some("application/json"));
        assert_eq!(s.get_str("body"), Some(r#"{"alice":100}"#));
    }
}

//! # ferrobeam-json — `json@1.0`
//!
//! Messages as JSON text (`spec/codecs.md` §8) the way the guides show users seeing them: a
//! typed message is written with JSON's own types — integers and floats as numbers,
//! `true`/`false`/`null` as themselves, lists as arrays, messages as objects, text as strings —
//! while a value JSON cannot type exactly (another atom, say) is written as its structured@1.0
//! text with an `ao-types` entry. A TABM, being all binaries, is written as strings exactly as
//! HyperBEAM writes it. Keys follow Erlang map order; output is compact; private keys are left
//! out. Decoding reads any JSON object and structured-decodes it (honouring `ao-types`), so
//! either form reads back to the same message.
//!
//! ```
//! use ferrobeam_device_api::{Message, Value};
//! let msg = Message::new().with("a", 1).with("ok", Value::atom("ok"));
//! let json = ferrobeam_json::to(&msg).unwrap();
//! assert_eq!(json, br#"{"a":1,"ao-types":"ok=\"atom\"","ok":"\"ok\""}"#);
//! assert_eq!(ferrobeam_json::from(&json).unwrap(), msg);
//! let tabm = ferrobeam_structured::from(&Message::new().with("a", 1)).unwrap();
//! assert_eq!(ferrobeam_json::to(&tabm).unwrap(), br#"{"a":"1","ao-types":"a=\"integer\""}"#);
//! ```
//!
//! Why not strings everywhere, as `codecs.md` §8 reads HyperBEAM's encoder: the custom-devices
//! guide's `forward` prints `"list": [1, 2, 3]` and `"bool": true`, the process guide reads
//! `{"alice":100}`, and the guides come first (`spec/README.md`). `docs/protocol-notes.md`.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod write;

use ferrobeam_device_api::{Key, Message, Value};

/// The content type of JSON-encoded messages.
pub const CONTENT_TYPE: &str = "application/json";

/// Why a message could not be converted to or from JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// structured@1.0 failed.
    #[error(transparent)]
    Structured(#[from] ferrobeam_structured::Error),
    /// The input is not valid JSON (or nests deeper than 128 levels).
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The JSON text is valid but is not an object.
    #[error("JSON text is not an object")]
    NotAnObject,
    /// An integer outside the 64-bit range.
    #[error("integer out of range: {0}")]
    IntegerRange(String),
    /// A binary that is not UTF-8 cannot be a JSON string.
    #[error("{0}: binary is not UTF-8")]
    NotUtf8(String),
    /// A TABM value that is neither a binary nor a message.
    #[error("{key}: a TABM holds only binaries and messages, not a {found}")]
    NotTabm {
        /// The key.
        key: String,
        /// The value's type.
        found: &'static str,
    },
    /// `deserialize` found nothing at its target key (HyperBEAM answers 404).
    #[error("no JSON at {0:?}")]
    TargetNotFound(String),
}

/// Encodes a message as compact JSON (`json@1.0` `to`): JSON's own types where they are
/// exact, structured@1.0 text plus `ao-types` where they are not (see the crate docs).
pub fn to(msg: &Message) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    write::object(&mut out, msg, 0)?;
    Ok(out)
}

/// Encodes a TABM as compact JSON: binaries as strings, messages as objects, keys in Erlang
/// map order, private keys left out.
pub fn to_tabm_json(tabm: &Message) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    write::object(&mut out, tabm, 0)?;
    Ok(out)
}

/// Decodes JSON text into a rich message (`json@1.0` `from`): strings become binaries,
/// numbers integers or floats, `true`/`false`/`null` atoms, arrays lists, objects messages;
/// then structured@1.0 decoding applies `ao-types`.
pub fn from(json: &[u8]) -> Result<Message, Error> {
    Ok(ferrobeam_structured::to_owned(parse(json)?)?)
}

/// JSON text as a message without structured decoding (the JSON object as it is).
///
/// ```
/// use ferrobeam_device_api::Value;
/// let m = ferrobeam_json::parse(br#"{"n": 1, "f": 1.5, "t": true, "l": [1, "x"], "s": "v"}"#).unwrap();
/// assert_eq!(m.get("n"), Some(&Value::from(1)));
/// assert_eq!(m.get("t"), Some(&Value::atom("true")));
/// assert_eq!(m.get_str("s"), Some("v"));
/// ```
pub fn parse(json: &[u8]) -> Result<Message, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| Error::Syntax(e.to_string()))?;
    match value {
        serde_json::Value::Object(map) => object_to_message(map),
        _ => Err(Error::NotAnObject),
    }
}

fn object_to_message(map: serde_json::Map<String, serde_json::Value>) -> Result<Message, Error> {
    let mut out = Message::with_capacity(map.len());
    for (k, v) in map {
        out.insert(Key::from(k), json_to_value(v)?);
    }
    Ok(out)
}

fn json_to_value(json: serde_json::Value) -> Result<Value, Error> {
    use serde_json::Value as J;
    Ok(match json {
        J::String(s) => Value::binary(s.into_bytes()),
        J::Bool(b) => Value::from(b),
        J::Null => Value::atom("null"),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Integer(i),
            (None, Some(_), _) => return Err(Error::IntegerRange(n.to_string())),
            (None, None, Some(f)) => Value::Float(f),
            _ => return Err(Error::IntegerRange(n.to_string())),
        },
        J::Array(items) => Value::List(
            items
                .into_iter()
                .map(json_to_value)
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => Value::Message(object_to_message(map)?),
    })
}

/// `json@1.0` `serialize`: `{content-type: application/json, body: to(base)}`. The `device`
/// key that selecting this codec put on the message (`…/serialize~json@1.0`) is left out:
/// HyperBEAM leaks it, users want the plain JSON of their data.
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

/// `json@1.0` `deserialize`: decodes the JSON held at `target` (default `body`) of `base`.
/// [`Error::TargetNotFound`] when there is none (HyperBEAM answers 404).
pub fn deserialize(base: &Message, target: Option<&str>) -> Result<Message, Error> {
    let target = target.unwrap_or("body");
    match base.get(target) {
        Some(Value::Binary(json)) => from(json),
        Some(other) => Err(Error::NotTabm {
            key: target.to_owned(),
            found: other.type_name(),
        }),
        None => Err(Error::TargetNotFound(target.to_owned())),
    }
}

//! # ferrobeam-structured — `structured@1.0`
//!
//! Converts between *rich* AO-Core messages (typed values: integers, floats, atoms, lists,
//! nested messages) and *TABMs* (type-annotated binary messages: only binaries and nested
//! messages, with the types recorded in an `ao-types` field), exactly as HyperBEAM `main`
//! (v0.8) does — `spec/codecs.md` §1–§2. The names follow HyperBEAM: [`from`] turns a rich
//! message into a TABM, [`to`] turns a TABM back into a rich message.
//!
//! ```
//! use ferrobeam_device_api::{Message, Value};
//! let rich = Message::new().with("a", 1).with("list", vec![Value::from(1), "two".into()]);
//! let tabm = ferrobeam_structured::from(&rich).unwrap();
//! assert_eq!(tabm.get_str("a"), Some("1"));
//! assert_eq!(tabm.get_str("ao-types"), Some(r#"a="integer", list="list""#));
//! assert_eq!(ferrobeam_structured::to(&tabm).unwrap(), rich);
//! ```
//!
//! The crate also holds the pieces the other codecs share: [`sf`] (HyperBEAM's structured-fields
//! dialect), [`map_order`] (Erlang map iteration order), [`escape`] (`hb_escape`) and [`float`]
//! (Erlang float text).
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod decode;
mod defaults;
mod encode;
mod error;
pub mod escape;
pub mod float;
pub mod map_order;
pub mod sf;
#[cfg(test)]
mod splitmix;
#[cfg(feature = "vectors")]
#[doc(hidden)]
pub mod vectors;

pub use decode::{parse_ao_types, TypeName};
pub use defaults::{filter_default_tx_keys, is_default_tx_value, DEFAULT_TX_KEYS};
pub use encode::{is_empty_message, is_regenerable, REGENERABLE_KEYS};
pub use error::Error;

use ferrobeam_device_api::{Message, Value};

/// How deeply messages and lists may nest (in either direction). Deeper input is rejected with
/// [`Error::TooDeep`] rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

/// Encodes a rich message as a TABM (`codecs.md` §2.1).
///
/// Keys are visited in ascending order; private keys (`priv…`) and regenerable keys
/// ([`REGENERABLE_KEYS`]) are dropped; non-binary values are encoded as text and their types
/// collected into `ao-types`; empty binaries, lists and messages leave only an `ao-types` entry;
/// lists of messages or lists become numbered sub-messages.
///
/// Errors: NaN/infinite floats, a message inside a list whose first element is a scalar
/// (HyperBEAM cannot encode that either), and nesting deeper than [`MAX_DEPTH`].
pub fn from(msg: &Message) -> Result<Message, Error> {
    // A copy encoded where it is: one implementation for both forms, and copying the message
    // costs no more than building a new one entry by entry did. The top level's private keys,
    // which the encoder drops, are left out of the copy. A nested message is copied whole:
    // whether it is empty (`§1.3`) is asked of it as it is, private keys included, so
    // `{"a": {"priv_x": ""}}` encodes `a` as a message (`{}`), not as `empty-message`.
    let entries = msg
        .iter()
        .filter(|(key, _)| !key.is_private())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    encode::encode_message(Message::from_entries(entries), 0)
}

/// [`from`] for a message the caller no longer needs: it is encoded where it is, so its
/// binaries and keys are not copied. The result is the same.
///
/// ```
/// use ferrobeam_device_api::Message;
/// let rich = Message::new().with("a", 1).with("b", "text");
/// assert_eq!(
///     ferrobeam_structured::from_owned(rich.clone()).unwrap(),
///     ferrobeam_structured::from(&rich).unwrap()
/// );
/// ```
pub fn from_owned(msg: Message) -> Result<Message, Error> {
    encode::encode_message(msg, 0)
}

/// Decodes a TABM into a rich message (`codecs.md` §2.3).
///
/// Reads `ao-types`, restores `empty-*` entries, decodes typed binaries, turns numbered
/// sub-messages typed `list` back into lists, keeps non-binary values (e.g. from JSON) as they
/// are, and finally drops legacy-TX default values ([`filter_default_tx_keys`]).
///
/// Errors (never panics): malformed `ao-types` or typed values, integers of more than 15
/// digits, non-Erlang float literals, unknown types, non-consecutive list keys, nesting deeper
/// than [`MAX_DEPTH`].
pub fn to(tabm: &Message) -> Result<Message, Error> {
    // As in `from`: a copy decoded where it is.
    decode::decode_message(tabm.clone(), 0)
}

/// [`to`] for a TABM the caller no longer needs: it is decoded where it is, so untyped values
/// and keys are not copied. The result is the same.
///
/// ```
/// use ferrobeam_device_api::Message;
/// let tabm = Message::new().with("a", "1").with("ao-types", r#"a="integer""#).with("b", "text");
/// assert_eq!(
///     ferrobeam_structured::to_owned(tabm.clone()).unwrap(),
///     ferrobeam_structured::to(&tabm).unwrap()
/// );
/// ```
pub fn to_owned(tabm: Message) -> Result<Message, Error> {
    decode::decode_message(tabm, 0)
}

/// HyperBEAM's `encode_value`: a scalar (or scalar list) as `(type name, TABM text)`.
/// Binaries come back unchanged with type `binary`.
///
/// ```
/// use ferrobeam_device_api::Value;
/// use ferrobeam_structured::encode_value;
/// assert_eq!(encode_value(&Value::from(42)).unwrap(), ("integer", b"42".to_vec()));
/// let (ty, text) = encode_value(&Value::List(vec![1.into(), "two".into()])).unwrap();
/// assert_eq!((ty, text.as_slice()), ("list", &br#""(ao-type-integer) 1", "two""#[..]));
/// ```
pub fn encode_value(value: &Value) -> Result<(&'static str, Vec<u8>), Error> {
    encode::encode_scalar(value)
}

/// HyperBEAM's `decode_value`: the value of type `ty` (`integer`, `float`, `atom`, `list`,
/// `map`; case-insensitive) from its TABM text.
///
/// ```
/// use ferrobeam_device_api::Value;
/// use ferrobeam_structured::decode_value;
/// assert_eq!(decode_value("integer", b"-7").unwrap(), Value::from(-7));
/// assert_eq!(decode_value("atom", b"ok").unwrap(), Value::atom("ok"));
/// assert!(decode_value("integer", b"1234567890123456").is_err());
/// ```
pub fn decode_value(ty: &str, text: &[u8]) -> Result<Value, Error> {
    decode::decode_value(ty, text, 0)
}

//! # ferrobeam-httpsig — `httpsig@1.0`
//!
//! Converts TABMs (see `ferrobeam-structured`) to HTTP messages and back, byte for byte as
//! HyperBEAM `main` (v0.8) does (`spec/codecs.md` §4–§7): short binaries travel as headers,
//! nested messages and large values as a deterministic `multipart/form-data` body, ID-keyed
//! values in `ao-ids`; received `signature`/`signature-input` headers become commitments.
//!
//! ```
//! use ferrobeam_device_api::Message;
//! let tabm = Message::new().with("a", "1").with("nested", Message::new().with("b", "2"));
//! let http = ferrobeam_httpsig::to(&tabm).unwrap();
//! assert_eq!(http.header("body-keys"), Some(&b"\"nested\""[..]));
//! let back = ferrobeam_httpsig::from(&http).unwrap();
//! assert_eq!(back.get_message("nested"), tabm.get_message("nested"));
//! ```
//!
//! Also here: signature bases ([`sigbase`]), commitments and the HMAC commitment
//! ([`commitment`]), message IDs ([`id()`], [`id_for_request`]), committed keys
//! ([`committed_keys`]), RSA-PSS-SHA512 verification with any salt length ([`rsa`],
//! [`verify_commitment`], [`verify_received`]), decoding a request with its signatures checked
//! ([`from_request`]) and everything around signing except the private-key operation, which
//! only the node performs ([`prepare_commit`], [`finish_commit`], [`commit_with_host`]).
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod commitment;
mod committed;
mod crypto;
mod decode;
mod encode;
mod error;
mod http;
mod id;
mod keys;
mod multipart;
mod request;
pub mod rsa;
pub mod sigbase;
mod sign;
#[cfg(test)]
mod testing;
mod verify;

pub use commitment::{reset_hmac, Commitment, ReceivedSignature, SignatureInput};
pub use committed::{committed_keys, with_only_committed};
pub use crypto::{address, b64url_decode, content_digest, keyid, signature_name};
use encode::Name;
pub use encode::MAX_HEADER_LENGTH;
pub use error::Error;
pub use http::HttpMessage;
pub use id::{
    combine_ids, id, id_for_request, signed_commitment_ids, unsigned_hmac, unsigned_id, IdMode,
    Selection,
};
pub use request::{
    from_request, signature_status, unverified_reasons, SignatureStatus, SIGNATURE_STATUS,
    UNVERIFIED,
};
pub use sign::{
    commit_with_host, finish_commit, prepare_commit, signing_fields_of, verification_input,
    CommitRequest, VerificationInput,
};
pub use verify::{
    check_content_digest, verify_commitment, verify_received, verify_signed_commitments,
    ReceivedCheck,
};

use ferrobeam_device_api::message::{entries_with_capacity, is_id_shaped, push_clone, push_empty};
use ferrobeam_device_api::{Binary, Entry, Key, Message, Value};
use std::borrow::Cow;

/// Encodes a TABM as an HTTP message (`codecs.md` §5.1): headers sorted by name, plus the
/// body. A message with an HMAC commitment carrying signatures travels with its `signature`
/// and `signature-input` headers.
///
/// Errors: a value that is neither binary nor message, a non-UTF-8 `inline-body-key`, nesting
/// deeper than `ferrobeam_structured::MAX_DEPTH`.
pub fn to(tabm: &Message) -> Result<HttpMessage, Error> {
    let enc = encode_with_signatures(tabm)?;
    Ok(HttpMessage {
        headers: enc
            .headers
            .into_iter()
            .map(|(k, v)| (k.into_string(), v.into_owned()))
            .collect(),
        body: enc.body.into_vec(),
    })
}

/// [`to`] in message form: header names as keys plus `body` (when there is a body).
///
/// ```
/// use ferrobeam_device_api::Message;
/// let tabm = Message::new().with("a", "1").with("body", "text");
/// let http = ferrobeam_httpsig::to_message(&tabm).unwrap();
/// assert_eq!(http.get_str("a"), Some("1"));
/// assert_eq!(http.get_str("body"), Some("text"));
/// assert!(http.get("content-digest").is_some());
/// ```
pub fn to_message(tabm: &Message) -> Result<Message, Error> {
    match encode::headers_only(tabm) {
        Some(out) => Ok(out),
        None => encoded_message(tabm),
    }
}

/// [`to_message`] of a TABM the caller no longer needs: a TABM whose entries are its headers as
/// they are (nearly every TABM a codec stage hands on) is sorted where it is rather than
/// copied. Any other is encoded as [`to_message`] encodes it. The result is the same.
///
/// ```
/// use ferrobeam_device_api::Message;
/// let tabm = Message::new().with("b", "2").with("a", "1");
/// let http = ferrobeam_httpsig::to_message(&tabm).unwrap();
/// assert_eq!(ferrobeam_httpsig::to_message_owned(tabm).unwrap(), http);
/// ```
pub fn to_message_owned(mut tabm: Message) -> Result<Message, Error> {
    if encode::is_headers_only(&tabm) {
        tabm.sort_keys();
        return Ok(tabm);
    }
    encoded_message(&tabm)
}

/// [`to_message`] through the encoder, which takes any TABM.
fn encoded_message(tabm: &Message) -> Result<Message, Error> {
    let enc = encode_with_signatures(tabm)?;
    // Straight into the message: the TABM's keys are taken as they are (normalised already),
    // and since the headers are sorted by name, without searching for duplicates.
    let mut entries = entries_with_capacity(enc.headers.len() + 1);
    for (k, v) in enc.headers {
        match k {
            // A header that is an entry of the TABM, key and value, is that entry copied (most
            // of them: as its bytes).
            Name::Entry(entry) => push_clone(&mut entries, entry),
            // A header the encoder added is written where its entry stays (`push_empty`).
            Name::Added(name) => {
                let (key, value) = push_empty(&mut entries);
                key.clone_from(name);
                if let Value::Binary(bytes) = value {
                    match v {
                        Cow::Owned(v) if v.len() > Binary::INLINE => *bytes = Binary::from(v),
                        v => bytes.extend_from_slice(&v),
                    }
                }
            }
        }
    }
    let mut out = Message::from_sorted(entries);
    let body = enc.body.into_vec();
    if !body.is_empty() {
        out.insert(keys::BODY.clone(), Value::binary(body));
    }
    Ok(out)
}

/// The encoding of `tabm` with the `signature` and `signature-input` headers of its HMAC
/// commitment, if it has one.
fn encode_with_signatures(tabm: &Message) -> Result<encode::Encoded<'_>, Error> {
    let mut enc = encode::encode(tabm)?;
    if let Some((signature, input)) = enc.commitments.and_then(commitment::signature_headers) {
        enc.headers.insert(&keys::SIGNATURE, signature.into());
        enc.headers.insert(&keys::SIGNATURE_INPUT, input.into());
    }
    Ok(enc)
}

/// Decodes an HTTP message into a TABM (`codecs.md` §5.5): every header becomes a field,
/// multipart parts become (nested) fields, `ao-ids` is expanded, signatures become
/// `commitments` (plus the recomputed HMAC commitment) and `content-digest` is dropped.
/// `content-type`, `body-keys` (rebuilt from the parts) and `inline-body-key` stay.
///
/// Header names are matched case-insensitively; repeated headers are joined with `", "`.
///
/// ```
/// use ferrobeam_httpsig::HttpMessage;
/// let http = HttpMessage::new(
///     vec![
///         ("Accept".into(), b"a/b".to_vec()),
///         ("x".into(), b"1".to_vec()),
///         ("accept".into(), b"c/d".to_vec()),
///     ],
///     Vec::new(),
/// );
/// let tabm = ferrobeam_httpsig::from(&http).unwrap();
/// assert_eq!(tabm.get_str("accept"), Some("a/b, c/d"));
/// assert_eq!(tabm.get_str("x"), Some("1"));
/// assert_eq!(tabm.len(), 2);
/// ```
pub fn from(http: &HttpMessage) -> Result<Message, Error> {
    // Nearly always each header comes once: the fields are then taken as they are, without a
    // search per key. A message with fewer keys than headers had a repeated one, and is built
    // again, joining repeated values.
    let mut entries = entries_with_capacity(http.headers.len());
    for (name, value) in &http.headers {
        let key = header_key(name);
        if key.as_str() != "body" {
            entries.push((key, Value::binary(value.as_slice())));
        }
    }
    let count = entries.len();
    let fields = Message::from_entries(entries);
    if fields.len() == count {
        return decode::decode(fields, &http.body);
    }
    let mut fields = Message::with_capacity(http.headers.len());
    for (name, value) in &http.headers {
        let key = header_key(name);
        if key.as_str() == "body" {
            continue;
        }
        match fields.entry(key) {
            Entry::Occupied(Value::Binary(existing)) => {
                existing.extend_from_slice(b", ");
                existing.extend_from_slice(value);
            }
            Entry::Occupied(other) => *other = Value::binary(value.as_slice()),
            Entry::Vacant(place) => {
                place.insert(Value::binary(value.as_slice()));
            }
        }
    }
    decode::decode(fields, &http.body)
}

/// The field key of header `name`: ASCII-lower-cased (even when ID-shaped), then normalised.
/// [`Key::new`] lower-cases every name but an ID-shaped one, so only those are looked at here.
fn header_key(name: &str) -> Key {
    if is_id_shaped(name.as_bytes()) && name.bytes().any(|b| b.is_ascii_uppercase()) {
        Key::new(name.to_ascii_lowercase())
    } else {
        Key::new(name)
    }
}

/// [`from`] for the message form the node passes in: lower-case header names as keys plus
/// `body`. Values must be binaries.
pub fn from_message(http: &Message) -> Result<Message, Error> {
    let mut body: &[u8] = &[];
    for (key, value) in http.iter() {
        let Value::Binary(bytes) = value else {
            return Err(Error::NotTabm {
                key: key.as_str().to_owned(),
                found: value.type_name(),
            });
        };
        if key.as_str() == "body" {
            body = bytes;
        }
    }
    // The fields are copied in the pass that takes out those that do not stay (the signature
    // headers, …): the body and those are left out, not copied and then removed.
    decode::decode_copy(http, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message form's values must be binaries: the first that is not, the body included,
    /// is named in the error, and a message of binaries decodes.
    #[test]
    fn the_message_form_takes_binaries_only() {
        let http = Message::new()
            .with("a", "1")
            .with("n", 2)
            .with("body", Value::List(Vec::new()));
        let err = from_message(&http).unwrap_err();
        assert!(
            matches!(&err, Error::NotTabm { key, found } if key == "n" && *found == "integer"),
            "{err:?}"
        );
        let http = Message::new()
            .with("a", "1")
            .with("body", Value::List(Vec::new()));
        let err = from_message(&http).unwrap_err();
        assert!(
            matches!(&err, Error::NotTabm { key, .. } if key == "body"),
            "{err:?}"
        );
        let http = Message::new().with("a", "1").with("body", "text");
        let tabm = from_message(&http).unwrap();
        assert_eq!(tabm.get_str("a"), Some("1"));
        assert_eq!(tabm.get_str("body"), Some("text"));
    }

    /// Where `to_message` takes its shortcut (every entry a header as it is), its answer is
    /// the encoder's, entries in the same order; every kind of entry the encoder treats
    /// otherwise leaves the shortcut to it.
    #[test]
    fn headers_only_answers_as_the_encoder_does() {
        let id = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
        let plain = [
            ("path", Value::from("/~message@1.0/set")),
            ("accept-encoding", Value::from("gzip")),
            ("accept", Value::from("*/*")),
            ("accept-language", Value::from("*")),
            ("empty", Value::from("")),
            ("ao-types", Value::from("n=\"integer\"")),
            ("ao-ids", Value::from("not expanded")),
            ("content-digest", Value::from("sha-256=:x:")),
            ("long", Value::binary(vec![b'x'; encode::MAX_HEADER_LENGTH])),
        ];
        // Every subset of the plain entries, inserted in reverse order as well as in order.
        for subset in 0u32..1 << plain.len() {
            for reverse in [false, true] {
                let mut entries: Vec<_> = (0..plain.len())
                    .filter(|i| subset & 1 << i != 0)
                    .map(|i| plain[i].clone())
                    .collect();
                if reverse {
                    entries.reverse();
                }
                let mut tabm = Message::new();
                for (k, v) in entries {
                    tabm.insert(k, v);
                }
                let fast = encode::headers_only(&tabm).expect("plain entries take the shortcut");
                let slow = encoded_message(&tabm).unwrap();
                assert_eq!(fast, slow);
                assert!(fast.keys().eq(slow.keys()), "{fast:?} / {slow:?}");
                // The TABM handed over answers the same, sorted where it is.
                let owned = to_message_owned(tabm).unwrap();
                assert!(owned.iter().eq(slow.iter()), "{owned:?} / {slow:?}");
            }
        }
        let others = [
            ("body", Value::from("text")),
            ("body", Value::from("")),
            ("data", Value::from("text")),
            ("inline-body-key", Value::from("x")),
            ("priv_x", Value::from("secret")),
            (id, Value::from("an id's value")),
            ("commitments", Value::Message(Message::new())),
            (
                "long",
                Value::binary(vec![b'x'; encode::MAX_HEADER_LENGTH + 1]),
            ),
            ("nested", Value::Message(Message::new().with("a", "1"))),
            ("n", Value::from(1)),
        ];
        // Every name the encoder leaves unsent (so a name added there must be added to the
        // shortcut's check) or may send as the body, as a plain binary.
        let named = encode::NOT_SENT
            .names()
            .iter()
            .chain(&["body", "data", "inline-body-key"])
            .map(|&name| (name, Value::from("x")));
        for (k, v) in others.into_iter().chain(named) {
            let tabm = Message::new().with("a", "1").with(k, v).with("z", "2");
            assert!(encode::headers_only(&tabm).is_none(), "{k}");
            // Handed over, it is encoded as when borrowed.
            let borrowed = to_message(&tabm).map_err(|e| e.to_string());
            let owned = to_message_owned(tabm).map_err(|e| e.to_string());
            assert_eq!(owned, borrowed, "{k}");
        }
    }

    /// A header name becomes the key of its ASCII-lower-cased text, normalised: ID-shaped
    /// names included, which [`Key::new`] alone would leave in their case.
    #[test]
    fn header_keys_are_ascii_lower_cased_then_normalised() {
        let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
        assert_eq!(id.len(), 43);
        for name in [
            "",
            "accept",
            "Accept-Encoding",
            "X-ÄRGER",
            "straße",
            id,
            &id.to_ascii_lowercase(),
            &id[..32],
            &id[..42],
            &id[..41],
            "ÄbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abc",
        ] {
            assert_eq!(
                header_key(name),
                Key::new(name.to_ascii_lowercase()),
                "{name:?}"
            );
        }
        assert_eq!(header_key(id).as_str(), id.to_ascii_lowercase());
    }
}

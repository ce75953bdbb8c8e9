//! Committed keys (`codecs.md` §6.7): which fields of a message its signatures cover.
//!
//! A signed HTTP request carries fields nobody signed (`host`, `user-agent`, anything a proxy
//! adds); HyperBEAM keeps only the committed ones (`§10.1`), so a signature can never lend its
//! authority to a field added in transit.

use crate::commitment::{Commitment, SignatureInput};
use crate::Error;
use ferrobeam_device_api::{Key, Message, Value};
use ferrobeam_structured::sf;
use std::collections::BTreeSet;

/// The keys commitment `commitment_id` of `msg` covers (`§6.7`): its components without `@`,
/// plus `signature` and `signature-input`; when `ao-types` is covered, the keys it types as
/// `empty-*` (or, in a typed message, the keys holding an empty value); when `content-digest`
/// is covered, `body`, `inline-body-key`, the inline key and the first segment of every
/// `body-keys` entry.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::committed_keys;
/// let commitment = Message::new()
///     .with("commitment-device", "httpsig@1.0")
///     .with("alg", "rsa-pss-sha512")
///     .with("signature", "http-sig-1=:AAAA:")
///     .with("signature-input", r#"http-sig-1=("@path" "a" "content-digest");alg="rsa-pss-sha512";keyid="k""#);
/// let msg = Message::new().with("a", "1").with("body", "b").with("x", "unsigned")
///     .with("commitments", Message::new().with("id", commitment));
/// let keys = committed_keys(&msg, &["id"]).unwrap();
/// assert!(keys.contains("path") && keys.contains("a") && keys.contains("body"));
/// assert!(!keys.contains("x"));
/// ```
pub fn committed_keys(msg: &Message, commitment_ids: &[&str]) -> Result<BTreeSet<String>, Error> {
    let commitments = msg
        .get_message("commitments")
        .ok_or_else(|| Error::Commitment("the message has no commitments".to_owned()))?;
    let mut out: Option<BTreeSet<String>> = None;
    for id in commitment_ids {
        let c = commitments
            .get_message(id)
            .ok_or_else(|| Error::UnknownCommitment((*id).to_owned()))?;
        let keys = keys_of(msg, c)?;
        out = Some(match out {
            None => keys,
            Some(prev) => prev.intersection(&keys).cloned().collect(),
        });
    }
    Ok(out.unwrap_or_default())
}

/// `msg` with only the `keys` given, its `commitments` and its private keys.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::with_only_committed;
/// let msg = Message::new().with("a", "1").with("host", "x").with("commitments", Message::new());
/// let kept = with_only_committed(&msg, &["a".to_owned()].into_iter().collect());
/// assert_eq!(kept.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "commitments"]);
/// ```
pub fn with_only_committed(msg: &Message, keys: &BTreeSet<String>) -> Message {
    let mut out = Message::with_capacity(keys.len() + 1);
    for (k, v) in msg.iter() {
        if keys.contains(k.as_str()) || k.as_str() == "commitments" || k.is_private() {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn keys_of(msg: &Message, commitment: &Message) -> Result<BTreeSet<String>, Error> {
    let typed = Commitment::from_message(commitment)?;
    let input = typed
        .signature_input
        .ok_or_else(|| Error::Commitment("signature-input missing".to_owned()))?;
    let members = sf::parse_dictionary(&input).map_err(Error::sf("signature-input"))?;
    let (name, member) = members
        .first()
        .ok_or_else(|| Error::Signature("empty signature-input".to_owned()))?;
    let components = SignatureInput::from_member(name, member)?.components;
    let mut keys: BTreeSet<String> = components
        .iter()
        .map(|c| Key::new(c.strip_prefix('@').unwrap_or(c)).into_string())
        .collect();
    keys.insert("signature".to_owned());
    keys.insert("signature-input".to_owned());
    if keys.contains("ao-types") {
        keys.extend(empty_typed_keys(msg)?);
    }
    if keys.contains("content-digest") {
        keys.insert("body".to_owned());
        keys.insert("inline-body-key".to_owned());
        if let Some(inline) = msg.get_str("inline-body-key") {
            keys.insert(Key::new(inline).into_string());
        }
        if let Some(Value::Binary(body_keys)) = msg.get("body-keys") {
            keys.extend(body_key_heads(body_keys)?);
        }
    }
    Ok(keys)
}

/// Keys whose value travels only as an `ao-types` entry: typed `empty-*` in a TABM, or holding
/// an empty value in a typed message (where `ao-types` has been consumed).
fn empty_typed_keys(msg: &Message) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    if let Some(Value::Binary(types)) = msg.get("ao-types") {
        for (key, ty) in ferrobeam_structured::parse_ao_types(types)? {
            if ty.starts_with("empty-") {
                out.push(key.into_string());
            }
        }
    }
    for (k, v) in msg.iter() {
        let empty = match v {
            Value::Binary(b) => b.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Message(m) => ferrobeam_structured::is_empty_message(m),
            _ => false,
        };
        if empty {
            out.push(k.as_str().to_owned());
        }
    }
    Ok(out)
}

/// The first path segment of every `body-keys` entry.
fn body_key_heads(body_keys: &[u8]) -> Result<Vec<String>, Error> {
    let list = sf::parse_list(body_keys).map_err(Error::sf("body-keys"))?;
    Ok(list
        .iter()
        .filter_map(|m| m.as_item()?.bare.as_text_bytes())
        .filter_map(|b| std::str::from_utf8(b).ok())
        .filter_map(|name| name.split('/').find(|s| !s.is_empty()))
        .map(|head| Key::new(head).into_string())
        .collect())
}

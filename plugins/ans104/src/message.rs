//! Data item ⇄ message, as HyperBEAM's `ans104@1.0` maps them.
//!
//! **Item → message.** Each tag becomes a key (names normalised: lower-cased unless
//! ID-shaped); repeated names become one structured-field list of strings. `data` (when not
//! empty) is the key `data`; the target and anchor, when present, are `target` and `last_tx` as
//! base64url IDs. A signed item gets one commitment, keyed by its ID:
//! `{commitment-device: ans104@1.0, alg: rsa-pss, committer, owner, signature}` (`owner` and
//! `signature` as base64url text, so that every codec — JSON included — can carry the message;
//! HyperBEAM keeps them raw, and raw 512-byte values are read too), plus
//! `original-tags` (`{"1": {name, value}, …}`) unless the tags are normalised, unique and sorted
//! (HyperBEAM adds it only for names that are not normalised, and so cannot re-verify items with
//! repeated or unsorted tags), so the exact item — tag case, order and repeats — can always be
//! rebuilt and re-verified. Unlike HyperBEAM, `bundle-*` tags are kept: `data` stays the item's
//! bytes, and dropping signed tags would make the item unverifiable.
//!
//! A tag whose key is taken by a field the item has — aoconnect's `Target` tag next to the
//! item's target, a `Data` tag next to its data — or named `tags` goes, with its name as sent,
//! to an explicit `tags` list of `{name, value}` messages (the AOS runtime reads it as
//! `msg.Tags`, docs/lua.md), so neither the field nor the tag is lost.
//!
//! **Message → item.** The inverse: the single `ans104@1.0` commitment gives owner and
//! signature; with `original-tags` the message must be exactly what those tags and its fields
//! map to (else it was changed after signing), otherwise every remaining key is a tag, in
//! sorted order, followed by the explicit `tags`.

use crate::item::{check_tags, DataItem, Tag, RSA_4096_BYTES};
use crate::{b64, unb64, Error};
use ferrobeam_device_api::{Key, Message, Value};

/// The codec's name, as commitments name it.
pub const DEVICE: &str = "ans104@1.0";
/// The commitment algorithm HyperBEAM records for ANS-104 signatures.
pub const ALG: &str = "rsa-pss";
/// Keys that are fields of the item rather than tags.
const TARGET: &str = "target";
const ANCHOR: &str = "last_tx";
const DATA: &str = "data";
/// Tags whose names collide with a field's key, as `[{name, value}]`.
const TAGS: &str = "tags";

/// The message of a data item (see the module documentation).
pub fn from_item(item: &DataItem) -> Result<Message, Error> {
    let mut msg = Message::with_capacity(item.tags.len() + 4);
    // Keys the item's own fields take; a tag of the same name (aoconnect's `Target` tag next to
    // the target field, say) goes to the explicit `tags` list instead, as {name, value}.
    let fields: Vec<&str> = [
        (TARGET, item.target.is_some()),
        (ANCHOR, item.anchor.is_some()),
        (DATA, !item.data.is_empty()),
        (TAGS, true),
    ]
    .into_iter()
    .filter_map(|(k, present)| present.then_some(k))
    .collect();
    let mut explicit: Vec<Value> = Vec::new();
    // Without `original-tags`, the item is rebuilt with one tag per key in sorted order: that is
    // exact only when the tags already are normalised, unique, sorted and take no field's key.
    let mut reproducible = true;
    let mut previous: Option<&[u8]> = None;
    for tag in &item.tags {
        let name = std::str::from_utf8(&tag.name)
            .map_err(|_| Error::Unrepresentable("a tag name is not UTF-8".into()))?;
        let key = Key::new(name);
        reproducible &= key.as_str() == name && previous.is_none_or(|p| p < tag.name.as_slice());
        previous = Some(&tag.name);
        if fields.contains(&key.as_str()) {
            reproducible = false;
            explicit.push(Value::Message(
                Message::new()
                    .with("name", tag.name.clone())
                    .with("value", tag.value.clone()),
            ));
            continue;
        }
        let merged = match msg.remove(key.as_str()) {
            None => Value::binary(tag.value.as_slice()),
            Some(Value::List(mut values)) => {
                values.push(Value::binary(tag.value.as_slice()));
                Value::List(values)
            }
            Some(first) => Value::List(vec![first, Value::binary(tag.value.as_slice())]),
        };
        msg.insert(key, merged);
    }
    // Repeated tags: one structured-field list of strings (HyperBEAM's `deduplicating_from_list`).
    for (_, value) in msg.iter_mut() {
        if let Value::List(items) = value {
            *value = Value::binary(sf_string_list(items)?);
        }
    }
    if !explicit.is_empty() {
        msg.insert(TAGS, Value::List(explicit));
    }
    if let Some(target) = &item.target {
        msg.insert(TARGET, b64(target));
    }
    if let Some(anchor) = &item.anchor {
        msg.insert(ANCHOR, b64(anchor));
    }
    if !item.data.is_empty() {
        msg.insert(DATA, item.data.clone());
    }
    if item.is_signed() {
        let mut commitment = Message::new()
            .with("commitment-device", DEVICE)
            .with("alg", ALG)
            .with("committer", item.owner_address())
            .with("owner", b64(&item.owner))
            .with("signature", b64(&item.signature));
        if !reproducible {
            commitment.insert("original-tags", original_tags(&item.tags));
        }
        msg.insert("commitments", Message::new().with(item.id(), commitment));
    }
    Ok(msg)
}

/// The data item a message stands for (see the module documentation). Private keys are
/// ignored; `commitments` other than the `ans104@1.0` one (e.g. an HMAC) are ignored.
pub fn to_item(msg: &Message) -> Result<DataItem, Error> {
    let commitment = ans104_commitment(msg)?;
    let mut rest = msg.without_private();
    rest.remove("commitments");
    let target = rest
        .remove(TARGET)
        .map(|v| raw_id(&v, TARGET))
        .transpose()?;
    let anchor = rest
        .remove(ANCHOR)
        .map(|v| raw_id(&v, ANCHOR))
        .transpose()?;
    let data = match rest.remove(DATA) {
        None => Vec::new(),
        Some(Value::Binary(b)) => b.into_vec(),
        Some(other) => {
            return Err(Error::Unrepresentable(format!(
                "`data` is a {}, not bytes",
                other.type_name()
            )))
        }
    };
    let original = commitment
        .and_then(|(_, c)| c.get_message("original-tags"))
        .map(tags_from_map)
        .transpose()?;
    let tags = match original {
        Some(tags) => {
            // The message must be exactly what the signed item maps to.
            let mut candidate = DataItem::unsigned(tags.clone(), data.clone());
            candidate.target = target;
            candidate.anchor = anchor;
            let expected = from_item(&candidate)?;
            let mut given = msg.without_private();
            given.remove("commitments");
            if sorted(&expected) != sorted(&given) {
                return Err(Error::Commitment(describe_difference(&expected, &given)));
            }
            tags
        }
        None => {
            let explicit = match rest.remove(TAGS) {
                None => Vec::new(),
                Some(Value::List(items)) => items
                    .iter()
                    .map(|t| {
                        let field = |k: &str| {
                            t.as_message()
                                .and_then(|m| m.get(k))
                                .and_then(Value::as_bytes)
                                .map(<[u8]>::to_vec)
                        };
                        match (field("name"), field("value")) {
                            (Some(name), Some(value)) => Ok(Tag { name, value }),
                            _ => Err(Error::Unrepresentable(
                                "`tags` must be a list of {name, value} messages".into(),
                            )),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(other) => {
                    return Err(Error::Unrepresentable(format!(
                        "`tags` is a {}, not a list of {{name, value}} messages",
                        other.type_name()
                    )))
                }
            };
            let mut tags = Vec::with_capacity(rest.len() + explicit.len());
            let mut keys: Vec<&Key> = rest.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_str().as_bytes().cmp(b.as_str().as_bytes()));
            for key in keys {
                let value = match rest.get(key.as_str()) {
                    Some(Value::Binary(b)) => b.to_vec(),
                    Some(other) => {
                        return Err(Error::Unrepresentable(format!(
                            "`{key}` is a {}: an ANS-104 tag is text (encode typed values with structured@1.0 first; nested messages are not supported)",
                            other.type_name()
                        )))
                    }
                    None => continue,
                };
                tags.push(Tag {
                    name: key.as_str().as_bytes().to_vec(),
                    value,
                });
            }
            tags.extend(explicit);
            tags
        }
    };
    check_tags(&tags)?;
    let mut item = DataItem::unsigned(tags, data);
    item.target = target;
    item.anchor = anchor;
    if let Some((id, c)) = commitment {
        item.owner = bytes_field(c, "owner")?;
        item.signature = bytes_field(c, "signature")?;
        if item.id() != id {
            return Err(Error::Commitment(format!(
                "it is keyed {id} but its signature's ID is {}",
                item.id()
            )));
        }
    }
    Ok(item)
}

/// Rebuilds the item a message stands for and checks its signature: `Ok(id)` when the message
/// is exactly what its `ans104@1.0` commitment signed.
pub fn verify_message(msg: &Message) -> Result<String, Error> {
    if ans104_commitment(msg)?.is_none() {
        return Err(Error::Commitment(
            "the message has no ans104@1.0 commitment".into(),
        ));
    }
    let item = to_item(msg)?;
    item.verify()?;
    Ok(item.id())
}

/// Whether a message carries an `ans104@1.0` commitment.
pub fn is_ans104_committed(msg: &Message) -> bool {
    matches!(ans104_commitment(msg), Ok(Some(_)))
}

/// The keys an `ans104@1.0` commitment covers: every tag's key, `data`, `target`, `last_tx`
/// (those the message has), and `commitments`. `None` without such a commitment.
pub fn committed_keys(msg: &Message) -> Option<Vec<String>> {
    let (_, c) = ans104_commitment(msg).ok().flatten()?;
    let mut keys: Vec<String> = match c.get_message("original-tags").map(tags_from_map) {
        Some(Ok(tags)) => tags
            .iter()
            .map(|t| Key::new(String::from_utf8_lossy(&t.name)).into_string())
            .collect(),
        _ => msg
            .keys()
            .filter(|k| !k.is_private() && k.as_str() != "commitments")
            .map(|k| k.as_str().to_owned())
            .collect(),
    };
    for field in [TARGET, ANCHOR, DATA] {
        if msg.contains_key(field) {
            keys.push(field.to_owned());
        }
    }
    keys.push("commitments".to_owned());
    keys.sort_unstable();
    keys.dedup();
    Some(keys)
}

fn ans104_commitment(msg: &Message) -> Result<Option<(&str, &Message)>, Error> {
    let Some(commitments) = msg.get_message("commitments") else {
        return Ok(None);
    };
    let mut found = commitments.iter().filter_map(|(id, c)| {
        let c = c.as_message()?;
        (c.get_str("commitment-device") == Some(DEVICE)).then_some((id.as_str(), c))
    });
    let first = found.next();
    if found.next().is_some() {
        return Err(Error::Unrepresentable(
            "an ANS-104 item has one signer; the message has several ans104@1.0 commitments".into(),
        ));
    }
    Ok(first)
}

fn original_tags(tags: &[Tag]) -> Message {
    let mut map = Message::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        map.insert(
            (i + 1).to_string(),
            Message::new()
                .with("name", tag.name.clone())
                .with("value", tag.value.clone()),
        );
    }
    map
}

fn tags_from_map(map: &Message) -> Result<Vec<Tag>, Error> {
    let mut numbered: Vec<(u64, &Message)> = Vec::with_capacity(map.len());
    for (k, v) in map.iter() {
        let n = k
            .as_str()
            .parse::<u64>()
            .map_err(|_| Error::Commitment(format!("original-tags key `{k}` is not a number")))?;
        let tag = v
            .as_message()
            .ok_or_else(|| Error::Commitment(format!("original-tags/{k} is not a message")))?;
        numbered.push((n, tag));
    }
    numbered.sort_unstable_by_key(|(n, _)| *n);
    numbered
        .into_iter()
        .map(|(n, tag)| {
            let field = |name: &str| {
                tag.get(name)
                    .and_then(Value::as_bytes)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| Error::Commitment(format!("original-tags/{n} has no {name}")))
            };
            Ok(Tag {
                name: field("name")?,
                value: field("value")?,
            })
        })
        .collect()
}

fn sorted(msg: &Message) -> Message {
    let mut m = msg.clone();
    m.sort_keys();
    m
}

fn describe_difference(signed: &Message, given: &Message) -> String {
    let mut out = Vec::new();
    for (k, v) in signed.iter() {
        match given.get(k.as_str()) {
            None => out.push(format!("`{k}` was signed but is missing")),
            Some(g) if g != v => out.push(format!("`{k}` differs from the signed value")),
            Some(_) => {}
        }
    }
    for k in given.keys() {
        if !signed.contains_key(k.as_str()) {
            out.push(format!("`{k}` was not signed"));
        }
    }
    out.join("; ")
}

fn raw_id(v: &Value, key: &str) -> Result<[u8; 32], Error> {
    let bytes = v
        .as_bytes()
        .ok_or_else(|| Error::Unrepresentable(format!("`{key}` is not an ID")))?;
    let raw = match bytes.len() {
        32 => bytes.to_vec(),
        43 => unb64(bytes)
            .ok_or_else(|| Error::Unrepresentable(format!("`{key}` is not base64url")))?,
        n => {
            return Err(Error::Unrepresentable(format!(
                "`{key}` must be a 43-character ID or 32 raw bytes, not {n} bytes"
            )))
        }
    };
    raw.try_into()
        .map_err(|_| Error::Unrepresentable(format!("`{key}` is not 32 bytes")))
}

/// `owner` and `signature`: base64url text (as ferrobeam writes them, so every codec can carry
/// them), or the raw 512 bytes (as HyperBEAM keeps them).
fn bytes_field(c: &Message, key: &str) -> Result<Vec<u8>, Error> {
    let raw = c
        .get(key)
        .and_then(Value::as_bytes)
        .ok_or_else(|| Error::Commitment(format!("the commitment has no `{key}`")))?;
    let decoded;
    let bytes = if raw.len() == RSA_4096_BYTES {
        raw
    } else {
        decoded = unb64(raw).ok_or_else(|| {
            Error::Commitment(format!("the commitment's `{key}` is not base64url"))
        })?;
        decoded.as_slice()
    };
    if bytes.len() != RSA_4096_BYTES {
        return Err(Error::Commitment(format!(
            "the commitment's `{key}` is {} bytes, not {RSA_4096_BYTES}",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

/// A structured-field list of strings: `"a", "b"` (quotes and backslashes escaped).
fn sf_string_list(items: &[Value]) -> Result<String, Error> {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let text = item
            .as_bytes()
            .and_then(|b| std::str::from_utf8(b).ok())
            .filter(|s| s.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .ok_or_else(|| {
                Error::Unrepresentable(
                    "a repeated tag has a value that is not printable ASCII".into(),
                )
            })?;
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: &str, v: &str) -> Tag {
        Tag::new(n, v)
    }

    #[test]
    fn tags_become_normalised_keys_and_repeats_a_list() {
        let item = DataItem::unsigned(
            vec![tag("Action", "Transfer"), tag("x", "1"), tag("X", "2")],
            b"hi".to_vec(),
        );
        let msg = from_item(&item).unwrap();
        assert_eq!(msg.get_str("action"), Some("Transfer"));
        assert_eq!(msg.get_str("x"), Some("\"1\", \"2\""));
        assert_eq!(msg.get_str("data"), Some("hi"));
        assert!(!msg.contains_key("commitments"));
    }

    #[test]
    fn an_unsigned_message_becomes_an_item_with_sorted_tags() {
        let msg = Message::new()
            .with("b", "2")
            .with("a", "1")
            .with("data", "payload")
            .with("target", "A".repeat(43));
        let item = to_item(&msg).unwrap();
        assert_eq!(item.tags, vec![tag("a", "1"), tag("b", "2")]);
        assert_eq!(item.data, b"payload");
        assert!(item.target.is_some());
        assert_eq!(from_item(&item).unwrap(), sorted_with_target(&msg));
    }

    fn sorted_with_target(m: &Message) -> Message {
        let mut out = Message::new();
        for k in ["a", "b"] {
            out.insert(k, m.get(k).cloned().unwrap());
        }
        out.insert("target", m.get("target").cloned().unwrap());
        out.insert("data", m.get("data").cloned().unwrap());
        out
    }

    #[test]
    fn typed_and_nested_values_are_refused() {
        let msg = Message::new().with("n", 1);
        assert!(matches!(to_item(&msg), Err(Error::Unrepresentable(_))));
        let msg = Message::new().with("m", Message::new());
        assert!(matches!(to_item(&msg), Err(Error::Unrepresentable(_))));
    }
}

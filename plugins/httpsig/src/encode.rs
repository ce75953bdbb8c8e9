//! TABM → HTTP message (`codecs.md` §5.1–§5.4).

use crate::multipart::{Multipart, PartValue};
use crate::{keys, Error};
use ferrobeam_device_api::message::{is_id_shaped, KeySet};
use ferrobeam_device_api::{Key, Message, Value};
use ferrobeam_structured::{map_order, sf, MAX_DEPTH};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Binaries longer than this travel in the body rather than in a header (`§5.1` step 4).
pub const MAX_HEADER_LENGTH: usize = 4096;

/// TABM keys never sent (`§5.1` step 2); private keys are dropped as well.
pub(crate) const NOT_SENT: KeySet<3> = KeySet::new(["commitments", "signature", "signature-input"]);

/// The keys that keep a TABM's entries from being its headers as they are ([`headers_only`]):
/// [`NOT_SENT`]'s, and the body's (`body`, `data`, `inline-body-key`). The test
/// `headers_only_answers_as_the_encoder_does` checks that they are.
const NOT_HEADERS: KeySet<6> = KeySet::new([
    "commitments",
    "signature",
    "signature-input",
    "body",
    "data",
    "inline-body-key",
]);

/// The encoder's output: header fields (sorted by name) and the body. Names and values are
/// borrowed from the TABM where they can be, so a signature base over them copies nothing; the
/// `content-digest` header is already among the headers, so the body is only built when sent.
#[derive(Default)]
pub(crate) struct Encoded<'a> {
    pub headers: Headers<'a>,
    pub body: Body<'a>,
    /// The TABM's `commitments`, which is never sent but gives the signature headers
    /// ([`crate::commitment::signature_headers`]): found in the encoder's pass over the keys
    /// rather than searched for again.
    pub commitments: Option<&'a Value>,
}

/// A header name: a key of the TABM, which is a normalised [`Key`] already, or a name the
/// encoder adds, one of [`crate::keys`]. Either way the message form
/// ([`crate::to_message`]) takes the key as it is instead of normalising its text again.
pub(crate) enum Name<'a> {
    /// A key of the encoded message whose header value is that entry's binary, as it is: the
    /// message form ([`crate::to_message`]) copies the entry whole. [`Headers::insert`] keeps
    /// this true, since a value replaced comes with its own name.
    Entry(&'a (Key, Value)),
    /// A name the encoder adds, one of [`crate::keys`].
    Added(&'static Key),
}

impl Name<'_> {
    /// The name as a key.
    #[inline]
    pub fn key(&self) -> &Key {
        match *self {
            Name::Entry((key, _)) => key,
            Name::Added(key) => key,
        }
    }

    /// The name's text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.key().as_str()
    }

    /// The order of two names, as of their texts: compared as keys, which most tell apart by
    /// their first bytes without reading the texts.
    #[inline]
    fn cmp_name(&self, other: &Name<'_>) -> std::cmp::Ordering {
        self.key().cmp(other.key())
    }

    /// The name as a message key.
    pub fn into_key(self) -> Key {
        self.key().clone()
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.as_str().to_owned()
    }
}

impl From<&'static Key> for Name<'_> {
    fn from(key: &'static Key) -> Self {
        Name::Added(key)
    }
}

impl PartialEq<&str> for Name<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Header fields kept sorted by name, one value per name: a sorted vector, since a message has
/// a handful of headers and a tree would allocate a node for them.
#[derive(Default)]
pub(crate) struct Headers<'a>(Vec<(Name<'a>, Cow<'a, [u8]>)>);

impl<'a> Headers<'a> {
    /// Sets header `name` to `value` (replacing an earlier value).
    pub fn insert(&mut self, name: impl Into<Name<'a>>, value: Cow<'a, [u8]>) {
        let name = name.into();
        // Messages arrive with their keys mostly in order (the structured codec sorts them).
        if self
            .0
            .last()
            .is_none_or(|(last, _)| last.cmp_name(&name).is_lt())
        {
            self.0.push((name, value));
            return;
        }
        match self.0.binary_search_by(|(n, _)| n.cmp_name(&name)) {
            // The name too: a `Name::Entry` stands for its entry's value, which this replaces.
            Ok(i) => self.0[i] = (name, value),
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    /// The value of header `name`.
    pub fn get(&self, name: &str) -> Option<&Cow<'a, [u8]>> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The header names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = (Name<'a>, Cow<'a, [u8]>);
    type IntoIter = std::vec::IntoIter<Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The body of an encoded message, not yet written out.
#[derive(Default)]
pub(crate) enum Body<'a> {
    /// No body.
    #[default]
    Empty,
    /// One binary sent as the whole body.
    Raw(Cow<'a, [u8]>),
    /// A `multipart/form-data` body.
    Multipart(Multipart<'a>),
}

impl Body<'_> {
    /// The body bytes (empty = no body).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Body::Empty => Vec::new(),
            Body::Raw(b) => b.into_owned(),
            Body::Multipart(mp) => mp.to_vec(),
        }
    }

    /// The `content-digest` of a non-empty body.
    fn content_digest(&self) -> Option<String> {
        match self {
            Body::Empty => None,
            Body::Raw(b) if b.is_empty() => None,
            Body::Raw(b) => Some(crate::content_digest(b)),
            Body::Multipart(mp) => Some(mp.content_digest()),
        }
    }
}

/// A top-level value bound for the body.
enum BodyEntry<'a> {
    Binary(Cow<'a, [u8]>),
    Message(&'a Message),
}

/// Encodes a TABM as header fields and a body (without signature headers).
pub(crate) fn encode(tabm: &Message) -> Result<Encoded<'_>, Error> {
    encode_skipping(tabm, &[])
}

/// The HTTP message (in the message form: header names plus `body`) of a TABM whose every
/// entry is a header as it is, which [`encode`] would copy and nothing more: binaries of a
/// header's length, under keys that are not private, not an ID's shape, not left unsent and not
/// a body's (`body`, `data`, `inline-body-key`). Nearly every message a codec stage hands on is
/// one (`structured@1.0` leaves only binaries), and for it the headers are the entries, copied
/// and sorted. `None` for any other TABM, which [`encode`] encodes.
pub(crate) fn headers_only(tabm: &Message) -> Option<Message> {
    if !is_headers_only(tabm) {
        return None;
    }
    // The TABM is nearly always sorted already (the structured codec sorts it), which the
    // sort finds in one comparison per entry.
    let mut out = tabm.clone();
    out.sort_keys();
    Some(out)
}

/// Whether every entry of `tabm` is a header as it is ([`headers_only`]).
pub(crate) fn is_headers_only(tabm: &Message) -> bool {
    // Each test reads the key's prefix or tag, not its text (but for the few keys that
    // `NOT_HEADERS`' filter lets through).
    tabm.entries().iter().all(|(key, value)| {
        matches!(value, Value::Binary(b) if b.len() <= MAX_HEADER_LENGTH)
            && !key.is_private()
            && !key.is_id_shaped()
            && !NOT_HEADERS.contains(key)
    })
}

/// [`encode`] as if the top-level keys in `skip` were absent.
pub(crate) fn encode_skipping<'a>(tabm: &'a Message, skip: &[&str]) -> Result<Encoded<'a>, Error> {
    let (inline_key, inline_header) = inline_key(tabm, skip)?;
    let mut out = Encoded {
        // Room for every key plus what the encoder adds, so the list never grows.
        headers: Headers(Vec::with_capacity(tabm.len() + 4)),
        body: Body::Empty,
        commitments: None,
    };
    if inline_header {
        out.headers
            .insert(&keys::INLINE_BODY_KEY, Cow::Borrowed(b"data"));
    }
    let mut body: Vec<(&str, BodyEntry<'_>)> = Vec::new();
    let mut ids: Vec<(&str, &[u8])> = Vec::new();
    // The raw body's key is nearly always `body`, which each key is compared with anyway.
    let inline_is_body = inline_key == "body";
    for entry in tabm.entries() {
        let (key, value) = entry;
        let k = key.as_str();
        // Keys compared as keys: `NOT_SENT`'s filter tells nearly every one apart from its names.
        if key.is_private() || NOT_SENT.contains(key) || skip.contains(&k) {
            if *key == "commitments" {
                out.commitments = Some(value);
            }
            continue;
        }
        // Header names are case-insensitive, so binary values under ID keys travel in
        // `ao-ids`, which keeps their case (`§5.1` step 1).
        if is_id_shaped(k.as_bytes()) {
            if let Value::Binary(b) = value {
                ids.push((k, b));
                continue;
            }
        }
        match value {
            Value::Message(m) => body.push((k, BodyEntry::Message(m))),
            Value::Binary(b) => {
                let inline = *key == "body" || (!inline_is_body && k == inline_key);
                if inline || b.len() > MAX_HEADER_LENGTH {
                    body.push((k, BodyEntry::Binary(Cow::Borrowed(b))));
                } else {
                    out.headers.insert(Name::Entry(entry), Cow::Borrowed(b));
                }
            }
            other => {
                return Err(Error::NotTabm {
                    key: k.to_owned(),
                    found: other.type_name(),
                })
            }
        }
    }
    if !ids.is_empty() {
        let field = ao_ids_field(ids);
        if field.len() > MAX_HEADER_LENGTH || inline_key == "ao-ids" {
            body.push(("ao-ids", BodyEntry::Binary(Cow::Owned(field))));
        } else {
            out.headers.insert(&keys::AO_IDS, Cow::Owned(field));
        }
    }
    let parts = group_parts(body)?;
    match parts.len() {
        0 => {}
        1 if matches!(parts.get(inline_key), Some(PartValue::Binary(_))) => {
            if let Some(PartValue::Binary(b)) = parts.into_values().next() {
                out.body = Body::Raw(b);
            }
        }
        _ => {
            let mut mp = Multipart::new(parts, inline_key);
            out.headers.insert(
                &keys::BODY_KEYS,
                Cow::Owned(std::mem::take(&mut mp.body_keys)),
            );
            out.headers
                .insert(&keys::CONTENT_TYPE, Cow::Owned(content_type(&mp.boundary)));
            out.body = Body::Multipart(mp);
        }
    }
    if let Some(digest) = out.body.content_digest() {
        out.headers
            .insert(&keys::CONTENT_DIGEST, Cow::Owned(digest.into_bytes()));
    }
    Ok(out)
}

/// The `content-type` of a multipart body with `boundary`.
fn content_type(boundary: &str) -> Vec<u8> {
    const PREFIX: &[u8] = b"multipart/form-data; boundary=\"";
    let mut out = Vec::with_capacity(PREFIX.len() + boundary.len() + 1);
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(boundary.as_bytes());
    out.push(b'"');
    out
}

/// Up to this many keys, [`inline_key`] reads every key once rather than searching three times
/// (the size up to which a `Message` is searched by scanning anyway).
const ONE_PASS_LIMIT: usize = 16;

/// The key whose value becomes the raw body (`§5.1` step 3), and whether the header
/// `inline-body-key: data` must be added.
fn inline_key<'a>(tabm: &'a Message, skip: &[&str]) -> Result<(&'a str, bool), Error> {
    let wanted = |k: &str| !skip.contains(&k);
    // The three keys, found in one pass over a message of a handful of keys (three searches
    // cost more), and by search in a larger one.
    let (inline, body, data) = if tabm.len() <= ONE_PASS_LIMIT {
        let (mut inline, mut body, mut data) = (None, false, false);
        for (key, value) in tabm.iter() {
            match key.as_str() {
                "inline-body-key" => inline = Some(value),
                "body" => body = true,
                "data" => data = true,
                _ => {}
            }
        }
        (inline, body, data)
    } else {
        let inline = tabm.get("inline-body-key");
        (inline, tabm.contains_key("body"), tabm.contains_key("data"))
    };
    match inline.filter(|_| wanted("inline-body-key")) {
        None if body && wanted("body") => Ok(("body", false)),
        None if data && wanted("data") => Ok(("data", true)),
        None => Ok(("body", false)),
        Some(Value::Binary(b)) => Ok((crate::http::utf8(b)?, false)),
        Some(other) => Err(Error::NotTabm {
            key: "inline-body-key".to_owned(),
            found: other.type_name(),
        }),
    }
}

/// `ao-ids`: an SF dictionary `ID="value"` in Erlang map order (`§4`).
fn ao_ids_field(mut ids: Vec<(&str, &[u8])>) -> Vec<u8> {
    map_order::sort_in_map_order(&mut ids, |(k, _)| k.as_bytes());
    let mut out = Vec::new();
    for (i, (id, value)) in ids.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(id.as_bytes());
        out.push(b'=');
        sf::write_string(&mut out, value);
    }
    out
}

/// HyperBEAM's `group_maps` (`§5.1` step 5): one part per nested message that has binary
/// fields (named by its path), binaries over the header limit as their own parts, and every
/// top-level binary bound for the body as a part named by its key. Parts sort by name.
fn group_parts<'a>(
    body: Vec<(&'a str, BodyEntry<'a>)>,
) -> Result<BTreeMap<String, PartValue<'a>>, Error> {
    let mut parts = BTreeMap::new();
    let mut direct = Vec::new();
    for (key, entry) in body {
        match entry {
            BodyEntry::Message(m) => group_nested(m, key.to_owned(), &mut parts, 1)?,
            BodyEntry::Binary(b) if b.len() > MAX_HEADER_LENGTH => {
                parts.insert(key.to_owned(), PartValue::Binary(b));
            }
            BodyEntry::Binary(b) => direct.push((key, b)),
        }
    }
    // Direct binaries win over an equally named nested part, as in HyperBEAM.
    for (key, b) in direct {
        parts.insert(key.to_owned(), PartValue::Binary(b));
    }
    Ok(parts)
}

fn group_nested<'a>(
    msg: &'a Message,
    path: String,
    parts: &mut BTreeMap<String, PartValue<'a>>,
    depth: usize,
) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Err(ferrobeam_structured::Error::TooDeep(MAX_DEPTH).into());
    }
    let mut fields: Vec<(&'a str, &'a [u8])> = Vec::new();
    for (key, value) in msg.iter() {
        // Private keys are never sent, at any depth (`codecs.md` §1.3).
        if key.is_private() {
            continue;
        }
        match value {
            Value::Message(child) => {
                group_nested(child, join(&path, key.as_str()), parts, depth + 1)?;
            }
            Value::Binary(b) if b.len() > MAX_HEADER_LENGTH => {
                parts.insert(
                    join(&path, key.as_str()),
                    PartValue::Binary(Cow::Borrowed(b)),
                );
            }
            Value::Binary(b) => {
                if fields.is_empty() {
                    // Room for every key at once: growing by pushes reallocates.
                    fields.reserve(msg.len());
                }
                fields.push((key.as_str(), b));
            }
            other => {
                return Err(Error::NotTabm {
                    key: format!("{path}/{key}"),
                    found: other.type_name(),
                })
            }
        }
    }
    if !fields.is_empty() {
        parts.insert(path, PartValue::Fields(fields));
    }
    Ok(())
}

/// The part name `path/key`.
fn join(path: &str, key: &str) -> String {
    let mut name = String::with_capacity(path.len() + 1 + key.len());
    name.push_str(path);
    name.push('/');
    name.push_str(key);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Inserts in order, out of order and repeated keep one sorted value per name, the last.
    #[test]
    fn headers_stay_sorted_with_the_last_value() {
        let mut next = crate::testing::numbers(0x853c_49e6_748f_ea9b);
        for round in 0..500 {
            let (mut headers, mut model) = (Headers::default(), BTreeMap::new());
            // Names the encoder adds among keys of the message, some of the same texts.
            static ADDED: [Key; 4] = [
                Key::from_static("ao-ids"),
                Key::from_static("body-keys"),
                Key::from_static("content-digest"),
                Key::from_static("h1"),
            ];
            let mut names: Vec<String> = (0..next(30))
                .map(|_| match next(4) {
                    0 => ADDED[next(4) as usize].as_str().to_owned(),
                    _ => format!("h{}", next(20)),
                })
                .collect();
            if round % 2 == 0 {
                names.sort(); // the usual case: ascending, with repeats
            }
            // Header names are the message's entries, as the encoder inserts them (with their
            // values), or added ones.
            let entries: Vec<(Key, Value)> = names
                .iter()
                .enumerate()
                .map(|(i, name)| (Key::new(name), Value::from(i.to_string())))
                .collect();
            for (name, entry) in names.into_iter().zip(&entries) {
                let Value::Binary(value) = &entry.1 else {
                    unreachable!("a string is a binary")
                };
                let added = ADDED.iter().find(|a| a.as_str() == name && next(2) == 0);
                model.insert(name, value.to_vec());
                match added {
                    Some(key) => headers.insert(key, Cow::Owned(value.to_vec())),
                    None => headers.insert(Name::Entry(entry), Cow::Borrowed(value)),
                }
            }
            assert_eq!(headers.len(), model.len());
            for (name, value) in &model {
                assert_eq!(headers.get(name).map(|v| v.as_ref()), Some(&value[..]));
            }
            // A header named by an entry has that entry's value, which the message form
            // copies with the key: a value replaced took its own name along.
            for (name, value) in &headers.0 {
                if let Name::Entry((_, entry_value)) = name {
                    assert_eq!(entry_value.as_bytes(), Some(value.as_ref()));
                }
            }
            let got: Vec<(String, Vec<u8>)> = headers
                .into_iter()
                .map(|(n, v)| (n.into_string(), v.into_owned()))
                .collect();
            assert_eq!(got, model.into_iter().collect::<Vec<_>>(), "round {round}");
        }
    }

    /// Private keys are never sent, at the top level or in a nested message's part.
    #[test]
    fn private_keys_stay_home_at_every_depth() {
        let nested = Message::new().with("a", "1").with("priv_x", "secret").with(
            "deeper",
            Message::new().with("private", "secret").with("b", "2"),
        );
        let tabm = Message::new()
            .with("priv", Message::new().with("k", "secret"))
            .with("m", nested);
        let enc = encode(&tabm).unwrap();
        let body = enc.body.into_vec();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("a: 1") && text.contains("b: 2"), "{text}");
        assert!(!text.contains("secret") && !text.contains("priv"), "{text}");
    }
}

//! HTTP message → TABM (`codecs.md` §5.5).

use crate::commitment;
use crate::multipart::{self, DecodedPart};
use crate::{keys, Error};
use ferrobeam_device_api::message::KeySet;
use ferrobeam_device_api::{Binary, Key, Message, Value};
use ferrobeam_structured::sf;
use indexmap::IndexMap;
use std::borrow::Cow;

/// Keys that never become fields: a received `commitments` (commitments are built from the
/// signatures) and the signature headers, which are read from the headers alone, as HyperBEAM
/// reads them. A part or an `ao-ids` member of one of these names is dropped.
const SIGNATURE_KEYS: KeySet<3> = KeySet::new(["signature", "signature-input", "commitments"]);

/// Every field the first pass over the header fields takes out or drops ([`Taken::sort`]):
/// a name it compares with must be here, since the others never reach its comparisons.
const SORTED_OUT: KeySet<5> = KeySet::new([
    "signature",
    "signature-input",
    "ao-ids",
    "commitments",
    "body-keys",
]);

/// What the first pass over the header fields takes out of them: the signature headers, and
/// without a body `ao-ids`; a received `commitments` and `body-keys` (not trusted: it is
/// rebuilt from the parts) are dropped.
struct Taken {
    has_body: bool,
    signature: Option<Value>,
    signature_input: Option<Value>,
    ao_ids: Option<Value>,
    /// Whether any commitment data is left to drop: `content-digest` and the legacy
    /// `hashpath*` headers, dropped once a signature has been checked over them. Without it
    /// (nearly every unsigned request) no further pass is needed.
    commitment_data: bool,
}

impl Taken {
    fn new(has_body: bool) -> Self {
        Taken {
            has_body,
            signature: None,
            signature_input: None,
            ao_ids: None,
            commitment_data: false,
        }
    }

    /// Sorts the field `key`, taking its value (from `value`) if this pass takes it out;
    /// whether the field stays. Nearly every field is none of the names this pass takes out,
    /// which [`SORTED_OUT`] tells from its length and last byte.
    #[inline]
    fn sort(&mut self, key: &Key, value: impl FnOnce() -> Value) -> bool {
        if !SORTED_OUT.contains(key) {
            self.commitment_data |= is_commitment_data(key);
            return true;
        }
        let place = if *key == "signature" {
            &mut self.signature
        } else if *key == "signature-input" {
            &mut self.signature_input
        } else if *key == "ao-ids" && !self.has_body {
            &mut self.ao_ids
        } else if *key == "commitments" || *key == "body-keys" {
            return false;
        } else {
            self.commitment_data |= is_commitment_data(key);
            return true;
        };
        *place = Some(value());
        false
    }
}

/// Decodes header fields (lower-case names, without `body`) and a body into a TABM.
pub(crate) fn decode(mut fields: Message, body: &[u8]) -> Result<Message, Error> {
    let mut taken = Taken::new(!body.is_empty());
    fields.retain(|k, v| taken.sort(k, || std::mem::replace(v, Value::Binary(Binary::new()))));
    decode_taken(fields, taken, body)
}

/// [`decode`] of `http`'s fields but `body`, borrowed: only the fields that stay are copied,
/// in the same pass that takes the others out.
pub(crate) fn decode_copy(http: &Message, body: &[u8]) -> Result<Message, Error> {
    let mut taken = Taken::new(!body.is_empty());
    let fields = http.filtered(|k, v| *k != "body" && taken.sort(k, || v.clone()));
    decode_taken(fields, taken, body)
}

/// The rest of [`decode`], once the first pass has `taken` its fields out of `fields`.
fn decode_taken(mut fields: Message, taken: Taken, body: &[u8]) -> Result<Message, Error> {
    let take = |v: &mut Value| Some(std::mem::replace(v, Value::Binary(Binary::new())));
    let Taken {
        has_body,
        signature,
        signature_input,
        mut ao_ids,
        mut commitment_data,
    } = taken;
    let mut tabm = if has_body {
        // The boundary and the key the body goes under are borrowed from the fields, so the
        // parts are read before the fields take them in.
        let inline_key = match fields.get("inline-body-key") {
            Some(Value::Binary(b)) => crate::http::utf8(b)?,
            _ => "body",
        };
        let mut tabm = match multipart_boundary(&fields)? {
            None => {
                let key = Key::new(inline_key);
                fields.insert(key, Value::binary(body));
                fields
            }
            Some(boundary) => {
                let parts = multipart::decode(body, &boundary, inline_key)?;
                drop(boundary);
                with_parts(fields, parts)?
            }
        };
        // The fields and what the body added: parts of the names above are dropped, and
        // `ao-ids` (a header's or a part's) comes out.
        tabm.retain(|k, v| {
            if SIGNATURE_KEYS.contains(k) {
                false
            } else if *k == "ao-ids" {
                ao_ids = take(v);
                false
            } else {
                commitment_data |= is_commitment_data(k);
                true
            }
        });
        tabm
    } else {
        fields
    };
    if let Some(ids) = ao_ids {
        commitment_data |= expand_ao_ids(&mut tabm, ids)?;
    }
    let signed = signature.is_some();
    if let Some(signature) = signature {
        let (Value::Binary(signature), Some(Value::Binary(input))) = (signature, signature_input)
        else {
            return Err(Error::Signature(
                "signature without a signature-input header".into(),
            ));
        };
        let received = commitment::parse_signature_headers(&signature, &input)?;
        tabm = commitment::commit_received(tabm, &received)?;
    }
    if signed || commitment_data {
        tabm.retain(|k, _| !is_commitment_data(k));
    }
    Ok(tabm)
}

/// Headers that carry commitment data rather than fields: `content-digest`, and the legacy
/// `hashpath*` headers.
fn is_commitment_data(key: &Key) -> bool {
    *key == "content-digest" || key.starts_with("hashpath")
}

/// The `boundary` parameter of a `content-type` header, if it has one. The header is parsed
/// as an SF item, as HyperBEAM does, so an unparsable content type is an error.
fn multipart_boundary(fields: &Message) -> Result<Option<Cow<'_, [u8]>>, Error> {
    let Some(content_type) = fields.get("content-type") else {
        return Ok(None);
    };
    let Value::Binary(content_type) = content_type else {
        return Ok(None);
    };
    match plain_boundary(content_type) {
        Some(boundary) => Ok(Some(Cow::Borrowed(boundary))),
        None => Ok(boundary_by_parser(content_type)?.map(Cow::Owned)),
    }
}

/// The boundary of a content type in the form encoders write it,
/// `multipart/form-data; boundary="…"` with a boundary of printable ASCII but `"` and `\`,
/// read in one pass; `None` for any other form. The SF parser ([`boundary_by_parser`]) reads
/// that form the same (the tests compare them), at some ten times the cost.
fn plain_boundary(content_type: &[u8]) -> Option<&[u8]> {
    let quoted = content_type.strip_prefix(b"multipart/form-data; boundary=")?;
    sf::plain_string(quoted).map(str::as_bytes)
}

/// The `boundary` parameter of a content type parsed as an SF item, as HyperBEAM parses it.
fn boundary_by_parser(content_type: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let item = sf::parse_item(content_type).map_err(Error::sf("content-type"))?;
    match item.param("boundary") {
        None => Ok(None),
        Some(sf::BareItem::String(b)) => Ok(Some(b.clone())),
        Some(sf::BareItem::Token(t)) => Ok(Some(t.clone().into_bytes())),
        Some(_) => Err(Error::Multipart("boundary is not a string or token")),
    }
}

/// Adds the decoded parts of a multipart body to the header fields, records `body-keys` and
/// un-flattens `a/b/c` part names (flat@1.0 `from`).
fn with_parts(fields: Message, parts: Vec<DecodedPart>) -> Result<Message, Error> {
    let body_keys = body_keys(&parts);
    // Nearly always the parts join the fields directly.
    match plain_keys(&fields, &parts) {
        Some(keys) => Ok(join_plain(fields, keys, parts, body_keys)),
        None => join_by_path(fields, parts, body_keys),
    }
}

/// The key of each part when [`join_plain`] can join them: every part named by a plain key
/// ([`plain_key`]), and no field named by a path (which no HTTP header can be, but a message
/// handed to the codec might).
fn plain_keys(fields: &Message, parts: &[DecodedPart]) -> Option<Vec<Key>> {
    if a_field_is_a_path(fields) {
        return None;
    }
    parts.iter().map(|part| plain_key(&part.name)).collect()
}

/// Whether a field is named by a `/` path: no HTTP header can be, but a message handed to the
/// codec might, and only the map of names un-flattens it.
fn a_field_is_a_path(fields: &Message) -> bool {
    fields.keys().any(|key| key.as_str().contains('/'))
}

/// The fields (no name a path) and the parts, each part under its plain key (see
/// [`plain_key`]), a later value of a key replacing an earlier one in its place, then
/// `body-keys`: what [`join_by_path`] makes of the same, without a map of names or a search
/// per path.
fn join_plain(
    mut fields: Message,
    keys: Vec<Key>,
    parts: Vec<DecodedPart>,
    body_keys: Vec<u8>,
) -> Message {
    for (key, part) in keys.into_iter().zip(parts) {
        fields.insert(key, part.value);
    }
    fields.insert(keys::BODY_KEYS.clone(), Value::binary(body_keys));
    fields
}

/// The fields and the parts, a later value of a name replacing an earlier one in its place,
/// then `body-keys`, un-flattened by `/` paths (flat@1.0 `from`).
fn join_by_path(
    fields: Message,
    parts: Vec<DecodedPart>,
    body_keys: Vec<u8>,
) -> Result<Message, Error> {
    // Nearly always (a signed message's commitments are parts named `body/commitments/<id>`)
    // no name comes twice, and the fields are stored as they are.
    if names_distinct(&fields, &parts) {
        join_paths_directly(fields, parts, body_keys)
    } else {
        join_through_map(fields, parts, body_keys)
    }
}

/// Whether [`join_paths_directly`] gives what [`join_through_map`] gives: no field named by a
/// path, and no part named as a field, as another part or `body-keys` is. Then the map of
/// names replaces nothing, and un-flattening it stores the fields as they are first.
fn names_distinct(fields: &Message, parts: &[DecodedPart]) -> bool {
    // Parts are compared with each other: past a few, the map is the cheaper way.
    const MAX_PARTS: usize = 16;
    parts.len() <= MAX_PARTS
        && !a_field_is_a_path(fields)
        && parts.iter().enumerate().all(|(i, part)| {
            let name = part.name.as_str();
            // A lookup that finds a field of another spelling ("A" for "a") only sends the
            // parts the longer way, which is never wrong.
            name != "body-keys"
                && !fields.contains_key(name)
                && !parts[..i].iter().any(|earlier| earlier.name == name)
        })
        && !fields.contains_key("body-keys")
}

/// [`join_through_map`] for names that are all distinct ([`names_distinct`]): the fields as
/// they are, then each part stored at its path and `body-keys`, the steps `flat@1.0` takes
/// over that map, without building it or storing the fields again one by one.
fn join_paths_directly(
    fields: Message,
    parts: Vec<DecodedPart>,
    body_keys: Vec<u8>,
) -> Result<Message, Error> {
    let mut tabm = fields;
    for part in parts {
        ferrobeam_flat::insert_path(&mut tabm, &part.name, part.value)?;
    }
    ferrobeam_flat::insert_path(&mut tabm, "body-keys", Value::binary(body_keys))?;
    Ok(tabm)
}

/// The general join: every name in a map (a later value replacing an earlier one in its
/// place), then the map un-flattened by `flat@1.0`.
fn join_through_map(
    fields: Message,
    parts: Vec<DecodedPart>,
    body_keys: Vec<u8>,
) -> Result<Message, Error> {
    // The names are kept apart from the values, so that the map below borrows them.
    let (keys, mut values): (Vec<Key>, Vec<Value>) = fields.into_iter().unzip();
    let mut names = Vec::with_capacity(parts.len());
    for part in parts {
        names.push(part.name);
        values.push(part.value);
    }
    // Names are the client's, so the hash is seeded per process (as `Message`'s index is).
    let mut all: IndexMap<&str, Value, foldhash::fast::RandomState> =
        IndexMap::with_capacity_and_hasher(values.len() + 1, Default::default());
    let all_names = keys
        .iter()
        .map(Key::as_str)
        .chain(names.iter().map(String::as_str));
    for (name, value) in all_names.zip(values) {
        all.insert(name, value);
    }
    all.insert("body-keys", Value::binary(body_keys));
    Ok(ferrobeam_flat::from_pairs(all)?)
}

/// The `body-keys` field of `parts`: the first segment of each name, as SF strings.
fn body_keys(parts: &[DecodedPart]) -> Vec<u8> {
    let mut body_keys = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            body_keys.extend_from_slice(b", ");
        }
        let first = part.name.split('/').next().unwrap_or_default();
        sf::write_string(&mut body_keys, first.as_bytes());
    }
    body_keys
}

/// The key a part name is when it is a plain key: no `/` path, and normalised already, so that
/// two names are the same key exactly when they are the same text (as [`with_parts`]'s map of
/// names, then [`ferrobeam_flat::from_pairs`], would take them).
fn plain_key(name: &str) -> Option<Key> {
    if name.contains('/') {
        return None;
    }
    let key = Key::new(name);
    (key.as_str() == name).then_some(key)
}

/// Adds the ID-keyed fields `ao-ids` (taken out of `tabm`) carries (`§5.5` step 4), but for
/// [`SIGNATURE_KEYS`]; whether any of them is commitment data.
fn expand_ao_ids(tabm: &mut Message, ids: Value) -> Result<bool, Error> {
    let Value::Binary(ids) = ids else {
        return Err(Error::NotTabm {
            key: "ao-ids".into(),
            found: ids.type_name(),
        });
    };
    let mut commitment_data = false;
    for (id, member) in sf::parse_dictionary(&ids).map_err(Error::sf("ao-ids"))? {
        match member {
            sf::Member::Item(sf::Item {
                bare: sf::BareItem::String(value),
                ..
            }) => {
                let key = Key::new(id);
                if SIGNATURE_KEYS.contains(&key) {
                    continue;
                }
                commitment_data |= is_commitment_data(&key);
                tabm.insert(key, Value::binary(value));
            }
            _ => {
                return Err(Error::Sf {
                    what: "ao-ids",
                    source: sf::SfError {
                        reason: "member is not a string",
                        offset: 0,
                    },
                })
            }
        }
    }
    Ok(commitment_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the one-pass reading of a content type answers, the SF parser answers the same;
    /// it answers for the usual form with every boundary byte the parser takes in a string
    /// unescaped, and leaves every other form (and byte) to the parser.
    #[test]
    fn the_usual_content_type_is_read_as_the_parser_reads_it() {
        let usual =
            |boundary: &[u8]| [&b"multipart/form-data; boundary=\""[..], boundary, b"\""].concat();
        let mut forms: Vec<Vec<u8>> = vec![
            usual(b"52NcNGqOcrrBY9ewxgbBT6r0AgjXWx-229_Df_ALsUA"),
            usual(b""),
            usual(b"a b"),
            usual(b"a\\\"b"),
            b"multipart/form-data; boundary=tok".to_vec(),
            b"multipart/form-data;boundary=\"x\"".to_vec(),
            b"multipart/form-data; boundary=\"x\" ".to_vec(),
            b"multipart/form-data; boundary=\"x\"; charset=utf-8".to_vec(),
            b"multipart/form-data; charset=\"x\"".to_vec(),
            b"Multipart/form-data; boundary=\"x\"".to_vec(),
            b"multipart/form-data; boundary=\"x".to_vec(),
            b"multipart/form-data; boundary=".to_vec(),
            b"text/plain".to_vec(),
        ];
        forms.extend((0..=255u8).map(|b| usual(&[b'a', b, b'z'])));
        let mut read_in_one_pass = 0;
        for form in &forms {
            let parsed = boundary_by_parser(form).ok().flatten();
            if let Some(boundary) = plain_boundary(form) {
                read_in_one_pass += 1;
                assert_eq!(
                    Some(boundary.to_vec()),
                    parsed,
                    "{:?}",
                    String::from_utf8_lossy(form)
                );
            }
        }
        // The first three forms and the 93 bytes printable but `"` and `\`.
        assert_eq!(read_in_one_pass, 3 + 93);
    }

    /// The keys of `m` in order, and its entries: what two joins must both agree on.
    fn shape(m: &Message) -> (Vec<String>, Message) {
        (m.keys().map(|k| k.as_str().to_owned()).collect(), m.clone())
    }

    /// A generated case for the join tests: up to three fields (from the first four of
    /// `fields`, and now and then one of the rest: `body-keys`, a field named by a path) and up
    /// to four parts named from `names`, each a binary or a message of one of `keys` keys.
    fn fields_and_parts(
        next: &mut impl FnMut(u64) -> u64,
        case: usize,
        fields: &[&str],
        names: &[&str],
        keys: u64,
    ) -> (Message, Vec<DecodedPart>) {
        let mut message = Message::new();
        for _ in 0..next(4) {
            let choices = if next(8) == 0 { fields.len() } else { 4 };
            message.insert(fields[next(choices as u64) as usize], format!("f{case}"));
        }
        let parts = (0..next(5))
            .map(|i| DecodedPart {
                name: names[next(names.len() as u64) as usize].to_owned(),
                value: if next(2) == 0 {
                    Value::binary(format!("p{i}"))
                } else {
                    Value::Message(Message::new().with(format!("k{}", next(keys)), i as i64))
                },
            })
            .collect();
        (message, parts)
    }

    /// Wherever the parts can be joined under plain keys, that gives what the map of names
    /// un-flattened gives: the same entries, in the same order.
    #[test]
    fn plain_part_names_join_as_paths_would() {
        const FIELDS: [&str; 5] = ["host", "map", "body-keys", "a", "x/z"];
        const NAMES: [&str; 9] = [
            "a",
            "map",
            "body",
            "body-keys",
            "host",
            "Map",
            "x/y",
            "",
            "b",
        ];
        let mut next = crate::testing::numbers(0x1234_5678_9abc_def1);
        let mut plain = 0;
        for case in 0..5_000 {
            // Now and then a field named by a path, which no HTTP header can be.
            let (fields, parts) = fields_and_parts(&mut next, case, &FIELDS, &NAMES, 1);
            // Against the map of names itself, the reference both direct joins are held to.
            let by_path = |parts: &[DecodedPart]| {
                join_through_map(fields.clone(), parts.to_vec(), body_keys(parts))
            };
            let Some(keys) = plain_keys(&fields, &parts) else {
                continue;
            };
            plain += 1;
            let expected = by_path(&parts).map(|m| shape(&m));
            let body_keys = body_keys(&parts);
            let joined = join_plain(fields.clone(), keys, parts, body_keys);
            assert_eq!(Ok(shape(&joined)), expected, "case {case}");
        }
        assert!(plain > 1_000, "{plain} cases with plain names");
    }

    /// Wherever no name comes twice, storing the parts at their paths in the fields gives what
    /// the map of names un-flattened gives: the same entries in the same order, or the same
    /// error (a path through a binary, a binary where a message is, an empty path).
    #[test]
    fn distinct_names_join_by_path_as_the_map_would() {
        const FIELDS: [&str; 6] = ["host", "body", "a", "map", "body-keys", "x/z"];
        const NAMES: [&str; 14] = [
            "body",
            "body/commitments/abc",
            "body/commitments/def",
            "a/b",
            "a",
            "A/b",
            "map/k",
            "map",
            "x/y",
            "x//y",
            "/",
            "",
            "body-keys",
            "host",
        ];
        let mut next = crate::testing::numbers(0x0fed_cba9_8765_4321);
        let (mut direct, mut refused) = (0, 0);
        for case in 0..5_000 {
            // Now and then `body-keys` or a field named by a path.
            let (fields, parts) = fields_and_parts(&mut next, case, &FIELDS, &NAMES, 2);
            if !names_distinct(&fields, &parts) {
                continue;
            }
            direct += 1;
            let body_keys = body_keys(&parts);
            let expected = join_through_map(fields.clone(), parts.clone(), body_keys.clone());
            refused += usize::from(expected.is_err());
            let joined = join_paths_directly(fields, parts, body_keys);
            assert_eq!(
                joined.map(|m| shape(&m)),
                expected.map(|m| shape(&m)),
                "case {case}"
            );
        }
        assert!(direct > 1_000, "{direct} cases with distinct names");
        assert!(refused > 100, "{refused} of them refused");
    }

    /// A name that comes twice, a field named by a path, or too many parts to compare, and the
    /// parts go through the map of names.
    #[test]
    fn repeated_names_go_through_the_map() {
        let part = |name: &str| DecodedPart {
            name: name.to_owned(),
            value: Value::binary("v"),
        };
        let fields = Message::new().with("host", "h").with("a", "1");
        assert!(names_distinct(&fields, &[part("body"), part("body/c/x")]));
        assert!(!names_distinct(&fields, &[part("a")]));
        assert!(!names_distinct(&fields, &[part("b/c"), part("b/c")]));
        assert!(!names_distinct(&fields, &[part("body-keys")]));
        assert!(!names_distinct(
            &fields.clone().with("x/y", "2"),
            &[part("b")]
        ));
        let many: Vec<DecodedPart> = (0..17).map(|i| part(&format!("p{i}"))).collect();
        assert!(!names_distinct(&fields, &many));
        assert!(names_distinct(&fields, &many[..16]));
    }

    #[test]
    fn a_part_name_is_a_plain_key_when_it_is_one_segment_and_normalised() {
        assert_eq!(plain_key("map").map(Key::into_string), Some("map".into()));
        assert!(plain_key("Map").is_none());
        assert!(plain_key("a/b").is_none());
        assert!(plain_key("/").is_none());
        let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
        assert_eq!(plain_key(id).map(Key::into_string), Some(id.into()));
    }
}

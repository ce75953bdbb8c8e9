//! TABM → rich message (`codecs.md` §2.3).

use crate::error::snippet;
use crate::{defaults, escape, float, sf, Error, MAX_DEPTH};
use ferrobeam_device_api::message::filter_bit_of;
use ferrobeam_device_api::{Binary, Key, Message, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Decodes a TABM into a rich message (HyperBEAM's `dev_codec_structured:to`) where it is:
/// untyped binaries and keys stay in place, typed values are replaced by what they decode to.
pub(crate) fn decode_message(mut tabm: Message, depth: usize) -> Result<Message, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    let (ao_types, plain) = look_over(&mut tabm);
    let types = match &ao_types {
        // Binaries alone, none of them a legacy-TX default: nothing to decode or drop.
        None if plain => return Ok(tabm),
        None => Vec::new(),
        Some(Value::Binary(b)) if b.is_empty() => Vec::new(),
        Some(Value::Binary(b)) => read_ao_types(b)?,
        Some(other) => {
            return Err(Error::InvalidTabm(format!(
                "ao-types is a {}, not a binary",
                other.type_name()
            )))
        }
    };
    let by_key = TypeIndex::new(&types);
    // Keys typed empty (rare) are added once the values are decoded; a TABM key they name
    // takes their place even when it is dropped as a legacy-TX default, so those are noted.
    let empty_types = types.iter().any(|(_, ty)| empty_value(ty).is_some());
    let mut dropped = Vec::new();
    let mut failed = None;
    tabm.retain(|key, value| {
        if failed.is_some() {
            return true;
        }
        let name = key.as_str();
        if name == "ao-types" {
            return false;
        }
        let ty = by_key.get(name);
        // An untyped binary (most of a request's fields) stays as it is, without a call.
        if ty.is_some() || !matches!(value, Value::Binary(_)) {
            if let Err(e) = decode_in_place(ty, value, depth) {
                failed = Some(e.at_key(name));
                return true;
            }
        }
        if defaults::is_default_tx_value(name, value) {
            if empty_types {
                dropped.push(key.clone());
            }
            return false;
        }
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if empty_types {
        add_empty_keys(&mut tabm, &types, &dropped);
    }
    Ok(tabm)
}

/// Adds each key typed empty that the TABM had not (a TABM key of the same name takes its
/// place, `dropped` or not), unless its empty value is a legacy-TX default: HyperBEAM adds the
/// keys, then drops the defaults of the whole, which the decoding pass has dropped from the
/// TABM's keys. A key typed twice gets its last type, as its TABM value would: the last is
/// seen first, and a default skipped is noted so that an earlier type is not added in its
/// place. Where the keys go in the message is not seen: every codec writes a message's keys in
/// map order, as `message@1.0` lists them.
fn add_empty_keys(tabm: &mut Message, types: &[(TypedKey<'_>, TypeName)], dropped: &[Key]) {
    let mut skipped: Vec<&str> = Vec::new();
    for (key, ty) in types.iter().rev() {
        let Some(value) = empty_value(ty) else {
            continue;
        };
        let key = key.as_ref();
        if dropped.iter().any(|d| d == key) || skipped.contains(&key) {
            continue;
        }
        if defaults::is_default_tx_value(key, &value) {
            // Whether the TABM has the key or not, it is not added.
            skipped.push(key);
        } else {
            tabm.entry(Key::new(key)).or_insert(value);
        }
    }
}

/// A TABM's `ao-types` value, taken out (the entry, left empty, is dropped with the types
/// read), or else whether its values are all binaries that decoding keeps as they are
/// ([`is_plain_binary`]): one pass over the message, where a search for `ao-types` and a pass
/// over the values were two. Keys are normalised, so `ao-types` is found by its text.
fn look_over(tabm: &mut Message) -> (Option<Value>, bool) {
    let mut plain = true;
    for (key, value) in tabm.iter_mut() {
        if key.as_str() == "ao-types" {
            // Whether the rest is plain no longer matters.
            return (
                Some(std::mem::replace(value, Value::Binary(Binary::new()))),
                false,
            );
        }
        plain = plain && is_plain_binary(key.as_str(), value);
    }
    (None, plain)
}

/// Whether `value` is a binary that decoding keeps as it is, with no type: not the legacy-TX
/// default of `key`.
#[inline]
fn is_plain_binary(key: &str, value: &Value) -> bool {
    match value {
        // Only binaries of these lengths are ever a default.
        Value::Binary(b) if matches!(b.len(), 0 | 32 | 512) => {
            !defaults::is_default_tx_value(key, value)
        }
        Value::Binary(_) => true,
        _ => false,
    }
}

/// The value of a key typed `empty-binary`, `empty-list` or `empty-message`.
fn empty_value(ty: &str) -> Option<Value> {
    match ty {
        "empty-binary" => Some(Value::Binary(Binary::new())),
        "empty-list" => Some(Value::List(Vec::new())),
        "empty-message" => Some(Value::Message(Message::new())),
        _ => None,
    }
}

/// Decodes one TABM value of type `ty` (if `ao-types` names one) where it is.
fn decode_in_place(ty: Option<&str>, value: &mut Value, depth: usize) -> Result<(), Error> {
    match value {
        Value::Binary(bytes) => {
            if let Some(ty) = ty {
                *value = decode_value(ty, bytes, depth)?;
            }
        }
        Value::Message(child) => {
            let child = decode_message(std::mem::take(child), depth + 1)?;
            *value = match ty {
                None => Value::Message(child),
                Some("list") => Value::List(numbered_to_list(child)?),
                Some(other) => return Err(Error::MapWithType(other.to_owned())),
            };
        }
        // Numbers, atoms and lists arrive this way from JSON; they are kept as they are.
        _ => {}
    }
    Ok(())
}

/// The type of each key named in `ao-types`: a scan for the usual handful, a map beyond.
enum TypeIndex<'a> {
    /// The types, and the [`Key::filter_bit`] of each key or-ed: a key whose bit is not set is
    /// not typed, which answers most of a message's keys without a scan.
    Scan(&'a [(TypedKey<'a>, TypeName)], u64),
    Map(HashMap<&'a str, &'a str>),
}

impl<'a> TypeIndex<'a> {
    /// Up to this many types are looked up by scanning.
    const SCAN_LIMIT: usize = 16;

    fn new(types: &'a [(TypedKey<'a>, TypeName)]) -> Self {
        if types.len() <= Self::SCAN_LIMIT {
            let bits = types.iter().fold(0, |bits, (k, _)| bits | filter_bit_of(k));
            return TypeIndex::Scan(types, bits);
        }
        // Collected in order, so a repeated key maps to its last type, as before.
        TypeIndex::Map(
            types
                .iter()
                .map(|(k, t)| (k.as_ref(), t.as_ref()))
                .collect(),
        )
    }

    /// The (last) type recorded for `key`. A scan compares the lengths and the last bytes
    /// first, which tell most keys apart without a call to compare their texts.
    #[inline]
    fn get(&self, key: &str) -> Option<&'a str> {
        match self {
            TypeIndex::Scan(types, bits) => {
                if bits & filter_bit_of(key) == 0 {
                    return None;
                }
                let last = key.as_bytes().last();
                types
                    .iter()
                    .rev()
                    .find(|(k, _)| {
                        k.len() == key.len() && k.as_bytes().last() == last && k.as_ref() == key
                    })
                    .map(|(_, t)| t.as_ref())
            }
            TypeIndex::Map(map) => map.get(key).copied(),
        }
    }
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
pub fn parse_ao_types(field: &[u8]) -> Result<Vec<(Key, TypeName)>, Error> {
    Ok(read_ao_types(field)?
        .into_iter()
        .map(|(key, ty)| (Key::new(key), ty))
        .collect())
}

/// A key named in `ao-types`, normalised: borrowed from a field in the usual form, whose keys
/// are normalised as written, or the key the parser un-escaped.
type TypedKey<'a> = Cow<'a, str>;

/// [`parse_ao_types`] as the keys' texts, which is all the decoder needs: a field in the usual
/// form is read without making a [`Key`] of each.
fn read_ao_types(field: &[u8]) -> Result<Vec<(TypedKey<'_>, TypeName)>, Error> {
    match plain_ao_types(field) {
        Some(types) => Ok(types),
        None => Ok(parse_ao_types_as_sf(field)?
            .into_iter()
            .map(|(key, ty)| (Cow::Owned(key.into_string()), ty))
            .collect()),
    }
}

/// An `ao-types` field in the form encoders write — `key="type"` members, keys of lower-case
/// letters, digits and `_-.*`, types of lower-case letters and `-`, separated by `,` and
/// optional spaces, no key twice — read in one pass; `None` for anything else, which
/// [`parse_ao_types_as_sf`] reads (and which it would read the same: the tests compare them).
/// Its keys are normalised as written (lower-case ASCII), so they are borrowed as they are.
fn plain_ao_types(field: &[u8]) -> Option<Vec<(TypedKey<'_>, TypeName)>> {
    // Checked once as a whole, so that each key and type is a slice of it: a field that is not
    // UTF-8 is not in the usual form.
    let text = std::str::from_utf8(field).ok()?;
    let key_byte = |b: u8| AO_TYPES_BYTES[usize::from(b)] & KEY_BYTE != 0;
    let type_byte = |b: u8| AO_TYPES_BYTES[usize::from(b)] & TYPE_BYTE != 0;
    let ows = |at: &mut usize| {
        while matches!(field.get(*at), Some(b' ' | b'\t')) {
            *at += 1;
        }
    };
    // Room for a member per six bytes (the shortest is `k="t"` and a comma): the list never
    // grows, and the commas need no count first.
    let mut out: Vec<(TypedKey<'_>, TypeName)> = Vec::with_capacity(field.len() / 6 + 1);
    // The keys read so far, as `filter_bit_of`s: a key whose bit is clear is new without a
    // comparison with each.
    let mut seen = 0u64;
    let mut at = 0;
    loop {
        let start = at;
        while field.get(at).is_some_and(|&b| key_byte(b)) {
            at += 1;
        }
        // ASCII (the bytes checked above), so it starts and ends on characters.
        let key = text.get(start..at)?;
        if key.is_empty() || key.starts_with('.') || field.get(at..at + 2) != Some(b"=\"") {
            return None;
        }
        at += 2;
        let start = at;
        while field.get(at).is_some_and(|&b| type_byte(b)) {
            at += 1;
        }
        let ty = text.get(start..at)?;
        if ty.is_empty() || field.get(at) != Some(&b'"') {
            return None;
        }
        at += 1;
        let bit = filter_bit_of(key);
        if seen & bit != 0 && out.iter().any(|(k, _)| k == key) {
            return None;
        }
        seen |= bit;
        // Lower-case ASCII (the bytes checked above): what `Key::new` would make of it.
        debug_assert_eq!(Key::new(key).as_str(), key);
        out.push((Cow::Borrowed(key), type_name(ty)));
        if at == field.len() {
            return Some(out);
        }
        ows(&mut at);
        if field.get(at) != Some(&b',') {
            return None;
        }
        at += 1;
        ows(&mut at);
    }
}

/// [`AO_TYPES_BYTES`]: a byte of a key in the usual form of `ao-types`: lower-case letters,
/// digits and `_-.*`.
const KEY_BYTE: u8 = 1;
/// [`AO_TYPES_BYTES`]: a byte of a type name: lower-case letters and `-`.
const TYPE_BYTE: u8 = 2;
/// What each byte may be in the usual form of `ao-types`, worked out when compiled: one load
/// per byte read.
const AO_TYPES_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_lowercase() || c == b'-' {
            table[b] |= TYPE_BYTE;
        }
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*') {
            table[b] |= KEY_BYTE;
        }
        b += 1;
    }
    table
};

/// A type named in `ao-types`, lower-case: one of the names the encoder writes is not copied.
pub type TypeName = Cow<'static, str>;

/// The names `ao-types` holds (`codecs.md` §2.2), which a parsed field refers to rather than
/// copies.
const TYPE_NAMES: [&str; 8] = [
    "integer",
    "float",
    "atom",
    "list",
    "map",
    "empty-binary",
    "empty-list",
    "empty-message",
];

/// `ty` as a [`TypeName`]: borrowed when it is one of [`TYPE_NAMES`].
fn type_name(ty: &str) -> TypeName {
    match TYPE_NAMES.iter().find(|&&name| name == ty) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(ty.to_owned()),
    }
}

/// [`parse_ao_types`] by the general structured-fields dictionary parser.
fn parse_ao_types_as_sf(field: &[u8]) -> Result<Vec<(Key, TypeName)>, Error> {
    let dict = sf::parse_dictionary(field).map_err(Error::sf("ao-types"))?;
    let mut out = Vec::with_capacity(dict.len());
    for (escaped, member) in dict {
        let mut ty = match member {
            sf::Member::Item(sf::Item {
                bare: sf::BareItem::String(b) | sf::BareItem::ByteSequence(b),
                ..
            }) => String::from_utf8(b).map_err(|e| Error::NotUtf8(snippet(e.as_bytes())))?,
            sf::Member::Item(sf::Item {
                bare: sf::BareItem::Token(t),
                ..
            }) => t,
            _ => return Err(Error::BadAoTypes(escaped)),
        };
        ty.make_ascii_lowercase();
        out.push((type_key(escaped)?, Cow::Owned(ty)));
    }
    Ok(out)
}

/// The key an `ao-types` member names: un-escaped, then normalised.
fn type_key(escaped: String) -> Result<Key, Error> {
    if !escaped.contains('%') {
        return Ok(Key::from(escaped));
    }
    let raw = escape::decode(escaped.as_bytes())?;
    let key = String::from_utf8(raw).map_err(|e| Error::NotUtf8(snippet(e.as_bytes())))?;
    Ok(Key::from(key))
}

/// HyperBEAM's `decode_value` at nesting `depth` (see [`crate::decode_value`]).
pub(crate) fn decode_value(ty: &str, text: &[u8], depth: usize) -> Result<Value, Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    // Types are nearly always written lower-case, as the encoder writes them; a name in
    // another case is matched once lower-cased.
    match ty {
        "integer" => decode_integer(text),
        "float" => float::parse_float(text).map(Value::Float),
        "atom" => decode_atom(text),
        "list" => decode_list(text, depth),
        "map" => decode_map(text),
        _ if ty.bytes().any(|b| b.is_ascii_uppercase()) => {
            decode_value(&ty.to_ascii_lowercase(), text, depth)
        }
        other => Err(Error::UnknownType(other.to_owned())),
    }
}

/// An `integer`: an SF integer.
fn decode_integer(text: &[u8]) -> Result<Value, Error> {
    if let Some(i) = sf::plain::integer(text) {
        return Ok(Value::Integer(i));
    }
    let item = sf::parse_item(text).map_err(Error::sf("integer"))?;
    item.bare
        .as_integer()
        .map(Value::Integer)
        .ok_or_else(|| Error::TypeMismatch {
            expected: "integer",
            got: snippet(text),
        })
}

/// An `atom`: an SF string, token or byte sequence holding UTF-8.
fn decode_atom(text: &[u8]) -> Result<Value, Error> {
    if let Some(name) = sf::plain::string(text) {
        return Ok(Value::Atom(name.to_owned()));
    }
    let item = sf::parse_item(text).map_err(Error::sf("atom"))?;
    let name = match item.bare {
        sf::BareItem::String(b) | sf::BareItem::ByteSequence(b) => b,
        sf::BareItem::Token(t) => return Ok(Value::Atom(t)),
        _ => {
            return Err(Error::TypeMismatch {
                expected: "atom",
                got: snippet(text),
            })
        }
    };
    String::from_utf8(name)
        .map(Value::Atom)
        .map_err(|e| Error::NotUtf8(snippet(e.as_bytes())))
}

/// A `list`: an SF list of items, each possibly `(ao-type-T)`-annotated.
fn decode_list(text: &[u8], depth: usize) -> Result<Value, Error> {
    // In the form encoders write, a list of strings: each is decoded where it is read. An item
    // that does not decode leaves the list to the parser, which reports it as it always has.
    let mut items = Vec::with_capacity(text.iter().filter(|&&b| b == b',').count() + 1);
    let plain = sf::plain::strings(text, |s| {
        items.push(match annotated(s, depth) {
            Some(decoded) => decoded.ok()?,
            None => Value::binary(s),
        });
        Some(())
    });
    if plain.is_some() {
        return Ok(Value::List(items));
    }
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

/// A `map`: an SF dictionary of items.
fn decode_map(text: &[u8]) -> Result<Value, Error> {
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

/// One SF list item: `"(ao-type-T) payload"` strings recurse into `decode_value(T, payload)`.
fn list_item(bare: sf::BareItem, depth: usize) -> Result<Value, Error> {
    match bare {
        sf::BareItem::String(s) => match annotated(&s, depth) {
            Some(decoded) => decoded,
            None => Ok(Value::Binary(s.into())),
        },
        other => from_bare_item(other),
    }
}

/// The value a list's string `"(ao-type-T) payload"` stands for, `decode_value(T, payload)`;
/// `None` for a string without the annotation, which is a binary.
fn annotated(s: &[u8], depth: usize) -> Option<Result<Value, Error>> {
    const PREFIX: &[u8] = b"(ao-type-";
    let rest = s.strip_prefix(PREFIX)?;
    let Some(split) = rest.windows(2).position(|w| w == b") ") else {
        return Some(Err(Error::BadListAnnotation(snippet(s))));
    };
    // One of the codec's own type names (nearly always) is taken as it is, without checking
    // that it is UTF-8.
    let ty = match TYPE_NAMES
        .iter()
        .find(|name| name.as_bytes() == &rest[..split])
    {
        Some(name) => name,
        None => match std::str::from_utf8(&rest[..split]) {
            Ok(ty) => ty,
            Err(_) => return Some(Err(Error::BadListAnnotation(snippet(s)))),
        },
    };
    Some(decode_value(ty, &rest[split + 2..], depth + 1))
}

/// A bare SF item as a value: strings and byte sequences are binaries, booleans and tokens atoms.
fn from_bare_item(bare: sf::BareItem) -> Result<Value, Error> {
    Ok(match bare {
        sf::BareItem::Integer(i) => Value::Integer(i),
        sf::BareItem::Decimal(d) => Value::Float(d),
        sf::BareItem::String(s) | sf::BareItem::ByteSequence(s) => Value::Binary(s.into()),
        sf::BareItem::Boolean(b) => Value::from(b),
        sf::BareItem::Token(t) => Value::Atom(t),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A type name decodes the same in any case (a name not in lower case is matched once
    /// lower-cased), in `ao-types` and in a list's annotations alike.
    #[test]
    fn type_names_decode_alike_in_any_case() {
        let cases: [(&str, &[u8]); 5] = [
            ("integer", b"-12"),
            ("float", b"1.5e+00"),
            ("atom", b"\"ok\""),
            ("list", br#""a", "(ao-type-integer) 2""#),
            ("map", b"a=1, b=\"x\""),
        ];
        for (ty, text) in cases {
            let lower = decode_value(ty, text, 0).unwrap();
            for other in [
                ty.to_ascii_uppercase(),
                ty[..1].to_ascii_uppercase() + &ty[1..],
            ] {
                assert_eq!(decode_value(&other, text, 0).unwrap(), lower, "{other}");
                let escaped = String::from_utf8(text.to_vec())
                    .unwrap()
                    .replace('"', "\\\"");
                let list = format!(r#""(ao-type-{other}) {escaped}""#);
                let as_item = format!(r#""(ao-type-{ty}) {escaped}""#);
                assert_eq!(
                    decode_value("list", list.as_bytes(), 0).unwrap(),
                    decode_value("list", as_item.as_bytes(), 0).unwrap(),
                    "{list}"
                );
            }
        }
        assert!(decode_value("List", b"\"(ao-type-intger) 1\"", 0).is_err());
    }

    /// A plain binary is a binary that is not its key's legacy-TX default, whatever its length:
    /// the lengths `is_plain_binary` reads first are the only ones a default has.
    #[test]
    fn plain_binaries_are_binaries_but_defaults() {
        let mut keys = defaults::DEFAULT_TX_KEYS.to_vec();
        keys.extend(["other", "signature_type"]);
        for key in keys {
            for n in 0..600 {
                for byte in [0u8, 1] {
                    let value = Value::binary(vec![byte; n]);
                    assert_eq!(
                        is_plain_binary(key, &value),
                        !defaults::is_default_tx_value(key, &value),
                        "{key:?}, {n} bytes of {byte}"
                    );
                }
            }
            assert!(!is_plain_binary(key, &Value::from(0)));
            assert!(!is_plain_binary(key, &Value::List(Vec::new())));
        }
    }

    /// The TABM's keys keep their order, and keys typed empty follow, the last typed first
    /// (where they go is not seen outside: codecs and `message@1.0`'s `keys` use map order).
    /// Either way `ao-types` goes.
    #[test]
    fn keys_keep_their_order_with_and_without_empty_types() {
        let keys = |tabm: &Message| match decode_message(tabm.clone(), 0) {
            Ok(rich) => rich
                .keys()
                .map(|k| k.as_str().to_owned())
                .collect::<Vec<_>>(),
            Err(e) => panic!("{e}"),
        };
        let typed = Message::new()
            .with("z", "1")
            .with(
                "ao-types",
                r#"z="integer", a="empty-list", m="empty-binary""#,
            )
            .with("b", "t");
        assert_eq!(keys(&typed), ["z", "b", "m", "a"]);
        let rich = decode_message(typed, 0).unwrap_or_default();
        assert_eq!(rich.get("a"), Some(&Value::List(Vec::new())));
        assert_eq!(rich.get("m"), Some(&Value::binary("")));
        let plain = Message::new()
            .with("z", "1")
            .with("ao-types", r#"z="integer""#)
            .with("b", "t");
        assert_eq!(keys(&plain), ["z", "b"]);
        let rich = decode_message(plain, 0).unwrap_or_default();
        assert_eq!(rich.get("z"), Some(&Value::Integer(1)));
    }

    /// Legacy-TX defaults are dropped as HyperBEAM drops them: every value decoded, each key
    /// typed empty that the TABM lacks added, then the defaults filtered out of the whole. Every
    /// default key (and another), with binaries and values decoded already, and each typing,
    /// empty ones included, and named twice in `ao-types` (the last counts, as an SF
    /// dictionary's last member does); a value its type does not decode fails both ways.
    #[test]
    fn defaults_are_dropped_as_after_adding_empty_keys() {
        fn by_hyperbeam(tabm: &Message) -> Option<Message> {
            let types = match tabm.get("ao-types") {
                Some(Value::Binary(b)) => parse_ao_types(b).unwrap(),
                _ => Vec::new(),
            };
            let mut out = Message::new();
            for (key, value) in tabm.iter().filter(|(k, _)| k.as_str() != "ao-types") {
                let ty = types.iter().rev().find(|(k, _)| k == key);
                let mut value = value.clone();
                decode_in_place(ty.map(|(_, t)| t.as_ref()), &mut value, 0).ok()?;
                out.insert(key.clone(), value);
            }
            for (key, ty) in types.iter().rev() {
                if let (None, Some(empty)) = (out.get(key.as_str()), empty_value(ty)) {
                    out.insert(key.clone(), empty);
                }
            }
            defaults::filter_default_tx_keys(&mut out);
            Some(out)
        }
        let mut keys = defaults::DEFAULT_TX_KEYS.to_vec();
        keys.push("other");
        let typings: [&[&str]; 9] = [
            &[],
            &["integer"],
            &["empty-binary"],
            &["empty-list"],
            &["atom"],
            &["empty-binary", "integer"],
            &["integer", "empty-binary"],
            // The last type's empty value a default for some keys, the first's for others.
            &["empty-list", "empty-binary"],
            &["empty-binary", "empty-list"],
        ];
        for key in keys {
            // Binaries, and values that arrive decoded already (from JSON), which a type
            // leaves as they are.
            let values = [
                None,
                Some(Value::from("")),
                Some(Value::from("0")),
                Some(Value::from("x")),
                Some(Value::from("ans104")),
                Some(Value::from(0)),
                Some(Value::List(Vec::new())),
                Some(Value::atom("ans104")),
            ];
            for value in values {
                // A key named twice by the same text is one member of the SF dictionary
                // (the last value in the first place); escaped the first time, it is two
                // members that name one key.
                for (typing, escaped) in typings.iter().flat_map(|t| [(t, false), (t, true)]) {
                    if escaped && typing.len() < 2 {
                        continue;
                    }
                    let mut tabm = Message::new().with("b", "1");
                    if let Some(value) = value.clone() {
                        tabm.insert(key, value);
                    }
                    let field: Vec<String> = typing
                        .iter()
                        .enumerate()
                        .map(|(i, ty)| match (escaped && i == 0, key.as_bytes()) {
                            (true, [first, rest @ ..]) => {
                                format!(r#"%{first:02X}{}="{ty}""#, String::from_utf8_lossy(rest))
                            }
                            _ => format!(r#"{key}="{ty}""#),
                        })
                        .collect();
                    if !field.is_empty() {
                        tabm.insert("ao-types", field.join(", "));
                    }
                    let expected = by_hyperbeam(&tabm);
                    assert_eq!(
                        decode_message(tabm, 0).ok(),
                        expected,
                        "{key} = {value:?}, typed {field:?}"
                    );
                }
            }
        }
    }

    /// Both readings of `field` agree: the same members, or both an error.
    fn agree(field: &str) {
        let general = parse_ao_types_as_sf(field.as_bytes());
        match (plain_ao_types(field.as_bytes()), general) {
            (None, _) => {}
            (Some(plain), Ok(general)) => {
                let plain: Vec<(Key, TypeName)> =
                    plain.into_iter().map(|(k, t)| (Key::new(k), t)).collect();
                assert_eq!(plain, general, "{field:?}")
            }
            (Some(plain), Err(e)) => {
                panic!("{field:?}: read as {plain:?}, but the parser says {e}")
            }
        }
        // And what the public function answers is the general reading.
        let (public, general) = (
            parse_ao_types(field.as_bytes()),
            parse_ao_types_as_sf(field.as_bytes()),
        );
        assert_eq!(public.ok(), general.ok(), "{field:?}");
    }

    #[test]
    fn the_usual_form_is_read_in_one_pass() {
        let field =
            r#"empty="empty-binary", flag="atom", float="float", list="list", num="integer""#;
        let types = plain_ao_types(field.as_bytes()).expect("the usual form");
        assert_eq!(types.len(), 5);
        assert_eq!(
            (types[0].0.as_ref(), types[0].1.as_ref()),
            ("empty", "empty-binary")
        );
        agree(field);
        // Not the usual form: left to the general parser.
        for other in [
            r#"a="Integer""#,
            r#"%58y=atom"#,
            r#"a="x";p"#,
            r#"a="x", a="y""#,
            "",
            r#" a="x""#,
        ] {
            assert!(plain_ao_types(other.as_bytes()).is_none(), "{other:?}");
            agree(other);
        }
    }

    /// Every byte in a key and in a type name: read in one pass exactly when the usual form
    /// allows it there (keys: lower-case letters, digits, `_-.*`, not first `.`; types:
    /// lower-case letters and `-`), and then as the parser reads it.
    #[test]
    fn every_byte_of_a_key_or_type_is_read_as_the_parser_reads_it() {
        for b in 0..=255u8 {
            let key_byte = b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b);
            let type_byte = b.is_ascii_lowercase() || b == b'-';
            let key = [b"a".as_slice(), &[b], br#"="integer""#].concat();
            assert_eq!(plain_ao_types(&key).is_some(), key_byte, "{b:#04x}");
            let ty = [br#"a="in"#.as_slice(), &[b], br#"teger""#].concat();
            assert_eq!(plain_ao_types(&ty).is_some(), type_byte, "{b:#04x}");
            for field in [key, ty] {
                if let Ok(field) = std::str::from_utf8(&field) {
                    agree(field);
                }
            }
        }
    }

    /// A list read through the SF parser alone, every member an item.
    fn list_by_parser(text: &[u8]) -> Result<Value, String> {
        let mut out = Vec::new();
        let members = sf::parse_list(text).map_err(|e| Error::sf("list")(e).to_string())?;
        for member in members {
            let sf::Member::Item(item) = member else {
                return Err(Error::InnerList("list").to_string());
            };
            out.push(list_item(item.bare, 0).map_err(|e| e.to_string())?);
        }
        Ok(Value::List(out))
    }

    /// Decoding a list answers what reading it through the parser alone answers, error or not.
    fn lists_agree(text: &[u8]) {
        let decoded = decode_list(text, 0).map_err(|e| e.to_string());
        assert_eq!(decoded, list_by_parser(text), "{text:?}");
    }

    #[test]
    fn lists_in_the_usual_form_are_decoded_in_one_pass() {
        let text = br#""(ao-type-integer) 1", "a", "(ao-type-atom) \"true\"""#;
        let expected = vec![Value::Integer(1), Value::binary("a"), Value::atom("true")];
        assert_eq!(decode_list(text, 0).ok(), Some(Value::List(expected)));
        // Other forms, and items that do not decode, are read by the parser, as before.
        for text in [
            &text[..],
            b"",
            br#"1, "a""#,
            br#""a";p"#,
            br#""a","#,
            br#""(ao-type-integer) x""#,
            br#""(ao-type-integer)1""#,
            br#""(ao-type-nothing) 1", 2"#,
            br#""(ao-type-atom) \"a\\\"b\"""#,
        ] {
            lists_agree(text);
        }
    }

    proptest! {
        #[test]
        fn lists_are_decoded_as_the_parser_reads_them(
            items in proptest::collection::vec(
                r#"(\(ao-type-(integer|atom|float)\) )?[-"\\a1 .e+()]{0,6}"#,
                0..4,
            ),
            seps in "[ \t,;]{1,3}",
        ) {
            let quoted: Vec<String> = items.iter().map(|i| {
                let mut out = Vec::new();
                sf::write_string(&mut out, i.as_bytes());
                String::from_utf8_lossy(&out).into_owned()
            }).collect();
            lists_agree(quoted.join(", ").as_bytes());
            lists_agree(quoted.join(&seps).as_bytes());
            let raw = items.join(&seps);
            lists_agree(raw.as_bytes());
        }

        #[test]
        fn any_field_is_read_as_the_parser_reads_it(field in r#"[a-cA.*%_\-0-9=" ,;\t\\()]{0,24}"#) {
            agree(&field);
        }

        #[test]
        fn near_usual_fields_are_read_as_the_parser_reads_them(
            members in proptest::collection::vec(("[a-c0-9_.*-]{0,4}", "[a-cA-]{0,4}", "[ \t]{0,2}", "[ \t]{0,2}"), 1..5),
        ) {
            let field = members
                .iter()
                .map(|(k, t, before, after)| format!("{before}{k}=\"{t}\"{after}"))
                .collect::<Vec<_>>()
                .join(",");
            agree(&field);
            agree(field.trim());
        }
    }
}

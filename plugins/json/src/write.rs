//! The JSON writer: OTP `json:encode`'s byte format (`codecs.md` §8), JSON's own types for
//! typed values (`docs/protocol-notes.md`).

use crate::Error;
use ferrobeam_device_api::{Message, Value};
use ferrobeam_structured::{map_order, MAX_DEPTH};

/// Appends `{"k":v,…}` with keys in Erlang map order; private and regenerable keys are
/// skipped, as structured@1.0 skips them.
///
/// Values are written with JSON's own types where that is exact (`docs/protocol-notes.md`):
/// text as strings, integers and finite floats as numbers, `true`/`false`/`null` as
/// themselves, lists of such values as arrays, messages as objects. A value JSON cannot type
/// exactly (another atom, or a list holding one) is written as its structured@1.0 text with an
/// `ao-types` entry, so decoding restores it. A TABM is therefore written as it is: strings.
pub(crate) fn object(out: &mut Vec<u8>, msg: &Message, depth: usize) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Err(ferrobeam_structured::Error::TooDeep(MAX_DEPTH).into());
    }
    let mut entries: Vec<(&str, &Value)> = msg
        .iter()
        .filter(|(k, _)| !k.is_private() && !ferrobeam_structured::is_regenerable(k))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    // Entries JSON cannot type exactly, as (key, structured type, structured text).
    let mut typed: Vec<(&str, &'static str, Vec<u8>)> = Vec::new();
    for (key, value) in &entries {
        if !native(value) {
            let (ty, text) = ferrobeam_structured::encode_value(value)?;
            typed.push((key, ty, text));
        }
    }
    let ao_types = if typed.is_empty() {
        None
    } else {
        let mut line = msg
            .get_str("ao-types")
            .map(str::to_owned)
            .unwrap_or_default();
        for (key, ty, _) in &typed {
            if !line.is_empty() {
                line.push_str(", ");
            }
            line.push_str(&format!(
                "{}=\"{ty}\"",
                ferrobeam_structured::escape::encode(key.as_bytes())
            ));
        }
        Some(Value::from(line))
    };
    if let Some(types) = &ao_types {
        entries.retain(|(k, _)| *k != "ao-types");
        entries.push(("ao-types", types));
    }
    map_order::sort_in_map_order(&mut entries, |(k, _)| k.as_bytes());
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, key.as_bytes());
        out.push(b':');
        match typed.iter().find(|(k, _, _)| *k == key) {
            Some((_, _, text)) => utf8_string(out, key, text)?,
            None => value_json(out, key, value, depth)?,
        }
    }
    out.push(b'}');
    Ok(())
}

/// Whether JSON carries `value` exactly.
fn native(value: &Value) -> bool {
    match value {
        Value::Binary(_) | Value::Integer(_) | Value::Message(_) => true,
        Value::Float(f) => f.is_finite(),
        Value::Atom(a) => matches!(a.as_str(), "true" | "false" | "null"),
        Value::List(items) => items.iter().all(native),
    }
}

fn value_json(out: &mut Vec<u8>, key: &str, value: &Value, depth: usize) -> Result<(), Error> {
    match value {
        Value::Binary(b) => utf8_string(out, key, b)?,
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => {
            // Shortest text that reads back as the same float, as OTP's encoder writes it.
            let text = serde_json::Number::from_f64(*f)
                .map(|n| n.to_string())
                .ok_or_else(|| Error::Syntax(format!("{key}: {f} has no JSON form")))?;
            out.extend_from_slice(text.as_bytes());
        }
        Value::Atom(a) => out.extend_from_slice(a.as_bytes()),
        Value::List(items) => {
            if depth >= MAX_DEPTH {
                return Err(ferrobeam_structured::Error::TooDeep(MAX_DEPTH).into());
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value_json(out, key, item, depth + 1)?;
            }
            out.push(b']');
        }
        Value::Message(m) => object(out, m, depth + 1)?,
    }
    Ok(())
}

fn utf8_string(out: &mut Vec<u8>, key: &str, bytes: &[u8]) -> Result<(), Error> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(Error::NotUtf8(key.to_owned()));
    }
    string(out, bytes);
    Ok(())
}

/// Appends a JSON string as OTP's `json` writes it: `"` and `\` escaped, `\b \t \n \f \r`
/// short forms, other control characters `\u00XX` (upper-case hex); everything else — DEL and
/// UTF-8 included — as is. The bytes must be UTF-8 (checked by the caller).
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Runs of bytes that need no escape are copied whole, found eight bytes at a time.
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        while let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            if word_needs_escape(u64::from_le_bytes(*word)) {
                break;
            }
            i += 8;
        }
        let Some(&b) = bytes.get(i) else { break };
        i += 1;
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[plain..i - 1]);
        plain = i;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

/// Whether a JSON string must escape `b`: `"`, `\` and the control characters.
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of the eight bytes of `word` [`needs_escape`] (SWAR: a byte below 0x20, or one
/// equal to `"` or `\`; exact for "any", which is all the caller asks).
#[inline]
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use super::{needs_escape, string, word_needs_escape};

    /// Byte by byte, as the rule in `string`'s documentation says: a table of the short
    /// forms, `\u00XX` for the other control characters.
    fn reference(bytes: &[u8]) -> Vec<u8> {
        const SHORT: [(u8, &[u8]); 7] = [
            (b'"', br#"\""#),
            (b'\\', br"\\"),
            (0x08, br"\b"),
            (0x09, br"\t"),
            (0x0a, br"\n"),
            (0x0c, br"\f"),
            (0x0d, br"\r"),
        ];
        let mut out = vec![b'"'];
        for &b in bytes {
            if let Some((_, short)) = SHORT.iter().find(|(c, _)| *c == b) {
                out.extend_from_slice(short);
            } else if b < 0x20 {
                out.extend_from_slice(format!("\\u{b:04X}").as_bytes());
            } else {
                out.push(b);
            }
        }
        out.push(b'"');
        out
    }

    #[test]
    fn strings_are_escaped_byte_for_byte_as_the_rule_says() {
        let every: Vec<u8> = (0..=255).collect();
        let cases: [&[u8]; 6] = [
            b"",
            b"plain text",
            b"\"\\",
            b"a\nb\tc\x01d\x7f",
            "unicode \u{e9}\u{1f600} \r\n".as_bytes(),
            &every,
        ];
        for case in cases {
            let mut out = Vec::new();
            string(&mut out, case);
            assert_eq!(out, reference(case), "{case:?}");
        }
    }

    /// Every byte value at every position of a word, among fillers that need no escape (ASCII,
    /// and the bytes of multi-byte UTF-8) and fillers that do: the word check says "some byte
    /// needs an escape" exactly when one does.
    #[test]
    fn the_word_check_agrees_with_the_byte_check() {
        for filler in [
            b'a', b' ', b'~', 0x7f, 0x80, 0xbf, 0xe2, 0xff, b'"', b'\\', 0x1f, 0x00,
        ] {
            for position in 0..8 {
                for b in 0..=255u8 {
                    let mut word = [filler; 8];
                    word[position] = b;
                    let any = word.iter().any(|&x| needs_escape(x));
                    assert_eq!(word_needs_escape(u64::from_le_bytes(word)), any, "{word:?}");
                }
            }
        }
        // And words of mixed bytes (xorshift, each byte drawn from a small set of edges so
        // that neighbours of every kind meet, borrows included).
        const EDGES: [u8; 12] = [
            0x00, 0x1f, 0x20, 0x21, b'"', b'#', b'[', b'\\', b']', 0x7f, 0x80, 0xff,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word = state
                .to_le_bytes()
                .map(|r| EDGES[usize::from(r) % EDGES.len()]);
            let any = word.iter().any(|&x| needs_escape(x));
            assert_eq!(word_needs_escape(u64::from_le_bytes(word)), any, "{word:?}");
        }
    }

    /// An escaped byte at every offset of plain runs of every length up to three words, so
    /// that each lands at every position of the word scan and in the bytes after it.
    #[test]
    fn escapes_anywhere_in_long_plain_runs_are_found() {
        for len in 0..24 {
            for at in 0..=len {
                for special in [b'"', b'\\', b'\n', 0x01, 0x1f] {
                    let mut case: Vec<u8> =
                        "r\u{e9}sum\u{e9} text".bytes().cycle().take(len).collect();
                    case.insert(at, special);
                    let mut out = Vec::new();
                    string(&mut out, &case);
                    assert_eq!(out, reference(&case), "{case:?}");
                }
            }
        }
    }
}

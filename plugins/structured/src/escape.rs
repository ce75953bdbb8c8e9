//! `hb_escape`: the %-escaping of keys inside `ao-types` (`codecs.md` §2.1 step 4).
//!
//! Header names are lower-cased in transit, so `ao-types` cannot name a key with capitals
//! directly; every byte outside `a-z 0-9 . - _ / ? & +` is written as `%xx` (lower-case hex).

use crate::Error;

/// Escapes a key for use in `ao-types`.
///
/// ```
/// use ferrobeam_structured::escape::encode;
/// assert_eq!(encode(b"hello World"), "hello%20%57orld");
/// assert_eq!(encode(b"a.b_c/d"), "a.b_c/d");
/// ```
pub fn encode(key: &[u8]) -> String {
    let mut out = Vec::with_capacity(key.len());
    write(&mut out, key);
    // Only ASCII is written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the escaped form of `key` to `out` (see [`encode`]).
///
/// ```
/// let mut out = b"x=".to_vec();
/// ferrobeam_structured::escape::write(&mut out, b"Ab");
/// assert_eq!(out, b"x=%41b");
/// ```
pub fn write(out: &mut Vec<u8>, key: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let plain = |b: u8| PLAIN[usize::from(b)];
    if key.iter().all(|&b| plain(b)) {
        out.extend_from_slice(key);
        return;
    }
    for &b in key {
        if plain(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]]);
        }
    }
}

/// The bytes a key holds unescaped (`a-z 0-9 . - _ / ? & +`), worked out when compiled: one
/// load per byte checked.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, b'.' | b'-' | b'_' | b'/' | b'?' | b'&' | b'+');
        b += 1;
    }
    table
};

/// Reverses [`encode`]; hex digits of either case are accepted. A `%` without two following
/// bytes is kept literally (as HyperBEAM does); a `%` followed by non-hex is an error.
///
/// ```
/// use ferrobeam_structured::escape::decode;
/// assert_eq!(decode(b"hello%2c%20%57orld%21").unwrap(), b"hello, World!");
/// assert_eq!(decode(b"%4E").unwrap(), b"N");
/// ```
pub fn decode(escaped: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(escaped.len());
    let mut i = 0;
    while i < escaped.len() {
        if escaped[i] == b'%' && i + 2 < escaped.len() {
            let hi = hex_value(escaped[i + 1]);
            let lo = hex_value(escaped[i + 2]);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => {
                    return Err(Error::BadEscape(
                        String::from_utf8_lossy(escaped).into_owned(),
                    ))
                }
            }
            i += 3;
        } else {
            out.push(escaped[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eunit_examples() {
        assert_eq!(encode(b"A"), "%41");
        assert_eq!(encode(b"Z"), "%5a");
        assert_eq!(encode(b"testABC"), "test%41%42%43");
        assert_eq!(decode(b"%61").ok(), Some(b"a".to_vec()));
        assert_eq!(decode(b"%2f").ok(), Some(b"/".to_vec()));
        assert_eq!(decode(b"50%").ok(), Some(b"50%".to_vec()));
        assert_eq!(decode(b"5%0").ok(), Some(b"5%0".to_vec()));
        assert!(decode(b"%zz").is_err());
    }

    /// Each byte is kept when it is one of `a-z 0-9 . - _ / ? & +`, and is `%xx` otherwise.
    #[test]
    fn every_byte_is_kept_or_escaped_as_documented() {
        let kept = b"abcdefghijklmnopqrstuvwxyz0123456789.-_/?&+";
        for b in 0..=255u8 {
            let expected = if kept.contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02x}")
            };
            assert_eq!(encode(&[b]), expected, "{b:#04x}");
        }
    }

    #[test]
    fn round_trip_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(encode(&all).as_bytes()).ok(), Some(all));
    }
}

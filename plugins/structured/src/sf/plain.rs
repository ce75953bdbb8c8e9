//! One-pass readings of the forms encoders write: an integer, a string without escapes, a list
//! of strings. Each answers `None` for anything else, which the general parser
//! ([`super::parse`]) then reads; where one answers, it reads what the parser reads (the tests
//! compare them), without building the parser's items.

use super::parse::integer_value;

/// The value of `text` when it is an integer and nothing else: an optional `-`, then 1 to 15
/// digits.
pub(crate) fn integer(text: &[u8]) -> Option<i64> {
    match text {
        [b'-', digits @ ..] => integer_value(digits).map(|value| -value),
        digits => integer_value(digits),
    }
}

/// The contents of `text` when it is a string and nothing else, with no escapes: `"…"` of
/// printable ASCII but `"` and `\`.
pub(crate) fn string(text: &[u8]) -> Option<&str> {
    let inner = text.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.iter().all(|&c| is_plain(c)) {
        // Printable ASCII, checked above.
        std::str::from_utf8(inner).ok()
    } else {
        None
    }
}

/// Calls `each` with the contents of every member of `text` when it is a list of strings
/// without parameters (`"a", "b \"c\""`), un-escaped: in place, or in a buffer when the string
/// holds escapes. `None` when `text` is anything else, or as soon as `each` answers `None`.
pub(crate) fn strings(text: &[u8], mut each: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
    let ows = |at: &mut usize| {
        while matches!(text.get(*at), Some(b' ' | b'\t')) {
            *at += 1;
        }
    };
    if text.is_empty() {
        return Some(());
    }
    let mut unescaped = Vec::new();
    let mut at = 0;
    loop {
        ows(&mut at);
        if text.get(at) != Some(&b'"') {
            return None;
        }
        at += 1;
        let start = at;
        let mut escaped = false;
        unescaped.clear();
        loop {
            // The run of plain bytes up to the next `"` or `\`, read as a whole.
            let run = text[at..].iter().take_while(|&&c| is_plain(c)).count();
            if escaped {
                unescaped.extend_from_slice(&text[at..at + run]);
            }
            at += run;
            match *text.get(at)? {
                b'"' => break,
                b'\\' => {
                    let c = *text.get(at + 1).filter(|&&c| c == b'"' || c == b'\\')?;
                    if !escaped {
                        // Room for the rest of the text, so that adding to it never
                        // reallocates.
                        unescaped.reserve(text.len() - start);
                        unescaped.extend_from_slice(&text[start..at]);
                        escaped = true;
                    }
                    unescaped.push(c);
                    at += 2;
                }
                _ => return None,
            }
        }
        each(if escaped {
            &unescaped
        } else {
            &text[start..at]
        })?;
        at += 1;
        ows(&mut at);
        match text.get(at) {
            None => return Some(()),
            Some(b',') => at += 1,
            Some(_) => return None,
        }
    }
}

/// A byte a string holds as it is: printable ASCII but `"` and `\`.
#[inline]
fn is_plain(c: u8) -> bool {
    PLAIN[usize::from(c)]
}

/// [`is_plain`] of every byte, worked out when compiled: one load per byte read.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0x20;
    while c <= 0x7e {
        table[c] = c != b'"' as usize && c != b'\\' as usize;
        c += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::super::{parse_item, parse_list, write_string, BareItem, Item, Member};
    use super::*;
    use proptest::prelude::*;

    /// Where a one-pass reading answers, the parser reads the same.
    fn agree(text: &[u8]) {
        if let Some(i) = integer(text) {
            assert_eq!(
                parse_item(text),
                Ok(Item::new(BareItem::Integer(i))),
                "{text:?}"
            );
        }
        if let Some(s) = string(text) {
            let expected = Item::new(BareItem::String(s.as_bytes().to_vec()));
            assert_eq!(parse_item(text), Ok(expected), "{text:?}");
        }
        let mut members = Vec::new();
        if strings(text, |s| {
            members.push(Member::Item(Item::new(BareItem::String(s.to_vec()))));
            Some(())
        })
        .is_some()
        {
            assert_eq!(parse_list(text), Ok(members), "{text:?}");
        }
    }

    #[test]
    fn the_usual_forms_are_read_in_one_pass() {
        assert_eq!(integer(b"-123"), Some(-123));
        assert_eq!(integer(b"999999999999999"), Some(999_999_999_999_999));
        assert_eq!(string(br#""false""#), Some("false"));
        assert_eq!(string(br#""""#), Some(""));
        let mut members = Vec::new();
        let list = br#""(ao-type-integer) 1",  "a","(ao-type-atom) \"true\"""#;
        let read = strings(list, |s| {
            members.push(String::from_utf8_lossy(s).into_owned());
            Some(())
        });
        assert_eq!(read, Some(()));
        assert_eq!(
            members,
            [r#"(ao-type-integer) 1"#, "a", r#"(ao-type-atom) "true""#]
        );
        assert_eq!(strings(b"", |_| None), Some(()));
        assert_eq!(strings(br#""a", "b""#, |_| None), None);
        for text in [&list[..], b"", b"-0", br#""""#, b" \"a\" "] {
            agree(text);
        }
    }

    #[test]
    fn other_forms_are_left_to_the_parser() {
        for text in [
            &b"1234567890123456"[..],
            b"",
            b"-",
            b"1.5",
            b"1;a",
            b" 1",
            b"+1",
        ] {
            assert_eq!(integer(text), None, "{text:?}");
            agree(text);
        }
        for text in [&b"\""[..], b"ok", br#""a\"b""#, br#""a";p"#, b"\"\x01\""] {
            assert_eq!(string(text), None, "{text:?}");
            agree(text);
        }
        for text in [
            &br#"1, "a""#[..],
            br#""a";p"#,
            br#""a","#,
            b"  ",
            br#"("a")"#,
        ] {
            assert_eq!(strings(text, |_| Some(())), None, "{text:?}");
            agree(text);
        }
    }

    /// Every byte, alone in a string and within a list's string: read in one pass exactly
    /// when it is printable ASCII but `"` and `\`, and then as the parser reads it.
    #[test]
    fn every_byte_in_a_string_is_read_as_the_parser_reads_it() {
        for b in 0..=255u8 {
            let plain = (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\';
            let alone = [b'"', b, b'"'];
            assert_eq!(string(&alone).is_some(), plain, "{b:#04x}");
            agree(&alone);
            let listed = [b'"', b'a', b'"', b',', b'"', b, b'x', b'"'];
            assert_eq!(strings(&listed, |_| Some(())).is_some(), plain, "{b:#04x}");
            agree(&listed);
        }
    }

    proptest! {
        #[test]
        fn any_text_is_read_as_the_parser_reads_it(text in r#"[-"\\0-9a;. ,\t\x01]{0,17}"#) {
            agree(text.as_bytes());
        }

        #[test]
        fn lists_of_strings_are_read_as_the_parser_reads_them(
            items in proptest::collection::vec(r#"[-"\\a1 .()]{0,6}"#, 0..4),
            separator in "[ \t,;]{1,3}",
        ) {
            let quoted: Vec<String> = items.iter().map(|item| {
                let mut out = Vec::new();
                write_string(&mut out, item.as_bytes());
                String::from_utf8_lossy(&out).into_owned()
            }).collect();
            agree(quoted.join(", ").as_bytes());
            agree(quoted.join(&separator).as_bytes());
            agree(items.join(&separator).as_bytes());
        }
    }
}

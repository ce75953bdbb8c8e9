//! Reading a `multipart/form-data` body into parts (`codecs.md` §5.5 step 3), in one pass.

use super::CRLF;
use crate::error::snippet;
use crate::Error;
use ferrobeam_device_api::{Key, Message, Value};
use ferrobeam_structured::sf;
use memchr::memmem::Finder;

/// A decoded part: its name (a `/`-path, case as sent) and value.
#[derive(Clone)]
pub(crate) struct DecodedPart {
    pub name: String,
    pub value: Value,
}

/// Splits and decodes a multipart body (`§5.5` step 3).
///
/// The parts are the bytes between the first `--B CRLF` and the first `CRLF --B--`, split on
/// `CRLF --B`. In each part the header block ends at the first CRLF CRLF; header lines are
/// split on CRLF only (a bare LF stays inside a value, as hbsig sends multi-line values) and at
/// the first `": "`; lines without it are skipped. Part header names are lower-cased (clients
/// may send `Content-Disposition`). `content-disposition` is required: `inline` names the part
/// after `inline_key`, otherwise its `name` parameter does.
///
/// The body is read once. In a part's header block every CR is looked at, since each may end
/// a line, the block, or the part; a part's body is skipped to the next separator
/// ([`BodySkipper`]). Clients put large values in header lines (the guides' Lua sources are a
/// `data` field), so a block is often most of the body. The boundary is a structured-field
/// string or token, which hold no CR, so two occurrences of the separator never overlap, and
/// the first one followed by `--` is the first `CRLF --B--`.
pub(crate) fn decode(
    body: &[u8],
    boundary: &[u8],
    inline_key: &str,
) -> Result<Vec<DecodedPart>, Error> {
    // `CRLF --B`: on the stack for a boundary of up to 70 bytes, the most RFC 2046 allows
    // (HyperBEAM's are 43), on the heap beyond.
    const OPEN: &[u8; 4] = b"\r\n--";
    let mut room = [0u8; OPEN.len() + 70];
    let heap;
    let separator: &[u8] = match room.get_mut(..OPEN.len() + boundary.len()) {
        Some(separator) => {
            let (open, rest) = separator.split_at_mut(OPEN.len());
            open.copy_from_slice(OPEN);
            rest.copy_from_slice(boundary);
            separator
        }
        None => {
            heap = [&OPEN[..], boundary].concat();
            &heap
        }
    };
    let inner = opening(body, separator)? + separator.len();
    if closes_before(body, separator, inner) {
        // The closing delimiter comes first: the parts are empty, and so is the one part.
        return PartReader::new(inner)
            .finish(body, inner, inline_key)
            .map(|p| vec![p]);
    }
    let mut skip_body = BodySkipper::new(separator);
    let (mut parts, mut failed) = (Vec::new(), None);
    let mut part = PartReader::new(inner);
    let mut at = inner;
    loop {
        let in_body = part.body_start.is_some();
        let cr = if in_body {
            skip_body.next(&body[at..])
        } else {
            memchr::memchr(b'\r', &body[at..])
        }
        .map(|i| at + i)
        .ok_or(Error::Multipart("closing boundary not found"))?;
        if body[cr..].starts_with(separator) {
            let next = cr + separator.len();
            if failed.is_none() {
                match part.finish(body, cr, inline_key) {
                    Ok(done) => parts.push(done),
                    Err(e) => failed = Some(e),
                }
            }
            if body.get(next..next + 2) == Some(b"--") {
                return match failed {
                    Some(e) => Err(e),
                    None => Ok(parts),
                };
            }
            (part, at) = (PartReader::new(next), next);
        } else if in_body {
            skip_body.missed();
            at = cr + 1;
        } else if body.get(cr + 1) == Some(&b'\n') {
            if failed.is_none() {
                part.end_line(body, cr);
                if body.get(cr + 2..cr + 4) == Some(CRLF) {
                    part.body_start = Some(cr + 4);
                }
            }
            // The next CR may begin a separator, even the blank line's second one.
            at = cr + 2;
        } else {
            at = cr + 1;
        }
    }
}

/// Finds where a part's body may end, the next separator `CRLF --B`: at first by looking at
/// each CR (a body holds few, and setting up a substring search costs more than reading a small
/// body), then, once [`BodySkipper::CR_LIMIT`] CRs have not begun a separator, by a substring
/// search, which reads a body full of CRs as fast as any other.
struct BodySkipper<'a> {
    separator: &'a [u8],
    missed: usize,
    finder: Option<Finder<'a>>,
}

impl<'a> BodySkipper<'a> {
    /// CRs in part bodies that may begin no separator before the substring search is set up.
    const CR_LIMIT: usize = 16;

    fn new(separator: &'a [u8]) -> Self {
        BodySkipper {
            separator,
            missed: 0,
            finder: None,
        }
    }

    /// Where in `rest` the next separator may begin: a CR, or (with the substring search) the
    /// separator itself.
    fn next(&self, rest: &[u8]) -> Option<usize> {
        match &self.finder {
            Some(finder) => finder.find(rest),
            None => memchr::memchr(b'\r', rest),
        }
    }

    /// Records that the CR [`BodySkipper::next`] found begins no separator.
    fn missed(&mut self) {
        self.missed += 1;
        if self.missed == Self::CR_LIMIT {
            self.finder = Some(Finder::new(self.separator));
        }
    }
}

/// Where the parts begin: the first `--B CRLF` (usually the body's first bytes).
fn opening(body: &[u8], separator: &[u8]) -> Result<usize, Error> {
    let begin = &separator[2..];
    if body.starts_with(begin) && body.get(begin.len()..begin.len() + 2) == Some(CRLF) {
        return Ok(0);
    }
    let mut opening = begin.to_vec();
    opening.extend_from_slice(CRLF);
    memchr::memmem::find(body, &opening).ok_or(Error::Multipart("opening boundary not found"))
}

/// Whether a closing delimiter `CRLF --B--` starts before `inner`, where reading the parts
/// starts: in a preamble, or at the CRLF that ends the opening delimiter.
fn closes_before(body: &[u8], separator: &[u8], inner: usize) -> bool {
    let closes_at = |at: usize| {
        body[at..].starts_with(separator)
            && body.get(at + separator.len()..at + separator.len() + 2) == Some(b"--")
    };
    // Without a preamble the only CR before `inner` is the opening delimiter's own.
    if closes_at(inner - 2) {
        return true;
    }
    // With one, look for a closing delimiter in it: one that starts before that CR ends
    // before it, as a closing delimiter's only CR is its first byte.
    inner > separator.len()
        && memchr::memmem::find_iter(&body[..inner - 2], separator).any(closes_at)
}

/// One part being read: its header lines as they end, then where its body starts.
struct PartReader<'a> {
    /// Where the current header line starts.
    line_start: usize,
    /// Where the body starts, once the header block has ended.
    body_start: Option<usize>,
    disposition: Option<&'a [u8]>,
    /// The header lines but `content-disposition`, in order: made a message once the part
    /// ends ([`Message::from_entries`], which tells a handful of names apart by their tags,
    /// without a search per line; a repeated name keeps its first place and its last value).
    fields: Vec<(Key, Value)>,
    /// The first error in a header line; the part fails with it.
    failed: Option<Error>,
}

impl<'a> PartReader<'a> {
    fn new(start: usize) -> Self {
        PartReader {
            line_start: start,
            body_start: None,
            disposition: None,
            fields: Vec::new(),
            failed: None,
        }
    }

    /// The header line from `line_start` ends at `end` (a CRLF or the part's end).
    fn end_line(&mut self, body: &'a [u8], end: usize) {
        let line = &body[self.line_start..end];
        self.line_start = end + 2;
        if self.failed.is_some() {
            return;
        }
        let Some(at) = find_pair(line, b':', b' ') else {
            return;
        };
        let Ok(name) = std::str::from_utf8(&line[..at]) else {
            self.failed = Some(Error::NotUtf8(snippet(line)));
            return;
        };
        let value = &line[at + 2..];
        if name.eq_ignore_ascii_case("content-disposition") {
            self.disposition = Some(value);
        } else {
            // Lower-cased even when ID-shaped, which `Key::new` alone would keep as it is.
            let key = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Key::new(name.to_ascii_lowercase())
            } else {
                Key::new(name)
            };
            if self.fields.is_empty() {
                // Room for a part's usual handful of lines at once; a part that is one binary
                // has none, and allocates nothing.
                self.fields.reserve(8);
            }
            self.fields.push((key, Value::binary(value)));
        }
    }

    /// The part, which ends at `end` (where its separator starts).
    fn finish(
        mut self,
        body: &'a [u8],
        end: usize,
        inline_key: &str,
    ) -> Result<DecodedPart, Error> {
        let content = match self.body_start {
            Some(start) => body.get(start..end).unwrap_or_default(),
            None => {
                self.end_line(body, end);
                &[]
            }
        };
        if let Some(e) = self.failed {
            return Err(e);
        }
        let disposition = self
            .disposition
            .ok_or(Error::Multipart("part without content-disposition"))?;
        let name = match disposition_name(disposition) {
            Some(Named::Inline) => inline_key.to_owned(),
            Some(Named::Part(name)) => name.to_owned(),
            None => {
                let item = sf::parse_item(disposition).map_err(Error::sf("content-disposition"))?;
                if item.bare.as_text_bytes() == Some(b"inline") {
                    inline_key.to_owned()
                } else {
                    let name = item
                        .param("name")
                        .and_then(sf::BareItem::as_text_bytes)
                        .ok_or(Error::Multipart("part without name"))?;
                    crate::http::utf8(name)?.to_owned()
                }
            }
        };
        let mut fields = self.fields;
        let value = if fields.is_empty() {
            Value::binary(content)
        } else {
            if !content.is_empty() {
                fields.push((crate::keys::BODY.clone(), Value::binary(content)));
            }
            Value::Message(Message::from_entries(fields))
        };
        Ok(DecodedPart { name, value })
    }
}

/// What a `content-disposition` names, read from its bytes.
#[derive(Debug, PartialEq)]
enum Named<'a> {
    /// `inline`: the part after the inline key.
    Inline,
    /// `form-data;name="…"`: the part of that name.
    Part(&'a str),
}

/// The name in a `content-disposition` written as encoders write it (`inline`, or
/// `form-data;name="…"` with no escapes), or `None` for any other form, which the
/// structured-fields parser then reads. Both read these forms alike.
fn disposition_name(value: &[u8]) -> Option<Named<'_>> {
    if value == b"inline" {
        return Some(Named::Inline);
    }
    let name = value
        .strip_prefix(b"form-data;name=\"")?
        .strip_suffix(b"\"")?;
    // Printable ASCII but `"` and `\`: a string needing no unescaping.
    let plain = |b: &u8| (0x20..=0x7e).contains(b) && *b != b'"' && *b != b'\\';
    if !name.iter().all(plain) {
        return None;
    }
    std::str::from_utf8(name).ok().map(Named::Part)
}

/// First index of the two bytes `a b` in `haystack` (`": "`): a byte search, without
/// building a substring searcher for a two-byte needle.
fn find_pair(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(a, haystack.get(from..)?) {
        let at = from + i;
        if haystack.get(at + 1) == Some(&b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules of [`decode`] as written in its documentation, read the plainest way: whole
    /// substring searches and splits, one step after another. The one-pass reader must agree
    /// with it, result for result and error for error.
    mod model {
        use super::super::{DecodedPart, CRLF};
        use crate::error::snippet;
        use crate::Error;
        use ferrobeam_device_api::{Key, Message, Value};
        use ferrobeam_structured::sf;

        fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
            hay.windows(needle.len()).position(|w| w == needle)
        }

        /// `hay` split on every `sep`, left to right.
        fn split<'a>(mut hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
            let mut pieces = Vec::new();
            while let Some(at) = find(hay, sep) {
                pieces.push(&hay[..at]);
                hay = &hay[at + sep.len()..];
            }
            pieces.push(hay);
            pieces
        }

        pub(super) fn decode(
            body: &[u8],
            boundary: &[u8],
            inline_key: &str,
        ) -> Result<Vec<DecodedPart>, Error> {
            let b = std::str::from_utf8(boundary).unwrap();
            let open = format!("--{b}\r\n");
            let start = find(body, open.as_bytes())
                .ok_or(Error::Multipart("opening boundary not found"))?;
            let stop = find(body, format!("\r\n--{b}--").as_bytes())
                .ok_or(Error::Multipart("closing boundary not found"))?;
            let inner = body.get(start + open.len()..stop).unwrap_or(&[]);
            split(inner, format!("\r\n--{b}").as_bytes())
                .into_iter()
                .map(|raw| part(raw, inline_key))
                .collect()
        }

        fn part(raw: &[u8], inline_key: &str) -> Result<DecodedPart, Error> {
            let (head, content) = match find(raw, b"\r\n\r\n") {
                Some(at) => (&raw[..at], &raw[at + 4..]),
                None => (raw, &[][..]),
            };
            let (mut disposition, mut fields) = (None, Message::new());
            for line in split(head, CRLF) {
                let Some(at) = find(line, b": ") else {
                    continue;
                };
                let name = std::str::from_utf8(&line[..at])
                    .map_err(|_| Error::NotUtf8(snippet(line)))?
                    .to_ascii_lowercase();
                match name.as_str() {
                    "content-disposition" => disposition = Some(&line[at + 2..]),
                    _ => drop(fields.insert(Key::new(name), Value::from(&line[at + 2..]))),
                }
            }
            let disposition =
                disposition.ok_or(Error::Multipart("part without content-disposition"))?;
            let item = sf::parse_item(disposition).map_err(Error::sf("content-disposition"))?;
            let name = match item.bare.as_text_bytes() {
                Some(b"inline") => inline_key.to_owned(),
                _ => item
                    .param("name")
                    .and_then(sf::BareItem::as_text_bytes)
                    .ok_or(Error::Multipart("part without name"))
                    .and_then(|n| Ok(crate::http::utf8(n)?.to_owned()))?,
            };
            let value = match (fields.is_empty(), content.is_empty()) {
                (true, _) => Value::from(content),
                (false, true) => Value::Message(fields),
                (false, false) => Value::Message(fields.with("body", content)),
            };
            Ok(DecodedPart { name, value })
        }
    }

    fn names(body: &str) -> Result<Vec<String>, Error> {
        let parts = decode(body.as_bytes(), b"B1", "body")?;
        Ok(parts.into_iter().map(|p| p.name).collect())
    }

    const A: &str = "content-disposition: form-data;name=\"a\"\r\n\r\nx";
    const C: &str = "content-disposition: form-data;name=\"c\"\r\n\r\ny";

    #[test]
    fn parts_are_split_between_the_opening_and_the_first_closing_delimiter() {
        let ok = |body: String, want: &[&str]| assert_eq!(names(&body).unwrap(), want, "{body:?}");
        ok(format!("--B1\r\n{A}\r\n--B1\r\n{C}\r\n--B1--"), &["a", "c"]);
        ok(format!("--B1\r\n{A}\r\n--B1--\r\n"), &["a"]);
        // A preamble, with a separator in it, is skipped; so is an epilogue.
        let preamble = "pre\r\n--B1 amble\r\n";
        ok(
            format!("{preamble}--B1\r\n{A}\r\n--B1--\r\n--B1\r\n{C}"),
            &["a"],
        );
        // `--B1` not followed by CRLF does not open the parts.
        ok(format!("--B1x\r\n--B1\r\n{A}\r\n--B1--"), &["a"]);
        // A separator is `CRLF --B1` wherever it is, as HyperBEAM splits.
        ok(
            format!("--B1\r\n{A}\r\n--B1x\r\n{C}\r\n--B1--"),
            &["a", "c"],
        );
        let parts = decode(format!("--B1\r\n{A}\r\n--B1--").as_bytes(), b"B1", "body").unwrap();
        assert_eq!(parts[0].value, Value::from("x"));
    }

    /// A boundary of any length splits the same parts: the separator is built on the stack up
    /// to 70 bytes of boundary, on the heap beyond.
    #[test]
    fn boundaries_of_any_length_split_alike() {
        for len in [1, 2, 69, 70, 71, 300] {
            let b = "7".repeat(len - 1) + "q";
            let body = format!("--{b}\r\n{A}\r\n--{b}\r\n{C}\r\n--{b}--");
            let parts = decode(body.as_bytes(), b.as_bytes(), "body").unwrap();
            let got: Vec<(&str, &Value)> =
                parts.iter().map(|p| (p.name.as_str(), &p.value)).collect();
            assert_eq!(
                got,
                [("a", &Value::from("x")), ("c", &Value::from("y"))],
                "{len}"
            );
            // The boundary's last byte counts: one differing there opens nothing.
            let other = "7".repeat(len - 1) + "r";
            assert!(
                matches!(
                    decode(body.as_bytes(), other.as_bytes(), "body"),
                    Err(Error::Multipart("opening boundary not found"))
                ),
                "{len}"
            );
        }
    }

    #[test]
    fn malformed_delimiters_are_refused() {
        let err = |body: String, want: &str| match names(&body) {
            Err(Error::Multipart(e)) => assert_eq!(e, want, "{body:?}"),
            other => panic!("{body:?}: {other:?}"),
        };
        err(format!("{A}\r\n--B1--"), "opening boundary not found");
        err(format!("--B1\r\n{A}"), "closing boundary not found");
        err(
            format!("--B1\r\n{A}\r\n--B1\r\n{C}"),
            "closing boundary not found",
        );
        // The closing delimiter is the first one in the body, even before the opening one.
        err(
            format!("\r\n--B1--\r\n--B1\r\n{A}\r\n--B1--"),
            "part without content-disposition",
        );
        err(
            "--B1\r\n--B1--".to_owned(),
            "part without content-disposition",
        );
        // A part that fails, then no closing delimiter: the delimiter is reported.
        err(
            "--B1\r\nbad\r\n--B1\r\n".to_owned(),
            "closing boundary not found",
        );
        err(
            format!("--B1\r\nbad\r\n--B1\r\n{A}\r\n--B1--"),
            "part without content-disposition",
        );
    }

    /// The forms read without the structured-fields parser are read as it reads them.
    #[test]
    fn dispositions_in_the_encoders_form_are_read_as_the_parser_reads_them() {
        let parsed = |value: &[u8]| {
            let item = sf::parse_item(value).ok()?;
            if item.bare.as_text_bytes() == Some(b"inline") {
                return Some("<inline>".to_owned());
            }
            let name = item.param("name")?.as_text_bytes()?;
            Some(std::str::from_utf8(name).ok()?.to_owned())
        };
        let mut tried = 0;
        let chars: Vec<u8> = (0u8..=0x7f).chain([0x80, 0xc3, 0xa9, 0xff]).collect();
        for a in &chars {
            for b in [b'x', b'"', b'\\', b' ', b'/'] {
                for value in [
                    [&b"form-data;name=\""[..], &[*a, b], b"\""].concat(),
                    [&b"form-data;name=\"body/"[..], &[b, *a], b"\""].concat(),
                    [&b"inline"[..], &[*a]].concat(),
                ] {
                    if let Some(fast) = disposition_name(&value) {
                        tried += 1;
                        let fast = match fast {
                            Named::Inline => "<inline>".to_owned(),
                            Named::Part(name) => name.to_owned(),
                        };
                        assert_eq!(Some(fast), parsed(&value), "{value:?}");
                    }
                }
            }
        }
        assert!(tried > 500, "{tried}");
        assert_eq!(disposition_name(b"inline"), Some(Named::Inline));
        assert_eq!(
            disposition_name(b"form-data;name=\"a/B\""),
            Some(Named::Part("a/B"))
        );
        for other in [
            &b"form-data; name=\"a\""[..],
            b"form-data;name=a",
            b"\"inline\"",
            b"",
        ] {
            assert_eq!(disposition_name(other), None, "{other:?}");
        }
    }

    /// What a reading of a body comes to, comparable: each part's name and value, or the error.
    fn outcome(read: Result<Vec<DecodedPart>, Error>) -> Result<Vec<(String, Value)>, Error> {
        read.map(|parts| parts.into_iter().map(|p| (p.name, p.value)).collect())
    }

    /// Parts whose bodies hold many CRs, some beginning a near-separator, so that the reader
    /// switches from looking at CRs to its substring search in the middle of a body: read as
    /// the model reads them.
    #[test]
    fn bodies_full_of_crs_are_read_as_the_model_reads_them() {
        const PIECES: [&str; 6] = ["\r", "\r\n", "\r\n--B", "\r\n--B2", "x", "\r\n\r\n"];
        let mut next = crate::testing::numbers(0x9e37_79b9_7f4a_7c15);
        let mut many = 0;
        for case in 0..2_000 {
            let mut body = b"--B1\r\n".to_vec();
            for part in ["p", "q"] {
                body.extend_from_slice(
                    format!("content-disposition: form-data;name=\"{part}\"\r\n\r\n").as_bytes(),
                );
                for _ in 0..next(3 * BodySkipper::CR_LIMIT as u64) {
                    body.extend_from_slice(PIECES[next(6) as usize].as_bytes());
                }
                body.extend_from_slice(b"\r\n--B1\r\n");
            }
            body.truncate(body.len() - 2);
            body.extend_from_slice(b"--");
            if memchr::memchr_iter(b'\r', &body).count() > 2 * BodySkipper::CR_LIMIT {
                many += 1;
            }
            assert_eq!(
                outcome(decode(&body, b"B1", "body")),
                outcome(model::decode(&body, b"B1", "body")),
                "case {case}: {:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert!(many > 500, "{many} bodies with many CRs");
    }

    /// Random bodies from the pieces multipart syntax is made of, read by both splitters.
    #[test]
    fn agrees_with_the_splitter_it_replaced() {
        const PIECES: [&str; 16] = [
            "\r\n",
            "\r",
            "\n",
            "--B1",
            "--",
            "--B1--",
            "\r\n--B1",
            "\r\n\r\n",
            ": ",
            "content-disposition: inline",
            "content-disposition: form-data;name=\"p\"",
            "Content-Disposition: form-data;name=\"q/r\"",
            "x-field: v",
            "name",
            "\u{ff}",
            "data",
        ];
        let mut next = crate::testing::numbers(0x2545_f491_4f6c_dd1d);
        let (mut ok, mut failed) = (0, 0);
        for case in 0..100_000 {
            let mut body = Vec::new();
            if next(2) == 0 {
                body.extend_from_slice(b"--B1\r\n");
            }
            for _ in 0..next(24) {
                body.extend_from_slice(PIECES[next(16) as usize].as_bytes());
            }
            if next(4) > 0 {
                body.extend_from_slice(b"\r\n--B1--");
            }
            let (new, old) = (
                decode(&body, b"B1", "body"),
                model::decode(&body, b"B1", "body"),
            );
            if old.is_ok() {
                ok += 1;
            } else {
                failed += 1;
            }
            assert_eq!(
                outcome(new),
                outcome(old),
                "case {case}: {:?}",
                String::from_utf8_lossy(&body)
            );
        }
        // Both kinds of outcome were compared, many times.
        assert!(ok > 1_000 && failed > 1_000, "{ok} read, {failed} refused");
    }
}

//! `multipart/form-data` bodies the HyperBEAM way (`codecs.md` §4, §5.4, §5.5).
//!
//! Encoding is deterministic: parts sorted by name, fields of a part in Erlang map order, the
//! boundary derived from the parts' bytes. Signatures over multipart messages cover the
//! `content-digest` of these exact bytes.

use crate::crypto::b64url;
use crate::error::snippet;
use crate::Error;
use ferrobeam_device_api::{Key, Message, Value};
use ferrobeam_structured::{map_order, sf};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;

const CRLF: &[u8] = b"\r\n";

/// What one part carries: a single binary, or fields (of which `body` is the part's body).
#[derive(Debug)]
pub(crate) enum PartValue<'a> {
    Binary(Cow<'a, [u8]>),
    Fields(Vec<(&'a str, &'a [u8])>),
}

/// Where encoded bytes go: the body being built, a digest, or a byte count. The encoder writes
/// a multipart body piecewise, so the boundary hash and `content-digest` need no copy of it.
pub(crate) trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Counts the bytes written (to size the body before building it).
#[derive(Default)]
struct Count(usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// One header line of a part with fields: a field, or the part's `content-disposition`.
enum Line<'a> {
    Field(&'a [u8], &'a [u8]),
    Disposition,
}

impl Line<'_> {
    fn name(&self) -> &[u8] {
        match self {
            Line::Field(k, _) => k,
            Line::Disposition => b"content-disposition",
        }
    }
}

/// What follows a part's `content-disposition`: a binary, or header lines and a body.
enum Content<'a> {
    Binary(Cow<'a, [u8]>),
    Fields {
        lines: Vec<Line<'a>>,
        body: &'a [u8],
    },
}

/// A part ready to be written: its disposition and content, header lines already sorted.
struct Part<'a> {
    /// The `name` of `form-data;name="…"`, or `None` for `inline`.
    name: Option<String>,
    content: Content<'a>,
}

impl<'a> Part<'a> {
    /// Prepares the part `name` (`§5.4`); `inline_key` names the part that is written as
    /// `content-disposition: inline`.
    fn new(name: String, value: PartValue<'a>, inline_key: &str) -> Self {
        match value {
            // A message holding only `body` is sent as the part `name/body` (`§5.4`).
            PartValue::Fields(fields) if fields.len() == 1 && fields[0].0 == "body" => {
                let name = format!("{name}/body");
                Part {
                    name: (name != "body").then_some(name),
                    content: Content::Fields {
                        lines: vec![Line::Disposition],
                        body: fields[0].1,
                    },
                }
            }
            value => Part {
                name: (name != inline_key).then_some(name),
                content: Content::of(value),
            },
        }
    }

    /// Writes the part (`§5.4`): header lines in Erlang map order (content-disposition
    /// included), then CRLF CRLF and the body if there is one. No trailing CRLF.
    fn write(&self, out: &mut impl Sink) {
        match &self.content {
            Content::Binary(b) => {
                out.put(b"content-disposition: ");
                self.write_disposition(out);
                out.put(b"\r\n\r\n");
                out.put(b);
            }
            Content::Fields { lines, body } => {
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        out.put(CRLF);
                    }
                    out.put(line.name());
                    out.put(b": ");
                    match line {
                        Line::Field(_, v) => out.put(v),
                        Line::Disposition => self.write_disposition(out),
                    }
                }
                if !body.is_empty() {
                    out.put(b"\r\n\r\n");
                    out.put(body);
                }
            }
        }
    }

    fn write_disposition(&self, out: &mut impl Sink) {
        match &self.name {
            None => out.put(b"inline"),
            Some(name) => {
                out.put(b"form-data;name=\"");
                out.put(name.as_bytes());
                out.put(b"\"");
            }
        }
    }
}

impl<'a> Content<'a> {
    /// The content of a part: fields are sorted into Erlang map order with the disposition.
    fn of(value: PartValue<'a>) -> Self {
        match value {
            PartValue::Binary(b) => Content::Binary(b),
            PartValue::Fields(fields) => {
                let mut lines = Vec::with_capacity(fields.len() + 1);
                let mut body: &[u8] = &[];
                for (k, v) in fields {
                    match k {
                        "body" => body = v,
                        "content-disposition" => {}
                        _ => lines.push(Line::Field(k.as_bytes(), v)),
                    }
                }
                lines.push(Line::Disposition);
                map_order::sort_in_map_order(&mut lines, Line::name);
                Content::Fields { lines, body }
            }
        }
    }
}

/// A multipart body, ready to be written or hashed without building it.
pub(crate) struct Multipart<'a> {
    parts: Vec<Part<'a>>,
    /// The boundary: b64url(sha256(parts joined by CRLF)).
    pub boundary: String,
    /// The `body-keys` header: an SF list of the part names.
    pub body_keys: Vec<u8>,
}

impl<'a> Multipart<'a> {
    /// Prepares `parts` (in name order); `inline_key` names the part written as
    /// `content-disposition: inline`. Hashes the parts for the boundary.
    pub fn new(parts: BTreeMap<String, PartValue<'a>>, inline_key: &str) -> Self {
        let mut body_keys = Vec::new();
        let mut prepared = Vec::with_capacity(parts.len());
        for (i, (name, value)) in parts.into_iter().enumerate() {
            if i > 0 {
                body_keys.extend_from_slice(b", ");
            }
            sf::write_string(&mut body_keys, name.as_bytes());
            prepared.push(Part::new(name, value, inline_key));
        }
        let mut hasher = Sha256::new();
        for (i, part) in prepared.iter().enumerate() {
            if i > 0 {
                hasher.update(CRLF);
            }
            part.write(&mut hasher);
        }
        Multipart {
            parts: prepared,
            boundary: b64url(&hasher.finalize()),
            body_keys,
        }
    }

    /// Writes the body: each part after `--boundary CRLF`, parts separated by CRLF, closed by
    /// `CRLF --boundary--`.
    pub fn write(&self, out: &mut impl Sink) {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.put(CRLF);
            }
            out.put(b"--");
            out.put(self.boundary.as_bytes());
            out.put(CRLF);
            part.write(out);
        }
        out.put(CRLF);
        out.put(b"--");
        out.put(self.boundary.as_bytes());
        out.put(b"--");
    }

    /// The body as bytes, allocated once at its final size.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut count = Count::default();
        self.write(&mut count);
        let mut body = Vec::with_capacity(count.0);
        self.write(&mut body);
        body
    }

    /// The `content-digest` of the body, without building it.
    pub fn content_digest(&self) -> String {
        let mut hasher = Sha256::new();
        self.write(&mut hasher);
        crate::crypto::content_digest_of(&hasher.finalize())
    }
}

/// A decoded part: its name (a `/`-path, case as sent) and value.
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
pub(crate) fn decode(
    body: &[u8],
    boundary: &[u8],
    inline_key: &str,
) -> Result<Vec<DecodedPart>, Error> {
    // One searcher, for `CRLF --B`: the separator, and the closing delimiter when `--`
    // follows it. The boundary is a structured-field string or token, which hold no CR, so two
    // occurrences of `CRLF --B` never overlap, and the first one followed by `--` is the first
    // `CRLF --B--`.
    let mut separator = Vec::with_capacity(boundary.len() + 4);
    separator.extend_from_slice(CRLF);
    separator.extend_from_slice(b"--");
    separator.extend_from_slice(boundary);
    let begin = &separator[2..];
    let start = if body.starts_with(begin) && body.get(begin.len()..begin.len() + 2) == Some(CRLF) {
        0
    } else {
        let mut opening = begin.to_vec();
        opening.extend_from_slice(CRLF);
        find(body, &opening, 0).ok_or(Error::Multipart("opening boundary not found"))?
    };
    let inner = start + begin.len() + 2;
    let separator = memchr::memmem::Finder::new(&separator);
    let (mut parts, mut failed) = (Vec::new(), None);
    let mut push = |raw: &[u8], parts: &mut Vec<DecodedPart>| match decode_part(raw, inline_key) {
        Ok(part) => parts.push(part),
        Err(e) => failed = failed.take().or(Some(e)),
    };
    let (mut from, mut at) = (inner, 0);
    loop {
        let found = separator
            .find(body.get(at..).unwrap_or_default())
            .map(|i| i + at)
            .ok_or(Error::Multipart("closing boundary not found"))?;
        let after = found + separator.needle().len();
        if body.get(after..after + 2) == Some(b"--") {
            // The parts end here; a closing delimiter inside the opening one leaves none.
            push(body.get(from..found).unwrap_or_default(), &mut parts);
            return match failed {
                Some(e) => Err(e),
                None => Ok(parts),
            };
        }
        if found >= from {
            push(&body[from..found], &mut parts);
            from = after;
        }
        at = after;
    }
}

fn decode_part(raw: &[u8], inline_key: &str) -> Result<DecodedPart, Error> {
    let (head, body) = match find_blank_line(raw) {
        Some(at) => (&raw[..at], &raw[at + 4..]),
        None => (raw, &[][..]),
    };
    let mut disposition: Option<&[u8]> = None;
    let mut fields = Message::new();
    for line in split_crlf(head) {
        let Some(at) = find_pair(line, b':', b' ') else {
            continue;
        };
        let name = std::str::from_utf8(&line[..at]).map_err(|_| Error::NotUtf8(snippet(line)))?;
        let value = &line[at + 2..];
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value);
        } else {
            fields.insert(
                Key::new(name.to_ascii_lowercase()),
                Value::Binary(value.to_vec()),
            );
        }
    }
    let disposition = disposition.ok_or(Error::Multipart("part without content-disposition"))?;
    let item = sf::parse_item(disposition).map_err(Error::sf("content-disposition"))?;
    let name = if item.bare.as_text_bytes() == Some(b"inline") {
        inline_key.to_owned()
    } else {
        let name = item
            .param("name")
            .and_then(sf::BareItem::as_text_bytes)
            .ok_or(Error::Multipart("part without name"))?;
        crate::http::utf8(name)?.to_owned()
    };
    let value = if fields.is_empty() {
        Value::Binary(body.to_vec())
    } else {
        if !body.is_empty() {
            fields.insert("body", Value::Binary(body.to_vec()));
        }
        Value::Message(fields)
    };
    Ok(DecodedPart { name, value })
}

fn split_crlf(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let cur = rest?;
        match find_pair(cur, b'\r', b'\n') {
            Some(at) => {
                rest = Some(&cur[at + 2..]);
                Some(&cur[..at])
            }
            None => {
                rest = None;
                Some(cur)
            }
        }
    })
}

/// First index of the two bytes `a b` in `haystack` (CRLF, `": "`): a byte search, without
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

/// First index of CRLF CRLF (the end of a part's header block) in `haystack`.
fn find_blank_line(haystack: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find_pair(haystack.get(from..)?, b'\r', b'\n') {
        let at = from + i;
        if haystack.get(at + 2..at + 4) == Some(CRLF) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// First index of `needle` in `haystack` at or after `from`.
pub(crate) fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    // memchr's substring search (SIMD): bodies are mostly text, full of the boundary's first
    // byte (`-` in Lua sources), where a scan for that byte then a compare was slow.
    memchr::memmem::find(haystack.get(from..)?, needle).map(|at| at + from)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(parts[0].value, Value::Binary(b"x".to_vec()));
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

    #[test]
    fn pair_searches_agree_with_substring_search() {
        let cases: [&[u8]; 8] = [
            b"",
            b"\r",
            b"\r\r\n",
            b"a\r\nb\r\r\n\r\nc",
            b"\r\n\r\r\n\r\n",
            b"x::: y: z",
            b"no separators",
            b"\r\n\r\n",
        ];
        for hay in cases {
            assert_eq!(find_pair(hay, b'\r', b'\n'), find(hay, CRLF, 0), "{hay:?}");
            assert_eq!(find_pair(hay, b':', b' '), find(hay, b": ", 0), "{hay:?}");
            assert_eq!(find_blank_line(hay), find(hay, b"\r\n\r\n", 0), "{hay:?}");
        }
    }
}

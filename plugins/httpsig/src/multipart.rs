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

/// An encoded multipart body.
pub(crate) struct Multipart {
    pub body: Vec<u8>,
    pub boundary: String,
    /// The `body-keys` header: an SF list of the part names.
    pub body_keys: Vec<u8>,
}

/// Encodes `parts` (already in name order); `inline_key` names the part written as
/// `content-disposition: inline`.
pub(crate) fn encode(parts: &BTreeMap<String, PartValue<'_>>, inline_key: &str) -> Multipart {
    let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(parts.len());
    let mut body_keys = Vec::new();
    for (i, (name, value)) in parts.iter().enumerate() {
        if i > 0 {
            body_keys.extend_from_slice(b", ");
        }
        sf::write_string(&mut body_keys, name.as_bytes());
        let part = match value {
            // A message holding only `body` is sent as the part `name/body` (`§5.4`).
            PartValue::Fields(fields) if fields.len() == 1 && fields[0].0 == "body" => {
                encode_part(&format!("{name}/body"), value, "body")
            }
            _ => encode_part(name, value, inline_key),
        };
        encoded.push(part);
    }
    // Boundary: b64url(sha256(parts joined by CRLF)).
    let mut hasher = Sha256::new();
    for (i, part) in encoded.iter().enumerate() {
        if i > 0 {
            hasher.update(CRLF);
        }
        hasher.update(part);
    }
    let boundary = b64url(&hasher.finalize());
    let size: usize = encoded.iter().map(|p| p.len() + boundary.len() + 6).sum();
    let mut body = Vec::with_capacity(size + boundary.len() + 6);
    for (i, part) in encoded.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(CRLF);
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(CRLF);
        body.extend_from_slice(part);
    }
    body.extend_from_slice(CRLF);
    body.extend_from_slice(b"--");
    body.extend_from_slice(boundary.as_bytes());
    body.extend_from_slice(b"--");
    Multipart {
        body,
        boundary,
        body_keys,
    }
}

/// One part's bytes (`§5.4`): header lines in Erlang map order (content-disposition included),
/// then CRLF CRLF and the body if there is one. No trailing CRLF.
fn encode_part(name: &str, value: &PartValue<'_>, inline_key: &str) -> Vec<u8> {
    let disposition: Cow<'_, [u8]> = if name == inline_key {
        Cow::Borrowed(b"inline")
    } else {
        Cow::Owned(format!("form-data;name=\"{name}\"").into_bytes())
    };
    match value {
        PartValue::Binary(b) => {
            let mut out = Vec::with_capacity(b.len() + disposition.len() + 25);
            out.extend_from_slice(b"content-disposition: ");
            out.extend_from_slice(&disposition);
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(b);
            out
        }
        PartValue::Fields(fields) => {
            let mut lines: Vec<(&[u8], &[u8])> = Vec::with_capacity(fields.len() + 1);
            let mut body: &[u8] = &[];
            for (k, v) in fields {
                match *k {
                    "body" => body = v,
                    "content-disposition" => {}
                    _ => lines.push((k.as_bytes(), v)),
                }
            }
            lines.push((b"content-disposition", &disposition));
            map_order::sort_in_map_order(&mut lines, |(k, _)| k);
            let size = lines
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>()
                + body.len()
                + 4;
            let mut out = Vec::with_capacity(size);
            for (i, (k, v)) in lines.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(CRLF);
                }
                out.extend_from_slice(k);
                out.extend_from_slice(b": ");
                out.extend_from_slice(v);
            }
            if !body.is_empty() {
                out.extend_from_slice(b"\r\n\r\n");
                out.extend_from_slice(body);
            }
            out
        }
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
    let mut begin = Vec::with_capacity(boundary.len() + 4);
    begin.extend_from_slice(b"--");
    begin.extend_from_slice(boundary);
    begin.extend_from_slice(CRLF);
    let mut end = Vec::with_capacity(boundary.len() + 6);
    end.extend_from_slice(CRLF);
    end.extend_from_slice(b"--");
    end.extend_from_slice(boundary);
    end.extend_from_slice(b"--");
    let start = find(body, &begin, 0).ok_or(Error::Multipart("opening boundary not found"))?;
    let stop = find(body, &end, 0).ok_or(Error::Multipart("closing boundary not found"))?;
    let inner = body.get(start + begin.len()..stop).unwrap_or(&[]);
    let separator = &end[..end.len() - 2];
    let mut parts = Vec::new();
    let mut from = 0;
    loop {
        let at = find(inner, separator, from);
        let raw = &inner[from..at.unwrap_or(inner.len())];
        parts.push(decode_part(raw, inline_key)?);
        match at {
            Some(at) => from = at + separator.len(),
            None => return Ok(parts),
        }
    }
}

fn decode_part(raw: &[u8], inline_key: &str) -> Result<DecodedPart, Error> {
    let (head, body) = match find(raw, b"\r\n\r\n", 0) {
        Some(at) => (&raw[..at], &raw[at + 4..]),
        None => (raw, &[][..]),
    };
    let mut disposition: Option<&[u8]> = None;
    let mut fields = Message::new();
    for line in split_crlf(head) {
        let Some(at) = find(line, b": ", 0) else {
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
        match find(cur, CRLF, 0) {
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

/// First index of `needle` in `haystack` at or after `from`.
pub(crate) fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    // memchr's substring search (SIMD): bodies are mostly text, full of the boundary's first
    // byte (`-` in Lua sources), where a scan for that byte then a compare was slow.
    memchr::memmem::find(haystack.get(from..)?, needle).map(|at| at + from)
}

//! `multipart/form-data` bodies the HyperBEAM way (`codecs.md` §4, §5.4, §5.5).
//!
//! Encoding is deterministic: parts sorted by name, fields of a part in Erlang map order, the
//! boundary derived from the parts' bytes. Signatures over multipart messages cover the
//! `content-digest` of these exact bytes.

mod decode;

pub(crate) use decode::{decode, DecodedPart};

use crate::crypto::b64url;
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

/// SHA-256 of what is written, the short pieces gathered first: a part is written in pieces
/// of a few bytes (`: `, a name, CRLF), and handing each to the hasher costs more than the
/// hashing of its bytes. Pieces are gathered into `STAGE` bytes, which go to the hasher
/// together; a piece that does not fit (a body) goes to it directly, uncopied.
struct Hasher {
    sha: Sha256,
    staged: [u8; Hasher::STAGE],
    len: usize,
}

impl Hasher {
    /// Bytes gathered before they go to the hasher: whole blocks of SHA-256's 64.
    const STAGE: usize = 256;

    fn new() -> Self {
        Hasher {
            sha: Sha256::new(),
            staged: [0; Hasher::STAGE],
            len: 0,
        }
    }

    /// The digest of everything written.
    fn finalize(mut self) -> [u8; 32] {
        self.sha.update(&self.staged[..self.len]);
        self.sha.finalize().into()
    }

    /// [`Sink::put`] of a piece that does not fit in what is left of the stage.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, bytes: &[u8]) {
        self.sha.update(&self.staged[..self.len]);
        self.len = 0;
        if bytes.len() < Hasher::STAGE {
            self.staged[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        } else {
            self.sha.update(bytes);
        }
    }
}

impl Sink for Hasher {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        match self.staged.get_mut(self.len..self.len + bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.spill(bytes),
        }
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
        // Room for every name quoted and joined: growing it name by name reallocates.
        let mut body_keys = Vec::with_capacity(parts.keys().map(|name| name.len() + 4).sum());
        let mut prepared = Vec::with_capacity(parts.len());
        for (i, (name, value)) in parts.into_iter().enumerate() {
            if i > 0 {
                body_keys.extend_from_slice(b", ");
            }
            sf::write_string(&mut body_keys, name.as_bytes());
            prepared.push(Part::new(name, value, inline_key));
        }
        let mut hasher = Hasher::new();
        for (i, part) in prepared.iter().enumerate() {
            if i > 0 {
                hasher.put(CRLF);
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
        let mut hasher = Hasher::new();
        self.write(&mut hasher);
        crate::crypto::content_digest_of(&hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The staged hasher's digest is SHA-256's of what was written, however it is cut into
    /// pieces: pieces that fill the stage exactly, overflow it by a byte, skip it (longer than
    /// it) or come empty.
    #[test]
    fn staged_hashing_is_sha256_of_the_whole() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let stage = Hasher::STAGE;
        let cuts: Vec<Vec<usize>> = vec![
            (0..=300).collect(),
            vec![stage, stage, 1, stage - 1, 0, 2 * stage + 1, 3, stage + 1],
            vec![stage - 1, 1, stage - 1, 2, 1000],
            vec![1; 700],
            vec![3000],
            vec![0],
        ];
        for sizes in cuts {
            let mut hasher = Hasher::new();
            let mut at = 0;
            for size in sizes.iter().cycle().take(10_000) {
                let end = (at + size).min(data.len());
                hasher.put(&data[at..end]);
                at = end;
                if at == data.len() {
                    break;
                }
            }
            let written = &data[..at];
            assert_eq!(
                hasher.finalize(),
                <[u8; 32]>::from(Sha256::digest(written)),
                "{sizes:?}"
            );
        }
    }
}

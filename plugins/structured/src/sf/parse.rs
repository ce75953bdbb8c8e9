//! Parsing of HyperBEAM-dialect structured fields (`codecs.md` §2.4).

use super::{BareItem, Dictionary, InnerList, Item, List, Member, Parameters, SfError};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use std::collections::HashMap;

/// Standard base64, padding optional, trailing bits tolerated: how HyperBEAM decodes `:…:`.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// At most this many integer digits (HyperBEAM: 15, like RFC 8941).
const MAX_INTEGER_DIGITS: usize = 15;
/// Decimals: at most this many integer digits…
const MAX_DECIMAL_INT_DIGITS: usize = 12;
/// …and at most this many fraction digits.
const MAX_DECIMAL_FRAC_DIGITS: usize = 3;

/// Parses a whole field as one item (trailing bytes are an error).
///
/// ```
/// use ferrobeam_structured::sf::{parse_item, BareItem};
/// let item = parse_item(b"multipart/form-data; boundary=\"abc\"").unwrap();
/// assert_eq!(item.bare, BareItem::Token("multipart/form-data".into()));
/// assert_eq!(item.param("boundary"), Some(&BareItem::String(b"abc".to_vec())));
/// ```
pub fn parse_item(input: &[u8]) -> Result<Item, SfError> {
    let mut p = Parser::new(input);
    let item = p.item()?;
    if p.pos != input.len() {
        return Err(p.err("trailing data after item"));
    }
    Ok(item)
}

/// Parses a whole field as a list (empty input is the empty list).
///
/// ```
/// use ferrobeam_structured::sf::parse_list;
/// assert_eq!(parse_list(b"1, \"two\", ok").unwrap().len(), 3);
/// assert!(parse_list(b"(ao-type-integer) 1,(ao-type-integer) 2").is_err());
/// ```
pub fn parse_list(input: &[u8]) -> Result<List, SfError> {
    let mut out = Vec::new();
    if input.is_empty() {
        return Ok(out);
    }
    let mut p = Parser::new(input);
    loop {
        p.skip_ows();
        let member = if p.peek() == Some(b'(') {
            p.pos += 1;
            Member::InnerList(p.inner_list()?)
        } else {
            Member::Item(p.item()?)
        };
        out.push(member);
        p.skip_ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => p.pos += 1,
            Some(_) => return Err(p.err("bad list separator")),
        }
    }
}

/// Parses a whole field as a dictionary (empty input is the empty dictionary).
///
/// ```
/// use ferrobeam_structured::sf::parse_dictionary;
/// let d = parse_dictionary(b"a=\"integer\", %58y=atom, flag").unwrap();
/// assert_eq!(d.len(), 3);
/// assert_eq!(d[1].0, "%58y");
/// ```
pub fn parse_dictionary(input: &[u8]) -> Result<Dictionary, SfError> {
    let mut out: Dictionary = Vec::new();
    if input.is_empty() {
        return Ok(out);
    }
    // Position of each key in `out`, so repeated keys replace in place in linear time; built
    // only once the dictionary is large enough for a scan to cost more than the map.
    let mut index: Option<HashMap<String, usize>> = None;
    let mut p = Parser::new(input);
    loop {
        let key = p.dictionary_key()?;
        let member = match p.peek() {
            Some(b'=') if p.peek_at(1) == Some(b'(') => {
                p.pos += 2;
                Member::InnerList(p.inner_list()?)
            }
            Some(b'=') => {
                p.pos += 1;
                Member::Item(p.item()?)
            }
            Some(b';') => {
                p.pos += 1;
                let params = p.params()?;
                Member::Item(Item {
                    bare: BareItem::Boolean(true),
                    params,
                })
            }
            _ => Member::Item(Item::new(BareItem::Boolean(true))),
        };
        match position(&out, &mut index, &key) {
            Some(at) => out[at].1 = member,
            None => {
                if let Some(index) = &mut index {
                    index.insert(key.clone(), out.len());
                }
                out.push((key, member));
            }
        }
        p.skip_ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => p.pos += 1,
            Some(_) => return Err(p.err("bad dictionary separator")),
        }
        p.skip_ows();
    }
}

/// Dictionaries up to this size find a repeated key by scanning.
const SCAN_LIMIT: usize = 16;

/// Where `key` already is in `out`, if anywhere: a scan while `out` is small, then a map
/// (built on first need) so a long dictionary stays linear.
fn position(
    out: &Dictionary,
    index: &mut Option<HashMap<String, usize>>,
    key: &str,
) -> Option<usize> {
    if index.is_none() && out.len() < SCAN_LIMIT {
        return out.iter().position(|(k, _)| k == key);
    }
    let index = index.get_or_insert_with(|| {
        out.iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect()
    });
    index.get(key).copied()
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Self {
        Parser { input, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.input.get(self.pos + ahead).copied()
    }

    fn err(&self, reason: &'static str) -> SfError {
        SfError {
            reason,
            offset: self.pos,
        }
    }

    /// Optional whitespace between list/dictionary members: spaces and tabs.
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn item(&mut self) -> Result<Item, SfError> {
        let bare = self.bare_item()?;
        let params = if self.peek() == Some(b';') {
            self.pos += 1;
            self.params()?
        } else {
            Vec::new()
        };
        Ok(Item { bare, params })
    }

    /// After the opening `(`.
    fn inner_list(&mut self) -> Result<InnerList, SfError> {
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.peek() == Some(b')') {
                self.pos += 1;
                let params = if self.peek() == Some(b';') {
                    self.pos += 1;
                    self.params()?
                } else {
                    Vec::new()
                };
                return Ok(InnerList { items, params });
            }
            let item = self.item()?;
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(self.err("bad inner list"));
            }
            items.push(item);
        }
    }

    /// After a `;`: one or more `key[=value]` separated by `;`.
    fn params(&mut self) -> Result<Parameters, SfError> {
        let mut params: Parameters = Vec::new();
        loop {
            self.skip_spaces();
            let start = self.pos;
            match self.peek() {
                Some(c) if c.is_ascii_lowercase() || c == b'*' => self.pos += 1,
                _ => return Err(self.err("bad parameter key")),
            }
            while let Some(c) = self.peek() {
                if c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'_' | b'-' | b'.' | b'*')
                {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let key = ascii_string(&self.input[start..self.pos]);
            let (value, more) = match self.peek() {
                Some(b';') => {
                    self.pos += 1;
                    (BareItem::Boolean(true), true)
                }
                Some(b'=') => {
                    self.pos += 1;
                    let v = self.bare_item()?;
                    let more = self.peek() == Some(b';');
                    if more {
                        self.pos += 1;
                    }
                    (v, more)
                }
                _ => (BareItem::Boolean(true), false),
            };
            match params.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => params.push((key, value)),
            }
            if !more {
                return Ok(params);
            }
        }
    }

    fn dictionary_key(&mut self) -> Result<String, SfError> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'*' | b'%' | b'_' | b'-') => {
                self.pos += 1
            }
            _ => return Err(self.err("bad dictionary key")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'*' | b'%') {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(ascii_string(&self.input[start..self.pos]))
    }

    fn bare_item(&mut self) -> Result<BareItem, SfError> {
        match self.peek() {
            None => Err(self.err("empty item")),
            Some(b'-') => {
                self.pos += 1;
                self.number(true)
            }
            Some(c) if c.is_ascii_digit() => self.number(false),
            Some(b'"') => {
                self.pos += 1;
                self.string()
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            Some(b':') => {
                self.pos += 1;
                self.byte_sequence()
            }
            Some(b'?') => match self.peek_at(1) {
                Some(b'0') => {
                    self.pos += 2;
                    Ok(BareItem::Boolean(false))
                }
                Some(b'1') => {
                    self.pos += 2;
                    Ok(BareItem::Boolean(true))
                }
                _ => Err(self.err("bad bare item")),
            },
            Some(_) => Err(self.err("bad bare item")),
        }
    }

    /// Integer or decimal; the sign (if any) has been consumed.
    fn number(&mut self, negative: bool) -> Result<BareItem, SfError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let int_digits = &self.input[start..self.pos];
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let frac_start = self.pos;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.pos += 1;
            }
            let frac_len = self.pos - frac_start;
            if int_digits.len() > MAX_DECIMAL_INT_DIGITS
                || frac_len == 0
                || frac_len > MAX_DECIMAL_FRAC_DIGITS
            {
                return Err(self.err("decimal out of range"));
            }
            // `-.5` (no integer digits) is not a number.
            if int_digits.is_empty() {
                return Err(self.err("decimal out of range"));
            }
            let text = &self.input[start - usize::from(negative)..self.pos];
            return std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .map(BareItem::Decimal)
                .ok_or_else(|| self.err("bad decimal"));
        }
        let value = integer_value(int_digits).ok_or_else(|| self.err("integer out of range"))?;
        Ok(BareItem::Integer(if negative { -value } else { value }))
    }

    /// After the opening quote.
    fn string(&mut self) -> Result<BareItem, SfError> {
        let mut out = Vec::new();
        loop {
            // Copy the run of plain characters in one go.
            let rest = &self.input[self.pos..];
            let run = rest
                .iter()
                .position(|&c| !(0x20..=0x7e).contains(&c) || c == b'"' || c == b'\\')
                .unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            self.pos += run;
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'\\') => match self.peek_at(1) {
                    Some(c @ (b'"' | b'\\')) => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => return Err(self.err("bad string escape")),
                },
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(BareItem::String(out));
                }
                Some(_) => return Err(self.err("bad string character")),
            }
        }
    }

    fn token(&mut self) -> BareItem {
        let start = self.pos;
        self.pos += 1;
        while matches!(self.peek(), Some(c) if is_tchar(c) || c == b':' || c == b'/') {
            self.pos += 1;
        }
        BareItem::Token(ascii_string(&self.input[start..self.pos]))
    }

    /// After the opening colon.
    fn byte_sequence(&mut self) -> Result<BareItem, SfError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
        {
            self.pos += 1;
        }
        if self.peek() != Some(b':') {
            return Err(self.err("bad byte sequence"));
        }
        let encoded = &self.input[start..self.pos];
        self.pos += 1;
        // Tolerate missing padding (HyperBEAM pads before decoding) but not misplaced '='.
        let trimmed_len = encoded
            .iter()
            .rposition(|&c| c != b'=')
            .map_or(0, |i| i + 1);
        let data = &encoded[..trimmed_len];
        if data.contains(&b'=') {
            return Err(SfError {
                reason: "bad base64",
                offset: start,
            });
        }
        LENIENT_B64
            .decode(data)
            .map(BareItem::ByteSequence)
            .map_err(|_| SfError {
                reason: "bad base64",
                offset: start,
            })
    }
}

/// The value of an integer's digits: 1 to [`MAX_INTEGER_DIGITS`] of them, all `0`–`9`; `None`
/// for anything else.
pub(super) fn integer_value(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > MAX_INTEGER_DIGITS {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        // At most 15 digits: always fits in an i64.
        value = value * 10 + i64::from(d - b'0');
    }
    Some(value)
}

/// RFC 9110 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// The bytes are ASCII by construction (checked by the callers' character classes).
fn ascii_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

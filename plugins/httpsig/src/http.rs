//! The HTTP side of the codec: a header list plus a body.

use crate::error::snippet;
use crate::Error;
use ferrobeam_device_api::{Key, Message, Value};

/// An HTTP message as httpsig@1.0 sees it: header fields and a body (empty = no body).
///
/// Header names are lower-case once produced by the encoder; on input they may be in any case
/// (they are folded when converted to a [`Message`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpMessage {
    /// Header fields in order; names as given.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpMessage {
    /// An HTTP message from header pairs and a body.
    pub fn new(headers: Vec<(String, Vec<u8>)>, body: Vec<u8>) -> Self {
        HttpMessage { headers, body }
    }

    /// The message without its `signature` and `signature-input` headers (what a reader that
    /// ignores signatures, such as hbsig's `httpsig_from`, works on).
    ///
    /// ```
    /// # use ferrobeam_httpsig::HttpMessage;
    /// let m = HttpMessage::new(
    ///     vec![("Signature".into(), b"x".to_vec()), ("a".into(), b"1".to_vec())],
    ///     Vec::new(),
    /// );
    /// assert_eq!(m.without_signatures().headers, vec![("a".to_owned(), b"1".to_vec())]);
    /// ```
    pub fn without_signatures(&self) -> HttpMessage {
        let headers = self
            .headers
            .iter()
            .filter(|(k, _)| {
                !k.eq_ignore_ascii_case("signature") && !k.eq_ignore_ascii_case("signature-input")
            })
            .cloned()
            .collect();
        HttpMessage::new(headers, self.body.clone())
    }

    /// The value of header `name` (case-insensitive; the first one if repeated).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The message form the node passes around: lower-case header names as keys plus `body`
    /// (only if the body is non-empty). Repeated headers are joined with `", "` as HTTP allows.
    pub fn to_message(&self) -> Message {
        let mut out = Message::with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            let key = Key::new(name.to_ascii_lowercase());
            match out.get_mut(key.as_str()) {
                Some(Value::Binary(existing)) => {
                    existing.extend_from_slice(b", ");
                    existing.extend_from_slice(value);
                }
                _ => {
                    out.insert(key, Value::binary(value.as_slice()));
                }
            }
        }
        if !self.body.is_empty() {
            out.insert("body", Value::binary(self.body.as_slice()));
        }
        out
    }

    /// The inverse of [`HttpMessage::to_message`]: every key but `body` is a header (values must
    /// be binaries); headers come out sorted by name.
    pub fn from_message(msg: &Message) -> Result<Self, Error> {
        let mut headers = Vec::with_capacity(msg.len());
        let mut body = Vec::new();
        for (key, value) in msg.iter() {
            let Value::Binary(bytes) = value else {
                return Err(Error::NotTabm {
                    key: key.as_str().to_owned(),
                    found: value.type_name(),
                });
            };
            if key.as_str() == "body" {
                body = bytes.to_vec();
            } else {
                headers.push((key.as_str().to_owned(), bytes.to_vec()));
            }
        }
        headers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(HttpMessage { headers, body })
    }

    /// Like [`HttpMessage::from_message`] but taking ownership (no copies of the values).
    pub fn from_owned_message(msg: Message) -> Result<Self, Error> {
        let mut headers = Vec::with_capacity(msg.len());
        let mut body = Vec::new();
        for (key, value) in msg {
            let bytes = match value {
                Value::Binary(bytes) => bytes,
                other => {
                    return Err(Error::NotTabm {
                        key: key.into_string(),
                        found: other.type_name(),
                    })
                }
            };
            if key.as_str() == "body" {
                body = bytes.into_vec();
            } else {
                headers.push((key.into_string(), bytes.into_vec()));
            }
        }
        headers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(HttpMessage { headers, body })
    }
}

/// A header value as UTF-8 text.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(bytes).map_err(|_| Error::NotUtf8(snippet(bytes)))
}

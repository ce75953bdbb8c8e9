//! Turning an encoded message into a hyper response, with HyperBEAM's CORS headers.

use super::codec::ResponseCodec;
use super::error::EdgeError;
use bytes::Bytes;
use ferrobeam_device_api::{Message, Value};
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use std::sync::Arc;

/// What the exchange produced.
#[derive(Debug)]
pub enum Reply {
    /// An encoded HTTP message, ready to send (possibly shared with the response cache).
    Encoded(Arc<Prepared>),
    /// An error still to be encoded with the codec the request asked for.
    Error(EdgeError, ResponseCodec),
    /// An error that could not be encoded (no codec device): plain text.
    Plain(EdgeError),
}

/// Builds the response, adding CORS headers the message does not set (§10.2).
pub fn build(reply: Reply, cors_request_headers: Option<HeaderValue>) -> Response<Full<Bytes>> {
    let mut resp = match reply {
        // An encoded message has its CORS headers already (`Prepared::from_message`).
        Reply::Encoded(prepared) => prepared.to_response(),
        Reply::Error(e, _) | Reply::Plain(e) => {
            let mut resp = plain(e.status(), &e.to_string());
            add_cors(resp.headers_mut());
            resp
        }
    };
    if let Some(requested) = cors_request_headers {
        resp.headers_mut()
            .entry("access-control-allow-headers")
            .or_insert(requested);
    }
    resp
}

/// HyperBEAM's CORS headers, where `headers` does not set them.
fn add_cors(headers: &mut HeaderMap) {
    headers
        .entry("access-control-allow-origin")
        .or_insert(HeaderValue::from_static("*"));
    headers
        .entry("access-control-allow-methods")
        .or_insert(HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"));
}

/// An encoded HTTP message in hyper's terms: status, headers and body. Building it checks every
/// header once; sending it again (a cached response) is a clone of shared bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Prepared {
    /// From an encoded HTTP message (header keys and an optional `body`; `status` sets the
    /// status and is sent as a header too, as HyperBEAM does), with HyperBEAM's CORS headers
    /// where the message does not set them. A field that is not a valid header is dropped with a
    /// warning.
    pub fn from_message(http: Message) -> Prepared {
        let status = match http.get("status") {
            Some(Value::Integer(i)) => u16::try_from(*i).ok(),
            Some(v) => v.as_str().and_then(|s| s.parse().ok()),
            None => None,
        }
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
        let mut body = Bytes::new();
        let mut headers = HeaderMap::with_capacity(http.len());
        for (k, v) in http {
            if k.as_str() == "body" {
                if let Value::Binary(b) = v {
                    body = Bytes::from(b);
                }
                continue;
            }
            let value = match v {
                Value::Binary(b) => HeaderValue::from_maybe_shared(Bytes::from(b)),
                Value::Integer(i) => HeaderValue::from_str(&i.to_string()),
                Value::Atom(a) => HeaderValue::from_maybe_shared(Bytes::from(a.into_bytes())),
                Value::Float(f) => HeaderValue::from_str(&f.to_string()),
                Value::List(_) | Value::Message(_) => continue,
            };
            match (HeaderName::from_bytes(k.as_str().as_bytes()), value) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => {
                    tracing::warn!(header = %k, "dropping a response field that is not a valid HTTP header")
                }
            }
        }
        add_cors(&mut headers);
        Prepared {
            status,
            headers,
            body,
        }
    }

    /// About how many bytes it holds (header names and values, body).
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 16)
                .sum::<usize>()
    }

    fn to_response(&self) -> Response<Full<Bytes>> {
        let mut resp = Response::new(Full::new(self.body.clone()));
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers.clone();
        resp
    }
}

/// A plain-text response, for errors no codec could encode.
pub fn plain(status: u16, text: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(text.to_owned())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// `OPTIONS` on any path (§10.1).
pub fn preflight() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("*"),
    );
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS, PATCH"),
    );
    resp
}

/// A 302 to `location`.
pub fn redirect(location: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::FOUND;
    resp.headers_mut()
        .insert(hyper::header::LOCATION, HeaderValue::from_static(location));
    resp.headers_mut()
        .insert("access-control-allow-origin", HeaderValue::from_static("*"));
    resp
}

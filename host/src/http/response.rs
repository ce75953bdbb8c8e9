//! Turning an encoded message into a hyper response, with HyperBEAM's CORS headers.

use super::codec::ResponseCodec;
use super::error::EdgeError;
use bytes::Bytes;
use ferrobeam_device_api::{Message, Value};
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

/// What the exchange produced.
#[derive(Debug)]
pub enum Reply {
    /// An encoded HTTP message: header keys and an optional `body`.
    Encoded(Message),
    /// An error still to be encoded with the codec the request asked for.
    Error(EdgeError, ResponseCodec),
    /// An error that could not be encoded (no codec device): plain text.
    Plain(EdgeError),
}

/// Builds the response, adding CORS headers the message does not set (§10.2).
pub fn build(reply: Reply, cors_request_headers: Option<HeaderValue>) -> Response<Full<Bytes>> {
    let mut resp = match reply {
        Reply::Encoded(http) => from_message(http),
        Reply::Error(e, _) | Reply::Plain(e) => plain(e.status(), &e.to_string()),
    };
    let headers = resp.headers_mut();
    headers
        .entry("access-control-allow-origin")
        .or_insert(HeaderValue::from_static("*"));
    headers
        .entry("access-control-allow-methods")
        .or_insert(HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"));
    if let Some(requested) = cors_request_headers {
        headers
            .entry("access-control-allow-headers")
            .or_insert(requested);
    }
    resp
}

fn from_message(http: Message) -> Response<Full<Bytes>> {
    let status = match http.get("status") {
        Some(Value::Integer(i)) => u16::try_from(*i).ok(),
        Some(v) => v.as_str().and_then(|s| s.parse().ok()),
        None => None,
    }
    .and_then(|s| StatusCode::from_u16(s).ok())
    .unwrap_or(StatusCode::OK);
    let mut body = Bytes::new();
    let mut resp = Response::new(Full::new(Bytes::new()));
    for (k, v) in http {
        if k.as_str() == "body" {
            if let Value::Binary(b) = v {
                body = Bytes::from(b);
            }
            continue;
        }
        let bytes = match &v {
            Value::Binary(b) => b.clone(),
            Value::Integer(i) => i.to_string().into_bytes(),
            Value::Atom(a) => a.clone().into_bytes(),
            Value::Float(f) => f.to_string().into_bytes(),
            Value::List(_) | Value::Message(_) => continue,
        };
        match (
            HeaderName::from_bytes(k.as_str().as_bytes()),
            HeaderValue::from_bytes(&bytes),
        ) {
            (Ok(name), Ok(value)) => {
                resp.headers_mut().append(name, value);
            }
            _ => {
                tracing::warn!(header = %k, "dropping a response field that is not a valid HTTP header")
            }
        }
    }
    *resp.status_mut() = status;
    *resp.body_mut() = Full::new(body);
    resp
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

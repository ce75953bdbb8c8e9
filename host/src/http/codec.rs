//! The edge's use of the codec devices. The node holds no codec logic: it asks
//! `httpsig@1.0`, `structured@1.0` and `json@1.0`, so reloading a codec changes the edge too.

use super::sign;
use crate::node::Node;
use crate::resolve::call_with;
use ferrobeam_device_api::{DeviceError, Message, Value};
use std::sync::Arc;

/// The request codec (HyperBEAM's default commitment device).
pub const HTTPSIG: &str = "httpsig@1.0";
/// The typed-message codec.
pub const STRUCTURED: &str = "structured@1.0";
/// The JSON codec.
pub const JSON: &str = "json@1.0";
/// The ANS-104 data-item codec (aoconnect's mainnet mode).
pub const ANS104: &str = "ans104@1.0";

/// A request decoded: the TABM and the typed message (the guide's msg1 and msg2 forms), shared
/// (a decoded request may be remembered, [`super::request_cache`]).
#[derive(Debug, Clone)]
pub struct Decoded {
    /// `httpsig@1.0` `from`: binaries and nested messages, with commitments.
    pub tabm: Arc<Message>,
    /// `structured@1.0` `to` of the TABM.
    pub typed: Arc<Message>,
    /// The first step of its path, worked out once for every time the request is sent
    /// (`resolve::FirstStep`).
    pub first_step: Arc<crate::resolve::FirstStep>,
}

/// HTTP message (header keys + `body`) → TABM → typed message (§10.1).
///
/// The request codec is the `codec-device` header, else `ans104@1.0` for a `content-type:
/// application/ans104` body, else `httpsig@1.0`. `httpsig@1.0` checks the request's signatures
/// on the way and records its verdict under `priv` (`ferrobeam_httpsig::from_request`). A
/// signed derived component (`@path`) is the field of its bare name, as in HyperBEAM: a
/// request that signs `@path` without a `path` header is refused, whatever its URL. Any other
/// codec decodes the body alone, and a body it cannot decode or verify (an ANS-104 item with a
/// bad signature) is refused with its reason.
pub fn decode_request(
    node: &Node,
    http: &Message,
    method: &str,
    target: &str,
) -> Result<Decoded, DeviceError> {
    let codec = request_codec(http);
    if codec != HTTPSIG && !node.registry().contains(codec) {
        return Err(DeviceError::bad_request(format!(
            "codec-device `{codec}` is not a device this node has loaded"
        )));
    }
    require(node, codec)?;
    let derived = Message::new().with("method", method).with("path", target);
    let tabm = expect_message(call_with(node, codec, "from", http, &derived)?, codec)?;
    let typed = expect_message(
        call_with(node, STRUCTURED, "to", &tabm, &Message::new())?,
        STRUCTURED,
    )?;
    Ok(Decoded {
        tabm: Arc::new(tabm),
        typed: Arc::new(typed),
        first_step: Arc::default(),
    })
}

/// The codec a request's body is in.
pub(super) fn request_codec(http: &Message) -> &str {
    if let Some(codec) = http.get_str("codec-device").map(str::trim) {
        if !codec.is_empty() {
            return codec;
        }
    }
    let content_type = http.get_str("content-type").unwrap_or("");
    match content_type.split(';').next().map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case(ANS104_CONTENT_TYPE) => ANS104,
        _ => HTTPSIG,
    }
}

/// The MIME type of an ANS-104 body.
const ANS104_CONTENT_TYPE: &str = "application/ans104";

/// How to encode a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseCodec {
    /// `httpsig@1.0` (the default).
    Httpsig,
    /// Any other codec device, e.g. `json@1.0`: the body is its `serialize` of the result.
    Other(String),
}

/// The response codec a request asks for (§10.1): `require-codec` or `accept-codec` (a device
/// name, or a MIME type `application/<x>` meaning `<x>@1.0`), else `accept: application/<x>`
/// (`application/json` → `json@1.0`), else httpsig.
pub fn response_codec(request: &Message) -> ResponseCodec {
    if let Some(codec) = requested_codec(request) {
        return codec;
    }
    let accept = request.get_str("accept").unwrap_or("");
    if let Some(dev) = accept.strip_prefix("device/") {
        return ResponseCodec::Other(dev.to_owned());
    }
    match accept.split(';').next().map(str::trim) {
        Some("application/json") => ResponseCodec::Other(JSON.to_owned()),
        _ => ResponseCodec::Httpsig,
    }
}

/// The codec a message names with `require-codec` or `accept-codec`, if any. aoconnect puts
/// these among an ANS-104 item's tags, so the edge asks again once the body is decoded.
pub fn requested_codec(request: &Message) -> Option<ResponseCodec> {
    let named = ["require-codec", "accept-codec"]
        .iter()
        .find_map(|k| request.get_str(k))?
        .trim();
    let device = match named.strip_prefix("application/") {
        Some("json") => JSON.to_owned(),
        Some("ans104") => ANS104.to_owned(),
        Some("http") | Some("httpsig") => HTTPSIG.to_owned(),
        Some(other) if other.contains('@') => other.to_owned(),
        Some(other) => format!("{other}@1.0"),
        None => named.to_owned(),
    };
    Some(if device == HTTPSIG {
        ResponseCodec::Httpsig
    } else {
        ResponseCodec::Other(device)
    })
}

/// Encodes a result message as an HTTP message (header keys + optional `body`), signed by the
/// node wallet ([`sign`](super::sign)).
pub fn encode_response(
    node: &Node,
    codec: &ResponseCodec,
    result: &Message,
) -> Result<Message, DeviceError> {
    require(node, HTTPSIG)?;
    // A document (a body in its own content type, e.g. JSON a device wrote) already is what the
    // client asked for: it goes out as it is, signed in the headers.
    let codec = if is_document(result) {
        &ResponseCodec::Httpsig
    } else {
        codec
    };
    // In a body codec the signature travels inside the message, and the client's decoder drops
    // what structured@1.0 drops (`data: ""` and the other default-TX values, at any depth):
    // sign what it will see.
    let normalized;
    let result = match codec {
        ResponseCodec::Httpsig => result,
        ResponseCodec::Other(_) => {
            let tabm = expect_message(
                call_with(node, STRUCTURED, "from", result, &Message::new())?,
                STRUCTURED,
            )?;
            normalized = expect_message(
                call_with(node, STRUCTURED, "to", &tabm, &Message::new())?,
                STRUCTURED,
            )?;
            &normalized
        }
    };
    let signed = sign::signed_tabm(node, result)?;
    match codec {
        ResponseCodec::Httpsig => expect_message(
            call_with(node, HTTPSIG, "to", &signed, &Message::new())?,
            HTTPSIG,
        ),
        ResponseCodec::Other(device) => {
            // §10.2: top-level non-message fields travel as headers; the body is the codec's
            // serialisation of the whole signed result (its commitments included, so the
            // signature travels in the body).
            let mut typed = expect_message(
                call_with(node, STRUCTURED, "to", &signed, &Message::new())?,
                STRUCTURED,
            )?;
            // A result with its own signatures had its status encoded as text, for the
            // `ao-types` of httpsig (`sign::signed_tabm`); a body codec carries its type.
            if let Some(status @ Value::Integer(_)) = result.get("status") {
                typed.insert("status", status.clone());
            }
            let serialized = expect_message(
                call_with(node, device, "serialize", &typed, &Message::new())?,
                device,
            )?;
            let mut http = Message::new();
            for (k, v) in result.iter() {
                if let Some(text) = scalar_text(v) {
                    http.insert(k.clone(), text);
                }
            }
            http.insert("codec-device", device.as_str());
            for (k, v) in serialized.iter() {
                http.insert(k.clone(), v.clone());
            }
            Ok(http)
        }
    }
}

/// A result that is only a body and its content type (and a status).
fn is_document(result: &Message) -> bool {
    result
        .get("body")
        .is_some_and(|b| matches!(b, Value::Binary(_)))
        && result.contains_key("content-type")
        && result
            .keys()
            .all(|k| matches!(k.as_str(), "body" | "content-type" | "status") || k.is_private())
}

/// The node cannot speak HTTP without its codec devices: a clear 503 rather than a 404.
fn require(node: &Node, codec: &str) -> Result<(), DeviceError> {
    if let [Some(_), Some(_)] = node.registry().generations([codec, STRUCTURED]) {
        return Ok(());
    }
    Err(DeviceError::new(
        ferrobeam_device_api::ErrorKind::Unavailable,
        format!("the codec devices {codec} and {STRUCTURED} must be loaded to serve HTTP (libferrobeam_codecs.so)"),
    ))
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Binary(_) => v.as_str().map(str::to_owned),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Atom(a) => Some(a.clone()),
        Value::List(_) | Value::Message(_) => None,
    }
}

/// A device's answer that must be a message.
pub(super) fn expect_message(v: Value, device: &str) -> Result<Message, DeviceError> {
    match v {
        Value::Message(m) => Ok(m),
        other => Err(DeviceError::failure(format!(
            "{device} returned a {} where a message was expected",
            other.type_name()
        ))),
    }
}

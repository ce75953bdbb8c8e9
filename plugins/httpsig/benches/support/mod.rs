//! Captured client requests (`vectors/client-requests/`) as HTTP messages: what the codec bench,
//! the `codec_cpu` and `roundtrip_digest` examples, the vector tests and `ferrobeam-json`'s write
//! bench read.
#![allow(dead_code)] // each user takes what it needs

use ferrobeam_device_api::Message;
use ferrobeam_httpsig::HttpMessage;
use ferrobeam_structured::vectors;

/// HTTP → TABM → rich → TABM → HTTP, as the node does for a request it re-signs or forwards,
/// in the form the node hands the codec (the `httpsig@1.0` device): the request as a message
/// of its lower-case header names plus `body` ([`ferrobeam_httpsig::from_message`], which
/// `from_request` calls), the answer in the same form
/// ([`ferrobeam_httpsig::to_message_owned`]). The first stage reads the request borrowed; the
/// other three take the message the stage before made, which nothing else needs, as the codec
/// devices take their base in the node (`ferrobeam_device_api::device::FromBase`).
#[inline(never)]
pub fn round_trip(http: &Message) -> Message {
    let tabm = through_structured(ferrobeam_httpsig::from_message(http).unwrap());
    ferrobeam_httpsig::to_message_owned(tabm).unwrap()
}

/// [`round_trip`] over [`HttpMessage`] ([`ferrobeam_httpsig::from`] … [`ferrobeam_httpsig::to`]),
/// what the bench measured up to session 17: every header name is normalised into a key, and
/// the answer's names and values are a `String` and a `Vec` each.
#[inline(never)]
pub fn round_trip_http(http: &HttpMessage) -> HttpMessage {
    let tabm = through_structured(ferrobeam_httpsig::from(http).unwrap());
    ferrobeam_httpsig::to(&tabm).unwrap()
}

/// The two middle stages: TABM → rich message → TABM, each converting the message where it is.
fn through_structured(tabm: Message) -> Message {
    let rich = ferrobeam_structured::to_owned(tabm).unwrap();
    ferrobeam_structured::from_owned(rich).unwrap()
}

/// Header pairs as a capture records them: `[[name, value], …]`.
pub fn header_pairs(headers: &serde_json::Value) -> Option<Vec<(String, Vec<u8>)>> {
    headers
        .as_array()?
        .iter()
        .map(|p| {
            Some((
                p[0].as_str()?.to_owned(),
                p[1].as_str()?.as_bytes().to_vec(),
            ))
        })
        .collect()
}

/// The request of `client-requests/<file>`; `None` when the file holds no request.
pub fn request(file: &str) -> Option<HttpMessage> {
    let json = vectors::load(&format!("client-requests/{file}")).ok()?;
    let req = &json["request"];
    let headers = header_pairs(&req["headers"])?;
    let body = vectors::b64(req["body_b64"].as_str()?).ok()?;
    Some(HttpMessage::new(headers, body))
}

/// The request of `client-requests/<file>`, which must hold one.
pub fn captured(file: &str) -> HttpMessage {
    request(file).unwrap_or_else(|| panic!("client-requests/{file} holds no request"))
}

/// The first three stages of a round trip that does nothing but copy, built as cheaply as
/// today's message type allows: every header (and a non-empty body) becomes a key and `value`
/// of its bytes in one [`Message::from_entries`] (no search per key), then two stages clone the
/// message (each entry copied once, no search at all).
///
/// [`Message::from_entries`]: ferrobeam_device_api::Message::from_entries
fn copied_three_times(
    http: &HttpMessage,
    value: impl Fn(&[u8]) -> ferrobeam_device_api::Value,
) -> ferrobeam_device_api::Message {
    use ferrobeam_device_api::{Key, Message};
    let mut entries = Vec::with_capacity(http.headers.len() + 1);
    for (name, bytes) in &http.headers {
        entries.push((Key::new(name), value(bytes)));
    }
    if !http.body.is_empty() {
        entries.push((Key::new("body"), value(&http.body)));
    }
    let tabm = Message::from_entries(entries);
    let copy = |from: &Message| from.clone();
    copy(&copy(&tabm))
}

/// The least any round trip of four stages (HTTP → TABM → typed → TABM → HTTP), each building
/// an owned result from a borrowed input as hbsig's four functions (and `ferrobeam_httpsig`,
/// and `ferrobeam_structured`'s `from` and `to`) do, can cost with today's message type: every header becomes a key
/// and a copied binary (one message built without a search per key), the next two stages clone
/// it, the last builds the sorted header list. No codec work at all (no types, no multipart, no
/// checks): the codec bench measures it beside the real round trip so that the two can be
/// compared.
pub fn copy_floor(http: &HttpMessage) -> HttpMessage {
    use ferrobeam_device_api::Value;
    let tabm = copied_three_times(http, |bytes| Value::binary(bytes));
    let mut headers = Vec::with_capacity(tabm.len());
    let mut body = Vec::new();
    for (key, value) in tabm.iter() {
        if let Value::Binary(bytes) = value {
            match key.as_str() {
                "body" => body = bytes.to_vec(),
                name => headers.push((name.to_owned(), bytes.to_vec())),
            }
        }
    }
    headers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    HttpMessage::new(headers, body)
}

/// [`copy_floor`] with no binary copied at all: each value is an integer (its length), as if
/// values were shared rather than copied from stage to stage. What the four owned messages
/// themselves cost (keys, entries, drops).
pub fn message_floor(http: &HttpMessage) -> usize {
    use ferrobeam_device_api::{Key, Value};
    let tabm = copied_three_times(http, |bytes| Value::Integer(bytes.len() as i64));
    let mut headers: Vec<(Key, i64)> = tabm
        .iter()
        .filter_map(|(key, value)| value.as_integer().map(|n| (key.clone(), n)))
        .collect();
    headers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    headers.len()
}

/// One owned copy of the HTTP message, headers sorted by name, and nothing else: the least a
/// codec that returns an owned HTTP message can cost, whether its stages are fused or not.
pub fn owned_copy(http: &HttpMessage) -> HttpMessage {
    let mut headers = http.headers.clone();
    headers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    HttpMessage::new(headers, http.body.clone())
}

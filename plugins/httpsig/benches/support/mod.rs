//! Captured client requests (`vectors/client-requests/`) as HTTP messages: what the codec bench,
//! the `codec_cpu` and `roundtrip_digest` examples and the vector tests read.
#![allow(dead_code)] // each user takes what it needs

use ferrobeam_httpsig::HttpMessage;
use ferrobeam_structured::vectors;

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

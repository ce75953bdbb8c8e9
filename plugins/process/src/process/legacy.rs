//! Results as aoconnect reads them (`docs/aoconnect.md`): a JSON document whose `raw` is the
//! legacy AO result — `Output`, `Messages` (each `{Target, Anchor, Data, Tags: [{name, value}]}`),
//! `Spawns`, `Assignments`, `Error` — next to the results' own keys. aoconnect's `result`,
//! `results` and `dryrun` return `raw`'s fields; their capitalised names cannot be message keys
//! (keys are normalised), so the document is built as JSON here and sent as it is.

use crate::scheduler::aos2::header_case;
use ferrobeam_device_api::{Message, Value};
use serde_json::{json, Map, Value as Json};

/// Keys of an outbox message that are fields of the legacy message rather than tags.
const FIELDS: &[&str] = &["target", "anchor", "data"];

/// Whether a request asks for JSON (`require-codec` / `accept-codec`: `application/json` or
/// `json@1.0`), as aoconnect's result routes do.
pub fn wants_json(req: &Message) -> bool {
    ["require-codec", "accept-codec"]
        .iter()
        .filter_map(|k| req.get_str(k))
        .any(|c| c.eq_ignore_ascii_case("application/json") || c == "json@1.0")
}

/// `results` as the JSON document aoconnect reads: `{content-type: application/json, body}`.
pub fn document(results: &Value) -> Message {
    let mut body = match to_json(results) {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("raw".to_owned(), ao_result(results.as_message()));
    Message::new()
        .with("content-type", "application/json")
        .with("body", Json::Object(body).to_string())
}

/// The legacy AO result of `results`.
fn ao_result(results: Option<&Message>) -> Json {
    let empty = Message::new();
    let results = results.unwrap_or(&empty);
    let messages: Vec<Json> = match results.get("outbox") {
        Some(Value::Message(outbox)) => {
            let mut entries: Vec<(&str, &Message)> = outbox
                .iter()
                .filter_map(|(k, v)| v.as_message().map(|m| (k.as_str(), m)))
                .collect();
            entries.sort_by_key(|(k, _)| (k.parse::<u64>().unwrap_or(u64::MAX), *k));
            entries
                .into_iter()
                .map(|(_, m)| legacy_message(m))
                .collect()
        }
        Some(Value::List(items)) => items
            .iter()
            .filter_map(Value::as_message)
            .map(legacy_message)
            .collect(),
        _ => Vec::new(),
    };
    let list = |key: &str| match results.get(key) {
        Some(Value::List(items)) => Json::Array(
            items
                .iter()
                .filter_map(Value::as_message)
                .map(legacy_message)
                .collect(),
        ),
        _ => Json::Array(Vec::new()),
    };
    let mut out = json!({
        "Output": results.get("output").map_or(json!({}), to_json),
        "Messages": messages,
        "Spawns": list("spawns"),
        "Assignments": list("assignments"),
    });
    if let (Some(error), Json::Object(map)) = (results.get("error"), &mut out) {
        map.insert("Error".to_owned(), to_json(error));
    }
    out
}

/// An outbox message in the legacy form.
fn legacy_message(m: &Message) -> Json {
    let text = |k: &str| m.get(k).map_or(json!(""), to_json);
    let tags: Vec<Json> = m
        .iter()
        .filter(|(k, _)| !FIELDS.contains(&k.as_str()) && !k.is_private())
        .map(|(k, v)| {
            let value = match to_json(v) {
                Json::String(s) => Json::String(s),
                other => Json::String(other.to_string()),
            };
            json!({"name": header_case(k.as_str()), "value": value})
        })
        .collect();
    json!({
        "Target": text("target"),
        "Anchor": text("anchor"),
        "Data": text("data"),
        "Tags": tags,
    })
}

/// A value as plain JSON: text, numbers, booleans, lists and objects.
fn to_json(v: &Value) -> Json {
    match v {
        Value::Binary(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::Integer(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Atom(a) => match a.as_str() {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            "null" | "undefined" => Json::Null,
            other => Json::String(other.to_owned()),
        },
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Message(m) => Json::Object(
            m.iter()
                .filter(|(k, _)| !k.is_private())
                .map(|(k, v)| (k.as_str().to_owned(), to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_messages_become_legacy_messages_under_raw() {
        let results = Value::Message(
            Message::new()
                .with(
                    "output",
                    Message::new()
                        .with("data", "hi")
                        .with("print", Value::atom("true")),
                )
                .with(
                    "outbox",
                    Message::new().with(
                        "1",
                        Message::new()
                            .with("target", "T")
                            .with("data", "750")
                            .with("action", "Balance-Notice"),
                    ),
                ),
        );
        let doc = document(&results);
        assert_eq!(doc.get_str("content-type"), Some("application/json"));
        let body: Json = serde_json::from_str(doc.get_str("body").unwrap()).unwrap();
        assert_eq!(body["raw"]["Output"]["data"], "hi");
        assert_eq!(body["raw"]["Output"]["print"], true);
        assert_eq!(body["raw"]["Messages"][0]["Data"], "750");
        assert_eq!(body["raw"]["Messages"][0]["Target"], "T");
        assert_eq!(body["raw"]["Messages"][0]["Tags"][0]["name"], "Action");
        assert_eq!(body["raw"]["Spawns"], json!([]));
        assert_eq!(body["output"]["data"], "hi");
    }
}

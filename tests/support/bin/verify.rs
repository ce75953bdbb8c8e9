//! `ferrobeam-verify`: checks the signatures of one captured HTTP response (or request) with
//! ferrobeam's own verifier — the npm client tests use it, because no npm client verifies
//! (`spec/clients.md` §4: `hbsig.verify` accepts forgeries).
//!
//! Input on stdin, JSON: `{"status": 200, "headers": [[name, value], …] | {name: value},
//! "body_b64": "…", "method": "GET", "path": "/…"}` (`method`/`path` only for requests).
//! A response in another codec (`codec-device: json@1.0`) carries its signature in the body:
//! the body is decoded with that codec and its commitments checked.
//! Output on stdout, JSON: `{"verified": bool, "signatures": [{"commitment_id", "committer",
//! "components", "ok", "error"}]}`. Exit status 0 when there is at least one signature and
//! every one verifies, 1 otherwise, 2 on malformed input.

use base64::Engine as _;
use ferrobeam_device_api::Message;
use ferrobeam_httpsig::{self as httpsig, HttpMessage};
use serde_json::{json, Value as Json};
use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(why) => {
            eprintln!("ferrobeam-verify: {why}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| e.to_string())?;
    let v: Json = serde_json::from_str(&input).map_err(|e| format!("input is not JSON: {e}"))?;
    let headers: Vec<(String, Vec<u8>)> = match &v["headers"] {
        Json::Array(pairs) => pairs
            .iter()
            .map(|p| match (p[0].as_str(), p[1].as_str()) {
                (Some(k), Some(val)) => Ok((k.to_owned(), val.as_bytes().to_vec())),
                _ => Err("headers must be [name, value] text pairs".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Json::Object(map) => map
            .iter()
            .map(|(k, val)| {
                val.as_str()
                    .map(|s| (k.clone(), s.as_bytes().to_vec()))
                    .ok_or_else(|| "header values must be text".to_owned())
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("no headers".to_owned()),
    };
    let body = base64::engine::general_purpose::STANDARD
        .decode(v["body_b64"].as_str().unwrap_or(""))
        .map_err(|e| format!("body_b64: {e}"))?;
    let codec = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("codec-device"))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    if codec.as_deref() == Some("json@1.0") {
        return json_body(&body);
    }
    let http = HttpMessage::new(headers, body).to_message();
    let mut derived = Message::new();
    if let Some(status) = v["status"].as_u64() {
        derived.insert("status", status.to_string());
    }
    for key in ["method", "path"] {
        if let Some(s) = v[key].as_str() {
            derived.insert(key, s);
        }
    }
    ferrobeam::verify::install();
    let checks = httpsig::verify_received(&http, &derived).map_err(|e| e.to_string())?;
    let verified = !checks.is_empty() && checks.iter().all(|c| c.outcome.is_ok());
    let signatures: Vec<Json> = checks
        .iter()
        .map(|c| {
            json!({
                "commitment_id": c.commitment_id,
                "committer": c.committer,
                "components": c.components,
                "ok": c.outcome.is_ok(),
                "error": c.outcome.as_ref().err().map(ToString::to_string),
            })
        })
        .collect();
    println!(
        "{}",
        json!({"verified": verified, "signatures": signatures})
    );
    Ok(verified)
}

/// A `json@1.0` response: the JSON body is the signed result, commitments included.
fn json_body(body: &[u8]) -> Result<bool, String> {
    let msg = ferrobeam_json::from(body).map_err(|e| format!("JSON body: {e}"))?;
    ferrobeam::verify::install();
    let checks = httpsig::verify_signed_commitments(&msg);
    let verified = !checks.is_empty() && checks.iter().all(|(_, outcome)| outcome.is_ok());
    let commitments = msg.get_message("commitments");
    let signatures: Vec<Json> = checks
        .iter()
        .map(|(id, outcome)| {
            let c = commitments.and_then(|c| c.get_message(id));
            json!({
                "commitment_id": id,
                "committer": c.and_then(|c| c.get_str("committer")),
                "components": [],
                "ok": outcome.is_ok(),
                "error": outcome.as_ref().err().map(ToString::to_string),
            })
        })
        .collect();
    println!(
        "{}",
        json!({"verified": verified, "signatures": signatures})
    );
    Ok(verified)
}

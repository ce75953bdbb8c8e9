//! Prints a SHA-256 of every stage of the codec round trip for every captured client request,
//! with and without its signature headers: a fingerprint to compare before and after a change
//! that must not alter a byte (`cargo run -p ferrobeam-httpsig --example roundtrip_digest`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferrobeam_httpsig::HttpMessage;
use ferrobeam_structured::vectors;

#[path = "../benches/support/mod.rs"]
mod support;
use sha2::{Digest, Sha256};

fn hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn http_bytes(http: &HttpMessage) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in &http.headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&http.body);
    out
}

fn stages(http: &HttpMessage) -> String {
    let tabm = match ferrobeam_httpsig::from(http) {
        Ok(t) => t,
        Err(e) => return format!("from error: {e}"),
    };
    let rich = match ferrobeam_structured::to(&tabm) {
        Ok(r) => r,
        Err(e) => {
            return format!(
                "tabm {} / to error: {e}",
                hex(format!("{tabm:?}").as_bytes())
            )
        }
    };
    let tabm2 = ferrobeam_structured::from(&rich).unwrap();
    let out = ferrobeam_httpsig::to(&tabm2).unwrap();
    let id = ferrobeam_httpsig::unsigned_id(&tabm2).map(|i| i.to_string());
    format!(
        "tabm {} rich {} tabm2 {} http {} ({} bytes) unsigned-id {:?}",
        &hex(format!("{tabm:?}").as_bytes())[..16],
        &hex(format!("{rich:?}").as_bytes())[..16],
        &hex(format!("{tabm2:?}").as_bytes())[..16],
        &hex(&http_bytes(&out))[..16],
        out.body.len(),
        id,
    )
}

/// The message-form round trip (`support::round_trip`'s stages, what the bench and the node
/// run): its answer, and the TABM of its first stage with its entries sorted, so that a change
/// of the order in which a stage lists its keys (which no encoding shows) is not taken for a
/// change of bytes.
fn message_stages(http: &HttpMessage) -> String {
    let form = http.to_message();
    let tabm = match ferrobeam_httpsig::from_message(&form) {
        Ok(t) => t,
        Err(e) => return format!("from_message error: {e}"),
    };
    let mut entries: Vec<String> = tabm.iter().map(|e| format!("{e:?}")).collect();
    entries.sort();
    let out = ferrobeam_structured::to_owned(tabm)
        .map_err(|e| e.to_string())
        .and_then(|rich| ferrobeam_structured::from_owned(rich).map_err(|e| e.to_string()))
        .and_then(|tabm| ferrobeam_httpsig::to_message(&tabm).map_err(|e| e.to_string()));
    let out = match out {
        Ok(out) => format!("{:?}", out.iter().collect::<Vec<_>>()),
        Err(e) => format!("error: {e}"),
    };
    format!(
        "form-tabm {} form-http {}",
        &hex(entries.concat().as_bytes())[..16],
        &hex(out.as_bytes())[..16],
    )
}

fn main() {
    let dir = vectors::dir().join("client-requests");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    for file in files {
        let Some(http) = support::request(&file) else {
            continue;
        };
        println!("{file} signed: {}", stages(&http));
        println!("{file} signed, message form: {}", message_stages(&http));
        let plain = http.without_signatures();
        println!("{file} unsigned: {}", stages(&plain));
        println!("{file} unsigned, message form: {}", message_stages(&plain));
    }
}

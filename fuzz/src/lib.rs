//! One entry point per fuzz target. Each takes arbitrary bytes, drives one parser or codec the
//! node exposes to the network, and checks the properties that must hold for *any* input:
//! no panic, no hang, bounded memory — and, where a decode succeeds, that re-encoding and
//! decoding again is stable. Errors are expected and fine; panics are bugs.
//!
//! `fuzz/libfuzzer/` (cargo-fuzz) calls these; the tests below replay the seed corpora and every input in
//! `fuzz/regressions/<target>/` (crashes found by fuzzing, kept forever).

use ferrobeam_device_api::{Message, Value};

pub mod roundtrip;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/libfuzzer/Cargo.toml` names its binaries.
pub const TARGETS: &[(&str, Target)] = &[
    ("httpsig_decode", httpsig_decode),
    ("httpsig_verify", httpsig_verify),
    ("structured_decode", structured_decode),
    ("flat_deserialize", flat_deserialize),
    ("path_parse", path_parse),
    ("ans104_decode", ans104_decode),
    ("json_decode", json_decode),
    ("structured_paths", roundtrip::structured_paths),
    ("httpsig_forms", roundtrip::httpsig_forms),
    ("httpsig_roundtrip", roundtrip::httpsig_roundtrip),
    ("httpsig_joins", roundtrip::httpsig_joins),
];

/// The `name: value` lines of fuzz bytes up to an empty line (names as written; lines without
/// a colon or with a name that is not UTF-8 are skipped), and the body after that line.
pub fn header_lines(data: &[u8]) -> (Vec<(&str, &[u8])>, &[u8]) {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = Vec::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&line[..colon]) else {
            continue;
        };
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        lines.push((name, value));
    }
    (lines, body)
}

/// An HTTP message from fuzz bytes ([`header_lines`]): names trimmed and lower-cased, the
/// body under `body`.
pub fn http_message(data: &[u8]) -> Message {
    let (lines, body) = header_lines(data);
    let mut msg = Message::new();
    for (name, value) in lines {
        let name = name.trim();
        if !name.is_empty() {
            msg.insert(name.to_ascii_lowercase(), value.to_vec());
        }
    }
    if !body.is_empty() {
        msg.insert("body", body.to_vec());
    }
    msg
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// httpsig@1.0 decode of a request (headers, multipart bodies, signature inputs and
/// commitments), then structured@1.0 typing; a decoded message must encode again. Signatures are
/// parsed but not checked here (RSA arithmetic is not what fuzzing finds bugs in, and it would
/// slow each run a hundredfold): `httpsig_verify` checks them.
pub fn httpsig_decode(data: &[u8]) {
    let http = http_message(data);
    if let Ok(tabm) = ferrobeam_httpsig::from_message(&http) {
        if let Ok(typed) = ferrobeam_structured::to(&tabm) {
            let _ = ferrobeam_structured::from(&typed);
        }
        let _ = ferrobeam_httpsig::to(&tabm.without_private());
    }
}

/// The edge's whole request decode, signature checks included (`from_request`).
pub fn httpsig_verify(data: &[u8]) {
    let http = http_message(data);
    let derived = Message::new().with("method", "POST").with("path", "/x");
    ferrobeam::verify::install();
    let _ = ferrobeam_httpsig::from_request(&http, &derived);
}

/// structured@1.0: `ao-types` and structured-field lists/dictionaries/items, and typing a TABM
/// whose first line is its `ao-types` and whose other lines are `key=value`.
pub fn structured_decode(data: &[u8]) {
    let _ = ferrobeam_structured::sf::parse_list(data);
    let _ = ferrobeam_structured::sf::parse_dictionary(data);
    let _ = ferrobeam_structured::sf::parse_item(data);
    let _ = ferrobeam_structured::parse_ao_types(data);
    let mut lines = data.split(|&b| b == b'\n');
    let mut tabm = Message::new();
    if let Some(types) = lines.next() {
        tabm.insert("ao-types", types.to_vec());
    }
    for line in lines {
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let Ok(key) = std::str::from_utf8(&line[..eq]) else {
            continue;
        };
        if !key.is_empty() {
            tabm.insert(key, line[eq + 1..].to_vec());
        }
    }
    if let Ok(typed) = ferrobeam_structured::to(&tabm) {
        if let Ok(again) = ferrobeam_structured::from(&typed) {
            let _ = ferrobeam_structured::to(&again);
        }
    }
}

/// flat@1.0 deserialize; what decodes serializes again.
pub fn flat_deserialize(data: &[u8]) {
    if let Ok(msg) = ferrobeam_flat::deserialize(data) {
        let _ = ferrobeam_flat::serialize(&msg);
    }
    let _ = ferrobeam_flat::deserialize_tabm(data);
}

/// The HyperBEAM path parser (`/~dev@1.0/key&k=v/(sub)/…`).
pub fn path_parse(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ferrobeam::path::parse(text);
    }
}

/// ans104@1.0: item parsing, verification and the message mapping both ways.
pub fn ans104_decode(data: &[u8]) {
    ferrobeam::verify::install();
    if let Ok(item) = ferrobeam_ans104::DataItem::parse(data) {
        let _ = item.verify();
        if let Ok(msg) = ferrobeam_ans104::from_item(&item) {
            if let Ok(again) = ferrobeam_ans104::to_item(&msg) {
                // Rebuilding the item from its message is exact (what keeps signatures valid).
                assert_eq!(again, item, "to_item(from_item(x)) != x");
            }
        }
    }
}

/// json@1.0 decode; what decodes encodes again.
pub fn json_decode(data: &[u8]) {
    if let Ok(msg) = ferrobeam_json::from(data) {
        let _ = ferrobeam_json::to(&msg);
        let _ = Value::Message(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::TARGETS;
    use std::path::Path;

    /// Every seed and every saved crash input of every target runs without a panic.
    #[test]
    fn corpora_and_regressions_replay_cleanly() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut ran = 0;
        for (name, target) in TARGETS {
            for dir in ["regressions", "corpus"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let Ok(bytes) = std::fs::read(entry.path()) else {
                        continue;
                    };
                    target(&bytes);
                    ran += 1;
                }
            }
        }
        // The regression folder is committed; the corpora exist once `fuzz/seed` ran.
        assert!(ran > 0, "no fuzz inputs found under {}", root.display());
    }
}

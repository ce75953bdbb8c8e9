//! Every captured aoconnect data item decodes, verifies and maps to the tags, target, anchor
//! and data the capture recorded; tampering with any part makes it fail; an item signed with a
//! test wallet round-trips through a message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/signer.rs"]
mod signer;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ferrobeam_ans104::{decode_verified, from_item, to_item, verify_message, DataItem, Error, Tag};
use ferrobeam_device_api::{Key, Message, Value};
use openssl::pkey::{PKey, Private};
use serde_json::Value as Json;
use std::path::PathBuf;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

/// (file name, the capture's `ans104` record, the request body).
fn captured_items() -> Vec<(String, Json, Vec<u8>)> {
    let dir = shared().join("client-requests");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let json: Json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let Some(record) = json.get("ans104") else {
            continue;
        };
        let body = STANDARD
            .decode(json["request"]["body_b64"].as_str().unwrap())
            .unwrap();
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            record.clone(),
            body,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_captured_item_decodes_and_verifies_as_recorded() {
    ferrobeam::verify::install();
    let items = captured_items();
    assert!(items.len() >= 5, "only {} captured items", items.len());
    for (name, record, body) in items {
        let item = DataItem::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(item.serialize(), body, "{name}: serialize(parse(x)) == x");
        assert_eq!(item.id(), record["id"].as_str().unwrap(), "{name}: id");
        assert_eq!(
            item.owner_address(),
            record["owner_address"].as_str().unwrap(),
            "{name}: owner"
        );
        assert_eq!(
            item.verify().is_ok(),
            record["signature_verifies"].as_bool().unwrap(),
            "{name}: signature"
        );
        let tags: Vec<(String, String)> = record["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_owned(),
                    t["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let got: Vec<(String, String)> = item
            .tags
            .iter()
            .map(|t| {
                (
                    String::from_utf8(t.name.clone()).unwrap(),
                    String::from_utf8(t.value.clone()).unwrap(),
                )
            })
            .collect();
        assert_eq!(got, tags, "{name}: tags");
        let target = record["target"].as_str().unwrap();
        assert_eq!(
            item.target
                .map(|t| URL_SAFE_NO_PAD.encode(t))
                .unwrap_or_default(),
            target,
            "{name}: target"
        );
        let data = STANDARD
            .decode(record["data_b64"].as_str().unwrap())
            .unwrap();
        assert_eq!(item.data, data, "{name}: data");

        // The message: every tag under its normalised key, the commitment, and back.
        let msg = decode_verified(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (n, v) in &tags {
            assert_eq!(
                msg.get_str(Key::new(n).as_str()),
                Some(v.as_str()),
                "{name}: {n}"
            );
        }
        if !target.is_empty() {
            assert_eq!(msg.get_str("target"), Some(target));
        }
        assert_eq!(
            verify_message(&msg).as_deref(),
            Ok(record["id"].as_str().unwrap())
        );
        assert_eq!(
            to_item(&msg).unwrap().serialize(),
            body,
            "{name}: to(from(x)) == x"
        );
    }
}

#[test]
fn tampering_with_any_part_of_an_item_is_detected() {
    ferrobeam::verify::install();
    let (name, _, body) = captured_items().remove(0);
    let item = DataItem::parse(&body).unwrap();
    // Flip one byte in the signature, the owner, each tag and the data.
    let mut cases: Vec<DataItem> = Vec::new();
    let mut c = item.clone();
    c.signature[100] ^= 1;
    cases.push(c);
    let mut c = item.clone();
    c.owner[100] ^= 1;
    cases.push(c);
    for i in 0..item.tags.len() {
        let mut c = item.clone();
        c.tags[i].value.push(b'!');
        cases.push(c);
    }
    let mut c = item.clone();
    c.data.push(b'!');
    cases.push(c);
    let mut c = item.clone();
    c.target = Some([1; 32]);
    cases.push(c);
    for c in cases {
        assert_eq!(
            decode_verified(&c.serialize()).err(),
            Some(Error::SignatureMismatch),
            "{name}"
        );
    }
}

#[test]
fn a_changed_message_no_longer_verifies() {
    ferrobeam::verify::install();
    let (_, _, body) = captured_items().remove(0);
    let msg = decode_verified(&body).unwrap();
    let mut changed = msg.clone();
    changed.insert("data", "something else");
    assert_eq!(verify_message(&changed), Err(Error::SignatureMismatch));
    let mut added = msg.clone();
    added.insert("extra", "1");
    assert!(matches!(verify_message(&added), Err(Error::Commitment(_))));
    let mut removed = msg;
    let first = removed
        .keys()
        .find(|k| k.as_str() != "commitments" && k.as_str() != "data")
        .cloned()
        .unwrap();
    removed.remove(first.as_str());
    assert!(verify_message(&removed).is_err());
}

fn wallet(n: u8) -> PKey<Private> {
    signer::key(&shared().join(format!("wallets/test-wallet-{n}.json")))
}

#[test]
fn items_signed_here_verify_and_round_trip_through_messages() {
    ferrobeam::verify::install();
    let key = wallet(1);
    let mut item = DataItem::unsigned(
        vec![
            Tag {
                name: b"Action".to_vec(),
                value: b"Transfer".to_vec(),
            },
            Tag {
                name: b"Recipient".to_vec(),
                value: b"bob".to_vec(),
            },
            Tag {
                name: b"Tag".to_vec(),
                value: b"a".to_vec(),
            },
            Tag {
                name: b"tag".to_vec(),
                value: b"b".to_vec(),
            },
        ],
        b"payload".to_vec(),
    );
    item.target = Some([9; 32]);
    item.anchor = Some([3; 32]);
    signer::sign(&mut item, &key);
    item.verify().unwrap();
    let msg: Message = decode_verified(&item.serialize()).unwrap();
    assert_eq!(msg.get_str("tag"), Some("\"a\", \"b\""));
    assert_eq!(msg.get_str("last_tx").map(str::len), Some(43));
    let commitment = msg
        .get_message("commitments")
        .unwrap()
        .get_message(&item.id())
        .unwrap();
    assert_eq!(commitment.get_str("commitment-device"), Some("ans104@1.0"));
    assert!(matches!(
        commitment.get("original-tags"),
        Some(Value::Message(_))
    ));
    assert_eq!(to_item(&msg).unwrap(), item);
    // Normalised tag names need no original-tags, and still round-trip.
    let mut plain = DataItem::unsigned(
        vec![
            Tag {
                name: b"a".to_vec(),
                value: b"1".to_vec(),
            },
            Tag {
                name: b"b".to_vec(),
                value: b"2".to_vec(),
            },
        ],
        Vec::new(),
    );
    signer::sign(&mut plain, &wallet(2));
    let msg = from_item(&plain).unwrap();
    let c = msg
        .get_message("commitments")
        .unwrap()
        .get_message(&plain.id())
        .unwrap();
    assert!(!c.contains_key("original-tags"));
    assert_eq!(verify_message(&msg), Ok(plain.id()));
}

#[test]
fn tags_named_like_fields_keep_both_and_still_verify() {
    ferrobeam::verify::install();
    let mut item = DataItem::unsigned(
        vec![
            Tag {
                name: b"Action".to_vec(),
                value: b"Transfer".to_vec(),
            },
            Tag {
                name: b"Target".to_vec(),
                value: b"recipient".to_vec(),
            },
            Tag {
                name: b"Data".to_vec(),
                value: b"tagged".to_vec(),
            },
        ],
        b"the data".to_vec(),
    );
    item.target = Some([4; 32]);
    signer::sign(&mut item, &wallet(2));
    let msg = decode_verified(&item.serialize()).unwrap();
    assert_eq!(
        msg.get_str("target").map(str::len),
        Some(43),
        "the field keeps `target`"
    );
    assert_eq!(msg.get_str("data"), Some("the data"));
    let Some(Value::List(tags)) = msg.get("tags") else {
        panic!("an explicit tags list: {msg:?}")
    };
    let names: Vec<&str> = tags
        .iter()
        .map(|t| t.as_message().unwrap().get_str("name").unwrap())
        .collect();
    assert_eq!(names, ["Target", "Data"]);
    assert_eq!(verify_message(&msg), Ok(item.id()));
    assert_eq!(to_item(&msg).unwrap(), item);
}

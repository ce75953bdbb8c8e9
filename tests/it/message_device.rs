//! `message@1.0` over real HTTP (`spec/codecs.md` §9.4): keys, set/unset, remove, the
//! commitment keys, and `commit`, which signs with the node wallet only when `devices.toml`
//! grants it `sign`.

use ferrobeam_device_api::Value;
use ferrobeam_tests::signatures::{
    assert_signed_by, message, sign_request, test_wallet, test_wallet_address,
};
use ferrobeam_tests::NodeProcess;

#[test]
fn keys_set_unset_remove_and_case_insensitive_lookup() {
    let node = NodeProcess::start("");
    let r = node.get("/~message@1.0&Greeting=hi&other=x/keys");
    assert_eq!(r.status, 200, "{}", r.text());
    let keys = r.text();
    assert!(
        keys.contains("\"greeting\"") && keys.contains("\"other\""),
        "{keys}"
    );
    let r = node.get("/~message@1.0&greeting=hi/GREETING");
    assert_eq!(r.text(), "hi");
    let r = node.get("/~message@1.0&a=1&b=2/set&a=unset/a");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = node.get("/~message@1.0&a=1&b=2/set&c=3/c");
    assert_eq!(r.text(), "3");
    let r = node.get("/~message@1.0&a=1&b=2/remove&item=a/a");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = node.get("/~message@1.0&a=1&b=2/remove&item=a/b");
    assert_eq!(r.text(), "2");
    let r = node.get("/~message@1.0&b=2/get&key=b");
    assert_eq!(r.text(), "2");
}

#[test]
fn set_returns_the_typed_fields_a_signed_post_sent() {
    let node = NodeProcess::start("");
    let msg = message(&[
        ("path", "/~message@1.0/set".into()),
        ("num", 123.into()),
        ("flag", false.into()),
        ("list", Value::List(vec![1.into(), "a".into()])),
    ]);
    let (headers, body) = sign_request(&test_wallet(2), &msg);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = node.request("POST", "/~message@1.0/set", &headers, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_signed_by(&r, &test_wallet_address(1));
    assert_eq!(r.header("num"), Some("123"));
    assert_eq!(r.header("flag"), Some("\"false\""));
    let types = r.header("ao-types").unwrap_or_default();
    for t in ["num=\"integer\"", "flag=\"atom\"", "list=\"list\""] {
        assert!(types.contains(t), "{t} not in {types}");
    }
}

#[test]
fn commit_signs_with_the_node_wallet_only_when_granted() {
    let node = NodeProcess::start("");
    let r = node.get("/~message@1.0&hello=world/commit");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("sign"), "{}", r.text());
    assert_signed_by(&r, &test_wallet_address(1));

    let node = NodeProcess::start("[devices.\"message@1.0\"]\ncapabilities = [\"sign\"]\n");
    let r = node.get("/~message@1.0&hello=world/commit/committers");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains(&test_wallet_address(1)), "{}", r.text());
    let r = node.get("/~message@1.0&hello=world/commit/commitments");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("rsa-pss-sha512"), "{}", r.text());
    let r = node.get("/~message@1.0&hello=world/commit/verify");
    assert_eq!(r.text(), "\"true\"", "{r:?}");
    // The signed message's own ID is its signature's: committers=all selects it.
    let r = node.get("/~message@1.0&hello=world/commit/id&committers=all");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text().len(), 43, "{}", r.text());
}

#[test]
fn id_of_an_unsigned_message_is_its_hmac_id() {
    let node = NodeProcess::start("");
    let r = node.get("/~message@1.0&a=b/id");
    assert_eq!(r.status, 200, "{}", r.text());
    // The base: the step's inlined key, the request's headers (our test client sends `host` and
    // `connection`), its method, and the device.
    let base = message(&[
        ("a", "b".into()),
        ("connection", "close".into()),
        ("device", "message@1.0".into()),
        ("host", "test".into()),
        ("method", "GET".into()),
    ]);
    assert_eq!(r.text(), ferrobeam_httpsig::unsigned_id(&base).unwrap());
}

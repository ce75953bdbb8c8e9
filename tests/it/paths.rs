//! HyperBEAM's path syntax (`spec/codecs.md` §9.1, §12.1) over real HTTP, observed through
//! `mydev@1.0/forward`, which echoes what the device received.

use ferrobeam_tests::NodeProcess;
use serde_json::json;

fn forward(node: &NodeProcess, path: &str) -> serde_json::Value {
    let r = node.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

#[test]
fn query_params_reach_both_messages() {
    let node = NodeProcess::start("");
    let j = forward(&node, "/~mydev@1.0/forward?x=1&flag");
    assert_eq!(j["msg2"]["x"], "1");
    assert_eq!(j["msg2"]["flag"], true);
}

#[test]
fn inlined_keys_and_typed_keys() {
    let node = NodeProcess::start("");
    let j = forward(&node, "/~mydev@1.0/forward&k=v&n+integer=5&f+float=1.5");
    assert_eq!(j["msg2"]["k"], "v");
    assert_eq!(j["msg2"]["n"], json!(5));
    assert_eq!(j["msg2"]["f"], json!(1.5));
    // Quotes are kept, as HyperBEAM keeps them.
    let j = forward(&node, "/~mydev@1.0/forward&greeting=\"Hello\"");
    assert_eq!(j["msg2"]["greeting"], "\"Hello\"");
}

#[test]
fn device_keys_on_the_first_step_reach_the_base() {
    let node = NodeProcess::start("");
    let j = forward(&node, "/~mydev@1.0&extra=1/forward");
    assert_eq!(j["msg1"]["extra"], "1");
    assert_eq!(j["msg1"]["device"], "mydev@1.0");
}

#[test]
fn steps_chain_result_into_base() {
    let node = NodeProcess::start("");
    // info's result is the base of `version`, which message@1.0 reads.
    let r = node.get("/~mydev@1.0/info/version");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "1.0");
    assert_eq!(r.header("ao-result"), Some("body"));
    // set merges the request's keys; the next step reads one back.
    let r = node.get("/~message@1.0/set&greeting=hi/greeting");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "hi");
    // A device switch mid-path: the info result viewed through message@1.0's `keys`.
    let r = node.get("/~mydev@1.0/info/keys~message@1.0");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn percent_encoded_segments_are_decoded_twice() {
    let node = NodeProcess::start("");
    let r = node.get("/~mydev@1.0/info%252Fversion");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "1.0");
}

#[test]
fn unknown_device_and_unknown_key_are_404_with_a_reason() {
    let node = NodeProcess::start("");
    let r = node.get("/~nodev@1.0/info");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("nodev@1.0 is not loaded"), "{}", r.text());
    let r = node.get("/~mydev@1.0/info/nokey");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("nokey"), "{}", r.text());
}

#[test]
fn malformed_paths_are_400() {
    let node = NodeProcess::start("");
    for bad in ["/a(b", "/a+integer", "/~mydev@1.0/forward&k+int=1", "/%zz"] {
        let r = node.get(bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    assert_eq!(node.get("/~mydev@1.0/info").status, 200);
}

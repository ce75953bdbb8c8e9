//! The custom-devices guide's device over real HTTP.

use ferrobeam_tests::NodeProcess;

#[test]
fn info_returns_version_one_as_a_header() {
    let node = NodeProcess::start("");
    let r = node.get("/~mydev@1.0/info");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("version"), Some("1.0"));
    assert_eq!(r.header("status"), Some("200"));
    assert_eq!(r.header("ao-types"), Some("status=\"integer\""));
}

#[test]
fn info_json_returns_json_text() {
    let node = NodeProcess::start("");
    let r = node.get("/~mydev@1.0/info_json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"version": "1.0"}));
    assert_eq!(r.header("ao-result"), Some("body"));
}

#[test]
fn hello_greets_the_posted_name() {
    let node = NodeProcess::start("");
    let r = node.request("POST", "/~mydev@1.0/hello", &[], br#"{"name":"Wao"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"hello": "Hello, Wao!"}));
    let r = node.request("POST", "/~mydev@1.0/hello", &[], b"not json");
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn forward_shows_msg1_msg2_and_opts_without_private_fields() {
    let node = NodeProcess::start("");
    let r = node.get("/~mydev@1.0/forward?key=abc");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["msg1"]["device"], "mydev@1.0");
    assert_eq!(j["msg1"]["key"], "abc");
    assert_eq!(j["msg1"]["method"], "GET");
    assert!(j["msg1"].get("path").is_none(), "{j}");
    assert_eq!(j["msg2"]["key"], "abc");
    assert_eq!(j["msg2"]["path"], "forward");
    assert_eq!(j["msg2"]["method"], "GET");
    assert!(j["msg2"]["commitments"].is_object(), "{j}");
    assert!(
        j["opts"]["port"].is_number() || j["opts"]["port"].is_string(),
        "{j}"
    );
    for (k, _) in j["opts"].as_object().unwrap() {
        assert!(!k.starts_with("priv"), "private option {k} leaked");
    }
}

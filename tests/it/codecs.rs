//! The codec devices at the edge: response codec choice, codec paths, bad input as 400.

use ferrobeam_tests::NodeProcess;

#[test]
fn accept_codec_and_accept_json_choose_the_json_codec() {
    let node = NodeProcess::start("");
    for header in [("accept-codec", "json@1.0"), ("accept", "application/json")] {
        let r = node.request("GET", "/~mydev@1.0/info", &[header], b"");
        assert_eq!(r.status, 200, "{header:?}: {}", r.text());
        assert_eq!(r.header("codec-device"), Some("json@1.0"), "{header:?}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let j = r.json();
        assert_eq!(j["version"], "1.0", "{j}");
        assert_eq!(j["status"], 200, "{j}");
    }
}

#[test]
fn codec_devices_serialize_at_the_end_of_a_path() {
    let node = NodeProcess::start("");
    let r = node.get("/~mydev@1.0/info/serialize~flat@1.0");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "version: 1.0\n");
    let r = node.get("/~mydev@1.0/info/serialize~json@1.0");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"version":"1.0"}"#);
}

#[test]
fn malformed_codec_input_is_400_with_a_reason() {
    let node = NodeProcess::start("");
    // An ao-types entry that is not a structured-fields dictionary.
    let r = node.request("GET", "/~mydev@1.0/forward", &[("ao-types", "a=(")], b"");
    assert_eq!(r.status, 400, "{}", r.text());
    // An integer of 16 digits.
    let r = node.get("/~mydev@1.0/forward&n+integer=1234567890123456");
    assert_eq!(r.status, 400, "{}", r.text());
    // A multipart body whose boundary never closes.
    let r = node.request(
        "POST",
        "/~mydev@1.0/forward",
        &[("content-type", "multipart/form-data; boundary=\"abc\"")],
        b"--abc\r\ncontent-disposition: form-data;name=\"x\"\r\n\r\nvalue",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!r.text().is_empty());
    // Unbalanced quotes in a typed header.
    let r = node.request(
        "GET",
        "/~mydev@1.0/forward",
        &[("ao-types", "l=\"list\""), ("l", "\"unterminated")],
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        node.get("/~mydev@1.0/info").status,
        200,
        "the node keeps serving"
    );
}

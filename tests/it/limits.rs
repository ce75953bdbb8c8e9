//! Every request limit is configurable and answered with its status and a reason naming the
//! setting; the node keeps serving (`[limits]`, docs/reliability.md).

use ferrobeam_tests::NodeProcess;

const CONFIG: &str = r#"
[node]
max_body_bytes = 4096
max_header_bytes = 8192

[limits]
max_headers = 20
max_path_bytes = 300
max_path_steps = 6
max_parts = 3
max_depth = 4
max_list_length = 5
"#;

fn assert_refused(r: &ferrobeam_tests::http::Response, status: u16, setting: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(
        r.text().contains(setting),
        "expected `{setting}` in: {}",
        r.text()
    );
}

#[test]
fn each_limit_is_enforced_with_its_status_and_reason() {
    let node = NodeProcess::start(CONFIG);
    let ok = node.get("/~meta@1.0/info");
    assert_eq!(ok.status, 200);

    // Body size: 413.
    let r = node.request("POST", "/~message@1.0/set", &[], &vec![b'x'; 5000]);
    assert_refused(&r, 413, "limit of 4096 bytes");

    // Header count: 431.
    let names: Vec<String> = (0..25).map(|i| format!("x-h{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let r = node.request("GET", "/~meta@1.0/info", &headers, b"");
    assert_refused(&r, 431, "max_headers");

    // Header size: refused before the request is read at all.
    let big = "v".repeat(10_000);
    let r = node.request("GET", "/~meta@1.0/info", &[("x-big", big.as_str())], b"");
    assert_eq!(r.status, 431, "{}", r.text());

    // Path length: 414; path segments (sub-resolutions count): 400.
    let r = node.get(&format!("/~meta@1.0/info?x={}", "a".repeat(400)));
    assert_refused(&r, 414, "max_path_bytes");
    let r = node.get("/~message@1.0/a/(b/c)/d/e/f");
    assert_refused(&r, 400, "max_path_steps");

    // Multipart parts: 400.
    let mut body = Vec::new();
    for i in 0..5 {
        body.extend_from_slice(
            format!("--B\r\ncontent-disposition: form-data;name=\"k{i}\"\r\n\r\nv\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(b"--B--");
    let r = node.request(
        "POST",
        "/~message@1.0/set",
        &[
            ("content-type", "multipart/form-data; boundary=\"B\""),
            ("body-keys", "\"k0\", \"k1\", \"k2\", \"k3\", \"k4\""),
        ],
        &body,
    );
    assert_refused(&r, 400, "max_parts");

    // List length and nesting depth of the decoded request: 400.
    let r = node.request(
        "POST",
        "/~message@1.0/set",
        &[
            ("ao-types", "l=\"list\""),
            (
                "l",
                "\"(ao-type-integer) 1\", \"(ao-type-integer) 2\", \"(ao-type-integer) 3\", \"(ao-type-integer) 4\", \"(ao-type-integer) 5\", \"(ao-type-integer) 6\"",
            ),
        ],
        b"",
    );
    assert_refused(&r, 400, "max_list_length");
    let r = node.request(
        "POST",
        "/~message@1.0/set",
        &[
            ("content-type", "application/json"),
            ("codec-device", "json@1.0"),
        ],
        br#"{"a": {"b": {"c": {"d": {"e": 1}}}}}"#,
    );
    assert_refused(&r, 400, "max_depth");

    // And the node still serves.
    assert_eq!(node.get("/~meta@1.0/info").status, 200);
}

#[test]
fn a_limit_of_zero_is_a_configuration_error_with_its_line() {
    let scratch = ferrobeam_tests::Scratch::new("limits-zero");
    let config = scratch.write_config("[node]\nport = 0\n\n[limits]\nmax_depth = 0\n");
    let out = std::process::Command::new(ferrobeam_tests::ferrobeam_bin())
        .args(["serve", "--no-watch", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":5: max_depth must be at least 1"), "{err}");
}

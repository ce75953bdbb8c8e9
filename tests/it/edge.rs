//! The HTTP edge: limits, CORS, methods.

use ferrobeam_tests::NodeProcess;

#[test]
fn an_oversized_body_is_413_and_the_node_keeps_serving() {
    let node = NodeProcess::start("[node]\nmax_body_bytes = 1024\n");
    let r = node.request("POST", "/~mydev@1.0/hello", &[], &vec![b'x'; 4096]);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("1024"), "{}", r.text());
    assert_eq!(node.get("/~mydev@1.0/info").status, 200);
}

#[test]
fn cors_headers_as_hyperbeam_sends_them() {
    let node = NodeProcess::start("");
    let r = node.request(
        "GET",
        "/~meta@1.0/info",
        &[("access-control-request-headers", "x-custom")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, PUT, DELETE, OPTIONS")
    );
    assert_eq!(r.header("access-control-allow-headers"), Some("x-custom"));
    let r = node.request("OPTIONS", "/anything", &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-headers"), Some("*"));
}

#[test]
fn meta_info_lists_the_node_options() {
    let node = NodeProcess::start("");
    let r = node.get("/~meta@1.0/info/port");
    assert_eq!(r.status, 200, "{}", r.text());
    let port = node.addr.rsplit(':').next().unwrap();
    assert_eq!(r.text(), port);
}

#[test]
fn repeated_headers_reach_devices_as_one_field_joined_with_commas() {
    let node = NodeProcess::start("");
    let long = "x".repeat(40);
    let r = node.request(
        "GET",
        "/~message@1.0/x-probe",
        &[("x-probe", "one"), ("x-probe", "two"), ("x-probe", &long)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!("one, two, {long}"));
    let r = node.request(
        "GET",
        "/~message@1.0/x-single",
        &[("x-single", "only")],
        b"",
    );
    assert_eq!(r.text(), "only");
}

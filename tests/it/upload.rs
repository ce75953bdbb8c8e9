//! `ferrobeam upload FILE`: the file lands on the running node as a message signed by the node
//! wallet, readable at `/<id>` (`cache@1.0`, `host/src/upload.rs`).

use crate::process_client::start;
use ferrobeam_tests::signatures::{assert_signed_by, test_wallet_address};

const SCRIPT: &str = "function calculate(base, req)\n  return { total = 1 }\nend\n";

#[test]
fn an_uploaded_lua_script_is_readable_at_its_id() {
    let node = start();
    let file = node.scratch.dir.join("circulating-supply.lua");
    std::fs::write(&file, SCRIPT).unwrap();
    // The node's wallet (test wallet 1) is the operator.
    let out = node.upload(1, &file, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 43, "{id}");
    let r = node.get(&format!("/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), SCRIPT);
    // Served with the signature it was stored with, which still verifies.
    assert_signed_by(&r, &test_wallet_address(1));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/lua"));
    // Another content type on request.
    let out = node.upload(1, &file, &["--content-type", "text/x-lua"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_ne!(other, id);
    assert_eq!(
        node.get(&format!("/{other}/content-type")).text(),
        "text/x-lua"
    );
}

#[test]
fn only_the_operator_may_upload_by_default() {
    let node = start();
    let file = node.scratch.dir.join("x.txt");
    std::fs::write(&file, "hello").unwrap();
    let out = node.upload(2, &file, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("403") && err.contains("operator"), "{err}");
    // An unsigned write is refused outright.
    let r = node.request(
        "POST",
        "/~cache@1.0/write",
        &[("content-type", "text/plain")],
        b"hello",
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

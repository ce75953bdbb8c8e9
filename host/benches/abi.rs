//! One device call across the plugin boundary against the same call made directly in-process;
//! and a signature check, which a plugin asks of the node, the same way.
//!
//! Both calls run `message@1.0`'s `keys` on a 10-key message. The boundary call is what the node
//! does for every step: encode base and request, call through the ABI, the plugin decodes,
//! dispatches and encodes the result, the node decodes it. Needs the release plugin library:
//! `make bench` builds it first.

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, Criterion};
use ferrobeam::config::DevicesFile;
use ferrobeam::{resolve, Node};
use ferrobeam_device_api::testing::TestHost;
use ferrobeam_device_api::{Host, Message, Opts};
use std::hint::black_box;

mod support;

fn ten_keys() -> Message {
    (0..10)
        .map(|i| (format!("key-{i}"), format!("value number {i}")))
        .collect()
}

fn abi_round_trip(c: &mut Criterion) {
    let mut config = DevicesFile::default_at(&std::env::temp_dir().join("devices.toml"));
    config.node.plugins_dir = support::plugins_dir(&["libferrobeam_message.so"]);
    let (node, errors) = Node::start(config).expect("store opens");
    assert!(errors.is_empty(), "{errors:?}");
    let base = ten_keys();
    let req = Message::new().with("path", "keys");

    let mut group = c.benchmark_group("call_10_key_message");
    group.bench_function("across_abi", |b| {
        b.iter(|| {
            resolve::call_with(
                &node,
                "message@1.0",
                "keys",
                black_box(&base),
                black_box(&req),
            )
        })
    });
    let device = ferrobeam_message::MessageDevice;
    let opts = Opts::from_message(Message::new(), Host::new(TestHost::new()));
    group.bench_function("direct_in_process", |b| {
        b.iter(|| device.keys(black_box(&base), black_box(&req), &opts))
    });
    group.finish();
    verify_through_the_node(c, &node);
}

/// `message@1.0`'s `verify` of a message signed by test wallet 1 (the `ids.json` vector), across
/// the boundary, where the plugin asks the node for the RSA check (`verify/rsa-pss`), against
/// the same method in-process with the node's check installed for the process: the difference
/// is what verifying through the node costs over verifying in the plugin.
fn verify_through_the_node(c: &mut Criterion, node: &Node) {
    use ferrobeam_structured::vectors;
    let case = vectors::cases("ids.json")
        .expect("vectors")
        .into_iter()
        .find(|c| c["name"] == "signed-test-wallet-1")
        .expect("the signed-test-wallet-1 case");
    let signed = vectors::message(&case["signed_tabm"]).expect("a message");
    let req = Message::new().with("path", "verify");
    let answer = resolve::call_with(node, "message@1.0", "verify", &signed, &req);
    assert_eq!(answer.ok().and_then(|v| v.as_bool()), Some(true));
    ferrobeam::verify::install();
    let device = ferrobeam_message::MessageDevice;
    let opts = Opts::from_message(Message::new(), Host::new(TestHost::new()));
    assert_eq!(device.verify(&signed, &req, &opts).ok(), Some(true));

    let mut group = c.benchmark_group("verify_signed_message");
    group.bench_function("across_abi_node_checks", |b| {
        b.iter(|| {
            resolve::call_with(
                node,
                "message@1.0",
                "verify",
                black_box(&signed),
                black_box(&req),
            )
        })
    });
    group.bench_function("direct_in_process", |b| {
        b.iter(|| device.verify(black_box(&signed), black_box(&req), &opts))
    });
    group.finish();
}

criterion_group!(benches, abi_round_trip);
fn main() {
    let start = std::time::SystemTime::now();
    support::run_as_the_node(benches);
    if let Some(ns) = support::median_ns("call_10_key_message/across_abi", start) {
        println!(
            "target: ABI call round trip <= 2 µs p50, 10-key message | {:.2} µs (criterion's median) | {}",
            ns / 1000.0,
            support::verdict(ns <= 2000.0)
        );
    }
}

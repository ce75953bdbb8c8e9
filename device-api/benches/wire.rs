//! Encoding and decoding wire frames (`cargo bench -p ferrobeam-device-api --bench wire`): what
//! every call across the plugin boundary does to its messages, for a ten-key message and for one
//! carrying a 78 KB body (the size of the guide's Lua spawn request).
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrobeam_device_api::{wire, Message};

fn bench(c: &mut Criterion) {
    let mut small = Message::new();
    for i in 0..10 {
        small.insert(format!("key-{i}"), format!("value number {i}"));
    }
    let large = Message::new()
        .with("body", vec![b'x'; 78_000])
        .with("content-type", "text/x-lua")
        .with("type", "Module");
    for (name, message) in [("10 keys", &small), ("78 KB body", &large)] {
        c.bench_function(&format!("wire encode {name}"), |b| {
            b.iter(|| wire::encode_message(black_box(message)))
        });
        let frame = wire::encode_message(message);
        c.bench_function(&format!("wire decode {name}"), |b| {
            b.iter(|| wire::decode_message(black_box(&frame)).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

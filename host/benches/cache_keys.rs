//! Cache keys (`ferrobeam::cache::KeyHasher`): what the node hashes to remember a message's ID,
//! a decoded request or an encoded response, for messages of a few sizes, against SHA-256 of
//! the same bytes (what every key was before large ones moved to BLAKE3).

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrobeam::cache::KeyHasher;
use ferrobeam_device_api::{wire, Message};
use sha2::{Digest as _, Sha256};
use std::hint::black_box;

fn keys(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_key");
    // 78,522 bytes: the body of wao's spawnLua request (`vectors/client-requests/22-…`).
    for size in [1_000usize, 16_000, 78_522] {
        let message = Message::new()
            .with("content-type", "multipart/form-data")
            .with("body", vec![b'x'; size]);
        let frame = wire::encode_message(&message);
        group.bench_function(format!("KeyHasher, {size}-byte body"), |b| {
            b.iter(|| {
                let mut key = KeyHasher::new(b"bench v1");
                key.message(black_box(&message));
                key.finish()
            })
        });
        group.bench_function(format!("sha256 of the frame, {size}-byte body"), |b| {
            b.iter(|| <[u8; 32]>::from(Sha256::digest(black_box(&frame))))
        });
    }
    group.finish();
}

criterion_group!(benches, keys);
criterion_main!(benches);

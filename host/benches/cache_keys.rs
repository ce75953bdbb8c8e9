//! Cache keys (`ferrobeam::cache::KeyBuilder`): what the node does to find a message's ID, a
//! decoded request or an encoded response it remembers — build the key and look it up in a
//! cache that holds it — for messages of a few sizes, against SHA-256 of the same bytes (what
//! every key was until session 12; `BENCHMARKS.md`, "The load command").

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrobeam::cache::{KeyBuilder, Recent};
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
        let key = || {
            let mut key = KeyBuilder::new(b"bench v1");
            key.message(black_box(&message));
            key.finish()
        };
        let cache = Recent::new(1024, usize::MAX);
        cache.insert(&key(), size, 0);
        group.bench_function(format!("key and hit, {size}-byte body"), |b| {
            b.iter(|| cache.get(&key()).expect("the key is held"))
        });
        group.bench_function(format!("sha256 of the frame, {size}-byte body"), |b| {
            b.iter(|| <[u8; 32]>::from(Sha256::digest(black_box(&frame))))
        });
    }
    // Two request threads finding the typed POST's ~8 KB result in one cache: what the lock
    // costs when both use it (the machine has two cores).
    let message = Message::new().with("body", vec![b'x'; 8_000]);
    let key = || {
        let mut key = KeyBuilder::new(b"bench v1");
        key.message(black_box(&message));
        key.finish()
    };
    let cache = Recent::new(1024, usize::MAX);
    cache.insert(&key(), 1u8, 0);
    group.bench_function("key and hit, 8000-byte body, two threads at once", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..iters {
                            black_box(cache.get(&key()).expect("the key is held"));
                        }
                    });
                }
            });
            // Time for one lookup of each thread, side by side.
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, keys);
criterion_main!(benches);

//! What counting costs on the request path: one counter increment and one histogram
//! observation with the labels the node uses per device call, and encoding a family of 500
//! series for a scrape.

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrobeam::metrics::family::{Family, Kind};
use ferrobeam::metrics::text;
use std::hint::black_box;

fn metrics(c: &mut Criterion) {
    let calls = Family::new("c_total", "h", Kind::Counter, &["device", "key", "outcome"]);
    let latency = Family::new("l_seconds", "h", Kind::Histogram, &["device", "key"]);
    for d in 0..20 {
        for k in 0..10 {
            calls.inc(&[&format!("dev{d}@1.0"), &format!("key{k}"), "ok"]);
            latency.observe(&[&format!("dev{d}@1.0"), &format!("key{k}")], 0.001);
        }
    }
    let mut group = c.benchmark_group("metrics");
    group.bench_function("counter_inc_3_labels", |b| {
        b.iter(|| calls.inc(black_box(&["dev7@1.0", "key3", "ok"])))
    });
    group.bench_function("histogram_observe_2_labels", |b| {
        b.iter(|| latency.observe(black_box(&["dev7@1.0", "key3"]), black_box(0.0042)))
    });
    let big = Family::new("b_total", "h", Kind::Counter, &["device", "key"]);
    for i in 0..500 {
        big.inc(&[&format!("dev{}@1.0", i / 10), &format!("key{i}")]);
    }
    group.bench_function("encode_500_series", |b| {
        b.iter(|| {
            let mut out = String::new();
            text::encode(&mut out, black_box(&big));
            out
        })
    });
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);

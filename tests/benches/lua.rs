//! The guide's token process on a release node over real HTTP (docs/lua.md, "Performance";
//! BENCHMARKS.md "Lua processes"). Not a test: it prints figures.
//!
//! ```sh
//! cargo build --release --workspace
//! cargo bench -p ferrobeam-tests --bench lua
//! ```
//!
//! * Transfers scheduled + computed per second on one process: N `Transfer` messages, signed by
//!   the token's owner before the clock starts, posted by 16 clients to
//!   `/<pid>~process@1.0/schedule` (each durably assigned, and committed by the node wallet —
//!   or not, with `sign_assignments = false`), then one `GET /<pid>~process@1.0/now/at-slot`
//!   computes them all (each slot: the AOS runtime, the guide's handler, its patch of the whole
//!   balance table, the state cached in the store). Also the compute part alone.
//! * The dynamic read: `GET /<pid>~process@1.0/now/~lua@5.3a&module=<circulating-supply.lua>/
//!   calculate/serialize~json@1.0` latency (p50, p99) on that state.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferrobeam_tests::bench::{parallel, percentile, send, signed};
use ferrobeam_tests::token::{self, TokenProcess, HOLDERS};
use ferrobeam_tests::{ferrobeam_bin, http, test_wallet, NodeProcess};
use std::sync::Arc;
use std::time::Instant;

const CLIENTS: usize = 16;
/// Transfers per run.
const N: usize = 1000;

fn get_ok(node: &NodeProcess, path: &str) -> http::Response {
    let r = node.get(path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r
}

/// The figures of one run: end-to-end messages per second and evaluations per second.
struct Figures {
    end_to_end: f64,
    evaluations: f64,
}

fn run(sign_assignments: bool) -> (NodeProcess, TokenProcess, Figures) {
    let node = NodeProcess::start(&token::devices_toml(sign_assignments));
    let seed = format!("bench-lua-{}-{sign_assignments}", std::process::id());
    let token = TokenProcess::spawn(&node.addr, &seed, N * 10).unwrap_or_else(|e| panic!("{e}"));
    get_ok(&node, &token.now_path("at-slot"));
    let path = token.schedule_path();
    let pid = token.pid.clone();
    let requests = Arc::new(parallel(N, 2, move |i| {
        signed(2, &path, token::transfer(&pid, i))
    }));
    let addr = node.addr.clone();
    let start = Instant::now();
    let reqs = requests.clone();
    parallel(N, CLIENTS, move |i| {
        let r = send(&addr, &reqs[i]);
        assert_eq!(r.status, 200, "{}", r.text());
    });
    let scheduled = start.elapsed();
    let t = Instant::now();
    let at = get_ok(&node, &token.now_path("at-slot")).text();
    let computed = t.elapsed();
    let total = start.elapsed();
    assert_eq!(
        at.trim(),
        (N + 2).to_string(),
        "spawn, two Evals, N transfers"
    );
    let what = if sign_assignments {
        "assignments signed"
    } else {
        "sign_assignments = false"
    };
    println!(
        "token Transfer, 1 process, {N} signed messages, {CLIENTS} clients ({what}): scheduled+computed {:.0} msg/s ({:.2?} total: schedule {:.2?}, compute {:.2?} = {:.0} evaluations/s)",
        N as f64 / total.as_secs_f64(),
        total,
        scheduled,
        computed,
        N as f64 / computed.as_secs_f64(),
    );
    let figures = Figures {
        end_to_end: N as f64 / total.as_secs_f64(),
        evaluations: N as f64 / computed.as_secs_f64(),
    };
    (node, token, figures)
}

fn dynamic_read(node: &NodeProcess, token: &TokenProcess) {
    let id = token::upload_supply(
        &ferrobeam_bin(),
        &node.addr,
        &node.scratch.dir.join("devices.toml"),
        &test_wallet(1),
        &node.scratch.dir,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = token::dynamic_read_path(&token.pid, &id);
    let first = get_ok(node, &path).json();
    assert_eq!(first["holdercount"], (HOLDERS + 1).to_string());
    let mut samples = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        get_ok(node, &path);
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "dynamic read (circulating-supply.lua over {} holders, fresh sandboxed VM per read): p50 {:.2?}, p99 {:.2?}",
        HOLDERS + 1,
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
}

/// HyperBEAM's published single-threaded figure for lua@5.3a as a process's execution device
/// (PR #214, `spec/process.md` §8).
const HYPERBEAM_EVALS: f64 = 86.0;

/// Runs `tests/npm/bench-wao-token.mjs` (the same token process in wao's in-memory emulator)
/// when Node.js and the npm packages are installed; its messages per second.
fn wao(transfers: usize) -> Option<f64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("npm");
    if !dir.join("node_modules/wao").exists() {
        println!("wao: tests/npm/node_modules missing (make test installs it); skipped");
        return None;
    }
    let out = std::process::Command::new("node")
        .arg("--experimental-wasm-memory64")
        .arg("bench-wao-token.mjs")
        .arg(transfers.to_string())
        .current_dir(&dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("wao "))?;
    println!("{line}");
    line.split(": ").nth(1)?.split(' ').next()?.parse().ok()
}

fn main() {
    let (node, token, signed) = run(true);
    dynamic_read(&node, &token);
    drop(node);
    let (_, _, unsigned) = run(false);
    match wao(200) {
        Some(rate) => {
            let (low, high) = (signed.end_to_end / rate, unsigned.end_to_end / rate);
            println!(
                "ferrobeam / wao, scheduled+computed: {low:.0}x (assignments signed), {high:.0}x (not signed)"
            );
            println!(
                "target: token Transfer throughput >= 10x wao's in-memory emulator | {low:.0}x (assignments signed), {high:.0}x (not signed) | {}",
                if low >= 10.0 { "met" } else { "MISSED" }
            );
        }
        None => println!(
            "target: token Transfer throughput >= 10x wao's in-memory emulator | wao did not run | MISSED"
        ),
    }
    println!(
        "ferrobeam evaluations / HyperBEAM's ~{HYPERBEAM_EVALS} per second: {:.0}x, {:.0}x",
        signed.evaluations / HYPERBEAM_EVALS,
        unsigned.evaluations / HYPERBEAM_EVALS
    );
}

//! The soak run (`make soak`, docs/reliability.md): a release node under a mixed load for ten
//! minutes — reads of node info and of process state, signed schedule writes, and a hot reload
//! of the process library every minute — checking that no request fails, every write gets the
//! next slot, and the node's resident memory stays flat (within 10% after a warm-up of two
//! fifths of the run, while the store's page cache fills).
//!
//! ```sh
//! cargo build --release --workspace
//! cargo bench -p ferrobeam-tests --bench soak                 # 10 minutes
//! FERROBEAM_SOAK_SECS=60 cargo bench -p ferrobeam-tests --bench soak
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferrobeam_device_api::Message;
use ferrobeam_tests::http;
use ferrobeam_tests::signatures::{signed_in_request, test_wallet, test_wallet_address};
use ferrobeam_tests::NodeProcess;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEVICES: [&str; 5] = [
    "scheduler@1.0",
    "process@1.0",
    "patch@1.0",
    "test-device@1.0",
    "cache@1.0",
];

fn config(memory_states: usize) -> String {
    let mut out = String::new();
    for d in DEVICES {
        out.push_str(&format!("[devices.\"{d}\"]\ncapabilities = [\"sign\"]\n"));
    }
    out.push_str(&format!(
        "[devices.\"process@1.0\".options]\nmemory_states = {memory_states}\n"
    ));
    out
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
}

impl Counts {
    fn record(&self, what: &str, r: &http::Response) -> bool {
        if r.status == 200 {
            self.ok.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            eprintln!("FAILED {what}: {} {}", r.status, r.text());
            false
        }
    }
}

fn main() {
    let secs: u64 = std::env::var("FERROBEAM_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let node = NodeProcess::start(&config(1000));
    let config_path = node.scratch.dir.join("devices.toml");
    let client = test_wallet(2);
    let fields = Message::new()
        .with("random-seed", format!("soak-{}", std::process::id()))
        .with("type", "Process")
        .with("execution-device", "test-device@1.0")
        .with("device", "process@1.0")
        .with("scheduler", test_wallet_address(1));
    let (headers, body) = signed_in_request(&client, "/~process@1.0/schedule", &fields);
    let headers_ref: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = http::request(
        &node.addr,
        "POST",
        "/~process@1.0/schedule",
        &headers_ref,
        &body,
    );
    assert_eq!(r.status, 200, "spawn: {}", r.text());
    let pid = r.header("process").unwrap().to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let mut threads = Vec::new();
    // Readers: node info and the process's state.
    for path in [
        "/~meta@1.0/info".to_owned(),
        format!("/{pid}~process@1.0/now/count"),
    ] {
        for _ in 0..2 {
            let (addr, stop, counts, path) = (
                node.addr.clone(),
                stop.clone(),
                counts.clone(),
                path.clone(),
            );
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    counts.record(&path, &http::request(&addr, "GET", &path, &[], b""));
                }
            }));
        }
    }
    // A writer: signed messages, each answered with the next slot.
    {
        let (addr, stop, counts, pid) =
            (node.addr.clone(), stop.clone(), counts.clone(), pid.clone());
        threads.push(std::thread::spawn(move || {
            let wallet = test_wallet(2);
            let path = format!("/{pid}/schedule");
            let mut expected = 1;
            while !stop.load(Ordering::Relaxed) {
                let msg = Message::new()
                    .with("type", "Message")
                    .with("target", pid.as_str())
                    .with("n", expected.to_string());
                let (headers, body) = signed_in_request(&wallet, &path, &msg);
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let r = http::request(&addr, "POST", &path, &headers, &body);
                if counts.record("schedule", &r) {
                    let slot: u64 = r.header("slot").and_then(|s| s.parse().ok()).unwrap_or(0);
                    assert_eq!(slot, expected, "slots are consecutive");
                    expected += 1;
                }
            }
        }));
    }

    let started = Instant::now();
    // The store's page cache (16 MiB) fills during the first minutes of writes.
    let warm_up = Duration::from_secs((secs * 2 / 5).max(10));
    let samples: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let mut reloads = 0;
    let mut next_reload = Duration::from_secs(60);
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(5));
        let elapsed = started.elapsed();
        if let Some(rss) = node.rss_kib() {
            samples.lock().unwrap().push((elapsed.as_secs(), rss));
            println!(
                "{:>4}s  rss {:>6} KiB  ok {:>8}  failed {}",
                elapsed.as_secs(),
                rss,
                counts.ok.load(Ordering::Relaxed),
                counts.failed.load(Ordering::Relaxed)
            );
        }
        if elapsed >= next_reload {
            reloads += 1;
            next_reload += Duration::from_secs(60);
            let tmp = config_path.with_extension("toml.tmp");
            std::fs::write(&tmp, config(1000 + reloads % 2)).unwrap();
            std::fs::rename(&tmp, &config_path).unwrap();
            println!("reload {reloads}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let samples = samples.lock().unwrap().clone();
    let steady: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= warm_up.as_secs())
        .map(|(_, rss)| *rss)
        .collect();
    let (min, max) = (*steady.iter().min().unwrap(), *steady.iter().max().unwrap());
    let spread = (max - min) as f64 / min as f64;
    let ok = counts.ok.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    println!(
        "soak: {secs} s, {ok} requests ok, {failed} failed, {reloads} reloads; RSS after {} s warm-up {min}-{max} KiB (spread {:.1}%)",
        warm_up.as_secs(),
        spread * 100.0
    );
    assert_eq!(failed, 0, "no request may fail");
    assert!(spread <= 0.10, "RSS must stay within 10% after warm-up");
}

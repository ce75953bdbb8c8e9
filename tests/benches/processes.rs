//! Benchmarks of the process devices on a real release node over real HTTP (`docs/processes.md`,
//! "Performance"). Not a test: it prints figures.
//!
//! ```sh
//! cargo build --release --workspace
//! cargo bench -p ferrobeam-tests --bench processes            # everything
//! FERROBEAM_BENCH=now cargo bench -p ferrobeam-tests --bench processes   # one part
//! ```
//!
//! * `schedule`: durable schedule throughput — signed messages (test wallets, signed before the
//!   clock starts) to one process and spread over 100 processes, by 16 concurrent clients; every
//!   assignment committed by the node wallet and on disk before its answer.
//! * `now`: `GET /<pid>~process@1.0/now/count` latency once 10, 1,000 and 100,000 messages are
//!   scheduled and computed (target: flat within ±20%), and the latency of one new message
//!   scheduled then read. Messages are unsigned here (`accept_unsigned`, `sign_assignments =
//!   false`) so that setting up 100,000 of them takes minutes, not an hour.
//! * `rss`: the node's resident memory with 10,000 idle processes (spawned; then each computed
//!   once).
//! * `pg`: durable schedule throughput to one process, the same 16 clients and signed
//!   messages, on the embedded store, on PostgreSQL with one node, and on PostgreSQL with three
//!   nodes sharing it (requests spread round-robin over the nodes). Starts its own PostgreSQL
//!   server from Debian's `postgresql` package (`tests/support/pg.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferrobeam_device_api::Message;
use ferrobeam_httpsig as httpsig;
use ferrobeam_tests::bench::{parallel, percentile, send, signed, Prepared};
use ferrobeam_tests::http::{self, KeepAlive};
use ferrobeam_tests::pg::PgServer;
use ferrobeam_tests::signatures::test_wallet_address;
use ferrobeam_tests::{NodeProcess, Scratch, FIRST_PARTY};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEVICES: [&str; 5] = [
    "scheduler@1.0",
    "process@1.0",
    "patch@1.0",
    "test-device@1.0",
    "cache@1.0",
];
const CLIENTS: usize = 16;

/// `devices.toml`: with `unsigned`, the scheduler accepts unsigned messages; with
/// `sign_assignments`, it commits assignments with the node wallet.
fn config(unsigned: bool, sign_assignments: bool) -> String {
    let mut out = String::new();
    for d in DEVICES {
        out.push_str(&format!("[devices.\"{d}\"]\ncapabilities = [\"sign\"]\n"));
        if d == "scheduler@1.0" {
            out.push_str(&format!(
                "[devices.\"scheduler@1.0\".options]\naccept_unsigned = {unsigned}\nsign_assignments = {sign_assignments}\n"
            ));
        }
    }
    out
}

/// `msg` unsigned, in an unsigned request.
fn unsigned(path: &str, msg: Message) -> Prepared {
    let http = httpsig::to(&Message::new().with("body", msg)).unwrap();
    let headers = http
        .headers
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect();
    (path.to_owned(), headers, http.body)
}

fn process_fields(seed: usize) -> Message {
    Message::new()
        .with(
            "random-seed",
            format!("bench-{}-{seed}", std::process::id()),
        )
        .with("type", "Process")
        .with("execution-device", "test-device@1.0")
        .with("device", "process@1.0")
        .with("scheduler", test_wallet_address(1))
}

fn spawn(node: &NodeProcess, request: &Prepared) -> String {
    let r = send(&node.addr, request);
    assert_eq!(r.status, 200, "spawn: {}", r.text());
    r.header("process").unwrap().to_owned()
}

/// Schedules the prepared requests with [`CLIENTS`] clients; messages per second and the
/// latency percentiles.
fn throughput(node: &NodeProcess, requests: Vec<Prepared>) -> (f64, Duration, Duration) {
    throughput_on(std::slice::from_ref(node), requests)
}

/// `n` signed messages, message `i` to process `i % pids.len()`, signed by the two client
/// wallets in turn.
fn messages_to(pids: Vec<String>, n: usize) -> Vec<Prepared> {
    parallel(n, 2, move |i| {
        let pid = &pids[i % pids.len()];
        let m = Message::new()
            .with("type", "Message")
            .with("target", pid.as_str())
            .with("n", i.to_string());
        signed(1 + i % 2, &format!("/{pid}/schedule"), m)
    })
}

/// [`throughput`] with request `i` sent to node `i % nodes.len()`.
fn throughput_on(nodes: &[NodeProcess], requests: Vec<Prepared>) -> (f64, Duration, Duration) {
    let n = requests.len();
    let requests = Arc::new(requests);
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    let start = Instant::now();
    let mut latencies = parallel(n, CLIENTS, move |i| {
        let t = Instant::now();
        let r = send(&addrs[i % addrs.len()], &requests[i]);
        assert_eq!(r.status, 200, "{}", r.text());
        t.elapsed()
    });
    let elapsed = start.elapsed();
    latencies.sort();
    (
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}

fn bench_schedule() {
    for sign_assignments in [true, false] {
        bench_schedule_with(sign_assignments);
    }
}

fn bench_schedule_with(sign_assignments: bool) {
    let node = NodeProcess::start(&config(false, sign_assignments));
    let what = if sign_assignments {
        "assignments signed"
    } else {
        "sign_assignments = false"
    };
    let n = 1000;
    // One process.
    let pid = spawn(
        &node,
        &signed(2, "/~process@1.0/schedule", process_fields(0)),
    );
    let requests = messages_to(vec![pid], n);
    let (rate, p50, p99) = throughput(&node, requests);
    println!("schedule ({what}), 1 process, {n} signed messages, {CLIENTS} clients: {rate:.0} msg/s (p50 {p50:.1?}, p99 {p99:.1?})");
    // 100 processes.
    let pids: Vec<String> = (1..=100)
        .map(|s| {
            spawn(
                &node,
                &signed(2, "/~process@1.0/schedule", process_fields(s)),
            )
        })
        .collect();
    let requests = messages_to(pids, n);
    let (rate, p50, p99) = throughput(&node, requests);
    println!("schedule ({what}), 100 processes, {n} signed messages, {CLIENTS} clients: {rate:.0} msg/s (p50 {p50:.1?}, p99 {p99:.1?})");
}

/// A node with the process devices on the store `store` (`None`: the embedded one).
fn node_on(store: Option<&str>, sign_assignments: bool) -> NodeProcess {
    let scratch = Scratch::new("bench");
    for p in FIRST_PARTY {
        scratch.install(p);
    }
    let args: Vec<&str> = match store {
        Some(url) => vec!["--store", url],
        None => Vec::new(),
    };
    NodeProcess::start_with(scratch, &config(false, sign_assignments), &args)
}

/// Schedule throughput to one process: the embedded store, PostgreSQL with one node, and
/// PostgreSQL with three nodes, under the same client load.
fn bench_pg() {
    let Some(pg) = PgServer::start("bench pg") else {
        return;
    };
    let n = 1000;
    for sign_assignments in [true, false] {
        let what = if sign_assignments {
            "assignments signed"
        } else {
            "sign_assignments = false"
        };
        let url = pg.url();
        let setups: [(&str, Option<&str>, usize); 3] = [
            ("embedded store, 1 node", None, 1),
            ("PostgreSQL, 1 node", Some(&url), 1),
            ("PostgreSQL, 3 nodes", Some(&url), 3),
        ];
        for (name, store, count) in setups {
            let nodes: Vec<NodeProcess> = (0..count)
                .map(|_| node_on(store, sign_assignments))
                .collect();
            for processes in [1, 100] {
                let pids: Vec<String> = (0..processes)
                    .map(|s| {
                        spawn(
                            &nodes[s % count],
                            &signed(
                                2,
                                "/~process@1.0/schedule",
                                process_fields(1000 * count + s),
                            ),
                        )
                    })
                    .collect();
                let requests = messages_to(pids, n);
                let (rate, p50, p99) = throughput_on(&nodes, requests);
                println!("pg: schedule ({what}), {name}, {processes} process(es), {n} signed messages, {CLIENTS} clients: {rate:.0} msg/s (p50 {p50:.1?}, p99 {p99:.1?})");
            }
        }
    }
}

/// Schedules `n` unsigned messages on `pid` with [`CLIENTS`] clients, numbered from `from`.
fn fill(node: &NodeProcess, pid: &str, from: usize, n: usize) {
    let (addr, pid) = (node.addr.clone(), pid.to_owned());
    parallel(n, CLIENTS.min(n.max(1)), move |i| {
        let m = Message::new()
            .with("type", "Message")
            .with("target", pid.as_str())
            .with("n", (from + i).to_string());
        let r = send(&addr, &unsigned(&format!("/{pid}/schedule"), m));
        assert_eq!(r.status, 200, "{}", r.text());
    });
}

/// `now/count` of processes holding 10, 1,000 and 100,000 messages, in one node, measured
/// round-robin so that load from elsewhere on the machine falls on every size alike.
fn bench_now() {
    let node = NodeProcess::start(&config(true, false));
    let max: usize = std::env::var("FERROBEAM_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let sizes: Vec<usize> = [10, 1_000, 100_000]
        .into_iter()
        .filter(|n| *n <= max)
        .collect();
    let mut processes = Vec::new();
    for (seed, &n) in sizes.iter().enumerate() {
        let pid = spawn(
            &node,
            &unsigned("/~process@1.0/schedule", process_fields(seed)),
        );
        let start = Instant::now();
        fill(&node, &pid, 0, n);
        let scheduling = start.elapsed();
        let mut conn = KeepAlive::connect(&node.addr);
        let path = format!("/{pid}~process@1.0/now/count");
        let t = Instant::now();
        assert_eq!(conn.get(&path).unwrap().text(), n.to_string());
        println!(
            "now: {n} messages scheduled in {scheduling:.1?} ({:.0} msg/s, unsigned); the first read computed them in {:.1?}",
            n as f64 / scheduling.as_secs_f64(),
            t.elapsed()
        );
        processes.push((n, path, conn));
    }
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); processes.len()];
    for _ in 0..2000 {
        for (i, (n, path, conn)) in processes.iter_mut().enumerate() {
            let t = Instant::now();
            let r = conn.get(path).unwrap();
            latencies[i].push(t.elapsed());
            assert_eq!(r.text(), n.to_string());
        }
    }
    let mut means = Vec::new();
    for ((n, _, _), l) in processes.iter().zip(latencies.iter_mut()) {
        l.sort();
        let mean = l.iter().sum::<Duration>() / l.len() as u32;
        println!(
            "now/count after {n} messages: p50 {:.0?}, mean {mean:.0?}, p99 {:.0?}",
            percentile(l, 0.5),
            percentile(l, 0.99)
        );
        means.push(mean.as_secs_f64());
    }
    let center = means.iter().sum::<f64>() / means.len().max(1) as f64;
    let deviations: Vec<String> = means
        .iter()
        .map(|m| format!("{:+.0}%", (m / center - 1.0) * 100.0))
        .collect();
    println!(
        "now/count mean latency against the average of the sizes: {} (target: within ±20%)",
        deviations.join(", ")
    );
    // Met only when flat up to the target's 100,000 messages (FERROBEAM_BENCH_MAX may stop short).
    let flat = means.iter().all(|m| (m / center - 1.0).abs() <= 0.2)
        && processes.last().is_some_and(|(n, _, _)| *n == 100_000);
    let sizes: Vec<String> = processes.iter().map(|(n, _, _)| n.to_string()).collect();
    println!(
        "target: /now/<key> latency flat (±20%) from 10 to 100,000 messages | {} at {} messages | {}",
        deviations.join(", "),
        sizes.join(" / "),
        if flat { "met" } else { "MISSED" }
    );
    // One new message, then the read that computes it (median of 20).
    for (n, path, conn) in processes.iter_mut() {
        let pid = path
            .trim_start_matches('/')
            .split('~')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut rounds: Vec<Duration> = (0..20)
            .map(|round| {
                let t = Instant::now();
                fill(&node, &pid, *n + round, 1);
                let r = conn.get(path).unwrap();
                assert_eq!(r.text(), (*n + round + 1).to_string());
                t.elapsed()
            })
            .collect();
        rounds.sort();
        println!(
            "now: schedule one more message and read it, after {n}: median {:.1?}",
            percentile(&rounds, 0.5)
        );
    }
}

fn bench_rss() {
    let node = NodeProcess::start(&config(true, false));
    let n = 10_000;
    let before = node.rss_kib().unwrap();
    let addr = node.addr.clone();
    let start = Instant::now();
    let pids = parallel(n, CLIENTS, move |i| {
        let r = send(
            &addr,
            &unsigned("/~process@1.0/schedule", process_fields(i)),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("process").unwrap().to_owned()
    });
    let spawned = node.rss_kib().unwrap();
    println!(
        "rss: {} MiB at start; {} MiB with {n} idle processes ({:.1} KiB each; spawning took {:.1?})",
        before / 1024,
        spawned / 1024,
        (spawned.saturating_sub(before)) as f64 / n as f64,
        start.elapsed()
    );
    let addr = node.addr.clone();
    let pids = Arc::new(pids);
    parallel(n, CLIENTS, move |i| {
        let r = http::request(
            &addr,
            "GET",
            &format!("/{}~process@1.0/now/count", pids[i]),
            &[],
            b"",
        );
        assert_eq!(r.status, 200, "{}", r.text());
    });
    let computed = node.rss_kib().unwrap();
    println!(
        "rss: {} MiB once each of the {n} processes was computed ({:.1} KiB each over the start)",
        computed / 1024,
        (computed.saturating_sub(before)) as f64 / n as f64
    );
}

fn main() {
    let only = std::env::var("FERROBEAM_BENCH").unwrap_or_default();
    // `cargo bench` passes `--bench`; any other argument filters like FERROBEAM_BENCH.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |name: &str| {
        (only.is_empty() || only == name)
            && (filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
    };
    if run("schedule") {
        bench_schedule();
    }
    if run("now") {
        bench_now();
    }
    if run("rss") {
        bench_rss();
    }
    if run("pg") {
        bench_pg();
    }
}

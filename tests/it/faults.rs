//! Device faults under load (`tests/fixtures/faulty`): a device that panics on every call and
//! one that answers with bytes that are not a wire frame get clear 500s, while other devices —
//! and the faulty device's healthy method — keep answering every request; a device that never
//! returns gets 504s (`call_timeout_secs`) and, once it holds `max_calls_per_device` threads,
//! 503s, while the rest of the node serves on. `/metrics` counts every fault.

use ferrobeam_tests::{http, NodeProcess, Scratch};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A node with the first-party plugins and `faulty@1.0`.
pub fn start_with_faulty(config: &str) -> NodeProcess {
    let scratch = Scratch::with_first_party("faults", &["fixture-faulty"]);
    NodeProcess::start_in(scratch, config)
}

#[test]
fn panics_and_garbage_are_500s_and_every_other_request_is_served() {
    let node = start_with_faulty("");
    let r = node.get("/~faulty@1.0/panic");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("panicked"), "{}", r.text());
    let r = node.get("/~faulty@1.0/garbage");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("faulty@1.0"), "{}", r.text());

    let stop = Arc::new(AtomicBool::new(false));
    let healthy_failures = Arc::new(AtomicU64::new(0));
    let healthy_ok = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for path in ["/~faulty@1.0/panic", "/~faulty@1.0/garbage"] {
        for _ in 0..2 {
            let (addr, stop) = (node.addr.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = http::request(&addr, "GET", path, &[], b"");
                    assert_eq!(r.status, 500, "{path}: {}", r.text());
                }
            }));
        }
    }
    for path in ["/~meta@1.0/info", "/~faulty@1.0/ok", "/~mydev@1.0/info"] {
        let (addr, stop) = (node.addr.clone(), stop.clone());
        let (failures, ok) = (healthy_failures.clone(), healthy_ok.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let r = http::request(&addr, "GET", path, &[], b"");
                if r.status == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    eprintln!("{path}: {} {}", r.status, r.text());
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(healthy_failures.load(Ordering::Relaxed), 0);
    assert!(healthy_ok.load(Ordering::Relaxed) > 30);
    // The faults are counted.
    let metrics = node.get("/metrics").text();
    let count = |prefix: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    assert!(
        count("ferrobeam_device_panics_total{device=\"faulty@1.0\"}") >= 2,
        "{metrics}"
    );
    assert!(
        count(
            "ferrobeam_device_calls_total{device=\"faulty@1.0\",key=\"garbage\",outcome=\"error\"}"
        ) >= 2,
        "{metrics}"
    );
}

#[test]
fn a_device_that_never_returns_gets_504s_and_cannot_take_the_node() {
    let node = start_with_faulty("[node]\ncall_timeout_secs = 1\nmax_calls_per_device = 2\n");
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let addr = node.addr.clone();
            std::thread::spawn(move || http::request(&addr, "GET", "/~faulty@1.0/spin", &[], b""))
        })
        .collect();
    for s in spinners {
        let r = s.join().unwrap();
        assert_eq!(r.status, 504, "{}", r.text());
        assert!(r.text().contains("call_timeout_secs"), "{}", r.text());
    }
    // Both calls still spin on their threads: the device is at its limit and refused at once,
    // while every other device answers.
    let r = node.get("/~faulty@1.0/spin");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("max_calls_per_device"), "{}", r.text());
    for _ in 0..20 {
        assert_eq!(node.get("/~meta@1.0/info").status, 200);
        assert_eq!(node.get("/~mydev@1.0/info").status, 200);
    }
    let _ = node.get("/~faulty@1.0/panic");
    let _ = node.get("/~faulty@1.0/garbage");
    let metrics = node.get("/metrics").text();
    for line in [
        "ferrobeam_calls_past_timeout 2",
        "ferrobeam_device_calls_running{device=\"faulty@1.0\"} 2",
    ] {
        assert!(metrics.contains(line), "missing `{line}` in:\n{metrics}");
    }
    assert!(
        metrics.contains(
            "ferrobeam_http_requests_total{device=\"faulty@1.0\",method=\"GET\",status=\"504\"} 2"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "ferrobeam_http_requests_total{device=\"faulty@1.0\",method=\"GET\",status=\"503\"}"
        ),
        "{metrics}"
    );
}

/// A device that answered fast again and again runs on the runtime's workers; when it starts
/// hanging there it may hold at most all workers but one: the node keeps answering, and the
/// hanging device's further requests go to call threads and get their 504.
#[test]
fn a_fast_device_that_starts_hanging_cannot_take_the_workers() {
    let node = start_with_faulty("[node]\ncall_timeout_secs = 1\nmax_calls_per_device = 64\n");
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let hang = |addr: String| {
        // A request hanging on a worker never answers; its thread is left behind.
        std::thread::spawn(move || {
            http::request(&addr, "GET", "/~faulty@1.0/stall?hang=1", &[], b"")
        })
    };
    // `stall` answers at once until asked to hang, on the same path (the same request class).
    // Its class runs on a worker once its last runs were all fast; a debug build on a busy
    // machine may take longer than that now and then, which sends the class back to the call
    // threads. So: prove it fast, send one hanging request, and see that it never answers (a
    // worker holds it); if it answers, a call thread took it and timed out (504), and its slow
    // run reset the class: try again.
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries <= 5, "`stall` never ran on a worker");
        for _ in 0..40 {
            assert_eq!(node.get("/~faulty@1.0/stall").status, 200);
        }
        let first = hang(node.addr.clone());
        // call_timeout_secs is 1: a call thread's answer comes well within this.
        std::thread::sleep(Duration::from_millis(2500));
        if !first.is_finished() {
            break;
        }
    }
    // Enough further hanging requests to take every place on a worker the node lets such
    // requests use, and two more.
    for _ in 0..cores + 1 {
        hang(node.addr.clone());
    }
    std::thread::sleep(Duration::from_millis(1500));
    let metrics = node.get("/metrics").text();
    assert!(
        metrics.contains(&format!("ferrobeam_requests_on_workers {cores}")),
        "every place on a worker is taken:\n{metrics}"
    );
    // One worker is always left: the node serves, and the hanging class times out.
    for _ in 0..20 {
        assert_eq!(node.get("/~meta@1.0/info").status, 200);
        assert_eq!(node.get("/~mydev@1.0/info").status, 200);
    }
    let r = node.get("/~faulty@1.0/stall?hang=1");
    assert_eq!(r.status, 504, "{}", r.text());
}

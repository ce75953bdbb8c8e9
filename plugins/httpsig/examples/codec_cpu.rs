//! The codec bench's round trips timed in CPU time rather than wall time, for a machine shared
//! with other work where criterion's wall-clock figures swing with the load:
//! `cargo run --release -p ferrobeam-httpsig --example codec_cpu [seconds per figure]`.
//! Prints CPU µs per round trip (Linux: `/proc/thread-self/schedstat`), and the two floors of
//! a round trip of four owned stages (`support::copy_floor`, `support::message_floor`).
//! It keeps glibc's allocator settings as it finds them (so that callgrind traces it, not a
//! re-executed copy): `GLIBC_TUNABLES=glibc.malloc.tcache_count=64` gives it the node's
//! (`ferrobeam_device_api::allocator`).
//!
//! The round trip is the bench's, in the message form the node hands the codec
//! (`support::round_trip`); the last column is the same work over `HttpMessage`
//! (`support::round_trip_http`), what the bench measured up to session 17.
//!
//! `codec_cpu count <file index 0-4> <signed|unsigned|http|floor> <iterations>` runs one round
//! trip (`http`: the unsigned one over `HttpMessage`; `floor`: the message floor) that many
//! times and nothing else, for instruction counts under
//! `valgrind --tool=callgrind --toggle-collect='*round_trip*'`. `codec_cpu time …`, with the
//! same arguments, runs them alike and prints the CPU nanoseconds one took on average, loading
//! the request left out (what `bench/layouts.sh` compares).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferrobeam_httpsig::HttpMessage;

#[path = "../benches/support/mod.rs"]
mod support;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Instant;
use support::{captured, round_trip, round_trip_http};

const FILES: [&str; 5] = [
    "26-hbsig-sign-send.json",
    "08-wao-post-typed-headers.json",
    "07-wao-post-typed-multipart.json",
    "13-wao-schedule.json",
    "22-wao-spawnLua-hyper-aos.req1.json",
];

/// [`support::message_floor`], under a name callgrind's `--toggle-collect` can find.
#[inline(never)]
fn message_floor(http: &HttpMessage) -> usize {
    support::message_floor(http)
}

/// CPU nanoseconds this thread has run.
fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// CPU µs per call of `f`, averaged over `seconds` of wall time (after 0.2 s of warm-up). The
/// kernel accounts CPU time in scheduler ticks, so only long totals are precise.
fn measure<T>(seconds: f64, mut f: impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 0.2 {
        black_box(f());
    }
    let (mut calls, cpu) = (0u64, cpu_ns());
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            black_box(f());
        }
        calls += 64;
    }
    (cpu_ns() - cpu) as f64 / calls as f64 / 1000.0
}

/// `count <file index> <signed|unsigned|floor> <iterations>`: round trips only (or, with
/// `floor`, the message floor of the unsigned request).
fn count(args: &[String]) {
    runs(args)();
}

/// `time <file index> <signed|unsigned|floor> <iterations>`: [`count`]'s loop, then the CPU
/// nanoseconds a round trip took, on average.
fn time(args: &[String]) {
    let iterations = args[2].parse::<u64>().unwrap();
    let run = runs(args);
    let start = cpu_ns();
    run();
    println!("{:.1}", (cpu_ns() - start) as f64 / iterations as f64);
}

/// The loop of [`count`] and [`time`], with its request loaded.
fn runs(args: &[String]) -> Box<dyn Fn()> {
    let http = captured(FILES[args[0].parse::<usize>().unwrap()]);
    let iterations = args[2].parse::<u64>().unwrap();
    match args[1].as_str() {
        "signed" => {
            let form = http.to_message();
            Box::new(move || {
                (0..iterations).for_each(|_| drop(black_box(round_trip(black_box(&form)))))
            })
        }
        "http" => {
            let plain = http.without_signatures();
            Box::new(move || {
                (0..iterations).for_each(|_| drop(black_box(round_trip_http(black_box(&plain)))))
            })
        }
        "floor" => {
            let plain = http.without_signatures();
            Box::new(move || {
                (0..iterations).for_each(|_| {
                    black_box(message_floor(black_box(&plain)));
                })
            })
        }
        _ => {
            let plain = http.without_signatures().to_message();
            Box::new(move || {
                (0..iterations).for_each(|_| drop(black_box(round_trip(black_box(&plain)))))
            })
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("count") => return count(&args[1..]),
        Some("time") => return time(&args[1..]),
        _ => {}
    }
    let seconds: f64 = args.first().map_or(2.0, |s| s.parse().unwrap());
    println!(
        "| request | CPU µs, same work (unsigned) | CPU µs, with commitments | copy floor | message floor | same work over `HttpMessage` |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for file in FILES {
        let http = captured(file);
        let plain = http.without_signatures();
        let (form, plain_form) = (http.to_message(), plain.to_message());
        let same = measure(seconds, || round_trip(black_box(&plain_form)));
        let full = measure(seconds, || round_trip(black_box(&form)));
        let copy = measure(seconds, || support::copy_floor(black_box(&plain)));
        let message = measure(seconds, || support::message_floor(black_box(&plain)));
        let over_http = measure(seconds, || round_trip_http(black_box(&plain)));
        println!(
            "| `{file}` | {same:.2} | {full:.2} | {copy:.2} | {message:.2} | {over_http:.2} |"
        );
    }
    let body = captured("22-wao-spawnLua-hyper-aos.req1.json").body;
    let sha = measure(seconds, || Sha256::digest(black_box(&body)));
    println!("| SHA-256 of the 78,522-byte Lua body | {sha:.2} | | | | |");
}

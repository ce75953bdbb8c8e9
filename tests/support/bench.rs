//! Helpers shared by the benchmarks in `tests/benches/` (processes, lua): prepared requests
//! signed by the test wallets, a simple thread pool, percentiles.

use crate::http;
use crate::signatures::{signed_in_request, test_wallet};
use ferrobeam::wallet::Wallet;
use ferrobeam_device_api::Message;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A request prepared before the clock starts: path, headers, body.
pub type Prepared = (String, Vec<(String, String)>, Vec<u8>);

/// POSTs a prepared request.
pub fn send(addr: &str, (path, headers, body): &Prepared) -> http::Response {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    http::request(addr, "POST", path, &headers, body)
}

/// Test wallet `n` (1 or 2), loaded once (loading checks the key, which takes a while).
pub fn wallet(n: usize) -> &'static Wallet {
    static WALLETS: OnceLock<[Wallet; 2]> = OnceLock::new();
    &WALLETS.get_or_init(|| [test_wallet(1), test_wallet(2)])[n - 1]
}

/// `msg` committed by test wallet `n`, in a request to `path` that wallet signs too.
pub fn signed(n: usize, path: &str, msg: Message) -> Prepared {
    let (headers, body) = signed_in_request(wallet(n), path, &msg);
    (path.to_owned(), headers, body)
}

/// Runs `f(i)` for i in 0..n on `threads` threads; the results in order of `i`.
pub fn parallel<T: Send + 'static>(
    n: usize,
    threads: usize,
    f: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (f, next) = (f.clone(), next.clone());
            std::thread::spawn(move || {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return out;
                    }
                    out.push((i, f(i)));
                }
            })
        })
        .collect();
    let mut all: Vec<(usize, T)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// The `p` percentile (0..=1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

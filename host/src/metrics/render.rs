//! `/metrics`: every family, plus the figures read at scrape time (devices, caches, signing,
//! store, uptime).

use super::family::Kind;
use super::text::{self, scraped_family, scraped_value};
use crate::cache::CacheReport;
use crate::node::Node;

/// The node's metrics in the Prometheus text format, with the figures of the caches the edge
/// serving them keeps (`edge_caches`: the node's own are read here).
pub fn render(node: &Node, edge_caches: &[CacheReport]) -> String {
    let m = node.metrics();
    let mut out = String::with_capacity(16 * 1024);
    for family in [
        &m.http_requests,
        &m.http_duration,
        &m.http_in_flight,
        &m.device_calls,
        &m.device_duration,
        &m.device_panics,
        &m.process_calls,
        &m.process_duration,
        &m.reloads,
        &m.calls_past_timeout,
        &m.request_runs,
        &m.on_workers,
    ] {
        text::encode(&mut out, family);
    }
    m.events.encode(&mut out);
    let registry = node.registry();
    scraped_family(
        &mut out,
        Kind::Counter,
        "ferrobeam_library_loads_total",
        "Device library loads (at start and by reloads), by result.",
        &["result"],
        &[
            (vec!["ok".to_owned()], count(registry.loads())),
            (vec!["failed".to_owned()], count(registry.failed_loads())),
        ],
    );
    scraped_value(
        &mut out,
        Kind::Counter,
        "ferrobeam_retired_generations_total",
        "Device generations replaced or removed (their libraries stay mapped: never unloaded).",
        registry.retired_generations(),
    );
    let (devices, _) = registry.status();
    let generations: Vec<(Vec<String>, i64)> = devices
        .iter()
        .map(|d| {
            (
                vec![d.name.clone(), d.sha256.get(..12).unwrap_or("").to_owned()],
                d.generation as i64,
            )
        })
        .collect();
    scraped_family(
        &mut out,
        Kind::Gauge,
        "ferrobeam_device_generation",
        "The generation serving each device (0: never loaded), with its library's sha256 prefix.",
        &["device", "sha256"],
        &generations,
    );
    let loaded: Vec<(Vec<String>, i64)> = devices
        .iter()
        .map(|d| (vec![d.name.clone()], i64::from(d.loaded)))
        .collect();
    scraped_family(
        &mut out,
        Kind::Gauge,
        "ferrobeam_device_loaded",
        "1 when the device is serving, 0 when it is known but not serving.",
        &["device"],
        &loaded,
    );
    let running: Vec<(Vec<String>, i64)> = node
        .gate()
        .running()
        .into_iter()
        .map(|(d, n)| (vec![d], n as i64))
        .collect();
    scraped_family(
        &mut out,
        Kind::Gauge,
        "ferrobeam_device_calls_running",
        "Calls running now per device (at most max_calls_per_device; a stuck device stays at it).",
        &["device"],
        &running,
    );
    let mut caches = edge_caches.to_vec();
    caches.push(node.ids().report());
    if let Some(signer) = node.signer() {
        caches.push(signer.cache().report());
    }
    render_caches(&mut out, &caches);
    if let Some(signer) = node.signer() {
        let totals = signer.totals();
        scraped_value(
            &mut out,
            Kind::Counter,
            "ferrobeam_signatures_total",
            "Fresh RSA-4096 signatures made with the node wallet (responses, assignments); one \
             found in the signature cache is not counted.",
            totals.signatures,
        );
        scraped_value(
            &mut out,
            Kind::Counter,
            "ferrobeam_signing_seconds_total",
            "Time spent making them: its rate is how many cores signing keeps busy.",
            format!("{:.6}", totals.time.as_secs_f64()),
        );
    }
    if let Some(size) = node.store().size_bytes() {
        scraped_value(
            &mut out,
            Kind::Gauge,
            "ferrobeam_store_size_bytes",
            "Size of the store's file.",
            size,
        );
    }
    scraped_value(
        &mut out,
        Kind::Gauge,
        "ferrobeam_uptime_seconds",
        "Seconds since the node started.",
        format!("{:.3}", m.uptime_seconds()),
    );
    let _ = std::fmt::Write::write_fmt(
        &mut out,
        format_args!(
            "# HELP ferrobeam_build_info The running version.\n# TYPE ferrobeam_build_info gauge\nferrobeam_build_info{{version=\"{}\",abi=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION"),
            ferrobeam_device_api::abi::ABI_VERSION
        ),
    );
    out
}

/// Lookups (by result), entries and bytes of each of `caches`.
fn render_caches(out: &mut String, caches: &[CacheReport]) {
    let lookups: Vec<(Vec<String>, i64)> = caches
        .iter()
        .flat_map(|c| {
            [("hit", c.stats.hits), ("miss", c.stats.misses)]
                .map(|(result, n)| (vec![c.name.to_owned(), result.to_owned()], count(n)))
        })
        .collect();
    scraped_family(
        out,
        Kind::Counter,
        "ferrobeam_cache_lookups_total",
        "Lookups in the node's caches (request: decoded requests; response: encoded responses; \
         id: message IDs; signature: signatures by signature base), by result.",
        &["cache", "result"],
        &lookups,
    );
    let of = |f: fn(&CacheReport) -> usize| -> Vec<(Vec<String>, i64)> {
        caches
            .iter()
            .map(|c| (vec![c.name.to_owned()], count(f(c))))
            .collect()
    };
    scraped_family(
        out,
        Kind::Gauge,
        "ferrobeam_cache_entries",
        "Values each cache holds now.",
        &["cache"],
        &of(|c| c.entries),
    );
    scraped_family(
        out,
        Kind::Gauge,
        "ferrobeam_cache_bytes",
        "Bytes each cache holds now, keys included (about).",
        &["cache"],
        &of(|c| c.weight),
    );
}

/// A count as a series value.
fn count(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

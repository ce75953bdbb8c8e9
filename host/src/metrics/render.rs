//! `/metrics`: every family, plus the gauges read at scrape time (devices, store, uptime).

use super::text::{self, gauge, gauge_family};
use crate::node::Node;

/// The node's metrics in the Prometheus text format.
pub fn render(node: &Node) -> String {
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
    counter(
        &mut out,
        "ferrobeam_library_loads_total",
        "Device library loads (at start and by reloads), by result.",
        &[
            ("ok", registry.loads()),
            ("failed", registry.failed_loads()),
        ],
    );
    counter(
        &mut out,
        "ferrobeam_retired_generations_total",
        "Device generations replaced or removed (their libraries stay mapped: never unloaded).",
        &[("", registry.retired_generations())],
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
    gauge_family(
        &mut out,
        "ferrobeam_device_generation",
        "The generation serving each device (0: never loaded), with its library's sha256 prefix.",
        &["device", "sha256"],
        &generations,
    );
    let loaded: Vec<(Vec<String>, i64)> = devices
        .iter()
        .map(|d| (vec![d.name.clone()], i64::from(d.loaded)))
        .collect();
    gauge_family(
        &mut out,
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
    gauge_family(
        &mut out,
        "ferrobeam_device_calls_running",
        "Calls running now per device (at most max_calls_per_device; a stuck device stays at it).",
        &["device"],
        &running,
    );
    if let Some(size) = node.store().size_bytes() {
        gauge(
            &mut out,
            "ferrobeam_store_size_bytes",
            "Size of the store's file.",
            size,
        );
    }
    gauge(
        &mut out,
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

/// A counter read from elsewhere: one series per `(result, value)`, or an unlabelled one when
/// the result is empty.
fn counter(out: &mut String, name: &str, help: &str, series: &[(&str, u64)]) {
    use std::fmt::Write;
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (result, v) in series {
        if result.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{result=\"{result}\"}} {v}");
        }
    }
}

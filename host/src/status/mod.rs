//! The status page: `GET /status` (one HTML page with its own script and chart, no external
//! resources) and `GET /status/data` (the JSON it polls every second).
//!
//! Served by the node itself rather than by a device: the page is where an operator looks when
//! devices fail to load, so it must work when no device does (the codec devices included).
//! Processes are the one part it asks a device for: `scheduler@1.0`'s `status` and `slot`, when
//! that device is loaded.

use crate::node::Node;
use crate::resolve;
use ferrobeam_device_api::{Message, Value};
use serde_json::{json, Value as Json};

/// The page (`page.html`).
pub const PAGE: &str = include_str!("page.html");

/// Most processes listed with their slot counts.
pub const MAX_PROCESSES: usize = 50;

/// The status as JSON: node, devices, reloads, request counters (requests to devices, not
/// to the node's own routes) with their history of the last two minutes (`[seconds since
/// start, requests so far]`, once a second), processes.
pub fn data(node: &Node) -> Json {
    let registry = node.registry();
    let (devices, library_errors) = registry.status();
    let last_reload = devices.iter().map(|d| d.loaded_at).max().unwrap_or(0);
    let devices: Vec<Json> = devices
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "library": d.library,
                "sha256": d.sha256,
                "generation": d.generation,
                "loaded_at": d.loaded_at,
                "loaded": d.loaded,
                "enabled": d.enabled,
                "abi": ferrobeam_device_api::abi::ABI_VERSION,
                "last_error": d.last_error,
            })
        })
        .collect();
    let m = node.metrics();
    let reloads = |result: &str| m.reloads.with(&[result]).get();
    let (total, errors) = m.device_requests();
    let history: Vec<Json> = m.history().iter().map(|(t, n)| json!([t, n])).collect();
    let (processes, processes_error) = processes(node);
    json!({
        "node": {
            "version": env!("CARGO_PKG_VERSION"),
            "abi": ferrobeam_device_api::abi::ABI_VERSION,
            "address": node.signer().map(|s| s.wallet().address().to_owned()),
            "config": node.config().path.display().to_string(),
            "uptime_seconds": m.uptime_seconds(),
            "now": unix_now(),
        },
        "devices": devices,
        "library_errors": library_errors,
        "config_error": node.config_error(),
        "reloads": {
            "ok": reloads("ok"),
            "failed": reloads("failed"),
            "refused": reloads("refused"),
        },
        "loads": { "ok": registry.loads(), "failed": registry.failed_loads() },
        "retired_generations": registry.retired_generations(),
        "last_load_at": last_reload,
        "requests": {
            "total": total,
            "server_errors": errors,
            "in_flight": m.http_in_flight.with(&[]).get() as i64,
        },
        "history": history,
        "device_calls": m.device_calls.total(),
        "device_panics": m.device_panics.total(),
        "store_size_bytes": node.store().size_bytes(),
        "signing": node.signer().map(|s| {
            let totals = s.totals();
            json!({
                "signatures": totals.signatures,
                "seconds": totals.time.as_secs_f64(),
            })
        }),
        "processes": processes,
        "processes_error": processes_error,
    })
}

/// The processes `scheduler@1.0` schedules, with their slot counts (the latest slot + 1).
fn processes(node: &Node) -> (Vec<Json>, Option<String>) {
    const SCHEDULER: &str = "scheduler@1.0";
    if node.registry().get(SCHEDULER).is_none() {
        return (Vec::new(), Some(format!("{SCHEDULER} is not loaded")));
    }
    let empty = Message::new();
    let listed = match resolve::call_with(node, SCHEDULER, "status", &empty, &empty) {
        Ok(Value::Message(m)) => m,
        Ok(_) => return (Vec::new(), Some("unexpected status answer".to_owned())),
        Err(e) => return (Vec::new(), Some(e.reason().to_owned())),
    };
    let ids: Vec<String> = listed
        .get("processes")
        .and_then(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_str)
        .take(MAX_PROCESSES)
        .map(str::to_owned)
        .collect();
    let list = ids
        .into_iter()
        .map(|pid| {
            let req = Message::new().with("target", pid.as_str());
            let slots = match resolve::call_with(node, SCHEDULER, "slot", &empty, &req) {
                Ok(Value::Message(m)) => m
                    .get("current")
                    .and_then(|v| {
                        v.as_integer()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
                    .map(|current| current + 1),
                _ => None,
            };
            json!({ "id": pid, "slots": slots })
        })
        .collect();
    (list, None)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

//! What the node counts, served at `/metrics` in the Prometheus text format
//! (`docs/operations.md`, "Monitoring").
//!
//! Hand-rolled over atomics ([`family`]) with a small text encoder ([`text`]): no metrics crate,
//! no global state (each [`Node`](crate::Node) owns its [`Metrics`], so several nodes in one
//! process keep apart). Label values that come from requests are bounded: a device label is a
//! loaded device's name or `other`, a key label a method the device declares or `other`, and
//! every family keeps at most [`family::MAX_SERIES`] label sets.

pub mod calls;
pub mod events;
pub mod family;
pub mod render;
pub mod text;

use family::{Family, Kind, Snapshot};
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// How many once-a-second samples of the request count are kept (two minutes).
pub const HISTORY_LEN: usize = 120;

/// Label value for anything not worth its own series (unknown devices, undeclared keys).
pub const OTHER: &str = "other";

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// HTTP requests by device, method and status.
    pub http_requests: Family,
    /// HTTP request latency by device and method.
    pub http_duration: Family,
    /// Requests being served now.
    pub http_in_flight: Family,
    /// Device calls (edge steps and plugin-to-plugin) by device, key and outcome.
    pub device_calls: Family,
    /// Device call latency by device and key.
    pub device_duration: Family,
    /// Device calls that panicked, by device.
    pub device_panics: Family,
    /// Scheduler and process calls by process class, device and method.
    pub process_calls: Family,
    /// Their latency.
    pub process_duration: Family,
    /// Reloads after start (watcher, SIGHUP, `ferrobeam reload`) by result.
    pub reloads: Family,
    /// Blocking calls still running after their request was answered 504.
    pub calls_past_timeout: Family,
    /// Requests run (decoded, resolved, encoded), by where: a runtime worker or a call thread.
    pub request_runs: Family,
    /// Requests running on runtime workers now.
    pub on_workers: Family,
    /// Events plugins count through the `metric` host operation.
    pub events: events::Events,
    /// `(seconds since start, requests to devices so far)`, once a second ([`Metrics::sample`]).
    history: Mutex<VecDeque<(f64, u64)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty metrics; uptime counts from now.
    pub fn new() -> Metrics {
        Metrics {
            started: Instant::now(),
            http_requests: Family::new(
                "ferrobeam_http_requests_total",
                "HTTP requests answered, by the device of the path's first ~device step, method and status.",
                Kind::Counter,
                &["device", "method", "status"],
            ),
            http_duration: Family::new(
                "ferrobeam_http_request_duration_seconds",
                "Time from a request's headers to its response, by device and method.",
                Kind::Histogram,
                &["device", "method"],
            ),
            http_in_flight: Family::new(
                "ferrobeam_http_requests_in_flight",
                "HTTP requests being served now.",
                Kind::Gauge,
                &[],
            ),
            device_calls: Family::new(
                "ferrobeam_device_calls_total",
                "Calls through the device ABI (edge steps and device-to-device), by device, key and outcome (ok, error, unhandled, panic).",
                Kind::Counter,
                &["device", "key", "outcome"],
            ),
            device_duration: Family::new(
                "ferrobeam_device_call_duration_seconds",
                "Time spent in one device call (including the calls it makes), by device and key.",
                Kind::Histogram,
                &["device", "key"],
            ),
            device_panics: Family::new(
                "ferrobeam_device_panics_total",
                "Device calls that panicked (the node answered 500 and kept serving), by device.",
                Kind::Counter,
                &["device"],
            ),
            process_calls: Family::new(
                "ferrobeam_process_calls_total",
                "scheduler@1.0 and process@1.0 calls (schedule, compute, now, push), by process class (its execution-device), device, method and outcome.",
                Kind::Counter,
                &["class", "device", "method", "outcome"],
            ),
            process_duration: Family::new(
                "ferrobeam_process_call_duration_seconds",
                "Latency of scheduler@1.0 and process@1.0 calls, by process class, device and method.",
                Kind::Histogram,
                &["class", "device", "method"],
            ),
            reloads: Family::new(
                "ferrobeam_reloads_total",
                "Reloads after start, by result: ok, failed (a library refused; its previous generation keeps serving) or refused (devices.toml has an error; nothing changed).",
                Kind::Counter,
                &["result"],
            ),
            calls_past_timeout: Family::new(
                "ferrobeam_calls_past_timeout",
                "Device calls still running on a blocking thread after their request was answered 504 (call_timeout_secs): each holds a call slot until it returns.",
                Kind::Gauge,
                &[],
            ),
            request_runs: Family::new(
                "ferrobeam_request_runs_total",
                "Requests decoded, resolved and encoded, by where they ran: on a runtime worker (their class had proven fast) or on a call thread.",
                Kind::Counter,
                &["on"],
            ),
            on_workers: Family::new(
                "ferrobeam_requests_on_workers",
                "Requests running on runtime workers now (at most the worker count minus one; a device that hangs there holds its place).",
                Kind::Gauge,
                &[],
            ),
            events: events::Events::default(),
            history: Mutex::new(VecDeque::with_capacity(HISTORY_LEN)),
        }
    }

    /// Requests to devices (not to the node's own routes such as `/metrics` and `/status`):
    /// all of them, and those answered with a 5xx status.
    pub fn device_requests(&self) -> (u64, u64) {
        let mut total = 0;
        let mut server_errors = 0;
        for (labels, snap) in self.http_requests.snapshot() {
            let Snapshot::Counter(n) = snap else { continue };
            if labels.first().is_some_and(|d| d == "node") {
                continue;
            }
            total += n;
            if labels.get(2).is_some_and(|s| s.starts_with('5')) {
                server_errors += n;
            }
        }
        (total, server_errors)
    }

    /// Records the request count now (the node calls it once a second), keeping the last
    /// [`HISTORY_LEN`] samples for the status page's chart.
    pub fn sample(&self) {
        let point = (self.uptime_seconds(), self.device_requests().0);
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        if history.len() == HISTORY_LEN {
            history.pop_front();
        }
        history.push_back(point);
    }

    /// The samples, oldest first.
    pub fn history(&self) -> Vec<(f64, u64)> {
        self.history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect()
    }

    /// Seconds since the node started (or since these metrics were made).
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// The methods of the process devices whose calls are also counted per process class.
pub const PROCESS_METHODS: &[&str] = &["schedule", "compute", "now", "push"];

/// The devices whose [`PROCESS_METHODS`] are counted per process class.
pub const PROCESS_DEVICES: &[&str] = &["scheduler@1.0", "process@1.0"];

/// An HTTP method as a label: the standard ones, else [`OTHER`].
pub fn method_label(method: &str) -> &str {
    match method {
        "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "PATCH" | "OPTIONS" => method,
        _ => OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_requests_leave_out_the_node_routes_and_history_is_bounded() {
        let m = Metrics::new();
        m.http_requests.inc(&["mydev@1.0", "GET", "200"]);
        m.http_requests.inc(&["mydev@1.0", "GET", "503"]);
        m.http_requests.inc(&["node", "GET", "200"]);
        assert_eq!(m.device_requests(), (2, 1));
        for _ in 0..HISTORY_LEN + 5 {
            m.sample();
        }
        let h = m.history();
        assert_eq!(h.len(), HISTORY_LEN);
        assert!(h.iter().all(|(_, n)| *n == 2));
        assert!(h.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}

//! Counting device calls: every call through the ABI (edge steps and device-to-device) passes
//! [`crate::resolve::call_with`], which records it here.

use super::{Metrics, OTHER, PROCESS_DEVICES, PROCESS_METHODS};
use crate::node::Node;
use crate::registry::{CallOutcome, DeviceHandle};
use ferrobeam_device_api::runtime::is_panic;
use ferrobeam_device_api::Message;
use std::time::Duration;

/// The process class of a call of a process device's [`PROCESS_METHODS`]: the base message's
/// `execution-device` when it names a loaded device, `none` when it names none (a scheduler
/// call on a bare request), `other` for anything else. `None` for every other call.
pub fn process_class<'a>(
    node: &Node,
    device: &str,
    key: &str,
    base: &'a Message,
) -> Option<&'a str> {
    if !PROCESS_DEVICES
        .iter()
        .any(|d| d.eq_ignore_ascii_case(device))
        || !PROCESS_METHODS.contains(&key)
    {
        return None;
    }
    Some(match base.get_str("execution-device") {
        None => "none",
        Some(d) if node.registry().contains(d) => d,
        Some(_) => OTHER,
    })
}

/// Records one call of `key` on `handle`.
pub fn record(
    metrics: &Metrics,
    handle: &DeviceHandle,
    key: &str,
    class: Option<&str>,
    outcome: &CallOutcome,
    took: Duration,
) {
    let device = handle.name.as_str();
    let label = handle.declared(key).unwrap_or(OTHER);
    let result = match outcome {
        CallOutcome::Value(_) => "ok",
        CallOutcome::Error(e) if is_panic(e) => "panic",
        CallOutcome::Error(_) => "error",
        CallOutcome::Unhandled => "unhandled",
    };
    let seconds = took.as_secs_f64();
    metrics.device_calls.inc(&[device, label, result]);
    if result == "panic" {
        metrics.device_panics.inc(&[device]);
    }
    if !matches!(outcome, CallOutcome::Unhandled) {
        metrics.device_duration.observe(&[device, label], seconds);
    }
    if let Some(class) = class {
        metrics.process_calls.inc(&[class, device, key, result]);
        metrics
            .process_duration
            .observe(&[class, device, key], seconds);
    }
}

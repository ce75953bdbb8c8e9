//! Dry runs: `/<pid>~process@1.0/as=execution/compute&Action=Get` (aoconnect's `dryrun`).
//!
//! `as=execution` answers the process's current state marked with [`DRY_RUN`] naming the
//! execution device; `compute` on such a state evaluates the request as one more message with
//! that device — shaped like an assignment for slot `current + 1`, so the device sees what it
//! sees for a scheduled message — and answers its `results`. Nothing is scheduled, stored or
//! cached: the process's state does not advance.

use super::compute::Engine;
use super::definition::ProcessDef;
use crate::params::slot_value;
use crate::shared::Shared;
use ferrobeam_device_api::{DeviceError, Host, Message, Value};

/// The state key marking a state as the base of a dry run; its value is the execution device.
pub const DRY_RUN: &str = "dry-run";

/// Request keys that route the dry run rather than belong to the evaluated message.
const ROUTING_KEYS: &[&str] = &["path", "method", "as", "commitments"];

/// `as=<role>`: the state after every assigned slot, marked for a dry run by the device the
/// process names under `<role>-device` (`as=execution` → `execution-device`).
pub fn mark(state: Message, process: &ProcessDef, role: &str) -> Result<Message, DeviceError> {
    let key = format!("{role}-device");
    let device = process
        .message
        .get_str(&key)
        .ok_or_else(|| {
            DeviceError::bad_request(format!(
                "process {} names no `{key}` to run as",
                process.pid
            ))
        })?
        .to_owned();
    let mut state = state;
    state.insert(DRY_RUN, device);
    Ok(state)
}

/// Evaluates `req` as the next message on a state [`mark`]ed for a dry run: its `results`.
pub fn evaluate(
    host: &Host,
    shared: &Shared,
    process: &ProcessDef,
    current: u64,
    req: &Message,
) -> Result<Value, DeviceError> {
    let engine = Engine::new(host, shared, process);
    let state = engine.compute_at(current)?.state;
    let mut message = req.without_private();
    message.retain(|k, _| !ROUTING_KEYS.contains(&k.as_str()));
    if let Some(commitments) = req.get("commitments") {
        // The signer stays visible to the execution device (`From`).
        message.insert("commitments", commitments.clone());
    }
    let slot = current.saturating_add(1);
    let assignment = Message::new()
        .with("path", "compute")
        .with("type", "assignment")
        .with("process", process.pid.as_str())
        .with("slot", slot_value(slot))
        .with("dry-run", Value::atom("true"))
        .with("body", message);
    let next = engine.evaluate(&state, &assignment, slot)?;
    Ok(next
        .get("results")
        .cloned()
        .unwrap_or_else(|| Value::Message(Message::new())))
}

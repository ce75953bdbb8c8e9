//! `push` (`spec/process.md` §2.7): schedule a message (or take an assigned slot), compute that
//! slot, and deliver every outbox message that has a `target` to that process when this node
//! schedules it — signed by the node, with `from-process` naming the sender — then push the
//! target's new slot in turn.

use super::compute::Engine;
use super::definition::ProcessDef;
use crate::ids;
use crate::params::{self, slot_value};
use crate::scheduler::record;
use crate::shared::Shared;
use ferrobeam_device_api::{DeviceError, Host, Message, Value};

/// How many hops a chain of pushes may take (A → B → C …).
pub const MAX_DEPTH: u64 = 8;

/// The request key carrying how deep in a push chain a push is.
pub const DEPTH_KEY: &str = "push-depth";

/// Pushes `process`: `req.slot` when given, else the request's message scheduled now.
pub fn push(
    host: &Host,
    shared: &Shared,
    process: &ProcessDef,
    req: &Message,
) -> Result<Message, DeviceError> {
    let depth = params::slot_param(req, DEPTH_KEY)?.unwrap_or(0);
    if depth > MAX_DEPTH {
        return Err(DeviceError::bad_request(format!(
            "push chain deeper than {MAX_DEPTH} hops stopped at process {}",
            process.pid
        )));
    }
    let slot = match params::slot_param(req, "slot")? {
        Some(slot) => slot,
        None => {
            let assignment = schedule(host, process, req)?;
            let slot = assigned_slot(&assignment)?;
            if slot == 0 {
                // A process message: spawned (slot 0 is always the process itself). Like
                // HyperBEAM, the answer is its assignment, whose `process` key travels as the
                // `process` header aoconnect's `spawn` reads; nothing is computed yet.
                return Ok(assignment);
            }
            slot
        }
    };
    let head = shared.sequencer.head(host, &process.pid)?;
    if head.is_none_or(|h| h.slot < slot) {
        return Err(DeviceError::not_found(format!(
            "slot {slot} of process {} is not assigned yet",
            process.pid
        )));
    }
    let computed = Engine::new(host, shared, process).compute_at(slot)?;
    let empty = Message::new();
    let results = computed.state.get_message("results").unwrap_or(&empty);
    let mut out = Message::new()
        .with("slot", slot_value(slot))
        .with("process", process.pid.as_str());
    for (k, v) in results.iter() {
        if k.as_str() != "outbox" && !k.is_private() {
            out.insert(k.clone(), v.clone());
        }
    }
    for (key, message) in outbox_entries(results.get("outbox")) {
        if message.get("target").is_some() {
            out.insert(key, deliver(host, shared, process, &message, depth));
        }
    }
    Ok(out)
}

/// Schedules the request's message on `process`: its assignment.
fn schedule(host: &Host, process: &ProcessDef, req: &Message) -> Result<Message, DeviceError> {
    let mut post = req.clone();
    post.insert("method", "POST");
    post.remove(DEPTH_KEY);
    match host.call_device(&process.scheduler, "schedule", &process.message, &post)? {
        Value::Message(m) => Ok(m),
        other => Err(DeviceError::failure(format!(
            "the scheduler answered with a {}, not an assignment",
            other.type_name()
        ))),
    }
}

fn assigned_slot(assignment: &Message) -> Result<u64, DeviceError> {
    assignment
        .get("slot")
        .and_then(Value::as_integer)
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| DeviceError::failure("the scheduler's assignment has no slot"))
}

/// Outbox entries in ascending order: `(key, message)`.
fn outbox_entries(outbox: Option<&Value>) -> Vec<(String, Message)> {
    match outbox {
        Some(Value::List(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_message().map(|m| ((i + 1).to_string(), m.clone())))
            .collect(),
        Some(Value::Message(m)) => {
            let mut entries: Vec<(String, Message)> = m
                .iter()
                .filter_map(|(k, v)| v.as_message().map(|m| (k.as_str().to_owned(), m.clone())))
                .collect();
            entries.sort_by_key(|(k, _)| (k.parse::<u64>().unwrap_or(u64::MAX), k.clone()));
            entries
        }
        _ => Vec::new(),
    }
}

/// Delivers one outbox message; failures become `{status, reason}` entries.
fn deliver(
    host: &Host,
    shared: &Shared,
    from: &ProcessDef,
    message: &Message,
    depth: u64,
) -> Message {
    match try_deliver(host, shared, from, message, depth) {
        Ok(m) => m,
        Err(e) => Message::new()
            .with("status", i64::from(e.kind().status()))
            .with("reason", e.reason()),
    }
}

fn try_deliver(
    host: &Host,
    shared: &Shared,
    from: &ProcessDef,
    message: &Message,
    depth: u64,
) -> Result<Message, DeviceError> {
    let target = ids::checked(message.get_str("target").unwrap_or_default(), "target")?;
    let unreachable = || DeviceError::not_found("Could not access target process!");
    if shared.sequencer.head(host, &target)?.is_none() {
        return Err(unreachable());
    }
    let target_def =
        ProcessDef::of(&record::load_message(host, &target)?.ok_or_else(unreachable)?)?;
    let mut outgoing = message.without_private();
    outgoing.remove("commitments");
    outgoing.insert("from-process", from.pid.as_str());
    for (k, v) in [
        ("data-protocol", "ao"),
        ("variant", "ao.N.1"),
        ("type", "Message"),
    ] {
        if !outgoing.contains_key(k) {
            outgoing.insert(k, v);
        }
    }
    let signed = ferrobeam_httpsig::commit_with_host(host, &outgoing).map_err(|e| match e {
        ferrobeam_httpsig::Error::Host(e) => DeviceError::new(
            e.kind(),
            format!(
                "the node could not sign the message for {target}: {}",
                e.reason()
            ),
        ),
        other => DeviceError::failure(format!(
            "the message for {target} could not be signed: {other}"
        )),
    })?;
    let id = ids::message_id(&signed)?;
    let post = Message::new().with("method", "POST").with("body", signed);
    let assignment = host.call_device(
        &target_def.scheduler,
        "schedule",
        &target_def.message,
        &post,
    )?;
    let slot = assignment
        .as_message()
        .and_then(|a| a.get("slot"))
        .cloned()
        .ok_or_else(|| DeviceError::failure("the target's scheduler answered without a slot"))?;
    let onward = Message::new()
        .with("slot", slot.clone())
        .with(DEPTH_KEY, slot_value(depth + 1));
    let resulted_in = match host.call_device("process@1.0", "push", &target_def.message, &onward) {
        Ok(Value::Message(m)) => m,
        Ok(other) => Message::new().with("body", other),
        Err(e) => e.to_message(),
    };
    Ok(Message::new()
        .with("id", id)
        .with("target", target.as_str())
        .with("slot", slot)
        .with("resulted-in", resulted_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_entries_come_in_numeric_order_from_maps_and_lists() {
        let map = Value::from(
            Message::new()
                .with("10", Message::new().with("n", 10))
                .with("2", Message::new().with("n", 2)),
        );
        let keys: Vec<String> = outbox_entries(Some(&map))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["2", "10"]);
        let list = Value::List(vec![Value::from(Message::new()), Value::from(1)]);
        assert_eq!(outbox_entries(Some(&list)).len(), 1);
    }
}

//! AO-Core resolution (`spec/codecs.md` §9.2–§9.3): run the steps of a path in order, the result
//! of each becoming the base of the next.
//!
//! Resolution is synchronous: it runs on a blocking thread and calls devices directly through
//! the ABI. A device that resolves another path through its `Host` re-enters here on the same
//! thread; the depth of such nesting is bounded.

pub mod gate;
pub mod hashpath;
mod request;

pub use request::{FirstStep, RequestKeys};

use crate::node::Node;
use crate::path::{Param, Step};
use crate::registry::CallOutcome;
use ferrobeam_device_api::{wire, DeviceError, ErrorKind, Message, Value};
use std::cell::Cell;

/// The device a message without a `device` key has.
pub const DEFAULT_DEVICE: &str = "message@1.0";

/// Deepest nesting of resolutions (sub-resolutions and device callbacks).
pub const MAX_DEPTH: usize = 32;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Bounds re-entrant resolution on this thread.
struct DepthGuard;

impl DepthGuard {
    fn enter() -> Result<DepthGuard, DeviceError> {
        DEPTH.with(|d| {
            if d.get() >= MAX_DEPTH {
                return Err(DeviceError::new(
                    ErrorKind::BadRequest,
                    format!(
                        "resolution nested deeper than {MAX_DEPTH} (a device resolving itself?)"
                    ),
                ));
            }
            d.set(d.get() + 1);
            Ok(DepthGuard)
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `steps` for a request whose other keys are `keys`.
pub fn resolve(node: &Node, steps: &[Step], keys: &RequestKeys) -> Result<Value, DeviceError> {
    let _depth = DepthGuard::enter()?;
    resolve_steps(node, steps, keys)
}

/// Runs a request's path: [`resolve`], with the first device call's messages and hashpath from
/// the request's memo when it has one ([`FirstStep`]). Only for the path the memo belongs to —
/// sub-paths (`( … )`) are resolved with [`resolve`].
pub fn resolve_request(
    node: &Node,
    steps: &[Step],
    keys: &RequestKeys,
) -> Result<Value, DeviceError> {
    let _depth = DepthGuard::enter()?;
    match remembered_first_call(node, steps, keys)? {
        Some((result, taken)) => resolve_rest(node, result, steps, taken, keys),
        None => resolve_steps(node, steps, keys),
    }
}

fn resolve_steps(node: &Node, steps: &[Step], keys: &RequestKeys) -> Result<Value, DeviceError> {
    match steps.first() {
        None => Ok(Value::from(keys.base_message(node, 0)?)),
        Some(first) => {
            let base = first_base(node, first, keys)?;
            resolve_rest(node, base, steps, 1, keys)
        }
    }
}

/// Runs `steps` from `from` on, the first with `base` (the result of the steps before it).
fn resolve_rest(
    node: &Node,
    mut base: Value,
    steps: &[Step],
    from: usize,
    keys: &RequestKeys,
) -> Result<Value, DeviceError> {
    for (index, step) in steps.iter().enumerate().skip(from) {
        let current = into_message(base, step)?;
        base = apply(node, current, step, index, keys)?;
    }
    Ok(base)
}

/// The base message of the first step (§9.2).
fn first_base(node: &Node, step: &Step, keys: &RequestKeys) -> Result<Value, DeviceError> {
    match step {
        Step::Id(id) => load(node, id),
        Step::As {
            device,
            key,
            params,
        } if key.is_empty() => {
            let mut base = keys.base_message(node, 0)?;
            merge_params(node, &mut base, params)?;
            base.insert("device", device.as_str());
            Ok(Value::from(base))
        }
        Step::As {
            device,
            key,
            params,
        } if crate::path::is_id(key) => {
            let Value::Message(mut base) = load(node, key)? else {
                return Err(DeviceError::bad_request(format!("{key} is not a message")));
            };
            merge_params(node, &mut base, params)?;
            base.insert("device", device.as_str());
            Ok(Value::from(base))
        }
        Step::Resolve(inner) => resolve(node, inner, keys),
        // A plain first step runs against a base holding the request's keys (§9.1 step 3).
        Step::As { .. } | Step::Key { .. } => {
            apply(node, keys.base_message(node, 0)?, step, 1, keys)
        }
    }
}

/// The first device call of a remembered request's path — `/key…`, `/key~device…`,
/// `/~device/key…`, or a stored message's `/<id>/key…` and `/<id>~device/key…` (a process's
/// `/<pid>~process@1.0/now/…`) — made with the base, the request and their hashpath from the
/// request's memo ([`FirstStep`]): what [`first_base`] and [`apply`] do for those steps, without
/// building, loading and identifying the same messages again (a stored message never changes
/// under its ID). `None` for other paths and for requests with no memo; else the result and
/// how many steps it took.
fn remembered_first_call(
    node: &Node,
    steps: &[Step],
    keys: &RequestKeys,
) -> Result<Option<(Value, usize)>, DeviceError> {
    let Some(memo) = keys.first_step_memo() else {
        return Ok(None);
    };
    // The first step, the called key and its inlined keys, and the steps taken.
    let (first, key, params, taken) = match steps {
        [first @ Step::As { key, params, .. }, ..]
            if !key.is_empty() && !crate::path::is_id(key) =>
        {
            (first, key, params, 1)
        }
        [first @ Step::Key { key, params }, ..] => (first, key, params, 1),
        // `/~device/key…`, or a stored message's `/<id>~device/key…`.
        [first @ Step::As { key: head, .. }, Step::Key { key, params }, ..]
            if head.is_empty() || crate::path::is_id(head) =>
        {
            (first, key, params, 2)
        }
        [first @ Step::Id(_), Step::Key { key, params }, ..] => (first, key, params, 2),
        _ => return Ok(None),
    };
    // The base the call gets, as `first_base` and `apply` make it.
    let base_of = || match first {
        Step::As { device, .. } if taken == 1 => {
            let mut base = keys.base_message(node, 0)?;
            base.insert("device", device.as_str());
            Ok(base)
        }
        Step::As { .. } | Step::Id(_) => match first_base(node, first, keys)? {
            Value::Message(base) => Ok(base),
            other => Err(DeviceError::failure(format!(
                "a device step gave a {}",
                other.type_name()
            ))),
        },
        _ => keys.base_message(node, 0),
    };
    let generation = node
        .registry()
        .get(hashpath::ID_DEVICE)
        .map(|d| d.generation);
    let prepared = memo.get_or_prepare(generation, || {
        let base = base_of()?;
        let req = keys.request_message(node, 1, key, params)?;
        let hashpath = hashpath::of_step(node, &base, &req);
        Ok((base, req, hashpath))
    })?;
    let mut result = call(node, &prepared.base, key, &prepared.req)?;
    if let (Value::Message(m), Some(h)) = (&mut result, &prepared.hashpath) {
        hashpath::record(m, h.clone());
    }
    Ok(Some((result, taken)))
}

/// Applies one step to `base`.
fn apply(
    node: &Node,
    mut base: Message,
    step: &Step,
    index: usize,
    keys: &RequestKeys,
) -> Result<Value, DeviceError> {
    match step {
        // An ID-shaped segment after the first is a key when the message has it (balances keyed
        // by wallet address: `/now/balances/<address>`), else the stored message it names.
        Step::Id(id) if base.contains_key(id) => {
            let req = keys.request_message(node, index, id, &[])?;
            step_call(node, &base, id, &req)
        }
        Step::Id(id) => load(node, id),
        Step::Resolve(inner) => {
            let Value::Message(req) = resolve(node, inner, keys)? else {
                return Err(DeviceError::bad_request(
                    "a ( … ) step must resolve to a message with a path",
                ));
            };
            let key = req.get_str("path").unwrap_or_default().to_owned();
            step_call(node, &base, &key, &req)
        }
        Step::Key { key, params } => {
            let req = keys.request_message(node, index, key, params)?;
            step_call(node, &base, key, &req)
        }
        Step::As {
            device,
            key,
            params,
        } => {
            base.insert("device", device.as_str());
            if key.is_empty() {
                merge_params(node, &mut base, params)?;
                return Ok(Value::from(base));
            }
            let req = keys.request_message(node, index, key, params)?;
            step_call(node, &base, key, &req)
        }
    }
}

/// Calls `key` on `base` as a step of a resolution: a message result records its hashpath in
/// `priv.hashpath` (`§9.2`, `§7.2`); literals and errors carry none.
fn step_call(node: &Node, base: &Message, key: &str, req: &Message) -> Result<Value, DeviceError> {
    let mut result = call(node, base, key, req)?;
    if let Value::Message(m) = &mut result {
        if let Some(h) = hashpath::of_step(node, base, req) {
            hashpath::record(m, h);
        }
    }
    Ok(result)
}

/// A step needs a message to work on; a literal result cannot be resolved further.
fn into_message(v: Value, next: &Step) -> Result<Message, DeviceError> {
    match v {
        Value::Message(m) => Ok(m),
        other => Err(DeviceError::not_found(format!(
            "cannot resolve {} on a {} result",
            describe(next),
            other.type_name()
        ))),
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Id(id) => format!("`{id}`"),
        Step::Key { key, .. } | Step::As { key, .. } => format!("`{key}`"),
        Step::Resolve(_) => "a ( … ) step".to_owned(),
    }
}

/// Calls `key` on `base`'s device, falling back to `message@1.0` (§9.3).
pub fn call(node: &Node, base: &Message, key: &str, req: &Message) -> Result<Value, DeviceError> {
    let device = match base.get("device") {
        None => DEFAULT_DEVICE,
        Some(v) => v
            .as_str()
            .ok_or_else(|| DeviceError::bad_request("the `device` key must be a name@version"))?,
    };
    call_with(node, device, key, base, req)
}

/// Calls `key` of `device` on `base`, whatever device `base` names; falls back to
/// `message@1.0` when `device` has no such key.
pub fn call_with(
    node: &Node,
    device: &str,
    key: &str,
    base: &Message,
    req: &Message,
) -> Result<Value, DeviceError> {
    let base_bytes = wire::encode_message(base);
    let req_bytes = wire::encode_message(req);
    let opts = node.opts_wire();
    let class = crate::metrics::calls::process_class(node, device, key, base);
    let args = Args {
        key,
        base: &base_bytes,
        req: &req_bytes,
        opts: &opts,
        class,
    };
    let outcome = call_device(node, device, &args)?;
    match outcome {
        CallOutcome::Value(v) => Ok(v),
        CallOutcome::Error(e) => Err(e),
        CallOutcome::Unhandled if device != DEFAULT_DEVICE => {
            match call_device(node, DEFAULT_DEVICE, &args)? {
                CallOutcome::Value(v) => Ok(v),
                CallOutcome::Error(e) => Err(e),
                CallOutcome::Unhandled => Err(not_found(device, key)),
            }
        }
        CallOutcome::Unhandled => Err(not_found(device, key)),
    }
}

fn not_found(device: &str, key: &str) -> DeviceError {
    DeviceError::not_found(format!("{device} has no key `{key}`"))
        .with_detail("device", device)
        .with_detail("key", key)
}

/// The wire-encoded arguments of one call, and the process class it is counted under.
struct Args<'a> {
    key: &'a str,
    base: &'a [u8],
    req: &'a [u8],
    opts: &'a [u8],
    class: Option<&'a str>,
}

fn call_device(node: &Node, device: &str, args: &Args<'_>) -> Result<CallOutcome, DeviceError> {
    let handle = node.registry().get(device).ok_or_else(|| {
        DeviceError::not_found(format!("device {device} is not loaded on this node"))
            .with_detail("device", device)
    })?;
    let _running = node.gate().enter(device)?;
    let started = std::time::Instant::now();
    let outcome = handle.call(args.key, args.base, args.req, args.opts);
    crate::metrics::calls::record(
        node.metrics(),
        &handle,
        args.key,
        args.class,
        &outcome,
        started.elapsed(),
    );
    Ok(outcome)
}

/// Loads a stored message (`/<ID>`).
fn load(node: &Node, id: &str) -> Result<Value, DeviceError> {
    node.store()
        .read_message(id)?
        .map(Value::from)
        .ok_or_else(|| {
            DeviceError::not_found(format!(
                "Message necessary to resolve request not found: {id}"
            ))
            .with_detail("unavailable", id)
        })
}

/// Adds inlined keys (`~dev&k=v`) to a base.
fn merge_params(
    node: &Node,
    base: &mut Message,
    params: &[(String, Param)],
) -> Result<(), DeviceError> {
    for (k, v) in params {
        base.insert(k.as_str(), request::param_value(node, k, v)?);
    }
    Ok(())
}

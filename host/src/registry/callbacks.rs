//! The node's side of [`HostCallbacks`]: what a plugin reaches when it calls its `Host`.

use crate::config::Capability;
use abi_stable::std_types::{RSlice, RStr, RVec};
use ferrobeam_device_api::abi::{CallResult, CallStatus, HostCallbacks};
use ferrobeam_device_api::{wire, DeviceError, LogLevel, Message, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, Weak};

/// The node operations plugins may call; implemented by the node.
pub trait HostOps: Send + Sync {
    /// Performs `operation` for `caller`.
    fn host_call(
        &self,
        caller: &Caller<'_>,
        operation: &str,
        payload: &Message,
    ) -> Result<Value, DeviceError>;
}

/// Who is calling the node: a device of one library generation, and what it may do.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The capabilities granted to the library.
    pub capabilities: &'a BTreeSet<Capability>,
    /// The device being called on this thread, when it belongs to the calling library; else
    /// the library's file stem (its `init`, or a thread of its own).
    pub device: &'a str,
    /// The library's load generation.
    pub generation: u64,
}

thread_local! {
    /// The devices being called on this thread, innermost last (devices call devices).
    static CURRENT: RefCell<Vec<(Arc<str>, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Marks `device` of `generation` as being called on this thread until dropped.
#[derive(Debug)]
pub struct CurrentDevice(());

impl CurrentDevice {
    /// Enters a call of `device` (a shared name: entering costs no allocation).
    pub fn enter(device: &Arc<str>, generation: u64) -> CurrentDevice {
        CURRENT.with(|c| c.borrow_mut().push((device.clone(), generation)));
        CurrentDevice(())
    }
}

impl Drop for CurrentDevice {
    fn drop(&mut self) {
        CURRENT.with(|c| {
            c.borrow_mut().pop();
        });
    }
}

/// The device of `generation` being called on this thread, if it is the innermost call.
fn current_device(generation: u64) -> Option<Arc<str>> {
    CURRENT.with(|c| {
        c.borrow()
            .last()
            .filter(|(_, g)| *g == generation)
            .map(|(d, _)| d.clone())
    })
}

/// What one library's `ctx` points at. Leaked: libraries are never unloaded, so neither is this.
pub struct CallbackContext {
    node: Weak<dyn HostOps>,
    library: String,
    /// The library's file stem: names the caller outside any device call.
    stem: String,
    generation: u64,
    /// Set once the library's devices (and so its grants) are known; none until then.
    capabilities: OnceLock<BTreeSet<Capability>>,
}

impl CallbackContext {
    /// Grants `capabilities` to the library (once).
    pub fn grant(&self, capabilities: BTreeSet<Capability>) {
        let _ = self.capabilities.set(capabilities);
    }
}

/// Callbacks for one library, and the context they carry.
pub fn callbacks_for(
    node: Weak<dyn HostOps>,
    library: &std::path::Path,
    generation: u64,
) -> (HostCallbacks, &'static CallbackContext) {
    let stem = library
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("device")
        .to_owned();
    let ctx: &'static CallbackContext = Box::leak(Box::new(CallbackContext {
        node,
        library: library.display().to_string(),
        stem,
        generation,
        capabilities: OnceLock::new(),
    }));
    let callbacks = HostCallbacks {
        ctx: (ctx as *const CallbackContext).cast(),
        call: host_call,
        log: host_log,
    };
    (callbacks, ctx)
}

fn context<'a>(ctx: *const ()) -> &'a CallbackContext {
    // SAFETY: `ctx` is only ever the leaked `CallbackContext` made by `callbacks_for`, which
    // lives for the rest of the process.
    unsafe { &*ctx.cast::<CallbackContext>() }
}

extern "C" fn host_call(
    ctx: *const (),
    operation: RStr<'_>,
    payload: RSlice<'_, u8>,
) -> CallResult {
    let ctx = context(ctx);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let payload = wire::decode_message(payload.as_slice())
            .map_err(|e| DeviceError::bad_request(format!("malformed host call payload: {e}")))?;
        let node = ctx.node.upgrade().ok_or_else(|| {
            DeviceError::new(
                ferrobeam_device_api::ErrorKind::Unavailable,
                "the node is shutting down",
            )
        })?;
        let none = BTreeSet::new();
        let device = current_device(ctx.generation);
        let caller = Caller {
            capabilities: ctx.capabilities.get().unwrap_or(&none),
            device: device.as_deref().unwrap_or(&ctx.stem),
            generation: ctx.generation,
        };
        node.host_call(&caller, operation.as_str(), &payload)
    }))
    .unwrap_or_else(|_| {
        Err(DeviceError::failure(
            "the node failed while serving a host call",
        ))
    });
    match outcome {
        Ok(v) => CallResult {
            status: CallStatus::Ok,
            payload: RVec::from(wire::encode_value(&v)),
        },
        Err(e) => CallResult {
            status: CallStatus::Error,
            payload: RVec::from(wire::encode_message(&e.to_message())),
        },
    }
}

/// A device's log line, under target `device`, with the device's name and generation (and its
/// library).
extern "C" fn host_log(ctx: *const (), level: u8, text: RStr<'_>) {
    let ctx = context(ctx);
    let text = text.as_str();
    let library = ctx.library.as_str();
    let current = current_device(ctx.generation);
    let device = current.as_deref().unwrap_or(&ctx.stem);
    let generation = ctx.generation;
    match LogLevel::from_u8(level) {
        LogLevel::Error => {
            tracing::error!(target: "device", device, generation, library, "{text}")
        }
        LogLevel::Warn => tracing::warn!(target: "device", device, generation, library, "{text}"),
        LogLevel::Info => tracing::info!(target: "device", device, generation, library, "{text}"),
        LogLevel::Debug => {
            tracing::debug!(target: "device", device, generation, library, "{text}")
        }
        LogLevel::Trace => {
            tracing::trace!(target: "device", device, generation, library, "{text}")
        }
    }
}

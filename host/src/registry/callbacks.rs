//! The node's side of [`HostCallbacks`]: what a plugin reaches when it calls its `Host`.

use crate::config::Capability;
use abi_stable::std_types::{RSlice, RStr, RVec};
use ferrobeam_device_api::abi::{CallResult, CallStatus, HostCallbacks};
use ferrobeam_device_api::{wire, DeviceError, LogLevel, Message, Value};
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{OnceLock, Weak};

/// The node operations plugins may call; implemented by the node.
pub trait HostOps: Send + Sync {
    /// Performs `operation` for a library holding `capabilities`.
    fn host_call(
        &self,
        capabilities: &BTreeSet<Capability>,
        operation: &str,
        payload: &Message,
    ) -> Result<Value, DeviceError>;
}

/// What one library's `ctx` points at. Leaked: libraries are never unloaded, so neither is this.
pub struct CallbackContext {
    node: Weak<dyn HostOps>,
    library: String,
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
    library: String,
) -> (HostCallbacks, &'static CallbackContext) {
    let ctx: &'static CallbackContext = Box::leak(Box::new(CallbackContext {
        node,
        library,
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
        let granted = ctx.capabilities.get().unwrap_or(&none);
        node.host_call(granted, operation.as_str(), &payload)
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

extern "C" fn host_log(ctx: *const (), level: u8, text: RStr<'_>) {
    let ctx = context(ctx);
    let text = text.as_str();
    let library = ctx.library.as_str();
    match LogLevel::from_u8(level) {
        LogLevel::Error => tracing::error!(target: "device", library, "{text}"),
        LogLevel::Warn => tracing::warn!(target: "device", library, "{text}"),
        LogLevel::Info => tracing::info!(target: "device", library, "{text}"),
        LogLevel::Debug => tracing::debug!(target: "device", library, "{text}"),
        LogLevel::Trace => tracing::trace!(target: "device", library, "{text}"),
    }
}

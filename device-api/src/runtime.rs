//! The plugin side of the entry points, written once here and instantiated by
//! [`export_devices!`](crate::export_devices) for each library.
//!
//! Every entry point runs its body under `catch_unwind`: a panicking device becomes an error
//! result (HTTP 500), never an abort of the node.
//!
//! A library holds one [`LibraryState`] per *instance* the node started ([`Instances`]): a hot
//! reload that only changes options starts a new instance in the library already mapped, calls
//! in flight finish on the old one, and `shutdown` drops the old devices once those calls return.

use crate::abi::{CallResult, CallStatus, DeviceModule, DeviceModuleRef, HostCallbacks};
use crate::device::{Device, InitContext, Outcome};
use crate::error::DeviceError;
use crate::host::{Host, Opts};
use crate::message::{Message, Value};
use crate::wire;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RSlice, RStr, RVec};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, PoisonError, RwLock};

/// A device once the library is initialised, with its type erased.
pub trait ErasedDevice: Send + Sync {
    /// Runs `key` (see [`Methods::dispatch`](crate::device::Methods::dispatch)), which may take
    /// `base`.
    fn call(&self, key: &str, base: &mut Message, req: &Message, opts: &Opts) -> Option<Outcome>;

    /// Whether `key`, as [`dispatch`] passes it on (as given, or with `-` as `_`), may be
    /// answered here: a listed method, or a key [`Device::HANDLES`] names (any key when it
    /// names none).
    fn takes(&self, key: &str) -> bool;
}

impl<D: Device> ErasedDevice for D {
    fn call(&self, key: &str, base: &mut Message, req: &Message, opts: &Opts) -> Option<Outcome> {
        self.dispatch(key, base, req, opts)
    }

    fn takes(&self, key: &str) -> bool {
        let Some(handles) = D::HANDLES else {
            return true;
        };
        let named = |k: &str| D::METHODS.contains(&k) || handles.contains(&k);
        named(key) || (key.contains('-') && named(&key.replace('-', "_")))
    }
}

/// How to build one device of a library.
#[derive(Debug, Clone, Copy)]
pub struct DeviceEntry {
    /// `name@version`.
    pub name: &'static str,
    /// The listed methods.
    pub methods: &'static [&'static str],
    /// Creates the device.
    pub construct: fn(InitContext) -> Result<Box<dyn ErasedDevice>, DeviceError>,
}

impl DeviceEntry {
    /// The entry for device type `D`.
    pub fn of<D: Device>() -> Self {
        DeviceEntry {
            name: D::NAME,
            methods: D::METHODS,
            construct: |ctx| D::init(ctx).map(|d| Box::new(d) as Box<dyn ErasedDevice>),
        }
    }
}

/// A library's devices after `init`.
pub struct LibraryState {
    host: Host,
    devices: Vec<(&'static str, Box<dyn ErasedDevice>)>,
}

impl std::fmt::Debug for LibraryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.devices.iter().map(|(n, _)| *n).collect();
        f.debug_struct("LibraryState")
            .field("devices", &names)
            .finish()
    }
}

/// The running instances of a library's devices, by instance number: what `init` adds and
/// `shutdown` removes. [`export_devices!`](crate::export_devices) declares one per library.
///
/// ```
/// use ferrobeam_device_api::runtime::Instances;
/// static INSTANCES: Instances = Instances::new();
/// assert_eq!(INSTANCES.len(), 0);
/// ```
#[derive(Debug, Default)]
pub struct Instances {
    running: RwLock<Vec<(u64, Arc<LibraryState>)>>,
}

impl Instances {
    /// No instance yet.
    pub const fn new() -> Self {
        Instances {
            running: RwLock::new(Vec::new()),
        }
    }

    /// How many instances are running.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no instance is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of `instance`, shared with the call that asks (a `shutdown` meanwhile drops
    /// it only when that call is done).
    fn get(&self, instance: u64) -> Option<Arc<LibraryState>> {
        self.read()
            .iter()
            .find(|(n, _)| *n == instance)
            .map(|(_, s)| s.clone())
    }

    /// Adds `instance`; false if it is already running.
    fn start(&self, instance: u64, state: LibraryState) -> bool {
        let mut running = self.running.write().unwrap_or_else(PoisonError::into_inner);
        if running.iter().any(|(n, _)| *n == instance) {
            return false;
        }
        running.push((instance, Arc::new(state)));
        true
    }

    /// Removes `instance`, returning its state (dropped by the caller, outside the lock).
    fn stop(&self, instance: u64) -> Option<Arc<LibraryState>> {
        let mut running = self.running.write().unwrap_or_else(PoisonError::into_inner);
        let at = running.iter().position(|(n, _)| *n == instance)?;
        Some(running.swap_remove(at).1)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(u64, Arc<LibraryState>)>> {
        self.running.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One plugin library, as [`export_devices!`](crate::export_devices) describes it.
pub trait Library: 'static {
    /// The library's running instances.
    fn instances() -> &'static Instances;
    /// The library's devices.
    fn devices() -> Vec<DeviceEntry>;
}

/// The root module of library `L`.
pub fn module<L: Library>() -> DeviceModuleRef {
    DeviceModule {
        info: info::<L>,
        init: init::<L>,
        call: call::<L>,
        shutdown: shutdown::<L>,
    }
    .leak_into_prefix()
}

/// The library description: `{ "<device>": { methods: [..] } }`.
pub fn describe(entries: &[DeviceEntry]) -> Message {
    entries
        .iter()
        .map(|e| {
            let methods: Vec<Value> = e.methods.iter().map(|m| Value::from(*m)).collect();
            (e.name, Value::from(Message::new().with("methods", methods)))
        })
        .collect()
}

extern "C" fn info<L: Library>() -> RVec<u8> {
    catch_unwind(|| wire::encode_message(&describe(&L::devices())))
        .unwrap_or_default()
        .into()
}

extern "C" fn init<L: Library>(
    instance: u64,
    host: HostCallbacks,
    config: RSlice<'_, u8>,
) -> CallResult {
    guarded("init", || {
        let config = wire::decode_message(config.as_slice())
            .map_err(|e| DeviceError::bad_request(format!("device configuration: {e}")))?;
        let host = Host::from_callbacks(host);
        let _current = host.enter();
        let mut devices = Vec::new();
        for entry in L::devices() {
            let ctx = InitContext {
                host: host.clone(),
                config: config.get_message(entry.name).cloned().unwrap_or_default(),
            };
            let device = (entry.construct)(ctx).map_err(|e| {
                DeviceError::new(
                    e.kind(),
                    format!("{} failed to start: {}", entry.name, e.reason()),
                )
            })?;
            devices.push((entry.name, device));
        }
        if !L::instances().start(instance, LibraryState { host, devices }) {
            return Err(DeviceError::failure(format!(
                "instance {instance} of this library is already running"
            )));
        }
        Ok(Some(Value::atom("ok")))
    })
}

extern "C" fn call<L: Library>(
    instance: u64,
    device: RStr<'_>,
    key: RStr<'_>,
    base: RSlice<'_, u8>,
    req: RSlice<'_, u8>,
    opts: RSlice<'_, u8>,
) -> CallResult {
    let (device, key) = (device.as_str(), key.as_str());
    guarded(key, || {
        let state = L::instances().get(instance).ok_or_else(|| {
            DeviceError::failure(format!(
                "instance {instance} of this library is not running"
            ))
        })?;
        let dev = state
            .devices
            .iter()
            .find(|(name, _)| *name == device)
            .map(|(_, d)| d)
            .ok_or_else(|| {
                DeviceError::not_found(format!("this library has no device {device}"))
            })?;
        if !dev.takes(key) {
            // No such key here: the node asks `message@1.0`, with no decoding spent on it.
            return Ok(None);
        }
        // The call's own base, which a method may take (`FromBase`).
        let mut base = decode_arg("base", base.as_slice())?;
        let req = decode_arg("request", req.as_slice())?;
        let opts = Opts::from_wire(opts.as_slice(), state.host.clone());
        let _current = state.host.enter();
        dispatch(dev.as_ref(), key, &mut base, &req, &opts).transpose()
    })
}

extern "C" fn shutdown<L: Library>(instance: u64) {
    // The library stays mapped (never unloaded, PLUGIN-PITFALLS.md); the instance's devices are
    // dropped here, or by the last call still holding them. A panicking `Drop` stays inside.
    let _ = catch_unwind(|| drop(L::instances().stop(instance)));
}

/// Runs `key` on `device`, mapping a path key's `-` to the `_` of a Rust method name. A method
/// that runs may take `base`; when the first name runs none, `base` is as it was for the second.
pub fn dispatch(
    device: &dyn ErasedDevice,
    key: &str,
    base: &mut Message,
    req: &Message,
    opts: &Opts,
) -> Option<Outcome> {
    if key.contains('-') {
        if let Some(out) = device.call(&key.replace('-', "_"), base, req, opts) {
            return Some(out);
        }
    }
    device.call(key, base, req, opts)
}

fn decode_arg(what: &str, bytes: &[u8]) -> Result<Message, DeviceError> {
    wire::decode_message(bytes)
        .map_err(|e| DeviceError::bad_request(format!("malformed {what} message: {e}")))
}

/// Runs `body`, turning a panic into a 500 error and the outcome into a [`CallResult`].
/// `Ok(None)` means "no such key".
fn guarded(what: &str, body: impl FnOnce() -> Result<Option<Value>, DeviceError>) -> CallResult {
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|panic| Err(panic_error(what, panic.as_ref())));
    match outcome {
        Ok(Some(v)) => CallResult {
            status: CallStatus::Ok,
            payload: wire::encode_value(&v).into(),
        },
        Ok(None) => CallResult {
            status: CallStatus::Unhandled,
            payload: RVec::new(),
        },
        Err(e) => CallResult {
            status: CallStatus::Error,
            payload: wire::encode_message(&e.to_message()).into(),
        },
    }
}

/// How the reason of every error made from a panic starts: the node counts panics by it
/// (`ferrobeam_device_panics_total`).
///
/// ```
/// use ferrobeam_device_api::runtime::{is_panic, panic_error};
/// let e = panic_error("boom", &"oops");
/// assert!(is_panic(&e));
/// assert_eq!(e.kind().status(), 500);
/// ```
pub const PANIC_PREFIX: &str = "device panicked in ";

/// Whether `e` is a caught panic.
pub fn is_panic(e: &DeviceError) -> bool {
    e.reason().starts_with(PANIC_PREFIX)
}

/// The error for a panic in `what`.
pub fn panic_error(what: &str, panic: &(dyn Any + Send)) -> DeviceError {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".to_owned());
    DeviceError::failure(format!("{PANIC_PREFIX}`{what}`: {text}"))
}

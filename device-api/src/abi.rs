//! The plugin boundary itself: the header a library exports, its four entry points, and the
//! callbacks the node hands it.
//!
//! Device authors never touch this module directly: [`export_devices!`](crate::export_devices)
//! writes all of it. It is public so the node (and anyone writing another host) uses exactly the
//! same definitions.
//!
//! The surface is deliberately tiny: the library exports
//!
//! * a plain C symbol [`HEADER_SYMBOL`] returning a [`DeviceHeader`], read *before* anything else
//!   so a mismatched library is refused with one clear line, and
//! * an `abi_stable` root module [`DeviceModuleRef`] with `info`, `init`, `call` and `shutdown`,
//!   whose layout `abi_stable` checks when it is loaded.
//!
//! Everything that crosses is `#[repr(C)]`: byte slices and vectors of messages in the
//! [`wire`](crate::wire) encoding, string slices and function pointers. Memory is freed by the
//! side that allocated it (`RVec` carries its own deallocator).

use abi_stable::library::RootModule;
use abi_stable::package_version_strings;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RSlice, RStr, RVec};
use abi_stable::StableAbi;

/// The version of this boundary. A library whose header carries another ABI version is refused.
///
/// It changes whenever the header, the entry points, the host callbacks or the
/// [`wire`](crate::wire) encoding change incompatibly.
///
/// ```
/// assert!(ferrobeam_device_api::abi::ABI_VERSION >= 1);
/// ```
pub const ABI_VERSION: u32 = 2;

/// The first eight bytes of every [`DeviceHeader`].
///
/// ```
/// assert_eq!(&ferrobeam_device_api::abi::HEADER_MAGIC[..5], b"FERRO");
/// ```
pub const HEADER_MAGIC: [u8; 8] = *b"FERROBM\0";

/// Name of the C symbol a plugin exports: `extern "C" fn() -> *const DeviceHeader`.
///
/// ```
/// assert_eq!(ferrobeam_device_api::abi::HEADER_SYMBOL, b"ferrobeam_device_header\0");
/// ```
pub const HEADER_SYMBOL: &[u8] = b"ferrobeam_device_header\0";

/// The rustc that compiled this copy of `device-api` (and so the plugin linking it), as
/// `rustc --version` prints it.
///
/// ```
/// assert!(ferrobeam_device_api::abi::RUSTC_VERSION.starts_with("rustc "));
/// ```
pub const RUSTC_VERSION: &str = env!("FERROBEAM_RUSTC_VERSION");

/// The version of the `ferrobeam-device-api` crate this copy is.
///
/// ```
/// assert!(!ferrobeam_device_api::abi::CRATE_VERSION.is_empty());
/// ```
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A borrowed string in a C layout (pointer and length), used in the header.
///
/// ```
/// use ferrobeam_device_api::abi::RawStr;
/// let raw = RawStr::from_static("mydev@1.0");
/// assert_eq!(unsafe { raw.as_str() }, Some("mydev@1.0"));
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RawStr {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

// SAFETY: a `RawStr` only ever points at immutable static data (`from_static`).
unsafe impl Sync for RawStr {}
// SAFETY: as above.
unsafe impl Send for RawStr {}

impl RawStr {
    /// Points at a static string.
    pub const fn from_static(s: &'static str) -> Self {
        RawStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Reads the string back.
    ///
    /// # Safety
    /// `ptr` must point at `len` readable bytes that live as long as the returned borrow.
    pub unsafe fn as_str<'a>(&self) -> Option<&'a str> {
        if self.ptr.is_null() {
            return None;
        }
        // SAFETY: guaranteed by the caller.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
        std::str::from_utf8(bytes).ok()
    }
}

/// The header every device library exports under [`HEADER_SYMBOL`].
///
/// Its first two fields, `magic` and `abi_version`, are frozen forever: any host can read them
/// from any library, of any version, and refuse it before reading further.
///
/// ```
/// use ferrobeam_device_api::abi::{DeviceHeader, RawStr, ABI_VERSION};
/// static NAMES: [RawStr; 1] = [RawStr::from_static("mydev@1.0")];
/// let header = DeviceHeader::new(&NAMES);
/// assert_eq!(header.abi_version, ABI_VERSION);
/// assert_eq!(unsafe { header.device_names() }, vec!["mydev@1.0"]);
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct DeviceHeader {
    /// Always [`HEADER_MAGIC`].
    pub magic: [u8; 8],
    /// The [`ABI_VERSION`] the library was built against.
    pub abi_version: u32,
    /// [`RUSTC_VERSION`] of the library.
    pub rustc: RawStr,
    /// [`CRATE_VERSION`] of the `device-api` the library was built against.
    pub device_api: RawStr,
    /// The devices (`name@version`) the library provides.
    pub devices: *const RawStr,
    /// How many entries `devices` has.
    pub device_count: usize,
}

// SAFETY: the header only points at static, immutable data.
unsafe impl Sync for DeviceHeader {}

impl DeviceHeader {
    /// A header for this build of `device-api` naming `devices`.
    pub const fn new(devices: &'static [RawStr]) -> Self {
        DeviceHeader {
            magic: HEADER_MAGIC,
            abi_version: ABI_VERSION,
            rustc: RawStr::from_static(RUSTC_VERSION),
            device_api: RawStr::from_static(CRATE_VERSION),
            devices: devices.as_ptr(),
            device_count: devices.len(),
        }
    }

    /// The device names. Unreadable entries are skipped.
    ///
    /// # Safety
    /// The header must come from a library whose `abi_version` equals [`ABI_VERSION`] and which
    /// is still loaded.
    pub unsafe fn device_names<'a>(&self) -> Vec<&'a str> {
        if self.devices.is_null() {
            return Vec::new();
        }
        // SAFETY: guaranteed by the caller; the library built this slice from a static.
        let raw = unsafe { std::slice::from_raw_parts(self.devices, self.device_count) };
        // SAFETY: as above, each entry points at static data of the library.
        raw.iter().filter_map(|r| unsafe { r.as_str() }).collect()
    }
}

/// The outcome of a device call as it crosses the boundary.
///
/// ```
/// use ferrobeam_device_api::abi::CallStatus;
/// assert_ne!(CallStatus::Ok, CallStatus::Unhandled);
/// ```
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// `payload` is the result value.
    Ok = 0,
    /// `payload` is an error message (see [`DeviceError`](crate::DeviceError)).
    Error = 1,
    /// The device has no such key; the node falls back to `message@1.0`.
    Unhandled = 2,
}

/// What `call` and the host's `call` callback return: a status and a [`wire`](crate::wire)
/// frame.
///
/// ```
/// use abi_stable::std_types::RVec;
/// use ferrobeam_device_api::abi::{CallResult, CallStatus};
/// let r = CallResult { status: CallStatus::Unhandled, payload: RVec::new() };
/// assert!(r.payload.is_empty());
/// ```
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct CallResult {
    /// What `payload` holds.
    pub status: CallStatus,
    /// A wire frame: a value for `Ok`, an error message for `Error`, empty for `Unhandled`.
    pub payload: RVec<u8>,
}

/// The services a node offers a plugin, handed to it at `init`.
///
/// * `call(ctx, operation, payload)` performs a host operation (`resolve`, `store/read`,
///   `store/write`, `sign`, …) with a wire-encoded message as its argument; operations are
///   named, so new ones need no ABI change. The node checks the device's capabilities.
/// * `log(ctx, level, text)` writes to the node's log (levels: 1 error … 5 trace).
///
/// `ctx` is opaque to the plugin and valid for as long as the library is loaded.
/// The plugin-side wrapper is [`Host`](crate::Host).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct HostCallbacks {
    /// Opaque node state for this library.
    pub ctx: *const (),
    /// Performs a named host operation.
    pub call:
        extern "C" fn(ctx: *const (), operation: RStr<'_>, payload: RSlice<'_, u8>) -> CallResult,
    /// Writes a log line.
    pub log: extern "C" fn(ctx: *const (), level: u8, text: RStr<'_>),
}

// SAFETY: the node promises `ctx` is usable from any thread (it points at `Send + Sync` state)
// for the library's whole life.
unsafe impl Send for HostCallbacks {}
// SAFETY: as above.
unsafe impl Sync for HostCallbacks {}

/// The entry points of a device library, checked by `abi_stable` when loaded.
///
/// * `info()` — a wire message describing the library's devices and their methods;
/// * `init(instance, host, config)` — starts the devices as *instance* `instance` (a number the
///   node chooses, unique for the node's life), before any call to it; `config` is a wire message
///   `{ "<device name>": { options… } }`; returns an error text to refuse loading. One mapped
///   library can run several instances at once: a hot reload that only changes the options
///   initialises a new instance of the library already mapped, and requests in flight finish on
///   the old one;
/// * `call(instance, device, key, base, req, opts)` — runs one method of the devices of
///   `instance`; all three messages are wire frames;
/// * `shutdown(instance)` — the instance is retired: no call to it follows, and the library drops
///   its devices (and so frees their memory) once the calls it is still running return.
///
/// Every entry point catches panics and returns them as errors.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = DeviceModuleRef)))]
#[sabi(missing_field(panic))]
pub struct DeviceModule {
    /// Describes the library's devices.
    pub info: extern "C" fn() -> RVec<u8>,
    /// Starts the library's devices as one instance.
    pub init:
        extern "C" fn(instance: u64, host: HostCallbacks, config: RSlice<'_, u8>) -> CallResult,
    /// Calls one method of one device of one instance.
    pub call: extern "C" fn(
        instance: u64,
        device: RStr<'_>,
        key: RStr<'_>,
        base: RSlice<'_, u8>,
        req: RSlice<'_, u8>,
        opts: RSlice<'_, u8>,
    ) -> CallResult,
    /// Retires one instance.
    #[sabi(last_prefix_field)]
    pub shutdown: extern "C" fn(instance: u64),
}

impl RootModule for DeviceModuleRef {
    abi_stable::declare_root_module_statics! {DeviceModuleRef}
    const BASE_NAME: &'static str = "ferrobeam_device";
    const NAME: &'static str = "ferrobeam_device";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

impl std::fmt::Debug for DeviceModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceModule")
    }
}

impl std::fmt::Debug for DeviceModuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceModuleRef")
    }
}

/// The exported name of the `abi_stable` root module static
/// (`abi_stable::library::ROOT_MODULE_LOADER_NAME`). [`export_devices!`](crate::export_devices)
/// spells it out so plugins need not depend on `abi_stable` themselves; a test keeps the two in
/// step.
///
/// ```
/// assert!(ferrobeam_device_api::abi::ROOT_MODULE_SYMBOL.ends_with("root_bmodule_bloader"));
/// ```
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            super::ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}

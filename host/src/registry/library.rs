//! Loading one device library: copy, check the header, load, check the layout, `init`.
//!
//! The order matters (`PLUGIN-PITFALLS.md`): the library is copied to a private, unique path first
//! (dlopen caches by path and inode, and the original may be replaced while we run), our own
//! small header is read before `abi_stable` looks at anything (so a mismatch is one clear line,
//! not a 190-line layout report), and libraries are never unloaded.
//!
//! A [`Library`] is one *instance* of a mapped library: its devices as one `init` started them.
//! A reload that changes only options starts another instance of the same mapping
//! ([`Library::restart`]) instead of mapping a new copy, and dropping a `Library` (when the last
//! request using it is done) shuts its instance down, so the library frees its devices: retired
//! generations cost no memory beyond the code of a mapping that was replaced.
//!
//! The private copy stays on disk while an instance of it runs ([`MappedCopy`]), so that
//! profilers and debuggers (`perf`, `gdb`) attached to the node read a device's symbols from it;
//! the last instance removes it when it is retired.

use super::elf;
use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::{RSlice, RStr};
use ferrobeam_device_api::abi::{
    self, CallStatus, DeviceHeader, DeviceModuleRef, HostCallbacks, ABI_VERSION, HEADER_MAGIC,
};
use ferrobeam_device_api::{wire, DeviceError, Message, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a library was refused. Its `Display` is the one line operators see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The library as given (not the private copy).
    pub path: PathBuf,
    /// Devices concerned, when known.
    pub devices: Vec<String>,
    /// What is wrong, and how to fix it.
    pub reason: String,
}

impl LoadError {
    /// The refusal of `path` (concerning `devices`, when known) for `reason`.
    pub fn new(path: &Path, devices: &[String], reason: String) -> Self {
        LoadError {
            path: path.to_owned(),
            devices: devices.to_vec(),
            reason,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing {} from {}: {}",
            if self.devices.is_empty() {
                "device library".to_owned()
            } else {
                self.devices.join(", ")
            },
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for LoadError {}

/// One running instance of a loaded library (never unloaded); dropping it shuts the instance
/// down.
pub struct Library {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The private copy that was mapped, shared by the instances of this mapping.
    copy: Arc<MappedCopy>,
    /// sha256 of the file, hex.
    pub sha256: String,
    /// The devices its header names.
    pub devices: Vec<String>,
    /// `{device: {methods: [...]}}` from its `info` entry point.
    pub description: Message,
    module: DeviceModuleRef,
    /// The instance number (the load generation that started it).
    instance: u64,
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("devices", &self.devices)
            .finish()
    }
}

/// A private copy of a library, removed from disk when dropped (the mapping outlives the file).
///
/// Kept while the library's instances run, rather than removed as soon as it is mapped: a
/// mapping whose file is gone shows in `/proc/<pid>/maps` as `(deleted)`, and `perf report`
/// then cannot name a single function of the device. A node killed with SIGKILL leaves its
/// copies behind; the next node to start removes them (`node.rs`, `sweep_private_dirs`).
#[derive(Debug)]
struct MappedCopy(PathBuf);

impl Drop for MappedCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What a device call returned.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// The result value.
    Value(Value),
    /// The device's error.
    Error(DeviceError),
    /// The device has no such key.
    Unhandled,
}

impl Library {
    /// Reads the bytes of `path` and its sha256.
    pub fn read(path: &Path) -> Result<(Vec<u8>, String), LoadError> {
        let bytes = std::fs::read(path).map_err(|e| LoadError {
            path: path.to_owned(),
            devices: Vec::new(),
            reason: format!("cannot read it: {e}"),
        })?;
        let sha = hex(&Sha256::digest(&bytes));
        Ok((bytes, sha))
    }

    /// Loads the library whose content is `bytes` (read from `path`), using a private copy in
    /// `private_dir` (which the node made, [`super::Registry::new`]) named after `generation`,
    /// then initialises it.
    pub fn load(
        path: &Path,
        bytes: &[u8],
        sha256: String,
        private_dir: &Path,
        generation: u64,
        callbacks: HostCallbacks,
        config: &Message,
    ) -> Result<Library, LoadError> {
        let refuse = |devices: &[String], reason: String| LoadError::new(path, devices, reason);
        elf::check_complete(bytes).map_err(|why| refuse(&[], why))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("device");
        let copy = private_dir.join(format!("{stem}-{generation}-{}.so", &sha256[..12]));
        let partial = private_dir.join(format!(".{stem}-{generation}.tmp"));
        std::fs::write(&partial, bytes)
            .and_then(|_| std::fs::rename(&partial, &copy))
            .map_err(|e| refuse(&[], format!("cannot copy it to {}: {e}", copy.display())))?;
        // A refused library drops its copy here; a loaded one keeps it until it is retired.
        Self::load_copy(
            path,
            Arc::new(MappedCopy(copy)),
            sha256,
            generation,
            callbacks,
            config,
        )
    }

    /// Loads the private copy `copy` of `path`.
    fn load_copy(
        path: &Path,
        copy: Arc<MappedCopy>,
        sha256: String,
        generation: u64,
        callbacks: HostCallbacks,
        config: &Message,
    ) -> Result<Library, LoadError> {
        let refuse = |devices: &[String], reason: String| LoadError::new(path, devices, reason);
        // Our header first: the two frozen fields, then the rest only if the ABI matches.
        // SAFETY: loading a library runs its initialisers; that is the point of a plugin host,
        // and only libraries the operator placed in the plugins folder or named are loaded.
        let lib = unsafe { libloading::Library::new(&copy.0) }
            .map_err(|e| refuse(&[], format!("not a loadable library ({e})")))?;
        // SAFETY: the symbol's type is fixed by the ABI (`abi::HEADER_SYMBOL`).
        let header_fn =
            unsafe { lib.get::<extern "C" fn() -> *const DeviceHeader>(abi::HEADER_SYMBOL) }
                .map_err(|_| {
                    refuse(
                        &[],
                        "it exports no ferrobeam device header; build it with \
                 ferrobeam_device_api::export_devices!"
                            .to_owned(),
                    )
                })?;
        let header_ptr = header_fn();
        // SAFETY: the symbol returns a pointer to a static of the library, which stays mapped.
        let header = unsafe { header_ptr.as_ref() }
            .ok_or_else(|| refuse(&[], "its device header is null".to_owned()))?;
        if header.magic != HEADER_MAGIC {
            return Err(refuse(
                &[],
                "its device header has the wrong magic".to_owned(),
            ));
        }
        if header.abi_version != ABI_VERSION {
            return Err(refuse(
                &[],
                format!(
                    "built against device ABI {}, this node speaks ABI {ABI_VERSION}; rebuild it \
                     against ferrobeam-device-api {} (cargo build --release)",
                    header.abi_version,
                    abi::CRATE_VERSION
                ),
            ));
        }
        // SAFETY: the ABI version matches, so the rest of the header has our layout.
        let devices: Vec<String> = unsafe { header.device_names() }
            .into_iter()
            .map(str::to_owned)
            .collect();
        let names = devices.as_slice();
        // SAFETY: as above.
        let rustc = unsafe { header.rustc.as_str() }.unwrap_or("an unknown rustc");
        if rustc != abi::RUSTC_VERSION {
            return Err(refuse(
                names,
                format!(
                    "built with {rustc}, this node was built with {}; rebuild it with the \
                     toolchain of rust-toolchain.toml (cargo build --release)",
                    abi::RUSTC_VERSION
                ),
            ));
        }
        if devices.is_empty() {
            return Err(refuse(&[], "its header names no devices".to_owned()));
        }
        // The library stays mapped for the life of the process (never unloaded).
        std::mem::forget(lib);

        let module = lib_header_from_path(&copy.0)
            .and_then(|h| h.init_root_module::<DeviceModuleRef>())
            .map_err(|e| refuse(names, first_line(&e)))?;

        let description = wire::decode_message(&(module.info())())
            .map_err(|e| refuse(names, format!("its info entry point is malformed: {e}")))?;
        let library = Library {
            path: path.to_owned(),
            copy,
            sha256,
            devices,
            description,
            module,
            instance: generation,
        };
        library.start(callbacks, config)?;
        Ok(library)
    }

    /// A new instance of this (already mapped) library, numbered `generation`, with its devices
    /// started on `config`: a reload that changes options and not the file.
    pub fn restart(
        &self,
        generation: u64,
        callbacks: HostCallbacks,
        config: &Message,
    ) -> Result<Library, LoadError> {
        let library = Library {
            path: self.path.clone(),
            copy: Arc::clone(&self.copy),
            sha256: self.sha256.clone(),
            devices: self.devices.clone(),
            description: self.description.clone(),
            module: self.module,
            instance: generation,
        };
        library.start(callbacks, config)?;
        Ok(library)
    }

    /// Runs the library's `init` for this instance.
    fn start(&self, callbacks: HostCallbacks, config: &Message) -> Result<(), LoadError> {
        let config_bytes = wire::encode_message(config);
        let init =
            (self.module.init())(self.instance, callbacks, RSlice::from_slice(&config_bytes));
        if init.status != CallStatus::Ok {
            let why = match wire::decode_message(&init.payload) {
                Ok(m) => DeviceError::from_message(&m).reason().to_owned(),
                Err(e) => format!("init failed with an undecodable error: {e}"),
            };
            return Err(LoadError::new(
                &self.path,
                &self.devices,
                format!("init failed: {why}"),
            ));
        }
        Ok(())
    }

    /// Calls `key` of `device` with wire-encoded arguments.
    pub fn call(
        &self,
        device: &str,
        key: &str,
        base: &[u8],
        req: &[u8],
        opts: &[u8],
    ) -> CallOutcome {
        let result = (self.module.call())(
            self.instance,
            RStr::from_str(device),
            RStr::from_str(key),
            RSlice::from_slice(base),
            RSlice::from_slice(req),
            RSlice::from_slice(opts),
        );
        match result.status {
            CallStatus::Unhandled => CallOutcome::Unhandled,
            CallStatus::Ok => match wire::decode_value(&result.payload) {
                Ok(v) => CallOutcome::Value(v),
                Err(e) => CallOutcome::Error(DeviceError::failure(format!(
                    "{device} returned a malformed result: {e}"
                ))),
            },
            CallStatus::Error => match wire::decode_message(&result.payload) {
                Ok(m) => CallOutcome::Error(DeviceError::from_message(&m)),
                Err(e) => CallOutcome::Error(DeviceError::failure(format!(
                    "{device} returned a malformed error: {e}"
                ))),
            },
        }
    }
}

impl Drop for Library {
    /// The instance is retired and no request uses it any more: the library drops its devices
    /// (and the last instance of a mapping removes its private copy). A failed `init` left
    /// nothing running, and stopping an instance that is not running is a no-op.
    fn drop(&mut self) {
        (self.module.shutdown())(self.instance);
    }
}

/// `abi_stable` layout reports run to hundreds of lines; operators get the first.
fn first_line(e: &LibraryError) -> String {
    let text = e.to_string();
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    format!(
        "its entry points do not match this node's ({}); rebuild it against ferrobeam-device-api {}",
        line.trim(),
        abi::CRATE_VERSION
    )
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

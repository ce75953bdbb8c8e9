//! The devices this node serves: loading libraries, checking them, and looking devices up.
//!
//! A lookup hands out an `Arc<DeviceHandle>`: a request keeps the generation it started with
//! to its end, whatever is loaded meanwhile. Libraries are never unloaded (glibc cannot unload
//! Rust libraries safely), but a retired generation's devices are dropped once its last request
//! is done (the library's `shutdown`), and a reload that changes only options starts a new
//! instance of the mapped library rather than mapping another copy. Retired generations are
//! counted.

mod callbacks;
mod elf;
mod library;
mod options;

pub use callbacks::{Caller, CurrentDevice, HostOps};
pub use library::{hex, CallOutcome, Library, LoadError};

use crate::config::{Capability, DevicesFile};
use ferrobeam_device_api::{abi::ABI_VERSION, Message, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

/// Load generations, process-wide: every load gets a fresh number, so private copies of
/// libraries never share a path, even between several nodes in one process (tests).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// One device of one loaded library generation.
#[derive(Debug)]
pub struct DeviceHandle {
    /// `name@version`.
    pub name: String,
    /// The library providing it.
    pub library: Arc<Library>,
    /// Load generation (increasing across the node's life).
    pub generation: u64,
    /// Unix seconds when loaded.
    pub loaded_at: u64,
    /// The methods it declares (`info`), as declared and as keys (`_` read as `-`).
    pub methods: BTreeSet<String>,
    /// `name`, shared with the log and metric callbacks while a call runs.
    shared_name: Arc<str>,
}

impl DeviceHandle {
    /// Calls `key` on this device; its log lines and counted events name it meanwhile.
    pub fn call(&self, key: &str, base: &[u8], req: &[u8], opts: &[u8]) -> CallOutcome {
        let _current = CurrentDevice::enter(&self.shared_name, self.generation);
        self.library.call(&self.name, key, base, req, opts)
    }

    /// `key` if the device declares it, else `None` (bounds metric labels).
    pub fn declared<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.methods.contains(key) {
            return Some(key);
        }
        let normal = key.to_ascii_lowercase().replace('_', "-");
        self.methods.contains(&normal).then_some(key)
    }
}

/// A device's entry in the status listing (`/~meta@1.0/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceStatus {
    /// `name@version`.
    pub name: String,
    /// Library file.
    pub library: String,
    /// sha256 of the library file, hex.
    pub sha256: String,
    /// Generation serving now (0: never loaded).
    pub generation: u64,
    /// Unix seconds of the load.
    pub loaded_at: u64,
    /// Whether the device is serving.
    pub loaded: bool,
    /// `false` when disabled in `devices.toml`.
    pub enabled: bool,
    /// The last load error, if the last attempt failed.
    pub last_error: Option<String>,
}

impl DeviceStatus {
    /// As a message.
    pub fn to_message(&self) -> Message {
        let mut m = Message::new()
            .with("name", self.name.as_str())
            .with("library", self.library.as_str())
            .with("sha256", self.sha256.as_str())
            .with("generation", self.generation as i64)
            .with("loaded-at", self.loaded_at as i64)
            .with("abi-version", i64::from(ABI_VERSION))
            .with("loaded", self.loaded)
            .with("enabled", self.enabled);
        if let Some(e) = &self.last_error {
            m.insert("last-error", e.as_str());
        }
        m
    }
}

#[derive(Default)]
struct State {
    devices: HashMap<String, Arc<DeviceHandle>, foldhash::fast::RandomState>,
    status: BTreeMap<String, DeviceStatus>,
    /// Errors of libraries whose devices are unknown (unreadable, wrong ABI…), by file.
    library_errors: BTreeMap<String, String>,
    /// What is loaded from each library file.
    libraries: HashMap<PathBuf, Loaded>,
}

impl State {
    /// The device serving `name`; device names are case-insensitive, as HyperBEAM's lookup
    /// is.
    fn find(&self, name: &str) -> Option<&Arc<DeviceHandle>> {
        self.devices.get(name).or_else(|| {
            self.devices
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }
}

/// A library file as last loaded.
struct Loaded {
    /// The current instance (the one new requests get).
    library: Arc<Library>,
    sha256: String,
    /// The options its devices were initialised with, and whether each was enabled.
    settings: Message,
    devices: Vec<String>,
}

/// The registry of loaded devices.
pub struct Registry {
    state: RwLock<State>,
    /// Serialises loads and reloads (requests never wait on it).
    syncing: Mutex<()>,
    retired: AtomicU64,
    failed_loads: AtomicU64,
    loads: AtomicU64,
    /// The folder the node made for library copies, or why it could not make one.
    private_dir: Result<PathBuf, String>,
    node: Weak<dyn HostOps>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("private_dir", &self.private_dir)
            .finish()
    }
}

impl Registry {
    /// An empty registry whose libraries call back into `node`. Private copies of libraries go
    /// to `private_dir`, a folder the node made for them; without one (`Err` saying why), every
    /// load is refused with that reason.
    pub fn new(node: Weak<dyn HostOps>, private_dir: Result<PathBuf, String>) -> Self {
        Registry {
            state: RwLock::default(),
            syncing: Mutex::new(()),
            retired: AtomicU64::new(0),
            failed_loads: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            private_dir,
            node,
        }
    }

    /// The device serving `name` now.
    pub fn get(&self, name: &str) -> Option<Arc<DeviceHandle>> {
        self.read().find(name).cloned()
    }

    /// Whether a device serves `name` now: [`Registry::get`] without taking a share of the
    /// handle (a count that every request thread would otherwise update in turn).
    pub fn contains(&self, name: &str) -> bool {
        self.read().find(name).is_some()
    }

    /// The load generation of the device serving each of `names` now, under one look at the
    /// registry: what a cache key needs of the devices that made its value.
    ///
    /// ```
    /// # use ferrobeam::config::DevicesFile;
    /// # let dir = std::env::temp_dir().join(format!("ferrobeam-doc-gen-{}", std::process::id()));
    /// # let mut config = DevicesFile::default_at(&dir.join("devices.toml"));
    /// # config.node.plugins_dir = dir.join("plugins");
    /// # config.node.data_dir = dir.join("data");
    /// # let (node, _) = ferrobeam::Node::start(config).unwrap();
    /// // A node without plugins serves neither codec.
    /// assert_eq!(node.registry().generations(["httpsig@1.0", "structured@1.0"]), [None, None]);
    /// ```
    pub fn generations<const N: usize>(&self, names: [&str; N]) -> [Option<u64>; N] {
        let state = self.read();
        names.map(|name| state.find(name).map(|d| d.generation))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Status of every known device, by name, and the errors of libraries that named none.
    pub fn status(&self) -> (Vec<DeviceStatus>, Vec<String>) {
        let state = self.read();
        (
            state.status.values().cloned().collect(),
            state.library_errors.values().cloned().collect(),
        )
    }

    /// Removes the private copies of this node's libraries, when the node stops: the libraries
    /// stay mapped, and a node killed without this leaves its copies to the next node's sweep.
    pub fn remove_private_copies(&self) {
        if let Ok(dir) = &self.private_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Generations replaced or removed so far (their libraries stay mapped: never unloaded).
    pub fn retired_generations(&self) -> u64 {
        self.retired.load(Ordering::Relaxed)
    }

    /// Loads that failed so far.
    pub fn failed_loads(&self) -> u64 {
        self.failed_loads.load(Ordering::Relaxed)
    }

    /// Library generations loaded so far (at start and by reloads).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// The status listing as a message (for `/~meta@1.0/devices`).
    pub fn status_message(&self) -> Message {
        let (devices, library_errors) = self.status();
        let mut list = Message::new();
        for d in &devices {
            list.insert(d.name.as_str(), d.to_message());
        }
        let errors: Vec<Value> = library_errors.iter().map(Value::from).collect();
        Message::new()
            .with("devices", list)
            .with("library-errors", errors)
            .with("retired-generations", self.retired_generations() as i64)
            .with("failed-loads", self.failed_loads() as i64)
    }

    /// Loads every library of `config` (the `.so` files of its plugins folder and the libraries
    /// it names) — the first time, or again: a library whose file and settings are unchanged is
    /// left alone, a changed one is loaded as a new generation and swapped in, one that is gone
    /// (or whose devices are disabled) is retired. A library that fails to load changes nothing:
    /// its previous generation keeps serving. Returns the load errors (already logged).
    pub fn sync(&self, config: &DevicesFile) -> Vec<LoadError> {
        let _one_at_a_time = self.syncing.lock().unwrap_or_else(PoisonError::into_inner);
        let candidates = candidate_libraries(config);
        let settings = options::init_config(config);
        let mut errors = Vec::new();
        for path in &candidates {
            match self.sync_library(path, config, &settings) {
                Ok(()) => {}
                Err(e) => {
                    tracing::error!("{e}");
                    errors.push(e);
                }
            }
        }
        self.retire_missing(&candidates, config);
        self.note_absent(config);
        // The libraries' bytes, read whole, are freed by now: give the memory back.
        crate::allocator::release_free_memory();
        errors
    }

    /// Loads one library if it is new or changed.
    fn sync_library(
        &self,
        path: &Path,
        config: &DevicesFile,
        settings: &Message,
    ) -> Result<(), LoadError> {
        let (bytes, sha256) = Library::read(path).map_err(|e| self.record_failure(path, &[], e))?;
        let same_file = {
            let state = self.read();
            match state.libraries.get(path) {
                Some(loaded) if loaded.sha256 == sha256 => {
                    if loaded.settings == settings_of(settings, config, &loaded.devices) {
                        return Ok(());
                    }
                    Some(loaded.library.clone())
                }
                _ => None,
            }
        };
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
        let (callbacks, ctx) = callbacks::callbacks_for(self.node.clone(), path, generation);
        // The same file with other settings: a new instance of the mapped library, not a copy.
        let loaded = match &same_file {
            Some(current) => current.restart(generation, callbacks, settings),
            None => match &self.private_dir {
                Ok(dir) => {
                    Library::load(path, &bytes, sha256, dir, generation, callbacks, settings)
                }
                Err(why) => Err(LoadError::new(
                    path,
                    &[],
                    format!("the node has no private folder to load it from: {why}"),
                )),
            },
        };
        let library = loaded.map_err(|e| {
            let mut named = devices_naming(config, path);
            named.extend(e.devices.iter().cloned());
            named.sort();
            named.dedup();
            self.record_failure(path, &named, e)
        })?;
        ctx.grant(granted_capabilities(config, &library.devices));
        self.loads.fetch_add(1, Ordering::Relaxed);
        self.install(path, Arc::new(library), generation, config, settings);
        Ok(())
    }

    /// Swaps a freshly loaded library's devices in.
    fn install(
        &self,
        path: &Path,
        library: Arc<Library>,
        generation: u64,
        config: &DevicesFile,
        settings: &Message,
    ) {
        let loaded_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut state = self.write();
        let previous = state.libraries.insert(
            path.to_owned(),
            Loaded {
                library: library.clone(),
                sha256: library.sha256.clone(),
                settings: settings_of(settings, config, &library.devices),
                devices: library.devices.clone(),
            },
        );
        state.library_errors.remove(&path.display().to_string());
        // What this replaces; its instances shut down when dropped, which must happen outside
        // the registry's lock (a device's `Drop` may call the node).
        let mut replaced = Vec::new();
        // Devices the previous generation had and this one does not.
        for gone in previous.iter().flat_map(|p| p.devices.iter()) {
            if !library.devices.contains(gone) {
                if let Some(handle) = retire(&mut state, gone) {
                    self.retired.fetch_add(1, Ordering::Relaxed);
                    replaced.push(handle);
                }
            }
        }
        for name in &library.devices {
            let enabled = config.devices.get(name).is_none_or(|e| e.enabled);
            state.status.insert(
                name.clone(),
                DeviceStatus {
                    name: name.clone(),
                    library: path.display().to_string(),
                    sha256: library.sha256.clone(),
                    generation,
                    loaded_at,
                    loaded: enabled,
                    enabled,
                    last_error: None,
                },
            );
            if !enabled {
                if let Some(handle) = state.devices.remove(name) {
                    self.retired.fetch_add(1, Ordering::Relaxed);
                    replaced.push(handle);
                }
                continue;
            }
            let handle = Arc::new(DeviceHandle {
                name: name.clone(),
                library: library.clone(),
                generation,
                loaded_at,
                methods: declared_methods(&library.description, name),
                shared_name: Arc::from(name.as_str()),
            });
            if let Some(old) = state.devices.insert(name.clone(), handle) {
                self.retired.fetch_add(1, Ordering::Relaxed);
                replaced.push(old);
            }
            tracing::info!(
                device = %name,
                generation,
                library = %path.display(),
                sha256 = %&library.sha256[..12],
                "device loaded"
            );
        }
        drop(state);
        drop((previous, replaced));
    }

    /// Retires the devices of libraries that are no longer candidates.
    fn retire_missing(&self, candidates: &[PathBuf], config: &DevicesFile) {
        let mut state = self.write();
        // Dropped once the lock is released (see `install`).
        let (mut removed, mut unloaded) = (Vec::new(), Vec::new());
        let gone: Vec<PathBuf> = state
            .libraries
            .keys()
            .filter(|p| !candidates.contains(p))
            .cloned()
            .collect();
        for path in gone {
            let Some(loaded) = state.libraries.remove(&path) else {
                continue;
            };
            for name in &loaded.devices {
                if let Some(handle) = retire(&mut state, name) {
                    self.retired.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(device = %name, library = %path.display(), "device removed");
                    removed.push(handle);
                }
            }
            unloaded.push(loaded);
        }
        drop(state);
        drop((removed, unloaded));
        let _ = config;
    }

    /// Devices `devices.toml` enables that no library provides.
    fn note_absent(&self, config: &DevicesFile) {
        let mut state = self.write();
        for (name, entry) in &config.devices {
            if entry.enabled && !state.devices.contains_key(name) {
                let status = state.status.entry(name.clone()).or_default();
                status.name = name.clone();
                status.enabled = true;
                status.loaded = false;
                if status.last_error.is_none() {
                    let why = "no library in the plugins folder provides it";
                    tracing::warn!("device {name}: {why}");
                    status.last_error = Some(why.to_owned());
                }
            }
        }
    }

    /// Records a failed load — in the count of failed loads, and in the status of the devices it
    /// concerns: those named, and those the file's previous generation provides (still
    /// serving) — returning the error.
    fn record_failure(&self, path: &Path, named: &[String], e: LoadError) -> LoadError {
        let mut state = self.write();
        // Counted before the status shows it, so whoever sees the error sees the count too.
        self.failed_loads.fetch_add(1, Ordering::Relaxed);
        let line = e.to_string();
        let mut devices = named.to_vec();
        if let Some(loaded) = state.libraries.get(path) {
            devices.extend(loaded.devices.iter().cloned());
        }
        devices.sort();
        devices.dedup();
        if devices.is_empty() {
            state
                .library_errors
                .insert(path.display().to_string(), line.clone());
        }
        for name in &devices {
            let status = state.status.entry(name.clone()).or_default();
            status.name = name.clone();
            status.enabled = true;
            if status.library.is_empty() {
                status.library = path.display().to_string();
            }
            status.last_error = Some(line.clone());
        }
        e
    }
}

/// The methods `description` (a library's `info`) lists for `device`, as keys.
fn declared_methods(description: &Message, device: &str) -> BTreeSet<String> {
    description
        .get_message(device)
        .and_then(|d| d.get("methods"))
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .flat_map(|m| [m.to_owned(), m.to_ascii_lowercase().replace('_', "-")])
                .collect()
        })
        .unwrap_or_default()
}

/// Removes a device from service, returning its handle if it was serving (to be dropped once
/// the registry's lock is released).
fn retire(state: &mut State, name: &str) -> Option<Arc<DeviceHandle>> {
    if let Some(status) = state.status.get_mut(name) {
        status.loaded = false;
    }
    state.devices.remove(name)
}

/// The part of the settings that concerns `devices`: their options and enabled flags.
fn settings_of(settings: &Message, config: &DevicesFile, devices: &[String]) -> Message {
    devices
        .iter()
        .map(|d| {
            let enabled = config.devices.get(d).is_none_or(|e| e.enabled);
            let options = settings.get_message(d).cloned().unwrap_or_default();
            (
                d.as_str(),
                Value::from(
                    Message::new()
                        .with("enabled", enabled)
                        .with("options", options),
                ),
            )
        })
        .collect()
}

/// Libraries to load: `*.so` in the plugins folder, then those `devices.toml` names elsewhere.
fn candidate_libraries(config: &DevicesFile) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(&config.node.plugins_dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_library_name(p))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    for entry in config.devices.values().filter(|e| e.enabled) {
        if let Some(lib) = &entry.library {
            if !found.contains(lib) {
                found.push(lib.clone());
            }
        }
    }
    found
}

/// Whether a file name is a device library: `*.so`, not hidden, not a temporary file.
pub fn is_library_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with(".so") && !name.starts_with('.') && path.is_file()
}

/// Devices `devices.toml` says come from `path`.
fn devices_naming(config: &DevicesFile, path: &Path) -> Vec<String> {
    config
        .devices
        .iter()
        .filter(|(_, e)| e.library.as_deref() == Some(path))
        .map(|(n, _)| n.clone())
        .collect()
}

/// A library holds a capability only if every device it provides is granted it.
fn granted_capabilities(config: &DevicesFile, devices: &[String]) -> BTreeSet<Capability> {
    let mut sets = devices.iter().map(|d| {
        config
            .devices
            .get(d)
            .map(|e| e.capabilities.iter().copied().collect::<BTreeSet<_>>())
            .unwrap_or_default()
    });
    let first = sets.next().unwrap_or_default();
    sets.fold(first, |acc, s| acc.intersection(&s).copied().collect())
}

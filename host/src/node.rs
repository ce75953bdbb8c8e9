//! The node: its configuration, devices and store, and the services it offers devices.

use crate::config::{ConfigError, DevicesFile};
use crate::metrics::Metrics;
use crate::operator::{self, NodeMessage};
use crate::path;
use crate::registry::{Caller, HostOps, LoadError, Registry};
use crate::resolve::{self, RequestKeys};
use crate::store::{self as store_ops, Store, StoreError, StoreLocation};
use crate::wallet::{Signer, Wallet};
use ferrobeam_device_api::crypto::RsaPss;
use ferrobeam_device_api::host::operation;
use ferrobeam_device_api::{wire, DeviceError, ErrorKind, Message, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

/// A running node's core (everything but the HTTP edge).
pub struct Node {
    config: RwLock<Arc<DevicesFile>>,
    registry: Registry,
    store: Box<dyn Store>,
    opts: RwLock<Arc<Vec<u8>>>,
    /// Whether `config` came from a file (a reload re-reads it) or from defaults.
    config_from_file: bool,
    /// Why the last reload of `devices.toml` was refused, until one succeeds.
    config_error: RwLock<Option<String>>,
    /// The node wallet and its signature cache; `None` for a node used as a library without
    /// an identity (its HTTP responses then go unsigned).
    signer: Option<Signer>,
    /// The operator's runtime changes to the options (`POST /~meta@1.0/info`).
    node_message: RwLock<NodeMessage>,
    /// What the node counts (`/metrics`).
    metrics: Metrics,
    /// Calls running per device, bounded (`max_calls_per_device`).
    gate: crate::resolve::gate::DeviceGate,
    /// Message IDs already computed for hashpaths ([`crate::resolve::hashpath`]).
    ids: crate::resolve::hashpath::IdCache,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("config", &self.config().path)
            .finish()
    }
}

impl Node {
    /// Builds the node and loads its devices. Libraries that fail to load are returned (and
    /// logged); the node serves the others.
    pub fn start(config: DevicesFile) -> Result<(Arc<Node>, Vec<LoadError>), StoreError> {
        Node::start_with_wallet(config, None)
    }

    /// [`Node::start`] with the node wallet: the node signs its responses with it and offers
    /// devices `node/identity` and (when granted) `sign`.
    pub fn start_with_wallet(
        config: DevicesFile,
        wallet: Option<Wallet>,
    ) -> Result<(Arc<Node>, Vec<LoadError>), StoreError> {
        let store = StoreLocation::parse(config.node.store.as_deref())
            .map_err(StoreError::Backend)?
            .open(&config.node.data_dir.join(STORE_FILE))?;
        let private_dir = private_dir();
        let signer = wallet.map(Signer::new);
        let node_message = NodeMessage::default();
        let opts = Arc::new(wire::encode_message(&public_options(
            &config,
            signer.as_ref(),
            &node_message,
        )));
        let config_from_file = config.path.is_file();
        let max_calls_per_device = config.node.max_calls_per_device;
        let node = Arc::new_cyclic(|weak: &std::sync::Weak<Node>| {
            let weak: std::sync::Weak<dyn HostOps> = weak.clone();
            Node {
                registry: Registry::new(weak, private_dir),
                store,
                opts: RwLock::new(opts),
                config: RwLock::new(Arc::new(config)),
                config_from_file,
                config_error: RwLock::new(None),
                signer,
                node_message: RwLock::new(node_message),
                metrics: Metrics::new(),
                gate: crate::resolve::gate::DeviceGate::new(max_calls_per_device),
                ids: crate::resolve::hashpath::IdCache::default(),
            }
        });
        let errors = node.registry.sync(&node.config());
        Ok((node, errors))
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<DevicesFile> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads `devices.toml` and brings the devices in line with it and with the plugins
    /// folder: new and changed libraries load, removed ones retire. A `devices.toml` with an
    /// error changes nothing and is returned. `[node]` settings other than the devices take
    /// effect at the next start.
    pub fn reload(&self) -> Result<Vec<LoadError>, ConfigError> {
        let outcome = self.reload_inner();
        let result = match &outcome {
            Ok(errors) if errors.is_empty() => "ok",
            Ok(_) => "failed",
            Err(_) => "refused",
        };
        self.metrics.reloads.inc(&[result]);
        outcome
    }

    fn reload_inner(&self) -> Result<Vec<LoadError>, ConfigError> {
        let current = self.config();
        let mut next = if self.config_from_file {
            match DevicesFile::load_with(&current.path, current.overrides.clone()) {
                Ok(next) => next,
                Err(e) => {
                    *self
                        .config_error
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                    return Err(e);
                }
            }
        } else {
            (*current).clone()
        };
        *self
            .config_error
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        // `[node]` settings apply at start (port and bind may also come from the command line).
        let mut asked = next.node.clone();
        asked.port = current.node.port;
        asked.bind = current.node.bind.clone();
        if asked != current.node {
            tracing::warn!(
                "[node] settings changed in {}: they apply at the next start",
                current.path.display()
            );
        }
        next.node = current.node.clone();
        // Held until `opts` is replaced, so a concurrent operator change is never lost.
        let node_message = self
            .node_message
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let opts = Arc::new(wire::encode_message(&public_options(
            &next,
            self.signer.as_ref(),
            &node_message,
        )));
        let next = Arc::new(next);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = next.clone();
        *self.opts.write().unwrap_or_else(PoisonError::into_inner) = opts;
        drop(node_message);
        Ok(self.registry.sync(&next))
    }

    /// The loaded devices.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// What the node counts.
    pub fn gate(&self) -> &crate::resolve::gate::DeviceGate {
        &self.gate
    }

    /// What the node counts.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The IDs the node computed for hashpaths, by message.
    pub fn ids(&self) -> &crate::resolve::hashpath::IdCache {
        &self.ids
    }

    /// Why the last reload of `devices.toml` was refused, until one succeeds.
    pub fn config_error(&self) -> Option<String> {
        self.config_error
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The node's signer (wallet and signature cache), if it has a wallet.
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }

    /// The operator's runtime changes to the options.
    pub fn node_message(&self) -> NodeMessage {
        self.node_message
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies an operator change to the options (`node/configure`) and re-encodes `opts`.
    fn configure(&self, set: &Message) -> Result<Value, DeviceError> {
        let mut node_message = self
            .node_message
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let config = self.config();
        // What devices.toml and the wallet decide cannot be changed at run time.
        let mut owned: BTreeSet<String> = configured_options(&config)
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect();
        owned.insert("address".to_owned());
        let history = node_message.apply(set, &owned)?;
        let opts = Arc::new(wire::encode_message(&public_options(
            &config,
            self.signer.as_ref(),
            &node_message,
        )));
        *self.opts.write().unwrap_or_else(PoisonError::into_inner) = opts;
        Ok(Value::from(Message::new().with("history-length", history)))
    }

    /// The node options devices receive as `opts`, wire-encoded once.
    pub fn opts_wire(&self) -> Arc<Vec<u8>> {
        self.opts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The store's file in the data folder.
pub const STORE_FILE: &str = "ferrobeam.redb";

/// Where private copies of libraries go: a folder this node makes, that only its user can
/// enter, under a name no one can guess (`ferrobeam-<pid>-<64 random bits>`). The temporary
/// folder is shared by every user of the machine: a folder another user had made first under
/// a name known in advance would let them swap a copy between its writing and its loading, and
/// run their code as the node.
/// Without one, every library load is refused with the reason, which is logged once here.
fn private_dir() -> Result<PathBuf, String> {
    use std::hash::{BuildHasher, RandomState};
    use std::os::unix::fs::DirBuilderExt;
    sweep_private_dirs();
    let pid = std::process::id();
    let mut why = String::new();
    for attempt in 0..8u32 {
        // `RandomState` keys come from the operating system's random source.
        let tag = RandomState::new().hash_one((pid, attempt, std::time::SystemTime::now()));
        let dir = std::env::temp_dir().join(format!("ferrobeam-{pid}-{tag:016x}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => {
                why = format!("cannot make {}: {e}", dir.display());
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    break;
                }
            }
        }
    }
    tracing::error!("{why}");
    Err(why)
}

/// The process ID in the name of a node's private folder (`ferrobeam-<pid>-<16 hex digits>`,
/// or `ferrobeam-<pid>` as nodes before them named it).
fn private_dir_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("ferrobeam-")?;
    let (pid, tag) = rest.split_once('-').unwrap_or((rest, ""));
    let tagged = tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit());
    if !(tag.is_empty() || tagged) || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Removes the private folders of nodes that are no longer running (a node killed with SIGKILL
/// cannot clean up after itself): they hold the copies its libraries ran from. Folders of other
/// users' nodes cannot be removed and are left.
fn sweep_private_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(private_dir_pid) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The node options devices see: the configuration without anything private, the node's
/// `address` (`§11`), and the operator's runtime changes.
fn public_options(
    config: &DevicesFile,
    signer: Option<&Signer>,
    node_message: &NodeMessage,
) -> Message {
    let mut opts = configured_options(config);
    if let Some(signer) = signer {
        opts.insert("address", signer.wallet().address());
    }
    for (k, v) in node_message.overlay().iter() {
        opts.insert(k.clone(), v.clone());
    }
    opts
}

/// The options `devices.toml` decides.
fn configured_options(config: &DevicesFile) -> Message {
    let n = &config.node;
    let devices: Vec<Value> = config
        .devices
        .iter()
        .filter(|(_, e)| e.enabled)
        .map(|(name, _)| Value::from(name.as_str()))
        .collect();
    Message::new()
        .with("port", i64::from(n.port))
        .with("bind", n.bind.as_str())
        .with("plugins_dir", n.plugins_dir.display().to_string())
        .with("max_body_bytes", n.max_body_bytes as i64)
        .with("max_concurrent_calls", n.max_concurrent_calls as i64)
        .with("configured_devices", devices)
        .with("config_location", config.path.display().to_string())
}

impl HostOps for Node {
    fn host_call(
        &self,
        caller: &Caller<'_>,
        op: &str,
        payload: &Message,
    ) -> Result<Value, DeviceError> {
        let capabilities = caller.capabilities;
        match op {
            operation::NODE_IDENTITY => operator::identity(self.signer.as_ref()),
            operation::VERIFY_RSA_PSS => {
                crate::verify::verify_rsa_pss(&RsaPss::from_payload(payload)?).map(Value::from)
            }
            operation::SIGN => operator::sign(self.signer.as_ref(), capabilities, payload),
            operation::NODE_CONFIGURE => {
                self.configure(operator::configure_request(capabilities, payload)?)
            }
            operation::RESOLVE => {
                let target = payload
                    .get_str("path")
                    .ok_or_else(|| DeviceError::bad_request("resolve needs a text `path`"))?;
                let route = path::parse(target).map_err(|e| DeviceError::bad_request(e.0))?;
                let mut keys = payload.clone();
                keys.remove("path");
                let keys = RequestKeys::from_message(keys).with_query(route.query);
                resolve::resolve(self, &route.steps, &keys)
            }
            operation::NODE_DEVICES => {
                let mut status = self.registry.status_message();
                if let Some(e) = self.config_error() {
                    status.insert("config-error", e);
                }
                Ok(Value::from(status))
            }
            operation::BLOCKING => {
                crate::http::call_pool::set_waiting(operation::blocking_waiting(payload)?);
                Ok(Value::atom("ok"))
            }
            operation::METRIC => {
                let (name, labels, by) = crate::metrics::events::request(payload)?;
                self.metrics
                    .events
                    .count(caller.device, name, &labels, by)
                    .map_err(|e| DeviceError::bad_request(e.to_string()))?;
                Ok(Value::atom("ok"))
            }
            operation::STORE_TRANSACT => {
                let txn = store_ops::transaction(payload)?;
                self.store.transact(txn)?;
                Ok(Value::atom("ok"))
            }
            operation::STORE_LIST => {
                let (prefix, after, limit) = store_ops::list_args(payload)?;
                let entries = self.store.list(prefix, after, limit)?;
                Ok(store_ops::entries(entries))
            }
            operation::CALL => {
                let device = text(payload, "device", op)?;
                let key = text(payload, "key", op)?;
                let empty = Message::new();
                let base = payload.get_message("base").unwrap_or(&empty);
                let req = payload.get_message("req").unwrap_or(&empty);
                resolve::call_with(self, device, key, base, req)
            }
            operation::STORE_READ => {
                let key = text(payload, "key", op)?;
                self.store
                    .read(key)?
                    .map(Value::binary)
                    .ok_or_else(|| DeviceError::not_found(format!("no store entry {key}")))
            }
            operation::STORE_WRITE => {
                let key = text(payload, "key", op)?;
                let value = payload
                    .get("value")
                    .and_then(Value::as_bytes)
                    .ok_or_else(|| DeviceError::bad_request("store/write needs bytes `value`"))?;
                self.store.write(key, value)?;
                Ok(Value::atom("ok"))
            }
            other => Err(DeviceError::new(
                ErrorKind::BadRequest,
                format!("the node does not offer the host operation `{other}`"),
            )),
        }
    }
}

fn text<'a>(payload: &'a Message, key: &str, op: &str) -> Result<&'a str, DeviceError> {
    payload
        .get_str(key)
        .ok_or_else(|| DeviceError::bad_request(format!("{op} needs a text `{key}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_folders_are_known_by_their_exact_names() {
        assert_eq!(
            private_dir_pid("ferrobeam-4242-0123456789abcdef"),
            Some(4242)
        );
        assert_eq!(
            private_dir_pid("ferrobeam-4242"),
            Some(4242),
            "older nodes' folders"
        );
        for other in [
            "ferrobeam-it-4242-load-0",
            "ferrobeam-npm-4242",
            "ferrobeam-4242-0123",
            "ferrobeam-4242-0123456789abcdeg",
            "ferrobeam-+4242",
            "ferrobeam-",
            "other-4242",
        ] {
            assert_eq!(private_dir_pid(other), None, "{other}");
        }
    }

    #[test]
    fn each_private_folder_is_new_and_only_its_user_enters_it() {
        use std::os::unix::fs::PermissionsExt;
        let (a, b) = (private_dir().unwrap(), private_dir().unwrap());
        assert_ne!(a, b);
        for dir in [&a, &b] {
            let mode = std::fs::metadata(dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
            std::fs::remove_dir(dir).unwrap();
        }
    }
}

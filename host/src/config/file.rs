//! Parsing and validating `devices.toml`.

use super::limits::Limits;
use super::overrides::Override;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// HyperBEAM's default port.
pub const DEFAULT_PORT: u16 = 8734;

/// A `devices.toml` that could not be used: the file, the line when known, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What a device may ask of the node beyond resolving, storing and logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Sign with the node wallet (the key itself never leaves the node).
    Sign,
    /// Change the node options every device sees (`meta@1.0` serving operator-signed
    /// `POST /~meta@1.0/info`).
    Configure,
}

/// Every `[node]` key: each can also be set by `FERROBEAM_<KEY>` (upper case) and by
/// `ferrobeam serve --set key=value` (`super::overrides`).
pub const NODE_KEYS: &[&str] = &[
    "port",
    "bind",
    "plugins_dir",
    "data_dir",
    "max_body_bytes",
    "max_header_bytes",
    "max_concurrent_calls",
    "wallet",
    "store",
    "shutdown_timeout_secs",
    "call_timeout_secs",
    "max_calls_per_device",
];

/// The `[node]` keys holding paths: from a file, relative to its folder; from the command line
/// or the environment, relative to the working directory.
pub const PATH_KEYS: &[&str] = &["plugins_dir", "data_dir", "wallet"];

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSettings {
    /// TCP port (HyperBEAM's 8734 by default).
    pub port: u16,
    /// Address to bind.
    pub bind: String,
    /// Folder scanned for device libraries, relative to the config file.
    pub plugins_dir: PathBuf,
    /// Folder of the node's store (created on first start), relative to the config file.
    pub data_dir: PathBuf,
    /// Largest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Largest total size of request headers, in bytes (431 above).
    pub max_header_bytes: usize,
    /// How many device calls may run at once.
    pub max_concurrent_calls: usize,
    /// The node wallet (an Arweave JWK), relative to the config file. Unset: `--wallet`,
    /// `FERROBEAM_WALLET`, or `ferrobeam-wallet.json` next to this file (created on first start).
    pub wallet: Option<PathBuf>,
    /// Where the store is: unset or `"embedded"` for the redb file in `data_dir`, or a
    /// `postgres://user@host:port/db` URL for a PostgreSQL database that several nodes may
    /// share (`docs/operations.md`). `--store` overrides it.
    pub store: Option<String>,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish before the node stops
    /// anyway (seconds).
    pub shutdown_timeout_secs: u64,
    /// How long a request may take before it is answered 504 (seconds). A device call that
    /// never returns keeps its thread and its call slot; see `max_calls_per_device`.
    pub call_timeout_secs: u64,
    /// How many calls one device may have running at once (503 above), so that a stuck device
    /// cannot take every call slot of the node.
    pub max_calls_per_device: usize,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            port: DEFAULT_PORT,
            bind: "127.0.0.1".to_owned(),
            plugins_dir: PathBuf::from("plugins"),
            data_dir: PathBuf::from("data"),
            max_body_bytes: 16 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_concurrent_calls: 256,
            wallet: None,
            store: None,
            shutdown_timeout_secs: 30,
            call_timeout_secs: 60,
            max_calls_per_device: 64,
        }
    }
}

/// `[devices."name@version"]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// The library file, relative to `plugins_dir` or absolute. Optional for a device provided
    /// by a library already in `plugins_dir`.
    pub library: Option<PathBuf>,
    /// `false` keeps the device unloaded.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Extra rights.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Options handed to the device at `init`.
    #[serde(default)]
    pub options: toml::Table,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) node: NodeSettings,
    #[serde(default)]
    pub(super) limits: Limits,
    #[serde(default)]
    pub(super) devices: BTreeMap<String, DeviceEntry>,
}

/// A parsed and validated `devices.toml`, with paths resolved against its folder.
#[derive(Debug, Clone, PartialEq)]
pub struct DevicesFile {
    /// Where it was read from (or would be).
    pub path: PathBuf,
    /// `[node]`.
    pub node: NodeSettings,
    /// `[limits]`.
    pub limits: Limits,
    /// `[devices.*]` by name.
    pub devices: BTreeMap<String, DeviceEntry>,
    /// `[node]` settings given by flags and the environment, applied over the file's (a reload
    /// applies them again).
    pub overrides: Vec<Override>,
}

impl DevicesFile {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Reads `path` (defaults when it does not exist) and applies `overrides` over its
    /// `[node]` settings: flags > environment > file > defaults.
    pub fn load_with(path: &Path, overrides: Vec<Override>) -> Result<Self, ConfigError> {
        let text = if path.exists() {
            std::fs::read_to_string(path).map_err(|e| ConfigError {
                path: path.to_owned(),
                line: None,
                message: format!("cannot read: {e}"),
            })?
        } else {
            String::new()
        };
        Self::parse_with(path, &text, overrides)
    }

    /// Parses `text` as the content of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        Self::parse_with(path, text, Vec::new())
    }

    /// Parses `text` as the content of `path`, then applies `overrides` to `[node]`.
    pub fn parse_with(
        path: &Path,
        text: &str,
        overrides: Vec<Override>,
    ) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut node = if overrides.is_empty() {
            raw.node
        } else {
            super::overrides::apply(text, &overrides)?
        };
        node.plugins_dir = base.join(&node.plugins_dir);
        node.data_dir = base.join(&node.data_dir);
        node.wallet = node.wallet.map(|w| base.join(w));
        let mut devices = raw.devices;
        for (name, entry) in devices.iter_mut() {
            if let Err(why) = validate_device_name(name) {
                return Err(ConfigError {
                    path: path.to_owned(),
                    line: find_line(text, name),
                    message: format!("device name `{name}`: {why}"),
                });
            }
            if let Some(lib) = &entry.library {
                entry.library = Some(node.plugins_dir.join(lib));
            }
        }
        if let Err(why) = crate::store::StoreLocation::parse(node.store.as_deref()) {
            return Err(ConfigError {
                path: path.to_owned(),
                line: find_line(text, "store"),
                message: why,
            });
        }
        for (key, zero) in [
            ("call_timeout_secs", node.call_timeout_secs == 0),
            ("max_calls_per_device", node.max_calls_per_device == 0),
        ] {
            if zero {
                return Err(ConfigError {
                    path: path.to_owned(),
                    line: find_line(text, key),
                    message: format!("{key} must be at least 1"),
                });
            }
        }
        if node.max_concurrent_calls == 0 {
            return Err(ConfigError {
                path: path.to_owned(),
                line: find_line(text, "max_concurrent_calls"),
                message: "max_concurrent_calls must be at least 1".to_owned(),
            });
        }
        if let Some(zero) = raw.limits.zeros().first() {
            return Err(ConfigError {
                path: path.to_owned(),
                line: find_line(text, zero),
                message: format!("{zero} must be at least 1"),
            });
        }
        Ok(DevicesFile {
            path: path.to_owned(),
            node,
            limits: raw.limits,
            devices,
            overrides,
        })
    }

    /// The configuration when there is no file: defaults, plugins from `./plugins`.
    pub fn default_at(path: &Path) -> Self {
        let base = path.parent().unwrap_or(Path::new("."));
        let mut node = NodeSettings::default();
        node.plugins_dir = base.join(&node.plugins_dir);
        node.data_dir = base.join(&node.data_dir);
        DevicesFile {
            path: path.to_owned(),
            node,
            limits: Limits::default(),
            devices: BTreeMap::new(),
            overrides: Vec::new(),
        }
    }
}

/// Checks `name@version`: a name of lower-case letters, digits, `-`, `_` and `.`, then `@`, then a
/// version of the same characters.
pub fn validate_device_name(name: &str) -> Result<(), String> {
    let (base, version) = name
        .split_once('@')
        .ok_or_else(|| "expected name@version, e.g. mydev@1.0".to_owned())?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    };
    if !ok(base) || !ok(version) {
        return Err("use lower-case letters, digits, '-', '_' and '.' around one '@'".to_owned());
    }
    Ok(())
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|i| line_of(text, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DevicesFile, ConfigError> {
        DevicesFile::parse(Path::new("/etc/fb/devices.toml"), text)
    }

    #[test]
    fn reads_node_settings_and_devices_with_resolved_paths() {
        let f = parse(
            "[node]\nport = 9000\nplugins_dir = \"p\"\n\n[devices.\"mydev@1.0\"]\nlibrary = \"libmydev.so\"\ncapabilities = [\"sign\"]\n[devices.\"mydev@1.0\".options]\ngreeting = \"hi\"\n",
        )
        .unwrap();
        assert_eq!(f.node.port, 9000);
        assert_eq!(f.node.plugins_dir, PathBuf::from("/etc/fb/p"));
        let d = &f.devices["mydev@1.0"];
        assert_eq!(d.library, Some(PathBuf::from("/etc/fb/p/libmydev.so")));
        assert_eq!(d.capabilities, vec![Capability::Sign]);
        assert!(d.enabled);
        assert_eq!(d.options["greeting"].as_str(), Some("hi"));
    }

    #[test]
    fn the_wallet_path_is_relative_to_the_file_and_configure_is_a_capability() {
        let f = parse(
            "[node]\nwallet = \"keys/node.json\"\n[devices.\"meta@1.0\"]\ncapabilities = [\"configure\"]\n",
        )
        .unwrap();
        assert_eq!(f.node.wallet, Some(PathBuf::from("/etc/fb/keys/node.json")));
        assert_eq!(
            f.devices["meta@1.0"].capabilities,
            vec![Capability::Configure]
        );
        assert_eq!(parse("").unwrap().node.wallet, None);
    }

    #[test]
    fn the_store_is_embedded_or_a_postgres_url_and_anything_else_is_refused_with_its_line() {
        assert_eq!(parse("").unwrap().node.store, None);
        let f = parse("[node]\nstore = \"postgres://fb@db:5432/fb\"\n").unwrap();
        assert_eq!(f.node.store.as_deref(), Some("postgres://fb@db:5432/fb"));
        assert!(parse("[node]\nstore = \"embedded\"\n").is_ok());
        let e = parse("[node]\nport = 1\nstore = \"mysql://u:secret@db/x\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("postgres://"), "{e}");
        assert!(
            !e.message.contains("secret"),
            "credentials stay out of errors: {e}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let e = parse("[node]\nport = 1\n\n[devices.\"a@1.0\"]\nlibary = \"x.so\"\n").unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("libary"), "{e}");
        let e = parse("[node]\nprot = 1\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn bad_device_names_are_errors() {
        let e = parse("[devices.\"MyDev\"]\nlibrary = \"x.so\"\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.to_string().contains("name@version"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("[node]\nport = \n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}

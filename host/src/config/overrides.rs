//! `[node]` settings from the command line and the environment.
//!
//! One precedence for every `[node]` key (`docs/configuration.md`): a flag (`--port`, `--bind`,
//! `--data-dir`, `--wallet`, `--plugins-dir`, or `--set key=value` for any key) beats the
//! environment (`FERROBEAM_<KEY>`, e.g. `FERROBEAM_MAX_BODY_BYTES`), which beats the file, which
//! beats the defaults. Values are read as TOML when they parse as a TOML value (`8734`, `true`)
//! and as text otherwise; paths are relative to the working directory.

use super::file::{ConfigError, NodeSettings, NODE_KEYS, PATH_KEYS};
use std::path::PathBuf;

/// One `[node]` setting given outside the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The `[node]` key.
    pub key: String,
    /// The value as given.
    pub value: String,
    /// Where it came from (`--port`, `FERROBEAM_PORT`), for errors.
    pub origin: String,
}

impl Override {
    /// `key = value` from `origin`.
    pub fn new(key: &str, value: impl Into<String>, origin: impl Into<String>) -> Override {
        Override {
            key: key.to_owned(),
            value: value.into(),
            origin: origin.into(),
        }
    }

    /// The value as TOML: a TOML literal when it is one, else text; a relative path made
    /// absolute against the working directory.
    fn toml_value(&self) -> toml::Value {
        if PATH_KEYS.contains(&self.key.as_str()) {
            let path = PathBuf::from(&self.value);
            let path = if path.is_relative() {
                std::env::current_dir()
                    .map(|d| d.join(&path))
                    .unwrap_or(path)
            } else {
                path
            };
            return toml::Value::String(path.display().to_string());
        }
        toml::from_str::<toml::Table>(&format!("v = {}", self.value))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(self.value.clone()))
    }
}

/// The environment variable of a `[node]` key.
pub fn env_name(key: &str) -> String {
    format!("FERROBEAM_{}", key.to_ascii_uppercase())
}

/// The overrides set in the environment (`FERROBEAM_<KEY>` for every `[node]` key), read
/// through `var` (`std::env::var` in the node, a map in tests).
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Vec<Override> {
    NODE_KEYS
        .iter()
        .filter_map(|key| {
            let name = env_name(key);
            var(&name)
                .filter(|v| !v.is_empty())
                .map(|v| Override::new(key, v, name))
        })
        .collect()
}

/// `--set key=value`.
pub fn parse_set(arg: &str) -> Result<Override, String> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("--set {arg}: expected key=value"))?;
    Ok(Override::new(
        key.trim(),
        value.trim(),
        format!("--set {key}"),
    ))
}

/// Flags over environment: the flags first, then every environment setting no flag gives.
pub fn layered(flags: Vec<Override>, env: Vec<Override>) -> Vec<Override> {
    let mut out = flags;
    for e in env {
        if !out.iter().any(|f| f.key == e.key) {
            out.push(e);
        }
    }
    out
}

/// The file's `[node]` (in `text`, already known to parse) with `overrides` applied.
pub fn apply(text: &str, overrides: &[Override]) -> Result<NodeSettings, ConfigError> {
    let doc: toml::Table = toml::from_str(text).unwrap_or_default();
    let file_node = doc
        .get("node")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let mut merged = file_node.clone();
    for o in overrides {
        let error = |message: String| ConfigError {
            path: PathBuf::from(&o.origin),
            line: None,
            message,
        };
        if !NODE_KEYS.contains(&o.key.as_str()) {
            return Err(error(format!(
                "`{}` is not a [node] setting (one of: {})",
                o.key,
                NODE_KEYS.join(", ")
            )));
        }
        // Each override checked alone over the file, so an error names where it came from.
        let mut alone = file_node.clone();
        alone.insert(o.key.clone(), o.toml_value());
        toml::Value::Table(alone)
            .try_into::<NodeSettings>()
            .map_err(|e| error(format!("{} = {:?}: {}", o.key, o.value, e.message().trim())))?;
    }
    // Applied last to first, so the first of a key wins (flags come before the environment).
    for o in overrides.iter().rev() {
        merged.insert(o.key.clone(), o.toml_value());
    }
    toml::Value::Table(merged)
        .try_into::<NodeSettings>()
        .map_err(|e| ConfigError {
            path: PathBuf::from("the command line and environment"),
            line: None,
            message: e.message().trim().to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DevicesFile;
    use std::collections::HashMap;
    use std::path::Path;

    fn env(pairs: &[(&str, &str)]) -> Vec<Override> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn flags_beat_environment_beats_file_beats_defaults() {
        let file = "[node]\nport = 9000\nbind = \"0.0.0.0\"\nmax_body_bytes = 10\n";
        let env = env(&[("FERROBEAM_PORT", "9100"), ("FERROBEAM_BIND", "127.0.0.2")]);
        let flags = vec![Override::new("port", "9200", "--port")];
        let f =
            DevicesFile::parse_with(Path::new("/etc/fb/devices.toml"), file, layered(flags, env))
                .unwrap();
        assert_eq!(f.node.port, 9200, "flag over env and file");
        assert_eq!(f.node.bind, "127.0.0.2", "env over file");
        assert_eq!(f.node.max_body_bytes, 10, "file over default");
        assert_eq!(f.node.max_concurrent_calls, 256, "default");
    }

    #[test]
    fn every_node_key_has_its_variable_and_paths_are_relative_to_the_working_directory() {
        let o = env(&[
            ("FERROBEAM_MAX_CONCURRENT_CALLS", "4"),
            ("FERROBEAM_DATA_DIR", "d"),
        ]);
        let f = DevicesFile::parse_with(Path::new("/etc/fb/devices.toml"), "", o).unwrap();
        assert_eq!(f.node.max_concurrent_calls, 4);
        assert_eq!(f.node.data_dir, std::env::current_dir().unwrap().join("d"));
    }

    #[test]
    fn bad_values_name_their_origin() {
        let o = env(&[("FERROBEAM_PORT", "eighty")]);
        let e = DevicesFile::parse_with(Path::new("devices.toml"), "", o).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("FERROBEAM_PORT: port = \"eighty\""),
            "{e}"
        );
        let e = DevicesFile::parse_with(
            Path::new("devices.toml"),
            "",
            vec![parse_set("prot=1").unwrap()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a [node] setting"), "{e}");
        assert!(parse_set("novalue").is_err());
    }
}

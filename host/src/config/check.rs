//! `ferrobeam config check`: every problem of a configuration at once, each with its line.
//!
//! Loading stops at the first error; an operator fixing a file wants them all. The file is
//! parsed once as TOML (a syntax error is the one error then), then every `[node]` key and every
//! device entry key is checked on its own, then what the values mean: device names, libraries
//! that must exist, limits.

use super::file::{line_of, validate_device_name, DeviceEntry, NodeSettings, NODE_KEYS};
use super::overrides::{self, Override};
use super::{ConfigError, DevicesFile};
use std::path::Path;

/// The keys of a device entry.
const DEVICE_KEYS: &[&str] = &["library", "enabled", "capabilities", "options"];

/// Every problem of the configuration at `path` with `overrides` (none: it is valid).
pub fn check(path: &Path, overrides: Vec<Override>) -> Vec<ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return vec![ConfigError {
                path: path.to_owned(),
                line: None,
                message: format!("cannot read: {e}"),
            }]
        }
    };
    let doc: toml::Table = match toml::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            return vec![ConfigError {
                path: path.to_owned(),
                line: e.span().map(|s| line_of(&text, s.start)),
                message: e.message().trim().to_owned(),
            }]
        }
    };
    let lines = Lines { path, text: &text };
    let mut errors = Vec::new();
    for section in doc.keys() {
        if section != "node" && section != "devices" {
            errors.push(lines.error(
                lines.section(section),
                format!(
                    "unknown section `{section}` (expected [node] or [devices.\"name@version\"])"
                ),
            ));
        }
    }
    match doc.get("node") {
        None => {}
        Some(toml::Value::Table(node)) => check_node(&lines, node, &mut errors),
        Some(_) => errors.push(lines.error(lines.section("node"), "`node` must be a table".into())),
    }
    match doc.get("devices") {
        None => {}
        Some(toml::Value::Table(devices)) => {
            for (name, entry) in devices {
                check_device(&lines, name, entry, &mut errors);
            }
        }
        Some(_) => {
            errors.push(lines.error(lines.section("devices"), "`devices` must be a table".into()))
        }
    }
    if errors.is_empty() {
        // What only the whole file shows (and the overrides, and the libraries named).
        match DevicesFile::parse_with(path, &text, overrides) {
            Err(e) => errors.push(e),
            Ok(file) => check_libraries(&lines, &file, &mut errors),
        }
    }
    errors
}

/// Finds lines in the file's text.
struct Lines<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Lines<'_> {
    fn error(&self, line: Option<usize>, message: String) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            line,
            message,
        }
    }

    /// The line of the header `[name]` or `[name.…]`.
    fn section(&self, name: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.strip_prefix('[')
                    .map(|r| r.trim_start_matches('[').trim_start())
                    .is_some_and(|r| r.starts_with(name))
            })
            .map(|i| i + 1)
    }

    /// The line of `key = …` after the header on line `from` (1-based), before the next
    /// header.
    fn key_after(&self, from: Option<usize>, key: &str) -> Option<usize> {
        for (i, l) in self.text.lines().enumerate().skip(from.unwrap_or(0)) {
            let t = l.trim_start();
            if t.starts_with('[') {
                break;
            }
            if let Some((name, _)) = t.split_once('=') {
                if name.trim().trim_matches('"') == key {
                    return Some(i + 1);
                }
            }
        }
        None
    }

    /// The line of the device's header or, failing that, of its name anywhere.
    fn device(&self, name: &str) -> Option<usize> {
        let quoted = format!("\"{name}\"");
        self.text
            .lines()
            .position(|l| l.trim_start().starts_with('[') && l.contains(&quoted))
            .or_else(|| self.text.lines().position(|l| l.contains(name)))
            .map(|i| i + 1)
    }
}

fn check_node(lines: &Lines<'_>, node: &toml::Table, errors: &mut Vec<ConfigError>) {
    let header = lines.section("node");
    for (key, value) in node {
        let line = lines.key_after(header, key).or(header);
        if !NODE_KEYS.contains(&key.as_str()) {
            errors.push(lines.error(
                line,
                format!(
                    "unknown [node] setting `{key}` (one of: {})",
                    NODE_KEYS.join(", ")
                ),
            ));
            continue;
        }
        let mut alone = toml::Table::new();
        alone.insert(key.clone(), value.clone());
        match toml::Value::Table(alone).try_into::<NodeSettings>() {
            Err(e) => errors.push(lines.error(line, format!("{key}: {}", e.message().trim()))),
            Ok(settings) if key == "max_concurrent_calls" && settings.max_concurrent_calls == 0 => {
                errors.push(lines.error(line, "max_concurrent_calls must be at least 1".into()))
            }
            Ok(_) => {}
        }
    }
}

fn check_device(lines: &Lines<'_>, name: &str, entry: &toml::Value, errors: &mut Vec<ConfigError>) {
    let header = lines.device(name);
    if let Err(why) = validate_device_name(name) {
        errors.push(lines.error(header, format!("device name `{name}`: {why}")));
    }
    let Some(table) = entry.as_table() else {
        errors.push(lines.error(header, format!("device `{name}` must be a table")));
        return;
    };
    for (key, value) in table {
        let line = lines.key_after(header, key).or(header);
        if !DEVICE_KEYS.contains(&key.as_str()) {
            errors.push(lines.error(
                line,
                format!(
                    "device `{name}`: unknown key `{key}` (one of: {})",
                    DEVICE_KEYS.join(", ")
                ),
            ));
            continue;
        }
        let mut alone = toml::Table::new();
        alone.insert(key.clone(), value.clone());
        if let Err(e) = toml::Value::Table(alone).try_into::<DeviceEntry>() {
            errors.push(lines.error(
                line,
                format!("device `{name}`: {key}: {}", e.message().trim()),
            ));
        }
    }
}

/// Libraries named by enabled devices must exist; the plugins folder should.
fn check_libraries(lines: &Lines<'_>, file: &DevicesFile, errors: &mut Vec<ConfigError>) {
    for (name, entry) in &file.devices {
        let Some(lib) = &entry.library else { continue };
        if entry.enabled && !lib.is_file() {
            let header = lines.device(name);
            errors.push(lines.error(
                lines.key_after(header, "library").or(header),
                format!("device `{name}`: library {} does not exist", lib.display()),
            ));
        }
    }
    if !file.node.plugins_dir.is_dir() {
        let header = lines.section("node");
        errors.push(lines.error(
            lines.key_after(header, "plugins_dir").or(header),
            format!(
                "plugins_dir {} is not a folder",
                file.node.plugins_dir.display()
            ),
        ));
    }
}

/// [`check`] with the environment's overrides and `flags`.
pub fn check_with_env(path: &Path, flags: Vec<Override>) -> Vec<ConfigError> {
    let env = overrides::from_env(|k| std::env::var(k).ok());
    check(path, overrides::layered(flags, env))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Vec<String> {
        let dir =
            std::env::temp_dir().join(format!("fb-check-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        let path = dir.join("devices.toml");
        std::fs::write(&path, text).unwrap();
        let out = check(&path, Vec::new())
            .iter()
            .map(|e| format!("{}:{}", e.line.unwrap_or(0), e.message))
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let errors = check_text(
            "[node]\nport = \"x\"\nprot = 1\n\n[devices.\"a@1.0\"]\nlibary = \"x.so\"\nenabled = 3\n\n[devices.\"Bad\"]\n\n[extra]\n",
        );
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(
            errors[0].starts_with("11:unknown section `extra`"),
            "{errors:#?}"
        );
        assert!(errors[1].starts_with("2:port:"), "{errors:#?}");
        assert!(
            errors[2].starts_with("3:unknown [node] setting `prot`"),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("6:device `a@1.0`: unknown key `libary`")),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("7:device `a@1.0`: enabled:")),
            "{errors:#?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("9:device name `Bad`")),
            "{errors:#?}"
        );
    }

    #[test]
    fn a_valid_file_has_no_errors_and_missing_libraries_are_found() {
        assert_eq!(check_text("[node]\nport = 1\n"), Vec::<String>::new());
        let errors = check_text("[devices.\"a@1.0\"]\nlibrary = \"gone.so\"\n");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("2:device `a@1.0`: library"),
            "{errors:#?}"
        );
    }

    #[test]
    fn a_syntax_error_is_the_one_error() {
        let errors = check_text("[node]\nport = \n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("2:"), "{errors:#?}");
    }
}

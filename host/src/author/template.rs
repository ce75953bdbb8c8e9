//! `ferrobeam new-device NAME`: a device crate from `templates/device/`, rendered exactly as
//! `cargo generate --path templates/device` renders it (its `{{project-name}}` and
//! `{{device_api}}` placeholders).
//!
//! The template is compiled into the binary, so the command works anywhere. The new crate is
//! standalone (it has its own `[workspace]`) and depends on `device-api` by path: the copy this
//! binary was built from, or the one given with `--device-api`.

use std::fmt;
use std::path::{Path, PathBuf};

// The same files `cargo generate --path templates/device` renders (Liquid placeholders).
const TEMPLATE_MANIFEST: &str = include_str!("../../../templates/device/Cargo.toml.liquid");
const TEMPLATE_LIB: &str = include_str!("../../../templates/device/src/lib.rs");
const NAME_PLACEHOLDER: &str = "{{project-name}}";
const API_PLACEHOLDER: &str = "{{device_api}}";

/// Why a crate was not written.
#[derive(Debug)]
pub enum NewDeviceError {
    /// The name is not usable as a crate and device name.
    BadName(String),
    /// The folder exists already.
    Exists(PathBuf),
    /// Writing failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for NewDeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewDeviceError::BadName(n) => write!(
                f,
                "`{n}` is not a device name: use a lower-case letter, then lower-case letters, digits, '-' or '_' (at most 64)"
            ),
            NewDeviceError::Exists(p) => write!(f, "{} exists already", p.display()),
            NewDeviceError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for NewDeviceError {}

/// The `device-api` this binary was built from.
pub fn default_device_api() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../device-api")
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 64
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Writes a device crate named `name` (device `name@1.0`) into `dir`.
pub fn new_device(name: &str, dir: &Path, device_api: &Path) -> Result<PathBuf, NewDeviceError> {
    if !valid_name(name) {
        return Err(NewDeviceError::BadName(name.to_owned()));
    }
    if dir.exists() {
        return Err(NewDeviceError::Exists(dir.to_owned()));
    }
    let api = std::fs::canonicalize(device_api).unwrap_or_else(|_| device_api.to_owned());
    let manifest = TEMPLATE_MANIFEST
        .replace(NAME_PLACEHOLDER, name)
        .replace(API_PLACEHOLDER, &api.display().to_string());
    let lib = TEMPLATE_LIB.replace(NAME_PLACEHOLDER, name);
    let write = |path: PathBuf, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| NewDeviceError::Io(parent.to_owned(), e))?;
        }
        std::fs::write(&path, text).map_err(|e| NewDeviceError::Io(path, e))
    };
    write(dir.join("Cargo.toml"), &manifest)?;
    write(dir.join("src/lib.rs"), &lib)?;
    write(dir.join(".gitignore"), "/target\n")?;
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(valid_name("hotdev"));
        assert!(valid_name("hot-dev_2"));
        for bad in ["", "Hot", "2dev", "a b", "dev@1.0", "../x"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn writes_a_renamed_crate() {
        let dir = std::env::temp_dir().join(format!("fb-new-device-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        new_device("hotdev", &dir, &default_device_api()).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"hotdev\""), "{manifest}");
        assert!(manifest.contains("[workspace]"));
        assert!(!manifest.contains("{{"), "{manifest}");
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("\"hotdev@1.0\""));
        assert!(!lib.contains("{{"), "{lib}");
        assert!(matches!(
            new_device("hotdev", &dir, &default_device_api()),
            Err(NewDeviceError::Exists(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

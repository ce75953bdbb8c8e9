//! `ferrobeam build-device PATH`: build a device crate in release and install its library into
//! the plugins folder atomically (write a temporary file, then rename), so a running node sees
//! either the old library or the new one, never half of one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a device was not built or installed.
#[derive(Debug)]
pub enum BuildError {
    /// cargo could not be run or failed.
    Cargo(String),
    /// The crate has no `cdylib` library.
    NoLibrary(PathBuf),
    /// Copying into the plugins folder failed.
    Install(PathBuf, std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Cargo(why) => write!(f, "cargo: {why}"),
            BuildError::NoLibrary(p) => write!(f, "{} builds no cdylib library", p.display()),
            BuildError::Install(p, e) => write!(f, "cannot install into {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds the crate at `crate_dir` with `cargo build --release` and installs its library into
/// `plugins_dir`. Returns the installed path.
pub fn build_device(crate_dir: &Path, plugins_dir: &Path) -> Result<PathBuf, BuildError> {
    let manifest = crate_dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--lib", "--manifest-path"])
        .arg(&manifest)
        .status()
        .map_err(|e| BuildError::Cargo(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(BuildError::Cargo(format!(
            "build of {} failed",
            manifest.display()
        )));
    }
    let metadata = Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| BuildError::Cargo(format!("cannot run cargo metadata: {e}")))?;
    if !metadata.status.success() {
        return Err(BuildError::Cargo(
            String::from_utf8_lossy(&metadata.stderr).into_owned(),
        ));
    }
    let meta: serde_json::Value = serde_json::from_slice(&metadata.stdout)
        .map_err(|e| BuildError::Cargo(format!("unreadable cargo metadata: {e}")))?;
    let target_dir = meta["target_directory"]
        .as_str()
        .ok_or_else(|| BuildError::Cargo("cargo metadata has no target_directory".to_owned()))?;
    let lib_name = meta["packages"]
        .as_array()
        .and_then(|ps| {
            ps.iter().find(|p| {
                p["manifest_path"]
                    .as_str()
                    .is_some_and(|m| same_file(Path::new(m), &manifest))
            })
        })
        .and_then(|p| p["targets"].as_array())
        .and_then(|ts| {
            ts.iter().find(|t| {
                t["crate_types"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|k| k == "cdylib"))
            })
        })
        .and_then(|t| t["name"].as_str())
        .ok_or_else(|| BuildError::NoLibrary(crate_dir.to_owned()))?
        .replace('-', "_");
    let built = Path::new(target_dir)
        .join("release")
        .join(format!("lib{lib_name}.so"));
    install_library(&built, plugins_dir)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Copies `library` into `plugins_dir` under its own file name: written to a hidden temporary
/// name first (the watcher ignores those), then renamed into place.
pub fn install_library(library: &Path, plugins_dir: &Path) -> Result<PathBuf, BuildError> {
    let name = library
        .file_name()
        .ok_or_else(|| BuildError::NoLibrary(library.to_owned()))?;
    std::fs::create_dir_all(plugins_dir)
        .map_err(|e| BuildError::Install(plugins_dir.to_owned(), e))?;
    let dest = plugins_dir.join(name);
    let temp = plugins_dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::copy(library, &temp)
        .and_then(|_| std::fs::rename(&temp, &dest))
        .map_err(|e| BuildError::Install(dest.clone(), e))?;
    Ok(dest)
}

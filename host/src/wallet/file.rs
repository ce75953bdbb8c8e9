//! The wallet file: written once, owner-only, atomically; read with a warning when others may
//! read it.

use super::WalletError;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Owner read/write only.
const PRIVATE_MODE: u32 = 0o600;

/// Reads the wallet file, warning when its permissions let others read it.
pub fn read(path: &Path) -> Result<Vec<u8>, WalletError> {
    let io = |source| WalletError::Io {
        path: path.to_owned(),
        source,
    };
    let bytes = fs::read(path).map_err(io)?;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "wallet {} is readable by other users (mode {:o}); `chmod 600` it",
                path.display(),
                mode & 0o777
            );
        }
    }
    Ok(bytes)
}

/// Writes `bytes` to a new file at `path` with mode 0600, never replacing an existing file: the
/// content goes to a temporary file first, which is then hard-linked into place (failing if
/// `path` exists), so a crash never leaves a half-written wallet under the real name.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    let io = |source| WalletError::Io {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        return Err(WalletError::Exists(path.to_owned()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wallet".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_MODE)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(WalletError::Exists(path.to_owned()))
        }
        Err(e) => return Err(io(e)),
    }
    // Make the new name durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn new_files_are_owner_only_and_never_replaced() {
        let dir = std::env::temp_dir().join(format!("fb-wallet-file-{}", std::process::id()));
        let path = dir.join("sub/wallet.json");
        write_new(&path, b"{}").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, PRIVATE_MODE);
        assert!(matches!(
            write_new(&path, b"{\"other\":1}"),
            Err(WalletError::Exists(_))
        ));
        assert_eq!(read(&path).unwrap(), b"{}");
        let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary file left behind");
        fs::remove_dir_all(&dir).unwrap();
    }
}

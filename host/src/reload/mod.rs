//! Hot reload: watch the plugins folder and `devices.toml`, and bring the node in line when
//! they change (`../shared/design/ARCHITECTURE.md`, Hot reload).
//!
//! Events are debounced, then the watched files must hold still (same sizes and mtimes on two
//! looks 50 ms apart) before anything loads: a linker or `cp` writing a library fires events
//! long before the file is whole. Temporary names (hidden files, `*.tmp`) are ignored. The
//! reload itself is [`Node::reload`]: unchanged libraries (same sha256, same settings) are left
//! alone, so an event that changed nothing loads nothing.

use crate::node::Node;
use crate::registry::is_library_name;
use notify::{RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

/// Quiet time after the last event before looking at the files.
pub const DEBOUNCE: Duration = Duration::from_millis(60);
/// Interval between the two looks that must agree.
pub const SETTLE: Duration = Duration::from_millis(50);
/// Longest wait for files to hold still.
pub const MAX_SETTLE: Duration = Duration::from_secs(10);

/// A running watcher; dropping it stops watching.
#[derive(Debug)]
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
}

/// Starts watching `node`'s plugins folder and configuration file.
pub fn watch(node: &Arc<Node>) -> notify::Result<Watcher> {
    let config = node.config();
    let plugins = config.node.plugins_dir.clone();
    let config_file = config.path.clone();
    std::fs::create_dir_all(&plugins).map_err(notify::Error::io)?;
    let (tx, rx) = channel();
    let mut inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reading a library (hashing it) is an access event; only changes count.
        if let Ok(event) = event {
            if matches!(
                event.kind,
                notify::EventKind::Create(_)
                    | notify::EventKind::Modify(_)
                    | notify::EventKind::Remove(_)
            ) {
                let _ = tx.send(event.paths);
            }
        }
    })?;
    // Watch folders, not files: a file replaced by rename would lose its watch.
    inner.watch(&plugins, RecursiveMode::NonRecursive)?;
    let config_dir = config_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if config_dir != plugins {
        inner.watch(&config_dir, RecursiveMode::NonRecursive)?;
    }
    let weak = Arc::downgrade(node);
    std::thread::Builder::new()
        .name("ferrobeam-watch".to_owned())
        .spawn(move || run(weak, rx, plugins, config_file))
        .map_err(notify::Error::io)?;
    Ok(Watcher { _inner: inner })
}

fn run(node: Weak<Node>, rx: Receiver<Vec<PathBuf>>, plugins: PathBuf, config_file: PathBuf) {
    let relevant = |p: &Path| {
        if p == config_file {
            return true;
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        p.parent() == Some(plugins.as_path())
            && name.ends_with(".so")
            && !name.starts_with('.')
            && !name.ends_with(".tmp")
    };
    while let Ok(paths) = rx.recv() {
        if !paths.iter().any(|p| relevant(p)) {
            continue;
        }
        // Debounce: wait until events stop.
        loop {
            match rx.recv_timeout(DEBOUNCE) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        settle(&plugins, &config_file);
        let Some(node) = node.upgrade() else {
            return;
        };
        let started = Instant::now();
        match node.reload() {
            Ok(errors) if errors.is_empty() => {
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "reloaded"
                );
            }
            Ok(errors) => tracing::warn!(
                failures = errors.len(),
                "reloaded; failed libraries keep their previous generation"
            ),
            Err(e) => tracing::error!("devices.toml not applied, nothing changed: {e}"),
        }
    }
}

/// Waits until the libraries and the configuration hold still.
fn settle(plugins: &Path, config_file: &Path) {
    let deadline = Instant::now() + MAX_SETTLE;
    let mut before = snapshot(plugins, config_file);
    loop {
        std::thread::sleep(SETTLE);
        let now = snapshot(plugins, config_file);
        if now == before || Instant::now() > deadline {
            return;
        }
        before = now;
    }
}

type Snapshot = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn snapshot(plugins: &Path, config_file: &Path) -> Snapshot {
    let mut files: Vec<PathBuf> = std::fs::read_dir(plugins)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_library_name(p))
                .collect()
        })
        .unwrap_or_default();
    files.push(config_file.to_owned());
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            let mtime = meta.and_then(|m| m.modified().ok());
            (p, size, mtime)
        })
        .collect()
}

//! The C allocator's settings the node runs with, and so every plugin it loads.
//!
//! Every request allocates and frees a few dozen small blocks on each side of the plugin
//! boundary (keys, values, wire frames). glibc keeps only 7 freed blocks of each size per thread
//! (`tcache_count`); the rest go to its shared bins, and freeing next to the top of the heap then
//! consolidates them, on every call. With 64 per size the blocks of one request are reused by
//! the next: measured, a call across the boundary 2.2–3.0 → 1.8–1.9 µs, and 10–20% more
//! requests per second under load (BENCHMARKS.md). The cost is at most 64 blocks of each small
//! size cached per thread.
//!
//! glibc reads its tunables once, when the process starts, from `GLIBC_TUNABLES`: so the node
//! sets the variable and executes itself again ([`tuned_or_reexec`]), before any thread exists.
//! An operator's own `GLIBC_TUNABLES` setting for `tcache_count` is kept as it is.
//!
//! A plugin's code runs in the node's process, under these settings. A benchmark of a plugin's
//! code that should measure what the node will see calls [`tuned_or_reexec`] first in its
//! `main`, as the node does:
//!
//! ```no_run
//! // First thing in the benchmark's `main`, before criterion starts:
//! ferrobeam_device_api::allocator::tuned_or_reexec();
//! ```

use std::ffi::OsString;

/// The glibc tunable, and the value the node runs with.
///
/// ```
/// # use ferrobeam_device_api::allocator::TCACHE_COUNT;
/// assert_eq!(TCACHE_COUNT, "glibc.malloc.tcache_count=64");
/// ```
pub const TCACHE_COUNT: &str = "glibc.malloc.tcache_count=64";

const TUNABLES: &str = "GLIBC_TUNABLES";

/// `GLIBC_TUNABLES` with [`TCACHE_COUNT`] added, or `None` when it already sets `tcache_count`.
///
/// ```
/// # use ferrobeam_device_api::allocator::with_tcache_count;
/// assert_eq!(with_tcache_count(None).as_deref(), Some("glibc.malloc.tcache_count=64"));
/// assert_eq!(
///     with_tcache_count(Some("glibc.malloc.arena_max=2")).as_deref(),
///     Some("glibc.malloc.arena_max=2:glibc.malloc.tcache_count=64")
/// );
/// assert_eq!(with_tcache_count(Some("glibc.malloc.tcache_count=7")), None);
/// ```
pub fn with_tcache_count(current: Option<&str>) -> Option<String> {
    match current {
        Some(set) if set.contains("glibc.malloc.tcache_count=") => None,
        Some(set) if !set.is_empty() => Some(format!("{set}:{TCACHE_COUNT}")),
        _ => Some(TCACHE_COUNT.to_owned()),
    }
}

/// Executes this program again with [`TCACHE_COUNT`] in `GLIBC_TUNABLES` (same arguments,
/// same process ID), unless it is set already; returns only when it is (or when executing
/// failed, which is logged on standard error and otherwise harmless). Call it first thing in
/// `main`, before any thread is started.
///
/// ```no_run
/// ferrobeam_device_api::allocator::tuned_or_reexec();
/// // From here on, `GLIBC_TUNABLES` holds the setting and glibc has read it.
/// assert!(std::env::var("GLIBC_TUNABLES").unwrap().contains("tcache_count"));
/// ```
pub fn tuned_or_reexec() {
    let current = std::env::var_os(TUNABLES);
    let current = current.as_ref().map(|v| v.to_string_lossy());
    let Some(tunables) = with_tcache_count(current.as_deref()) else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let err = std::process::Command::new(exe)
            .args(args)
            .env(TUNABLES, tunables)
            .exec();
        eprintln!("ferrobeam: running with glibc's default allocator settings ({err})");
    }
    // Elsewhere there is no glibc to tune (and a device crate still builds there).
    #[cfg(not(unix))]
    let _ = (exe, args, tunables);
}

//! What the node's benches share: a plugins folder holding release builds of first-party plugins.
#![allow(dead_code)] // each bench takes what it needs

use std::path::PathBuf;

/// A fresh plugins folder holding copies of `libs` (file names) from the release target folder
/// the bench runs from. The libraries must be built first: `make bench` does.
pub fn plugins_dir(libs: &[&str]) -> PathBuf {
    // target/release/deps/<bench>-<hash> → target/release
    let exe = std::env::current_exe().expect("bench executable");
    let release = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf();
    let dir = std::env::temp_dir().join(format!(
        "ferrobeam-bench-{}-{}",
        exe.file_stem().and_then(|s| s.to_str()).unwrap_or("bench"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("bench plugins dir");
    for lib in libs {
        let from = release.join(lib);
        std::fs::copy(&from, dir.join(lib))
            .unwrap_or_else(|e| panic!("{}: {e} (run `make bench`)", from.display()));
    }
    dir
}

/// What `criterion_main!` does for `group`, run with the allocator settings the node runs with
/// (`ferrobeam::allocator`), so the calls measured are the node's.
pub fn run_as_the_node(group: fn()) {
    ferrobeam::allocator::tuned_or_reexec();
    group();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}

/// criterion's median estimate, in ns, of benchmark `id` (`group/function`), if this process
/// measured it (its estimate was written after `since`); for the `target:` lines.
pub fn median_ns(id: &str, since: std::time::SystemTime) -> Option<f64> {
    // target/release/deps/<bench>-<hash> → target
    let exe = std::env::current_exe().ok()?;
    let root = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| Some(exe.parent()?.parent()?.parent()?.join("criterion")))?;
    let file = root.join(id).join("new/estimates.json");
    if std::fs::metadata(&file).ok()?.modified().ok()? < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// `met` or `MISSED`, as the `target:` lines say it.
pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

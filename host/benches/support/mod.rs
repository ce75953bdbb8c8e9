//! What the node's benches share: a plugins folder holding release builds of first-party plugins.

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

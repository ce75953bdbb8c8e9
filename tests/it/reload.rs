//! Hot reload and the device author's path (issue: hot reload): devices change while the node
//! serves; failed loads leave the old generation serving and show in the status.

use ferrobeam_tests::http::KeepAlive;
use ferrobeam_tests::{
    eventually, ferrobeam_bin, library, run_ok, target_dir, NodeProcess, Scratch,
};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn node_with_mydev() -> NodeProcess {
    NodeProcess::start("")
}

fn status_of<'a>(devices: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &devices["devices"][name]
}

#[test]
fn a_truncated_library_keeps_the_old_generation_serving() {
    let node = node_with_mydev();
    let generation = status_of(&node.devices(), "mydev@1.0")["generation"].clone();
    let good = std::fs::read(library("mydev")).unwrap();
    // Cut inside the loadable segments (a third of a debug build can still load: its tail is
    // debug information).
    node.scratch
        .install_bytes("libmydev.so", &good[..64 * 1024]);
    let devices = eventually(WAIT, "the failed load in the status", || {
        let d = node.devices();
        status_of(&d, "mydev@1.0")["last-error"]
            .is_string()
            .then_some(d)
    });
    let entry = status_of(&devices, "mydev@1.0");
    assert!(
        entry["last-error"]
            .as_str()
            .unwrap()
            .contains("libmydev.so"),
        "{entry}"
    );
    assert_eq!(
        entry["generation"], generation,
        "old generation still recorded"
    );
    assert_eq!(node.info_version("mydev@1.0"), Ok("1.0".to_owned()));
    assert!(devices["failed-loads"].as_i64().unwrap() >= 1);
}

#[test]
fn a_wrong_abi_replacement_keeps_the_old_generation_serving() {
    let node = node_with_mydev();
    let wrong = std::fs::read(library("fixture-wrong-abi")).unwrap();
    node.scratch.install_bytes("libmydev.so", &wrong);
    let devices = eventually(WAIT, "the refusal in the status", || {
        let d = node.devices();
        status_of(&d, "mydev@1.0")["last-error"]
            .is_string()
            .then_some(d)
    });
    let error = status_of(&devices, "mydev@1.0")["last-error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("device ABI") && error.contains("rebuild"),
        "{error}"
    );
    assert_eq!(node.info_version("mydev@1.0"), Ok("1.0".to_owned()));
    assert!(node.log().contains("refusing"), "{}", node.log());
}

#[test]
fn a_panicking_init_on_reconfigure_keeps_the_old_generation() {
    let scratch = Scratch::with_first_party("init-reload", &["fixture-panicky"]);
    let node = NodeProcess::start_in(
        scratch,
        "[devices.\"panicky@1.0\".options]\npanic_in_init = false\n",
    );
    assert_eq!(node.get("/~panicky@1.0/ok").status, 200);
    node.scratch
        .write_config("[devices.\"panicky@1.0\".options]\npanic_in_init = true\n");
    let devices = eventually(WAIT, "the init failure in the status", || {
        let d = node.devices();
        status_of(&d, "panicky@1.0")["last-error"]
            .is_string()
            .then_some(d)
    });
    let error = status_of(&devices, "panicky@1.0")["last-error"]
        .as_str()
        .unwrap();
    assert!(error.contains("told to panic in init"), "{error}");
    assert_eq!(
        node.get("/~panicky@1.0/ok").status,
        200,
        "old generation serves"
    );
}

/// A reload that changes only options starts a new instance of the library already mapped (no
/// second copy in memory), requests see the new options, and the retired instance's devices are
/// dropped once nothing uses them — so a node reconfigured all day does not grow.
#[test]
fn changing_options_reuses_the_mapping_and_frees_the_old_instance() {
    let scratch = Scratch::with_first_party("options-reload", &["fixture-panicky"]);
    let options = |label: &str| format!("[devices.\"panicky@1.0\".options]\nlabel = \"{label}\"\n");
    let node = NodeProcess::start_in(scratch, &options("first"));
    assert_eq!(node.get("/~panicky@1.0/label").text(), "first");
    let copies = || {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", node.pid().unwrap())).unwrap();
        let mut files: Vec<&str> = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .filter(|f| f.contains("fixture_panicky"))
            .collect();
        files.sort();
        files.dedup();
        files.len()
    };
    assert_eq!(copies(), 1);
    for (i, label) in ["second", "third", "fourth"].iter().enumerate() {
        node.scratch.write_config(&options(label));
        eventually(WAIT, "the new options served", || {
            (node.get("/~panicky@1.0/label").text() == *label).then_some(())
        });
        let previous = if i == 0 {
            "first"
        } else {
            ["second", "third"][i - 1]
        };
        let dropped = format!("panicky@1.0 {previous} dropped");
        eventually(WAIT, "the retired instance dropped", || {
            node.log().contains(&dropped).then_some(())
        });
    }
    assert_eq!(copies(), 1, "options reloads map no new copy");
    // The retired instances shared the mapping's copy with the one serving: it is still there.
    let copy = mapped_copies(node.pid().unwrap(), "fixture_panicky");
    assert!(copy.iter().all(|f| f.exists()), "{copy:?}");
    assert!(
        !node.log().contains("fourth dropped"),
        "the current instance serves"
    );
}

#[test]
fn a_broken_devices_toml_changes_nothing_and_says_where() {
    let node = node_with_mydev();
    node.scratch
        .write_config("[node]\nport = 1\n\n[devices.\"mydev@1.0\"]\nenabeld = false\n");
    let devices = eventually(WAIT, "the config error in the status", || {
        let d = node.devices();
        d["config-error"].is_string().then_some(d)
    });
    let error = devices["config-error"].as_str().unwrap();
    assert!(error.contains("devices.toml:5"), "file and line: {error}");
    assert!(error.contains("enabeld"), "{error}");
    assert_eq!(node.info_version("mydev@1.0"), Ok("1.0".to_owned()));
}

/// The private copies (on disk, not `(deleted)`) that node `pid` maps for libraries whose
/// file name holds `stem`.
fn mapped_copies(pid: u32, stem: &str) -> Vec<std::path::PathBuf> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut files: Vec<std::path::PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|f| f.contains(stem))
        .map(std::path::PathBuf::from)
        .collect();
    files.sort();
    files.dedup();
    files
}

/// A profiler attached to the node names a device's functions only if the file the library
/// was mapped from is still there: the copy stays while the library serves, goes when a new
/// build replaces it, and the node's private folder goes when the node stops.
#[test]
fn a_serving_library_keeps_its_copy_until_it_is_retired() {
    let mut node = node_with_mydev();
    let pid = node.pid().unwrap();
    let first = mapped_copies(pid, "mydev");
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].exists(), "{} is gone", first[0].display());
    let private_dir = first[0].parent().unwrap().to_owned();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&private_dir)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o700,
        "{} is open to others",
        private_dir.display()
    );

    // Another build of the device: the same code with bytes after its end.
    let mut rebuilt = std::fs::read(library("mydev")).unwrap();
    rebuilt.extend_from_slice(b"another build");
    let generation = status_of(&node.devices(), "mydev@1.0")["generation"].clone();
    node.scratch.install_bytes("libmydev.so", &rebuilt);
    eventually(WAIT, "the new build serving and the old copy gone", || {
        let d = node.devices();
        (status_of(&d, "mydev@1.0")["generation"] != generation && !first[0].exists()).then_some(())
    });
    let now = mapped_copies(pid, "mydev");
    let current: Vec<_> = now.iter().filter(|f| f.exists()).collect();
    assert_eq!(current.len(), 1, "{now:?}");
    assert_ne!(current[0], &first[0]);
    assert_eq!(node.info_version("mydev@1.0"), Ok("1.0".to_owned()));

    node.signal("TERM");
    assert!(node.wait_exit(WAIT).is_some_and(|s| s.success()));
    assert!(
        !private_dir.exists(),
        "{} left behind",
        private_dir.display()
    );
}

/// A node that cannot make its private folder (here its temporary folder does not exist)
/// refuses every library with the reason, and still serves its own routes.
#[test]
fn without_a_private_folder_every_library_is_refused_with_the_reason() {
    let scratch = Scratch::new("no-private-dir");
    scratch.install("mydev");
    let missing = scratch.dir.join("no-such-tmp");
    let node = NodeProcess::start_with_env(
        scratch,
        "",
        &[],
        Some(&ferrobeam_tests::test_wallet(1)),
        &[("TMPDIR", &missing)],
    );
    // The status data is the node's own: it needs no device.
    let status = node.get("/status/data").json();
    let errors = status["library_errors"].to_string();
    assert!(
        errors.contains("libmydev.so") && errors.contains("no private folder"),
        "{status}"
    );
    assert_eq!(status["devices"], serde_json::json!([]));
    assert_eq!(node.get("/metrics").status, 200);
    assert!(!missing.exists(), "nothing made in its place");
}

#[test]
fn disabling_and_removing_devices_retires_them() {
    let node = node_with_mydev();
    node.scratch
        .write_config("[devices.\"mydev@1.0\"]\nenabled = false\n");
    eventually(WAIT, "mydev disabled", || {
        (node.info_version("mydev@1.0") == Err(404)).then_some(())
    });
    std::fs::remove_file(node.scratch.plugins().join("libferrobeam_meta.so")).unwrap();
    eventually(WAIT, "meta removed", || {
        (node.get("/~meta@1.0/info").status == 404).then_some(())
    });
}

#[test]
fn sighup_and_ferrobeam_reload_reload_when_not_watching() {
    let scratch = Scratch::new("sighup");
    for p in ["ferrobeam-codecs", "ferrobeam-message", "ferrobeam-meta"] {
        scratch.install(p);
    }
    let node = NodeProcess::start_with(scratch, "", &["--no-watch"]);
    node.scratch.install("mydev");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(node.info_version("mydev@1.0"), Err(404), "not watching");
    run_ok(
        Command::new(ferrobeam_bin())
            .arg("reload")
            .arg("--config")
            .arg(node.scratch.dir.join("devices.toml")),
    );
    eventually(WAIT, "mydev after `ferrobeam reload`", || {
        node.info_version("mydev@1.0").ok()
    });
}

/// The whole author's path, from nothing, under load: new-device, build-device, the node picks
/// the library up, a new version replaces it while requests keep flowing, and not one request
/// fails or sees anything but 1.0 then 2.0.
#[test]
fn new_device_build_and_reload_under_load_without_a_failed_request() {
    let node = node_with_mydev();
    let crate_dir = node.scratch.dir.join("hotdev");
    let config = node.scratch.dir.join("devices.toml");
    // Device builds share a target folder across test runs (and with the workspace's deps).
    let build_target = target_dir().join("../device-builds");
    let run = |args: &[&str]| {
        let out = Command::new(ferrobeam_bin())
            .args(args)
            .env("CARGO_TARGET_DIR", &build_target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ferrobeam {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let crate_arg = crate_dir.to_str().unwrap();
    let config_arg = config.to_str().unwrap();
    run(&["new-device", "hotdev", "--path", crate_arg]);
    run(&["build-device", crate_arg, "--config", config_arg]);
    let first = eventually(WAIT, "hotdev 1.0", || node.info_version("hotdev@1.0").ok());
    assert_eq!(first, "1.0");

    // Load: keep-alive clients hammering the device while it is replaced.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (addr, stop) = (node.addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = KeepAlive::connect(&addr);
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let r = conn.get("/~hotdev@1.0/info").expect("request failed");
                    let version = r.header("version").unwrap_or("").to_owned();
                    seen.push((started, started.elapsed(), r.status, version));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let lib = crate_dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        source.replace("\"version\", \"1.0\"", "\"version\", \"2.0\""),
    )
    .unwrap();
    run(&["build-device", crate_arg, "--config", config_arg]);
    let landed = Instant::now();
    eventually(WAIT, "hotdev 2.0", || {
        (node.info_version("hotdev@1.0").ok().as_deref() == Some("2.0")).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);

    let mut total = 0usize;
    let mut first_new: Option<Instant> = None;
    let mut steady = Vec::new();
    let mut during = Vec::new();
    let (mut begin, mut end) = (None::<Instant>, None::<Instant>);
    for client in clients {
        let seen = client.join().expect("load client panicked");
        let mut saw_new = false;
        for (at, latency, status, version) in &seen {
            assert_eq!(*status, 200, "a request failed during the reload");
            match version.as_str() {
                "1.0" => assert!(!saw_new, "1.0 answered after 2.0 on the same connection"),
                "2.0" => {
                    saw_new = true;
                    if first_new.is_none_or(|f| *at < f) {
                        first_new = Some(*at);
                    }
                }
                other => panic!("mixed answer: version {other:?}"),
            }
            if *at + Duration::from_millis(300) < landed {
                steady.push(*latency);
            } else {
                during.push(*latency);
            }
            begin = Some(begin.map_or(*at, |b: Instant| b.min(*at)));
            end = Some(end.map_or(*at, |e: Instant| e.max(*at)));
        }
        assert!(saw_new, "every client saw the new version");
        total += seen.len();
    }
    // Figures for BENCHMARKS.md (printed, never asserted: timing is not a test).
    let secs = match (begin, end) {
        (Some(b), Some(e)) => e.duration_since(b).as_secs_f64(),
        _ => 0.0,
    };
    let p99 = |v: &mut Vec<Duration>| {
        v.sort();
        v.get(v.len().saturating_sub(1).min(v.len() * 99 / 100))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "hot reload under load: {total} requests in {secs:.2} s ({:.0} req/s), 0 failed; \
         build-device returned → first 2.0 answer: {:?}; p99 steady {:?}, p99 around the swap {:?}",
        total as f64 / secs.max(0.001),
        first_new.map(|f| f.saturating_duration_since(landed)),
        p99(&mut steady),
        p99(&mut during),
    );
}

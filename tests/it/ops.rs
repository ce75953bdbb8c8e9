//! Operations (issue 11): `/metrics` moving after requests, a reload and a panic; the status
//! data; JSON logs carrying device names and generations; `ferrobeam config check`; `[node]`
//! flags; graceful shutdown with a request in flight and the store flushed.

use ferrobeam_tests::{eventually, ferrobeam_bin, run_ok, NodeProcess, Scratch};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn node_with_panicky(config: &str, args: &[&str]) -> NodeProcess {
    let scratch = Scratch::with_first_party("ops", &["fixture-panicky"]);
    NodeProcess::start_with(scratch, config, args)
}

/// The value of the sample `series` (`name{labels}` exactly as exposed), 0 when absent.
pub(crate) fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().ok())?
        })
        .unwrap_or(0.0)
}

pub(crate) fn scrape(node: &NodeProcess) -> String {
    let r = node.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.header("content-type")
    );
    r.text()
}

#[test]
fn metrics_move_after_requests_a_reload_and_a_panic() {
    let node = node_with_panicky("[devices.\"panicky@1.0\".options]\nround = 1\n", &[]);
    let before = scrape(&node);
    let ok = "ferrobeam_http_requests_total{device=\"panicky@1.0\",method=\"GET\",status=\"200\"}";
    let failed =
        "ferrobeam_http_requests_total{device=\"panicky@1.0\",method=\"GET\",status=\"500\"}";
    let panics = "ferrobeam_device_panics_total{device=\"panicky@1.0\"}";
    let calls = "ferrobeam_device_calls_total{device=\"panicky@1.0\",key=\"ok\",outcome=\"ok\"}";
    let latency =
        "ferrobeam_http_request_duration_seconds_count{device=\"panicky@1.0\",method=\"GET\"}";
    for _ in 0..3 {
        assert_eq!(node.get("/~panicky@1.0/ok").status, 200);
    }
    assert_eq!(node.get("/~panicky@1.0/boom").status, 500);
    assert_eq!(node.get("/~panicky@1.0/ok").status, 200, "still serving");
    let after = scrape(&node);
    assert_eq!(sample(&after, ok) - sample(&before, ok), 4.0, "{after}");
    assert_eq!(sample(&after, failed) - sample(&before, failed), 1.0);
    assert_eq!(sample(&after, panics) - sample(&before, panics), 1.0);
    assert_eq!(sample(&after, calls) - sample(&before, calls), 4.0);
    assert_eq!(sample(&after, latency) - sample(&before, latency), 5.0);
    assert!(
        after.contains("ferrobeam_device_call_duration_seconds_bucket{device=\"panicky@1.0\",key=\"ok\",le=\"+Inf\"}"),
        "latency histogram per device and key"
    );
    assert!(sample(&after, "ferrobeam_store_size_bytes") > 0.0);

    // A reload: new options for panicky@1.0 make a new generation (the watcher sees the file).
    let generation = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("ferrobeam_device_generation{device=\"panicky@1.0\""))
            .and_then(|l| l.rsplit_once(' '))
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap()
    };
    let first = generation(&after);
    node.scratch
        .write_config("[devices.\"panicky@1.0\".options]\nround = 2\n");
    let reloaded = eventually(WAIT, "a reload in /metrics", || {
        let m = scrape(&node);
        (sample(&m, "ferrobeam_reloads_total{result=\"ok\"}") >= 1.0).then_some(m)
    });
    assert!(generation(&reloaded) > first, "{reloaded}");
    assert!(
        sample(&reloaded, "ferrobeam_retired_generations_total")
            > sample(&after, "ferrobeam_retired_generations_total")
    );
    assert!(
        sample(&reloaded, "ferrobeam_library_loads_total{result=\"ok\"}")
            > sample(&after, "ferrobeam_library_loads_total{result=\"ok\"}")
    );

    // A refused library counts as a failed load.
    node.scratch
        .write_config("[devices.\"panicky@1.0\".options]\npanic_in_init = true\n");
    eventually(WAIT, "a failed reload in /metrics", || {
        let m = scrape(&node);
        (sample(&m, "ferrobeam_reloads_total{result=\"failed\"}") >= 1.0
            && sample(&m, "ferrobeam_library_loads_total{result=\"failed\"}") >= 1.0)
            .then_some(())
    });
}

#[test]
fn plugins_count_their_own_events_and_bad_names_are_400() {
    let node = node_with_panicky("", &[]);
    for _ in 0..2 {
        let r = node.get("/~panicky@1.0/count?name=budget_exhausted");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let m = scrape(&node);
    assert_eq!(
        sample(
            &m,
            "ferrobeam_device_budget_exhausted_total{device=\"panicky@1.0\",kind=\"test\"}"
        ),
        2.0,
        "{m}"
    );
    assert_eq!(node.get("/~panicky@1.0/count?name=Not-A-Name").status, 400);
}

#[test]
fn the_status_data_lists_devices_with_generation_hash_and_abi() {
    let node = node_with_panicky("", &[]);
    let r = node.get("/status/data");
    assert_eq!(r.status, 200);
    let data = r.json();
    let devices = data["devices"].as_array().unwrap();
    let panicky = devices
        .iter()
        .find(|d| d["name"] == "panicky@1.0")
        .expect("panicky@1.0 listed");
    assert!(panicky["generation"].as_u64().unwrap() > 0);
    assert_eq!(panicky["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(panicky["abi"], ferrobeam_device_api::abi::ABI_VERSION);
    assert_eq!(panicky["loaded"], true);
    assert!(data["processes"].is_array());
    let page = node.get("/status");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    // The SVG namespace is a name, not a resource; nothing else may point off the node.
    let text = page.text().replace("\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
        "the page loads nothing from the network"
    );
}

#[test]
fn json_logs_carry_the_device_name_and_generation() {
    let node = node_with_panicky("", &["--log-format", "json", "--log-level", "info"]);
    assert_eq!(
        node.get("/~panicky@1.0/log?text=hello-from-panicky").status,
        200
    );
    let line = eventually(WAIT, "the device's log line", || {
        node.log()
            .lines()
            .find(|l| l.contains("hello-from-panicky"))
            .map(str::to_owned)
    });
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(v["target"], "device", "{line}");
    assert_eq!(v["fields"]["device"], "panicky@1.0", "{line}");
    assert!(v["fields"]["generation"].as_u64().unwrap() > 0, "{line}");
    assert_eq!(v["level"], "INFO");
    for l in node.log().lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
    }
}

#[test]
fn config_check_prints_every_error_with_its_line_and_fails() {
    let scratch = Scratch::new("check");
    let path = scratch.write_config(
        "[node]\nport = \"eighty\"\nmax_concurent_calls = 4\n\n[devices.\"mydev@1.0\"]\nlibary = \"x.so\"\n",
    );
    let out = Command::new(ferrobeam_bin())
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let p = path.display();
    assert!(stderr.contains(&format!("{p}:2: port:")), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{p}:3: unknown [node] setting `max_concurent_calls`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{p}:6: device `mydev@1.0`: unknown key `libary`")),
        "{stderr}"
    );
    assert!(stderr.contains("3 errors"), "{stderr}");

    let good = scratch.write_config("[node]\nport = 9000\n");
    run_ok(
        Command::new(ferrobeam_bin())
            .args(["config", "check", "--config"])
            .arg(&good),
    );
    // The environment is checked too, named as the origin.
    let out = Command::new(ferrobeam_bin())
        .args(["config", "check", "--config"])
        .arg(&good)
        .env("FERROBEAM_MAX_BODY_BYTES", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FERROBEAM_MAX_BODY_BYTES"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_set_flag_beats_the_file() {
    let node = node_with_panicky(
        "[node]\nmax_body_bytes = 10\n",
        &["--set", "max_body_bytes=64"],
    );
    let body = [b'x'; 32];
    let r = node.request("POST", "/~panicky@1.0/ok", &[], &body);
    assert_ne!(
        r.status, 413,
        "the flag's 64 bytes apply, not the file's 10"
    );
    let r = node.request("POST", "/~panicky@1.0/ok", &[], &[b'x'; 100]);
    assert_eq!(r.status, 413);
}

#[test]
fn sigterm_finishes_the_request_in_flight_flushes_and_exits_zero() {
    let data = Scratch::new("shutdown-data");
    let data_dir = data.dir.join("store");
    let data_arg = data_dir.display().to_string();
    let mut node = node_with_panicky("", &["--data-dir", &data_arg]);
    let addr = node.addr.clone();
    let slow = std::thread::spawn(move || {
        ferrobeam_tests::http::request(
            &addr,
            "GET",
            "/~panicky@1.0/slow?ms=1500&key=k&value=written-in-flight",
            &[],
            b"",
        )
    });
    // Wait until the request is being served, then ask the node to stop.
    eventually(WAIT, "the slow request in flight", || {
        let m = scrape(&node);
        (sample(&m, "ferrobeam_http_requests_in_flight") >= 2.0).then_some(())
    });
    node.signal("TERM");
    let answer = slow.join().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let status = node.wait_exit(WAIT).expect("the node exits");
    assert_eq!(status.code(), Some(0), "{}", node.log());
    assert!(node.log().contains("store flushed"), "{}", node.log());

    // A new node on the same store sees the write acknowledged during the shutdown.
    let again = node_with_panicky("", &["--data-dir", &data_arg]);
    let r = again.get("/~panicky@1.0/recall?key=k");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("written-in-flight"), "{}", r.text());
}

#[test]
fn a_request_past_the_shutdown_timeout_does_not_hold_the_node() {
    let mut node = node_with_panicky("", &["--set", "shutdown_timeout_secs=1"]);
    let addr = node.addr.clone();
    let _slow = std::thread::spawn(move || {
        ferrobeam_tests::http::request(&addr, "GET", "/~panicky@1.0/slow?ms=8000", &[], b"")
    });
    eventually(WAIT, "the slow request in flight", || {
        let m = scrape(&node);
        (sample(&m, "ferrobeam_http_requests_in_flight") >= 2.0).then_some(())
    });
    let started = std::time::Instant::now();
    node.signal("TERM");
    let status = node
        .wait_exit(Duration::from_secs(6))
        .expect("exits before the request ends");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_eq!(status.code(), Some(0), "{}", node.log());
    assert!(node.log().contains("stopping anyway"), "{}", node.log());
}

#[test]
fn schedules_and_computes_are_counted_per_process_class_and_processes_show_their_slots() {
    use crate::process_client::{start, Client};
    use ferrobeam_device_api::Value;
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    for n in 1..=2 {
        client.schedule(&node, &pid, &[("n", Value::from(n))]);
    }
    let r = node.get(&format!("/{pid}~process@1.0/now/count"));
    assert_eq!(r.status, 200, "{}", r.text());
    let m = scrape(&node);
    let now = "ferrobeam_process_calls_total{class=\"test-device@1.0\",device=\"process@1.0\",method=\"now\",outcome=\"ok\"}";
    assert_eq!(sample(&m, now), 1.0, "{m}");
    assert!(
        m.lines()
            .any(|l| l.starts_with("ferrobeam_process_calls_total{")
                && l.contains("method=\"schedule\"")),
        "{m}"
    );
    assert!(m.contains(
        "ferrobeam_process_call_duration_seconds_count{class=\"test-device@1.0\",device=\"process@1.0\",method=\"now\"} 1"
    ), "{m}");
    // The execution device's own calls are counted as device calls.
    assert!(
        sample(
            &m,
            "ferrobeam_device_calls_total{device=\"test-device@1.0\",key=\"compute\",outcome=\"ok\"}"
        ) >= 2.0,
        "{m}"
    );

    let data = node.get("/status/data").json();
    let listed = data["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pid.as_str())
        .unwrap_or_else(|| panic!("{pid} listed: {data}"));
    assert_eq!(listed["slots"], 3, "slot 0 (the spawn) and two messages");
}

/// The caches and the node's signing show in `/metrics`: a new request costs a fresh
/// signature, the same request again is answered from the caches with none.
#[test]
fn caches_and_signing_are_counted() {
    let node = NodeProcess::start("");
    let post = |nonce: &str| {
        let r = ferrobeam_tests::http::request(
            &node.addr,
            "POST",
            "/~mydev@1.0/info",
            &[("nonce", nonce)],
            b"",
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    let signatures = "ferrobeam_signatures_total";
    let lookups = |cache: &str, result: &str| {
        format!("ferrobeam_cache_lookups_total{{cache=\"{cache}\",result=\"{result}\"}}")
    };
    let before = scrape(&node);
    post("first");
    let first = scrape(&node);
    assert_eq!(
        sample(&first, signatures) - sample(&before, signatures),
        1.0,
        "{first}"
    );
    let miss = lookups("request", "miss");
    assert_eq!(sample(&first, &miss) - sample(&before, &miss), 1.0);

    post("first");
    post("first");
    let again = scrape(&node);
    assert_eq!(
        sample(&again, signatures),
        sample(&first, signatures),
        "no new signature"
    );
    for cache in ["request", "response"] {
        let hit = lookups(cache, "hit");
        assert_eq!(
            sample(&again, &hit) - sample(&first, &hit),
            2.0,
            "{cache}: {again}"
        );
    }

    post("second");
    let last = scrape(&node);
    assert_eq!(sample(&last, signatures) - sample(&again, signatures), 1.0);
    assert!(
        sample(&last, "ferrobeam_signing_seconds_total") > 0.0,
        "{last}"
    );
    let status = node.get("/status/data").json();
    assert_eq!(
        status["signing"]["signatures"].as_f64(),
        Some(sample(&last, signatures)),
        "{status}"
    );
    for cache in ["request", "response", "id", "signature"] {
        let entries = sample(
            &last,
            &format!("ferrobeam_cache_entries{{cache=\"{cache}\"}}"),
        );
        let bytes = sample(
            &last,
            &format!("ferrobeam_cache_bytes{{cache=\"{cache}\"}}"),
        );
        assert!(
            entries >= 1.0 && bytes > entries,
            "{cache}: {entries} entries, {bytes} bytes"
        );
    }
}

#[test]
fn the_node_routes_work_without_any_device() {
    let node = NodeProcess::start_in(Scratch::new("bare"), "");
    assert_eq!(node.get("/~meta@1.0/info").status, 503, "no codec devices");
    let m = scrape(&node);
    assert!(m.contains("ferrobeam_uptime_seconds"), "{m}");
    let data = node.get("/status/data").json();
    assert_eq!(data["devices"], serde_json::json!([]));
    assert_eq!(data["processes_error"], "scheduler@1.0 is not loaded");
    assert_eq!(node.get("/status").status, 200);
    assert_eq!(
        sample(
            &m,
            "ferrobeam_http_requests_total{device=\"other\",method=\"GET\",status=\"503\"}"
        ),
        1.0,
        "an unknown device is `other`: {m}"
    );
}

/// `ferrobeam serve` runs with its allocator settings (`ferrobeam::allocator`): it executes
/// itself again with them, keeping its process ID, so the node the tests talk to has them.
#[test]
fn the_node_runs_with_its_allocator_settings() {
    let node = NodeProcess::start("");
    assert_eq!(node.get("/~meta@1.0/info").status, 200);
    let pid = node.pid().expect("the node's process ID");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let tunables = environ
        .split(|b| *b == 0)
        .find_map(|v| v.strip_prefix(b"GLIBC_TUNABLES="))
        .map(|v| String::from_utf8_lossy(v).into_owned());
    assert!(
        tunables
            .as_deref()
            .is_some_and(|t| t.contains("glibc.malloc.tcache_count=")),
        "the node runs with glibc's defaults: {tunables:?}"
    );
}

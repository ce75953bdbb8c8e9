//! Crash safety beyond scheduling (`process_crash.rs`): a node killed with SIGKILL in the middle
//! of hot reloads of the process library, and in the middle of writing computed states, loses
//! no acknowledged slot, opens its store again, and computes the same state as a recomputation
//! from the schedule alone.

use crate::process_client::{Client, CONFIG};
use crate::process_crash::{assert_acknowledged, assert_recomputes_equal, now, start_on, Writers};
use ferrobeam_device_api::Value;
use ferrobeam_tests::{eventually, NodeProcess};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How many times the process library was loaded so far.
fn process_generation(node: &NodeProcess) -> u64 {
    node.devices()["devices"]["process@1.0"]["generation"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_kill_9_during_hot_reloads_loses_no_acknowledged_slot() {
    let mut node = NodeProcess::start(CONFIG);
    let data = node.scratch.dir.join("data");
    let config = node.scratch.dir.join("devices.toml");
    let pid = Client::new(2).spawn(&node, &[]);
    let first_generation = process_generation(&node);

    let writers = Writers::start(&node.addr, &pid, 3);
    // Reload the process library over and over by changing one of its options.
    let stop = Arc::new(AtomicBool::new(false));
    let reloads = Arc::new(AtomicUsize::new(0));
    let reloader = {
        let (config, stop, reloads) = (config.clone(), stop.clone(), reloads.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let text = format!(
                    "{CONFIG}\n[devices.\"process@1.0\".options]\nmemory_states = {}\n",
                    1000 + n % 2
                );
                let tmp = config.with_extension("toml.tmp");
                std::fs::write(&tmp, text).unwrap();
                std::fs::rename(&tmp, &config).unwrap();
                reloads.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(150));
            }
        })
    };
    writers.wait_for(20);
    eventually(
        Duration::from_secs(60),
        "two reloads of the process library",
        || (process_generation(&node) >= first_generation + 2).then_some(()),
    );
    writers.wait_for(50);
    node.kill_hard();
    stop.store(true, Ordering::SeqCst);
    reloader.join().unwrap();
    let acknowledged = writers.finish();
    assert!(reloads.load(Ordering::SeqCst) >= 2);

    let again = start_on(&data);
    let last = assert_acknowledged(&again, &pid, &acknowledged);
    let next = Client::new(2).schedule(&again, &pid, &[("n", Value::from("after"))]);
    assert_eq!(next, last + 1);
    let state = now(&again, &pid);
    assert_eq!(state["count"], next, "every message counted once");
    assert_recomputes_equal(again, &data, &pid, &state);
}

#[test]
fn a_kill_9_while_states_are_written_recomputes_to_the_same_state() {
    let mut node = NodeProcess::start(CONFIG);
    let data = node.scratch.dir.join("data");
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let writers = Writers::start(&node.addr, &pid, 4);
    writers.wait_for(300);
    let acknowledged = writers.finish();
    // Computing 300+ slots writes a state per slot (and the executor's snapshot at the end):
    // kill the node while it does.
    let computing = {
        let addr = node.addr.clone();
        let pid = pid.clone();
        std::thread::spawn(move || {
            let _ = ferrobeam_tests::http::request(
                &addr,
                "GET",
                &format!("/{pid}~process@1.0/now/count"),
                &[],
                b"",
            );
        })
    };
    std::thread::sleep(Duration::from_millis(150));
    node.kill_hard();
    let _ = computing.join();

    let again = start_on(&data);
    let last = assert_acknowledged(&again, &pid, &acknowledged);
    let state = now(&again, &pid);
    assert_eq!(state["at-slot"], last);
    assert_eq!(state["count"], last, "every message counted once");
    assert_recomputes_equal(again, &data, &pid, &state);
}

//! Durability under a crash: clients schedule messages to one process while the node is killed
//! with SIGKILL; restarted on the same store, every slot a client was told about holds the
//! message it was told about, the schedule has no gap, and the computed state equals a
//! recomputation from nothing but the schedule.

use crate::process_client::{Client, CONFIG};
use ferrobeam::store::{EmbeddedStore, Store, Transaction};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::IdMode;
use ferrobeam_tests::signatures::sign_request;
use ferrobeam_tests::{NodeProcess, Scratch, FIRST_PARTY};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A node on an existing data folder.
fn start_on(data: &Path) -> NodeProcess {
    let scratch = Scratch::new("crash");
    for p in FIRST_PARTY {
        scratch.install(p);
    }
    let data = data.to_string_lossy().into_owned();
    NodeProcess::start_with(scratch, CONFIG, &["--data-dir", &data])
}

/// One request that may fail (the node dies under it): the status and the `slot` header.
fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<(u16, Option<u64>)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: crash\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, _) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let slot = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("slot"))
        .and_then(|(_, v)| v.trim().parse().ok());
    Some((status, slot))
}

/// Slot → message ID of a process's whole schedule, from the legacy view (pages of 1000).
fn schedule_ids(node: &NodeProcess, pid: &str) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    let mut from = 0;
    loop {
        let r = node.get(&format!(
            "/~scheduler@1.0/schedule?target={pid}&from={from}&accept=application/aos-2"
        ));
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        for edge in page["edges"].as_array().unwrap() {
            let slot = edge["cursor"].as_u64().unwrap();
            out.insert(
                slot,
                edge["node"]["message"]["Id"].as_str().unwrap().to_owned(),
            );
            from = slot + 1;
        }
        if page["page_info"]["has_next_page"] != true {
            return out;
        }
    }
}

/// The process's state after every assigned slot, as JSON.
fn now(node: &NodeProcess, pid: &str) -> serde_json::Value {
    let r = node.get(&format!("/{pid}~process@1.0/now/~json@1.0/serialize"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Copies a data folder (the node using it is dead).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Deletes every cached state of `pid` from the store in `data`, leaving the schedule.
fn wipe_states(data: &Path, pid: &str) {
    let path: PathBuf = data.join("ferrobeam.redb");
    let store = EmbeddedStore::open(&path).unwrap();
    let mut keys = Vec::new();
    let prefix = format!("process/{pid}/state");
    let mut after: Option<String> = None;
    loop {
        let page = store.list(&prefix, after.as_deref(), 1000).unwrap();
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        keys.extend(page.into_iter().map(|(k, _)| k));
    }
    assert!(!keys.is_empty(), "the crashed node had cached states");
    store
        .transact(Transaction {
            checks: Vec::new(),
            writes: keys.into_iter().map(|k| (k, None)).collect(),
            durable: true,
        })
        .unwrap();
    drop(store);
    // The store's writer thread releases the file as it ends.
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn after_a_kill_9_every_acknowledged_slot_survives_and_state_recomputes_equal() {
    let mut first = NodeProcess::start(CONFIG);
    let data = first.scratch.dir.join("data");
    let pid = Client::new(2).spawn(&first, &[]);

    let acknowledged: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let total = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (addr, pid) = (first.addr.clone(), pid.clone());
            let (acknowledged, total, stop) = (acknowledged.clone(), total.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = Client::new(1 + t % 2);
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let m = client.message(&pid, &[("n", Value::from(format!("{t}-{i}")))]);
                    let id = ferrobeam_httpsig::id(&m, IdMode::All).unwrap();
                    let path = format!("/{pid}/schedule");
                    let outer = Message::new().with("path", path.as_str()).with("body", m);
                    let (headers, body) = sign_request(&client.wallet, &outer);
                    match try_request(&addr, "POST", &path, &headers, &body) {
                        Some((200, Some(slot))) => {
                            acknowledged.lock().unwrap().push((slot, id));
                            total.fetch_add(1, Ordering::SeqCst);
                        }
                        // The node died under the request: the client was told nothing.
                        _ => return,
                    }
                }
            })
        })
        .collect();
    // A reader keeps computing, so the crash also cuts through cached states.
    let reader = {
        let (addr, pid, stop) = (first.addr.clone(), pid.clone(), stop.clone());
        std::thread::spawn(move || {
            let path = format!("/{pid}~process@1.0/now/count");
            while !stop.load(Ordering::SeqCst) {
                if try_request(&addr, "GET", &path, &[], b"").is_none() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while total.load(Ordering::SeqCst) < 60 {
        assert!(Instant::now() < deadline, "the clients stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill_hard();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let _ = reader.join();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 60);

    // Restarted on the same store: every acknowledged slot holds its message, no gaps.
    let second = start_on(&data);
    let ids = schedule_ids(&second, &pid);
    let last = *ids.keys().last().unwrap();
    assert_eq!(
        ids.keys().copied().collect::<Vec<_>>(),
        (0..=last).collect::<Vec<_>>(),
        "gap-free"
    );
    for (slot, id) in &acknowledged {
        assert_eq!(
            ids.get(slot),
            Some(id),
            "slot {slot} was acknowledged with message {id}"
        );
    }
    // Scheduling goes on from the recovered head.
    let next = Client::new(2).schedule(&second, &pid, &[("n", Value::from("after"))]);
    assert_eq!(next, last + 1);
    let state = now(&second, &pid);
    assert_eq!(state["at-slot"], next);
    assert_eq!(state["count"], next, "every message counted once");

    // A recomputation from the schedule alone (every cached state deleted) agrees.
    let mut second = second;
    second.kill_hard();
    let copy = second.scratch.dir.join("recompute");
    copy_dir(&data, &copy);
    wipe_states(&copy, &pid);
    let third = start_on(&copy);
    assert_eq!(now(&third, &pid), state);
}

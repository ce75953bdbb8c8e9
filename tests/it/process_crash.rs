//! Durability under a crash: clients schedule messages to one process while the node is killed
//! with SIGKILL; restarted on the same store, every slot a client was told about holds the
//! message it was told about, the schedule has no gap, and the computed state equals a
//! recomputation from nothing but the schedule.

use crate::process_client::{Client, CONFIG};
use ferrobeam::store::{EmbeddedStore, Store, Transaction};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::IdMode;
use ferrobeam_tests::http::try_request;
use ferrobeam_tests::signatures::sign_request;
use ferrobeam_tests::{NodeProcess, Scratch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A node on an existing data folder.
pub(crate) fn start_on(data: &Path) -> NodeProcess {
    let scratch = Scratch::with_first_party("crash", &[]);
    let data = data.to_string_lossy().into_owned();
    NodeProcess::start_with(scratch, CONFIG, &["--data-dir", &data])
}

/// Slot → edge (`{cursor, node: {message, assignment}}`) of a process's whole schedule, from
/// the legacy view (pages of 1000).
pub(crate) fn schedule_edges(node: &NodeProcess, pid: &str) -> BTreeMap<u64, serde_json::Value> {
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
            out.insert(slot, edge.clone());
            from = slot + 1;
        }
        if page["page_info"]["has_next_page"] != true {
            return out;
        }
    }
}

/// Slot → message ID of a process's whole schedule.
pub(crate) fn schedule_ids(node: &NodeProcess, pid: &str) -> BTreeMap<u64, String> {
    schedule_edges(node, pid)
        .into_iter()
        .map(|(slot, edge)| {
            let id = edge["node"]["message"]["Id"].as_str().unwrap().to_owned();
            (slot, id)
        })
        .collect()
}

/// The process's state after every assigned slot, as JSON.
pub(crate) fn now(node: &NodeProcess, pid: &str) -> serde_json::Value {
    let r = node.get(&format!("/{pid}~process@1.0/now/~json@1.0/serialize"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Copies a data folder (the node using it is dead).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Deletes every cached state of `pid` from the store in `data`, leaving the schedule; how many
/// there were (states are written without a sync, so a killed node may have lost them all).
pub(crate) fn wipe_states(data: &Path, pid: &str) -> usize {
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
    let count = keys.len();
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
    count
}

#[test]
fn after_a_kill_9_every_acknowledged_slot_survives_and_state_recomputes_equal() {
    let mut first = NodeProcess::start(CONFIG);
    let data = first.scratch.dir.join("data");
    let pid = Client::new(2).spawn(&first, &[]);

    let writers = Writers::start(&first.addr, &pid, 4);
    // A reader keeps computing, so the crash also cuts through cached states.
    let reader = {
        let (addr, pid, stop) = (first.addr.clone(), pid.clone(), writers.stop.clone());
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
    writers.wait_for(60);
    first.kill_hard();
    let acknowledged = writers.finish();
    let _ = reader.join();
    assert!(acknowledged.len() >= 60);

    // Restarted on the same store: every acknowledged slot holds its message, no gaps.
    let second = start_on(&data);
    let last = assert_acknowledged(&second, &pid, &acknowledged);
    // Scheduling goes on from the recovered head.
    let next = Client::new(2).schedule(&second, &pid, &[("n", Value::from("after"))]);
    assert_eq!(next, last + 1);
    let state = now(&second, &pid);
    assert_eq!(state["at-slot"], next);
    assert_eq!(state["count"], next, "every message counted once");

    // A recomputation from the schedule alone (every cached state deleted) agrees.
    assert_recomputes_equal(second, &data, &pid, &state);
}

/// Clients scheduling signed messages to one process until told to stop or the node dies,
/// remembering every slot they were told about.
pub(crate) struct Writers {
    acknowledged: Arc<Mutex<Vec<(u64, String)>>>,
    total: Arc<AtomicUsize>,
    pub(crate) stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    pub(crate) fn start(addr: &str, pid: &str, n: usize) -> Writers {
        let acknowledged: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
        let total = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|t| {
                let (addr, pid) = (addr.to_owned(), pid.to_owned());
                let (acknowledged, total, stop) =
                    (acknowledged.clone(), total.clone(), stop.clone());
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
                            Some((200, Some(slot), _)) => {
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
        Writers {
            acknowledged,
            total,
            stop,
            threads,
        }
    }

    /// Waits until `n` messages were acknowledged.
    pub(crate) fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.total.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the clients stalled");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the clients (the node was killed); every acknowledged `(slot, message ID)`.
    pub(crate) fn finish(self) -> Vec<(u64, String)> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().unwrap();
        }
        let out = self.acknowledged.lock().unwrap().clone();
        out
    }
}

/// Every acknowledged slot holds its message and the schedule has no gap; the last slot.
pub(crate) fn assert_acknowledged(
    node: &NodeProcess,
    pid: &str,
    acknowledged: &[(u64, String)],
) -> u64 {
    let ids = schedule_ids(node, pid);
    let last = *ids.keys().last().unwrap();
    assert_eq!(
        ids.keys().copied().collect::<Vec<_>>(),
        (0..=last).collect::<Vec<_>>(),
        "gap-free"
    );
    for (slot, id) in acknowledged {
        assert_eq!(
            ids.get(slot),
            Some(id),
            "slot {slot} was acknowledged with message {id}"
        );
    }
    last
}

/// Kills `node`, deletes every cached state of `pid` from a copy of its store, and checks that
/// a node on the copy recomputes `state` from the schedule alone.
pub(crate) fn assert_recomputes_equal(
    mut node: NodeProcess,
    data: &Path,
    pid: &str,
    state: &serde_json::Value,
) {
    node.kill_hard();
    let copy = node.scratch.dir.join("recompute");
    copy_dir(data, &copy);
    let _ = wipe_states(&copy, pid);
    let again = start_on(&copy);
    assert_eq!(&now(&again, pid), state);
}

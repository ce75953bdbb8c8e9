//! Several nodes on one PostgreSQL (`docs/operations.md`, "Several nodes on one PostgreSQL"):
//! three nodes share a real server; clients schedule to one process through all three at once
//! while one node is killed with SIGKILL; every acknowledged slot survives, the schedule is one
//! gap-free hash chain, and every node serves the same state. And a node whose server goes
//! away answers 503 with the reason, keeps serving what needs no store, and recovers.

use crate::process_client::{Client, CONFIG};
use crate::process_crash::{now, schedule_edges};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::IdMode;
use ferrobeam_tests::http::try_request;
use ferrobeam_tests::pg::PgServer;
use ferrobeam_tests::signatures::sign_request;
use ferrobeam_tests::{NodeProcess, Scratch};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A node on the PostgreSQL store at `url` (its wallet: test wallet 1, the scheduler identity
/// every node shares).
fn start_node(url: &str) -> NodeProcess {
    let scratch = Scratch::with_first_party("pg-node", &[]);
    NodeProcess::start_with(scratch, CONFIG, &["--store", url])
}

/// A signed `schedule` request for `m` to `pid`: (path, headers, body).
fn schedule_request(
    client: &Client,
    pid: &str,
    m: &Message,
) -> (String, Vec<(String, String)>, Vec<u8>) {
    let path = format!("/{pid}/schedule");
    let outer = Message::new()
        .with("path", path.as_str())
        .with("body", m.clone());
    let (headers, body) = sign_request(&client.wallet, &outer);
    (path, headers, body)
}

/// Slot → (message ID, hash chain) of a process's whole schedule as `node` serves it.
fn schedule(node: &NodeProcess, pid: &str) -> BTreeMap<u64, (String, String)> {
    schedule_edges(node, pid)
        .into_iter()
        .map(|(slot, edge)| {
            let chain = edge["node"]["assignment"]["Tags"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == "Hash-Chain")
                .and_then(|t| t["value"].as_str())
                .unwrap_or_else(|| panic!("slot {slot} has no Hash-Chain tag: {edge}"))
                .to_owned();
            let id = edge["node"]["message"]["Id"].as_str().unwrap().to_owned();
            (slot, (id, chain))
        })
        .collect()
}

/// Checks the schedule is gap-free from slot 0 and one hash chain: each link is SHA-256 of the
/// link before and the slot's message ID.
fn assert_one_chain(schedule: &BTreeMap<u64, (String, String)>) {
    use base64::Engine as _;
    let last = *schedule.keys().last().unwrap();
    assert_eq!(
        schedule.keys().copied().collect::<Vec<_>>(),
        (0..=last).collect::<Vec<_>>(),
        "gap-free"
    );
    let mut previous: Option<Vec<u8>> = None;
    for (slot, (id, chain)) in schedule {
        let mut h = Sha256::new();
        if let Some(p) = &previous {
            h.update(p);
        }
        h.update(id.as_bytes());
        let link = h.finalize().to_vec();
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&link),
            *chain,
            "slot {slot}: the hash chain breaks"
        );
        previous = Some(link);
    }
}

const PER_NODE: usize = 500;
const THREADS_PER_NODE: usize = 4;
/// Acknowledged messages after which one node is killed.
const KILL_AFTER: usize = 400;

#[test]
fn three_nodes_on_one_postgres_schedule_one_gap_free_chain_and_serve_one_state() {
    let Some(pg) = PgServer::start("three_nodes_on_one_postgres") else {
        return;
    };
    let url = pg.url();
    let mut nodes: Vec<NodeProcess> = (0..3).map(|_| start_node(&url)).collect();
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    let pid = Client::new(2).spawn(&nodes[0], &[]);

    // message ID → (slot, the node that acknowledged it).
    let acked: Arc<Mutex<BTreeMap<String, (u64, usize)>>> = Arc::default();
    let total = Arc::new(AtomicUsize::new(0));
    let refusals = Arc::new(AtomicUsize::new(0));
    let per_thread = PER_NODE / THREADS_PER_NODE;
    let started = Instant::now();
    let writers: Vec<_> = (0..3 * THREADS_PER_NODE)
        .map(|t| {
            let (addrs, pid) = (addrs.clone(), pid.clone());
            let (acked, total, refusals) = (acked.clone(), total.clone(), refusals.clone());
            std::thread::spawn(move || {
                let client = Client::new(1 + t % 2);
                let mut node = t % 3;
                for i in 0..per_thread {
                    let m = client.message(&pid, &[("n", Value::from(format!("{t}-{i}")))]);
                    let id = ferrobeam_httpsig::id(&m, IdMode::All).unwrap();
                    let (path, headers, body) = schedule_request(&client, &pid, &m);
                    let deadline = Instant::now() + Duration::from_secs(300);
                    loop {
                        assert!(
                            Instant::now() < deadline,
                            "message {id} was never scheduled"
                        );
                        match try_request(&addrs[node], "POST", &path, &headers, &body) {
                            Some((200, Some(slot), _)) => {
                                let previous =
                                    acked.lock().unwrap().insert(id.clone(), (slot, node));
                                assert!(
                                    previous.is_none_or(|(s, _)| s == slot),
                                    "re-sending {id} moved it"
                                );
                                total.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            // Busy (the schedule kept moving under it): the same node again.
                            Some((503, _, _)) => {
                                refusals.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Some((status, _, text)) => panic!("schedule {id}: {status} {text}"),
                            // The node died: the same message through the next one. If the
                            // dead node had committed it, the resend gets its first slot back.
                            None => node = (node + 1) % 3,
                        }
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    while total.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "the clients stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    nodes[2].kill_hard();
    for w in writers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed();
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "3 nodes on PostgreSQL: {} messages in {elapsed:?}, {} busy refusals retried",
        acked.len(),
        refusals.load(Ordering::SeqCst)
    );
    assert_eq!(acked.len(), 3 * PER_NODE, "every message acknowledged");
    let by_dead = acked.values().filter(|(_, n)| *n == 2).count();
    assert!(
        by_dead > 0,
        "the killed node acknowledged some before it died"
    );
    // Distinct slots, 1..=1500.
    let slots: BTreeSet<u64> = acked.values().map(|(s, _)| *s).collect();
    assert_eq!(slots, (1..=(3 * PER_NODE) as u64).collect());

    // Both survivors serve one schedule: gap-free, one chain, every acknowledged slot holding
    // the message it was acknowledged for (the dead node's included).
    let first = schedule(&nodes[0], &pid);
    assert_one_chain(&first);
    assert_eq!(schedule(&nodes[1], &pid), first);
    assert_eq!(*first.keys().last().unwrap(), (3 * PER_NODE) as u64);
    for (id, (slot, _)) in &acked {
        assert_eq!(first.get(slot).map(|(i, _)| i), Some(id), "slot {slot}");
    }

    // One state, whichever node computes it; a node started afterwards agrees.
    let state = now(&nodes[1], &pid);
    assert_eq!(state["count"], 3 * PER_NODE, "every message counted once");
    assert_eq!(now(&nodes[0], &pid), state);
    let late = start_node(&url);
    assert_eq!(now(&late, &pid), state);
    // And scheduling goes on through any of them, after the last slot.
    assert_eq!(
        Client::new(1).schedule(&late, &pid, &[("n", Value::from("after"))]),
        (3 * PER_NODE + 1) as u64
    );
    assert_eq!(now(&nodes[0], &pid)["count"], 3 * PER_NODE + 1);
}

#[test]
fn a_node_answers_503_while_postgres_is_down_and_recovers_when_it_returns() {
    let Some(pg) = PgServer::start("a_node_answers_503_while_postgres_is_down") else {
        return;
    };
    let node = start_node(&pg.url());
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    assert_eq!(client.schedule(&node, &pid, &[("n", Value::from(1))]), 1);

    // Several pooled connections, all idle when the server goes away.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (addr, path) = (node.addr.clone(), format!("/{pid}~process@1.0/slot"));
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let r = ferrobeam_tests::http::request(&addr, "GET", &path, &[], b"");
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }

    pg.stop();
    let m = client.message(&pid, &[("n", Value::from(2))]);
    let r = client.post(&node, &format!("/{pid}~process@1.0/schedule"), &m);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("store is unavailable"), "{}", r.text());
    let r = node.get(&format!("/{pid}~process@1.0/slot"));
    assert_eq!(r.status, 503, "{}", r.text());
    // What needs no store is still served.
    assert_eq!(node.get("/~meta@1.0/info").status, 200);

    pg.start_again();
    // The server accepts connections again (`pg_ctl -w`): the very next request replaces the
    // dead connections, and the refused message goes through at the next slot: nothing was
    // half-written.
    let r = client.post(&node, &format!("/{pid}~process@1.0/schedule"), &m);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(crate::process_client::slot_of(&r), 2);
    assert_eq!(now(&node, &pid)["count"], 2);
}

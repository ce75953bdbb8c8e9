//! aoconnect's wire format: ANS-104 data items (`codec-device: ans104@1.0`) to `/push` and the
//! process routes (`spec/clients.md` §3.2, §7). Items are signed here with the test wallets
//! exactly as aoconnect signs them; the captured aoconnect requests are replayed byte for byte.

use crate::process_client::{node_address, start};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrobeam_ans104::{DataItem, Tag};
use ferrobeam_tests::http::Response;
use ferrobeam_tests::{replay, test_wallet, vectors_dir, NodeProcess};
use openssl::pkey::{PKey, Private};

#[path = "../../plugins/ans104/tests/support/signer.rs"]
mod signer;

/// The private key of test wallet `n`.
fn key(n: usize) -> PKey<Private> {
    signer::key(&test_wallet(n))
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(n, v)| Tag::new(*n, *v)).collect()
}

/// A data item signed by test wallet `signer`, as aoconnect builds it.
pub(crate) fn item(
    signer: usize,
    target: Option<&str>,
    pairs: &[(&str, &str)],
    data: &str,
) -> DataItem {
    let mut item = DataItem::unsigned(tags(pairs), data.as_bytes().to_vec());
    item.target = target.map(|t| {
        URL_SAFE_NO_PAD
            .decode(t)
            .unwrap()
            .try_into()
            .expect("a 32-byte ID")
    });
    signer::sign(&mut item, &key(signer));
    item
}

/// Posts an item as aoconnect does.
pub(crate) fn post(node: &NodeProcess, path: &str, item: &DataItem) -> Response {
    post_bytes(node, path, &item.serialize())
}

fn post_bytes(node: &NodeProcess, path: &str, body: &[u8]) -> Response {
    node.request(
        "POST",
        path,
        &[
            ("content-type", "application/ans104"),
            ("codec-device", "ans104@1.0"),
            ("accept", "*/*"),
        ],
        body,
    )
}

/// aoconnect's `spawn` tags (`spec/clients.md` §3.2) with `execution-device` chosen.
pub(crate) fn spawn_item(
    signer: usize,
    execution: &str,
    module: &str,
    extra: &[(&str, &str)],
) -> DataItem {
    let address = node_address();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("device", "process@1.0"),
        ("scheduler-device", "scheduler@1.0"),
        ("push-device", "push@1.0"),
        ("execution-device", execution),
        ("Authority", &address),
        ("Scheduler", &address),
        ("Module", module),
    ];
    pairs.extend_from_slice(extra);
    pairs.extend_from_slice(&[
        ("signing-format", "ans104"),
        ("accept-bundle", "true"),
        ("accept-codec", "httpsig@1.0"),
        ("Data-Protocol", "ao"),
        ("Type", "Process"),
        ("Variant", "ao.N.1"),
    ]);
    item(signer, None, &pairs, "hi")
}

/// aoconnect's `message` / `result` / `dryrun` tags.
pub(crate) fn message_item(
    signer: usize,
    pid: &str,
    extra: &[(&str, &str)],
    data: &str,
) -> DataItem {
    let mut pairs: Vec<(&str, &str)> = extra.to_vec();
    pairs.extend_from_slice(&[
        ("signing-format", "ans104"),
        ("accept-bundle", "true"),
        ("require-codec", "application/json"),
        ("Data-Protocol", "ao"),
        ("Type", "Message"),
        ("Variant", "ao.N.1"),
    ]);
    item(signer, Some(pid), &pairs, data)
}

fn module_id() -> String {
    URL_SAFE_NO_PAD.encode([5u8; 32])
}

#[test]
fn every_captured_aoconnect_item_decodes_and_verifies_at_the_edge() {
    let node = start();
    let dir = vectors_dir().join("client-requests");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        if !text.contains("\"ans104\"") {
            continue;
        }
        seen += 1;
        let r = replay(&node.addr, &name);
        // The captures were made against another node: their processes and scheduler are not
        // this node's, so the answers are refusals — but never of the item itself.
        assert!(
            !r.text().contains("ans104@1.0:"),
            "{name}: {} {}",
            r.status,
            r.text()
        );
        assert!(r.status < 500, "{name}: {} {}", r.status, r.text());
    }
    assert!(seen >= 5);
    assert!(
        node.get("/~meta@1.0/info").status == 200,
        "the node keeps serving"
    );
}

#[test]
fn forged_truncated_and_oversized_items_are_refused_with_a_reason() {
    let node = start();
    let good = spawn_item(2, "test-device@1.0", &module_id(), &[]);
    let mut forged = good.clone();
    forged.data = b"not what was signed".to_vec();
    let r = post(&node, "/push", &forged);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("signature does not verify"),
        "{}",
        r.text()
    );

    let bytes = good.serialize();
    let r = post_bytes(&node, "/push", &bytes[..700]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("ends inside"), "{}", r.text());

    let mut wrong_type = bytes.clone();
    wrong_type[0] = 7;
    let r = post_bytes(&node, "/push", &wrong_type);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("signature type 7"), "{}", r.text());

    let many: Vec<(String, String)> = (0..129).map(|i| (format!("t{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let r = post(&node, "/push", &item(2, None, &many, ""));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("129 tags"), "{}", r.text());

    let mut unsigned = good.clone();
    unsigned.signature = vec![0; 512];
    let r = post(&node, "/push", &unsigned);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not signed"), "{}", r.text());

    let r = node.request("POST", "/push", &[("codec-device", "nonesuch@1.0")], b"x");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("nonesuch@1.0"), "{}", r.text());
    assert_eq!(node.get("/~meta@1.0/info").status, 200);
}

#[test]
fn aoconnect_spawn_message_result_results_and_dryrun() {
    let node = start();
    // spawn: POST /push with the process item; the `process` header names it.
    let spawn = spawn_item(2, "test-device@1.0", &module_id(), &[("Name", "t")]);
    let r = post(&node, "/push", &spawn);
    assert_eq!(r.status, 200, "{}", r.text());
    let pid = r.header("process").expect("a process header").to_owned();
    assert_eq!(pid, spawn.id());
    // Retrying the spawn answers the same process.
    let again = post(&node, "/push", &spawn);
    assert_eq!(again.header("process"), Some(pid.as_str()));
    // The stored process is the item, still verifiable as signed.
    let stored = node.get(&format!("/{pid}/serialize~json@1.0"));
    assert_eq!(stored.status, 200, "{}", stored.text());
    let json = stored.json();
    assert_eq!(json["name"], "t");
    assert_eq!(json["execution-device"], "test-device@1.0");

    // message: POST /<pid>~process@1.0/push → JSON {slot}.
    let msg = message_item(2, &pid, &[("Action", "Inc")], "hi");
    let r = post(&node, &format!("/{pid}~process@1.0/push"), &msg);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let answer = r.json();
    assert_eq!(answer["slot"], 1, "{answer}");
    assert_eq!(answer["process"], pid.as_str());
    let second = message_item(2, &pid, &[("Action", "Inc")], "again");
    let r = post(&node, &format!("/{pid}~process@1.0/push"), &second);
    assert_eq!(r.json()["slot"], 2);

    // The scheduled message kept its signature: the schedule serves it with its item ID.
    let sched = node.get(&format!(
        "/~scheduler@1.0/schedule?target={pid}&accept=application/aos-2"
    ));
    assert_eq!(sched.status, 200, "{}", sched.text());
    let edges = sched.json()["edges"].clone();
    assert_eq!(
        edges[1]["node"]["message"]["Id"],
        msg.id().as_str(),
        "{edges}"
    );

    // result: POST /<pid>~process@1.0/compute/results=1 → the results of slot 1.
    let r = post(
        &node,
        &format!("/{pid}~process@1.0/compute/results=1"),
        &message_item(2, &pid, &[], "1984"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["assignment-slot"], 1, "{}", r.text());

    // results: POST /<pid>/slot/current (text), then /<pid>/compute/results=<slot>.
    let current_item = item(
        2,
        None,
        &[
            ("signing-format", "ans104"),
            ("accept-bundle", "true"),
            ("accept-codec", "httpsig@1.0"),
            ("Data-Protocol", "ao"),
            ("Type", "Message"),
            ("Variant", "ao.N.1"),
        ],
        "",
    );
    let r = post(&node, &format!("/{pid}/slot/current"), &current_item);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "2");
    let r = post(
        &node,
        &format!("/{pid}/compute/results=2"),
        &message_item(2, &pid, &[], ""),
    );
    assert_eq!(r.json()["assignment-slot"], 2, "{}", r.text());

    // dryrun: evaluated as one more message, nothing scheduled or advanced.
    let r = post(
        &node,
        &format!("/{pid}~process@1.0/as=execution/compute&Action=Get"),
        &message_item(2, &pid, &[], "1984"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["assignment-slot"], 3, "{}", r.text());
    let now = node.get(&format!("/{pid}~process@1.0/now/at-slot"));
    assert_eq!(now.text(), "2", "the dry run did not advance the process");
    let slot = node.get(&format!("/{pid}~process@1.0/slot/current"));
    assert_eq!(slot.text(), "2");
}

#[test]
fn an_item_whose_keys_the_url_changed_is_not_scheduled() {
    let node = start();
    let spawn = spawn_item(2, "test-device@1.0", &module_id(), &[]);
    let pid = post(&node, "/push", &spawn)
        .header("process")
        .unwrap()
        .to_owned();
    // A query key joins the request's keys: the message is then not what was signed.
    let msg = message_item(2, &pid, &[("Action", "Inc")], "hi");
    let r = post(&node, &format!("/{pid}~process@1.0/push?extra=1"), &msg);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("`extra` was not signed"), "{}", r.text());
}

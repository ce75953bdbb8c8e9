//! Trust at the scheduler: a replayed signed request cannot take a second slot, and a request
//! changed after it was signed — its carried message, or the request around it — is refused.

use crate::process_client::{slot_of, start, Client};
use ferrobeam_device_api::{Message, Value};
use ferrobeam_tests::signatures::sign_request;

#[test]
fn a_replayed_schedule_request_gets_its_first_slot_and_nothing_more() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let path = format!("/{pid}~process@1.0/schedule");
    let outer = Message::new()
        .with("path", path.as_str())
        .with("body", client.message(&pid, &[("n", Value::from("once"))]));
    let (headers, body) = sign_request(&client.wallet, &outer);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let first = node.request("POST", &path, &headers, &body);
    assert_eq!(first.status, 200, "{}", first.text());
    let slot = slot_of(&first);
    for _ in 0..3 {
        let again = node.request("POST", &path, &headers, &body);
        assert_eq!(again.status, 200, "{}", again.text());
        assert_eq!(
            slot_of(&again),
            slot,
            "a replay answers the first assignment"
        );
    }
    let current = node.get(&format!("/{pid}~process@1.0/slot/current"));
    assert_eq!(
        current.text(),
        slot.to_string(),
        "no slot was added by the replays"
    );
}

#[test]
fn tampered_schedule_requests_are_refused() {
    let node = start();
    let client = Client::new(2);
    let pid = client.spawn(&node, &[]);
    let path = format!("/{pid}~process@1.0/schedule");

    // The carried message changed after its signer committed it.
    let mut message = client.message(&pid, &[("amount", Value::from("10"))]);
    message.insert("amount", "1000000");
    let r = client.post(&node, &path, &message);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("does not verify"), "{}", r.text());

    // An unsigned message is accepted only on the strength of the signed request carrying it
    // (wao's scheduleFlat): change the body in flight and the request no longer verifies.
    let unsigned = Message::new()
        .with("type", "Message")
        .with("target", pid.as_str())
        .with("amount", "10");
    let outer = Message::new()
        .with("path", path.as_str())
        .with("body", unsigned);
    let (headers, body) = sign_request(&client.wallet, &outer);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.contains("amount: 10"), "{text}");
    let forged = text.replace("amount: 10", "amount: 99");
    let r = node.request("POST", &path, &headers, forged.as_bytes());
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("does not verify"), "{}", r.text());
    // The untouched request is accepted: the refusal was the forgery's.
    let r = node.request("POST", &path, &headers, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(slot_of(&r), 1);
}

//! Assignments: how they are built (`spec/process.md` §3.3) and stored.
//!
//! A slot's record at [`keys::slot`] is the assignment without its `body` plus the body's ID;
//! the body itself is stored once, at [`keys::message`], so every scheduled message is also
//! readable at `/<id>`. Reading an assignment joins the two.

use super::head::Head;
use super::sequencer::{Prepared, Reservation};
use crate::ids;
use crate::keys;
use crate::params::slot_value;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ferrobeam_device_api::host::StoreEntry;
use ferrobeam_device_api::{wire, DeviceError, Host, Message, Value};

/// The `block-hash` of every assignment: ferrobeam does not follow Arweave, so it is the
/// all-zero hash HyperBEAM itself writes when a block hash is missing.
pub const NO_BLOCK_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The assignment of `message` (ID `message_id`) to process `pid` at `head`, unsigned.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_process::scheduler::{head::Head, record};
/// let head = Head::next(None, "m", 1_700_000_000_123);
/// let a = record::assignment("P", &head, &Message::new().with("type", "Process"));
/// assert_eq!(a.get_str("path"), Some("compute"));
/// assert_eq!(a.get("slot").and_then(|v| v.as_integer()), Some(0));
/// assert_eq!(a.get("block-timestamp").and_then(|v| v.as_integer()), Some(1_700_000_000));
/// ```
pub fn assignment(pid: &str, head: &Head, message: &Message) -> Message {
    let path = message.get_str("path").unwrap_or("compute");
    let timestamp = i64::try_from(head.timestamp).unwrap_or(i64::MAX);
    Message::new()
        .with("path", path)
        .with("data-protocol", "ao")
        .with("variant", "ao.N.1")
        .with("type", "assignment")
        .with("process", pid)
        .with("epoch", "0")
        .with("slot", slot_value(head.slot))
        .with("block-height", 0)
        .with("block-hash", NO_BLOCK_HASH)
        .with("block-timestamp", timestamp / 1000)
        .with("timestamp", timestamp)
        .with("hash-chain", URL_SAFE_NO_PAD.encode(head.chain))
        .with("body", message.clone())
}

/// Builds (and, with `sign`, signs through the node) the assignment for a reservation, with
/// every write that must land with it.
pub fn prepare(
    host: &Host,
    pid: &str,
    message: &Message,
    message_id: &str,
    spawn: bool,
    sign: bool,
    reservation: &Reservation,
) -> Result<Prepared, DeviceError> {
    let unsigned = assignment(pid, &reservation.head, message);
    let assignment = if sign {
        ferrobeam_httpsig::commit_with_host(host, &unsigned).map_err(signing_error)?
    } else {
        unsigned
    };
    let slot = reservation.head.slot;
    let mut writes: Vec<StoreEntry> = vec![
        (keys::slot(pid, slot), Some(encode(&assignment, message_id))),
        (
            keys::message(message_id),
            Some(wire::encode_message(message)),
        ),
        (
            keys::message_slot(pid, message_id),
            Some(keys::encode_u64(slot)),
        ),
    ];
    if spawn {
        writes.push((keys::process_index(pid), Some(Vec::new())));
    }
    Ok(Prepared { writes, assignment })
}

fn signing_error(e: ferrobeam_httpsig::Error) -> DeviceError {
    match e {
        ferrobeam_httpsig::Error::Host(e) => DeviceError::new(
            e.kind(),
            format!(
                "scheduler@1.0 signs assignments with the node wallet and the node refused: {} (grant the process library capabilities = [\"sign\"] in devices.toml, or set the scheduler option sign_assignments = false)",
                e.reason()
            ),
        ),
        other => DeviceError::failure(format!("the assignment could not be signed: {other}")),
    }
}

/// A slot record: the assignment without its body, and the body's ID.
pub fn encode(assignment: &Message, body_id: &str) -> Vec<u8> {
    let mut without_body = assignment.clone();
    without_body.remove("body");
    wire::encode_message(
        &Message::new()
            .with("assignment", without_body)
            .with("body-id", body_id),
    )
}

/// Reads a slot record back: the assignment without body, and the body's ID.
pub fn decode(bytes: &[u8]) -> Result<(Message, String), DeviceError> {
    let corrupt =
        |why: String| DeviceError::failure(format!("a stored assignment is corrupt: {why}"));
    let mut record = wire::decode_message(bytes).map_err(|e| corrupt(e.to_string()))?;
    let body_id = record
        .get_str("body-id")
        .map(str::to_owned)
        .ok_or_else(|| corrupt("no body-id".to_owned()))?;
    match record.remove("assignment") {
        Some(Value::Message(a)) => Ok((a, body_id)),
        _ => Err(corrupt("no assignment".to_owned())),
    }
}

/// The message stored under `id`.
pub fn load_message(host: &Host, id: &str) -> Result<Option<Message>, DeviceError> {
    match host.store_read(&keys::message(id))? {
        None => Ok(None),
        Some(bytes) => wire::decode_message(&bytes)
            .map(Some)
            .map_err(|e| DeviceError::failure(format!("stored message {id} is corrupt: {e}"))),
    }
}

/// The whole assignment (with its body) from a record.
pub fn join(host: &Host, bytes: &[u8]) -> Result<Message, DeviceError> {
    let (mut assignment, body_id) = decode(bytes)?;
    let body = load_message(host, &body_id)?.ok_or_else(|| {
        DeviceError::failure(format!(
            "assigned message {body_id} is missing from the store"
        ))
    })?;
    assignment.insert("body", body);
    Ok(assignment)
}

/// The assignment of `slot` in process `pid`, if assigned.
pub fn load(host: &Host, pid: &str, slot: u64) -> Result<Option<Message>, DeviceError> {
    match host.store_read(&keys::slot(pid, slot))? {
        None => Ok(None),
        Some(bytes) => join(host, &bytes).map(Some),
    }
}

/// Up to `limit` assignments of `pid` from slot `from` to `to` (inclusive), in slot order.
pub fn load_range(
    host: &Host,
    pid: &str,
    from: u64,
    to: u64,
    limit: usize,
) -> Result<Vec<Message>, DeviceError> {
    let mut out = Vec::new();
    if from > to {
        return Ok(out);
    }
    let prefix = keys::slots_prefix(pid);
    let mut after = from.checked_sub(1).map(|s| keys::slot(pid, s));
    while out.len() < limit {
        let want = (limit - out.len()).min(1000);
        let page = host.store_list(&prefix, after.as_deref(), want)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        let exhausted = page.len() < want;
        for (key, bytes) in page {
            match keys::slot_of_key(&key) {
                Some(slot) if slot <= to => out.push(join(host, &bytes)?),
                _ => return Ok(out),
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(out)
}

/// The ID of an assignment's body, or of the assignment itself.
pub fn body_id(assignment: &Message) -> Result<String, DeviceError> {
    match assignment.get("body") {
        Some(Value::Message(body)) => ids::message_id(body),
        _ => ids::message_id(assignment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemHost;

    #[test]
    fn records_keep_the_body_once_and_join_it_back() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let body = Message::new().with("type", "Message").with("data", "hi");
        let id = ids::message_id(&body).unwrap();
        let head = Head::next(None, &id, 10);
        let reservation = Reservation {
            head,
            previous: None,
        };
        let prepared = prepare(&host, "P", &body, &id, false, false, &reservation).unwrap();
        for (k, v) in &prepared.writes {
            host.store_write(k, v.as_deref().unwrap()).unwrap();
        }
        let (without, body_id) = decode(&mem.stored(&keys::slot("P", 0)).unwrap()).unwrap();
        assert!(without.get("body").is_none());
        assert_eq!(body_id, id);
        let full = load(&host, "P", 0).unwrap().unwrap();
        assert_eq!(full, prepared.assignment);
        assert_eq!(full.get_message("body"), Some(&body));
    }

    #[test]
    fn ranges_stop_at_to_and_at_the_limit() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let mut previous = None;
        for n in 0..5 {
            let body = Message::new().with("n", n);
            let id = ids::message_id(&body).unwrap();
            let head = Head::next(previous.as_ref(), &id, 10);
            previous = Some(head);
            let r = Reservation {
                head,
                previous: None,
            };
            for (k, v) in prepare(&host, "P", &body, &id, false, false, &r)
                .unwrap()
                .writes
            {
                host.store_write(&k, v.as_deref().unwrap()).unwrap();
            }
        }
        let slots = |v: Vec<Message>| -> Vec<i64> {
            v.iter()
                .filter_map(|a| a.get("slot").and_then(Value::as_integer))
                .collect()
        };
        assert_eq!(slots(load_range(&host, "P", 1, 3, 100).unwrap()), [1, 2, 3]);
        assert_eq!(slots(load_range(&host, "P", 0, 10, 2).unwrap()), [0, 1]);
        assert!(load_range(&host, "P", 3, 2, 10).unwrap().is_empty());
    }
}

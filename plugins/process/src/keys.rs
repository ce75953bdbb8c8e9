//! The store layout of the process devices (`docs/processes.md`, "Store layout").
//!
//! Every key that embeds a process or message ID is built from a checked ID ([`crate::ids`]), so
//! a client-chosen `target` can never reach outside its own prefix. Slots are zero-padded to 20
//! digits (every `u64`), so key order is slot order and `store/list` pages through a schedule.
//!
//! ```
//! use ferrobeam_process::keys;
//! let pid = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
//! assert_eq!(keys::slot(pid, 7), format!("process/{pid}/slot/00000000000000000007"));
//! assert!(keys::slot(pid, 7).starts_with(&keys::slots_prefix(pid)));
//! assert_eq!(keys::slot_of_key(&keys::slot(pid, 7)), Some(7));
//! ```

/// A message by ID (the node's own layout, `docs/store.md`): readable at `/<id>`.
pub fn message(id: &str) -> String {
    format!("messages/{id}")
}

/// The schedule head of a process: its last durable slot, hash chain and timestamp
/// ([`crate::scheduler::head::Head`]). Every slot assignment is a compare-and-swap on it.
pub fn head(pid: &str) -> String {
    format!("process/{pid}/head")
}

/// The assignment record of `slot` ([`crate::scheduler::record`]).
pub fn slot(pid: &str, slot: u64) -> String {
    format!("process/{pid}/slot/{slot:020}")
}

/// The prefix of every assignment record of a process.
pub fn slots_prefix(pid: &str) -> String {
    format!("process/{pid}/slot/")
}

/// The slot a message was assigned in a process (8 bytes, big-endian): makes re-sending the
/// same message return its first assignment.
pub fn message_slot(pid: &str, message_id: &str) -> String {
    format!("process/{pid}/id/{message_id}")
}

/// The computed state after `slot` (a cache: written without a sync).
pub fn state(pid: &str, slot: u64) -> String {
    format!("process/{pid}/state/{slot:020}")
}

/// The prefix of every cached state of a process.
pub fn states_prefix(pid: &str) -> String {
    format!("process/{pid}/state/")
}

/// The highest slot whose state is cached (8 bytes, big-endian).
pub fn latest_state(pid: &str) -> String {
    format!("process/{pid}/state-latest")
}

/// The prefix of the index of processes this node schedules.
pub const PROCESSES_PREFIX: &str = "scheduler/processes/";

/// The index entry of a process this node schedules (empty value).
pub fn process_index(pid: &str) -> String {
    format!("{PROCESSES_PREFIX}{pid}")
}

/// The slot number at the end of a slot or state key.
pub fn slot_of_key(key: &str) -> Option<u64> {
    key.rsplit('/').next()?.parse().ok()
}

/// A `u64` as the 8 big-endian bytes stored under [`message_slot`] and [`latest_state`].
pub fn encode_u64(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

/// The inverse of [`encode_u64`]; `None` for any other length.
pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_slots_sort_in_numeric_order() {
        let pid = "p";
        let mut keys = [slot(pid, 10), slot(pid, 9), slot(pid, 100)];
        keys.sort();
        assert_eq!(keys, [slot(pid, 9), slot(pid, 10), slot(pid, 100)]);
        assert_eq!(slot_of_key(&state(pid, u64::MAX)), Some(u64::MAX));
    }

    #[test]
    fn u64_values_round_trip_and_reject_other_lengths() {
        assert_eq!(decode_u64(&encode_u64(42)), Some(42));
        assert_eq!(decode_u64(b"42"), None);
    }
}

//! Slot assignment: exclusive, gap-free and durable, with many assignments sharing one commit
//! (`spec/process.md` §3.3; `docs/processes.md`, "How slots are assigned").
//!
//! Each process has a [`ProcessLog`]: the durable head (`committed`), the tip including
//! reservations in flight, and a queue of reservations in slot order. Scheduling a message:
//!
//! 1. **Reserve** (under the process lock, microseconds): a message already assigned or in flight
//!    is answered with its first slot; otherwise the next slot, hash chain and timestamp are
//!    taken from the tip and the reservation is queued.
//! 2. **Prepare** (no lock held): the caller builds and signs the assignment — the slow part,
//!    which therefore runs in parallel across requests.
//! 3. **Commit**: whoever finds the front of the queue ready commits every consecutive ready
//!    reservation in one durable `store/transact` whose check is the stored head: a
//!    compare-and-swap, so a slot is only ever taken once even when two generations of this
//!    library (a hot reload) or two nodes on one store race. Each caller hears back only after
//!    its assignment is on disk. The commit and the callers waiting for it do so in
//!    `Host::blocking`, so the node runs other calls on the cores meanwhile.
//!
//! If a commit fails, nothing of it was written: its reservations and every later one are
//! voided, the head is re-read and their callers retry, so the schedule never has a gap.

use super::head::{now_ms, Head};
use crate::keys;
use ferrobeam_device_api::host::StoreEntry;
use ferrobeam_device_api::{DeviceError, ErrorKind, Host, Message};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Most reservations one commit carries.
const MAX_BATCH: usize = 256;
/// How often a caller retries after its reservation was voided by a failed or raced commit.
const MAX_ATTEMPTS: u32 = 64;

/// What the caller's `prepare` receives: the slot it got and the head after it.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    /// The head once this message is assigned (`head.slot` is its slot).
    pub head: Head,
    /// The head before it (`None` for slot 0).
    pub previous: Option<Head>,
}

/// What `prepare` returns: the store writes of one assignment and the assignment itself.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Written atomically with the head (records, the message, its index entry).
    pub writes: Vec<StoreEntry>,
    /// The assignment message, handed back to the caller once durable.
    pub assignment: Message,
}

/// The message to schedule.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// The process.
    pub pid: &'a str,
    /// The message's ID (the process ID itself for a spawn).
    pub message_id: &'a str,
    /// Whether this is the process message (slot 0).
    pub spawn: bool,
}

/// How a submission ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Assigned now, durably.
    Assigned {
        /// Its slot.
        slot: u64,
        /// The assignment.
        assignment: Message,
    },
    /// The message was assigned before, at `slot` (re-sending a message returns its first
    /// assignment).
    Duplicate {
        /// Its slot.
        slot: u64,
    },
}

/// Slot assignment for every process of this library generation.
#[derive(Debug)]
pub struct Sequencer {
    logs: Mutex<HashMap<String, Arc<ProcessLog>>>,
    capacity: usize,
}

impl Sequencer {
    /// A sequencer keeping at most about `capacity` idle process logs in memory (an evicted log
    /// re-reads its head from the store).
    pub fn new(capacity: usize) -> Self {
        Sequencer {
            logs: Mutex::new(HashMap::new()),
            capacity: capacity.max(16),
        }
    }

    /// Schedules one message: reserves its slot, calls `prepare` (outside every lock) to build
    /// the assignment and its writes, and returns once they are durable.
    pub fn submit(
        &self,
        host: &Host,
        submission: Submission<'_>,
        prepare: impl Fn(&Reservation) -> Result<Prepared, DeviceError>,
    ) -> Result<Outcome, DeviceError> {
        let log = self.log(submission.pid);
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt);
            }
            let (ticket, reservation) = match log.reserve(host, &submission)? {
                Reserved::Duplicate(slot) => return Ok(Outcome::Duplicate { slot }),
                Reserved::Ticket(ticket, reservation) => (ticket, reservation),
            };
            let work = match prepare(&reservation) {
                Ok(prepared) => Work::Ready(prepared),
                Err(e) => Work::Failed(e),
            };
            match log.finish(host, submission.pid, ticket, work) {
                Done::Committed(slot, assignment) => {
                    return Ok(Outcome::Assigned { slot, assignment })
                }
                Done::Failed(e) => return Err(e),
                Done::Retry => continue,
            }
        }
        Err(DeviceError::new(
            ErrorKind::Unavailable,
            format!(
                "no slot could be assigned in process {} after {MAX_ATTEMPTS} attempts: its schedule kept changing underneath (retry)",
                submission.pid
            ),
        ))
    }

    /// The durable head of a process (`None`: nothing scheduled), read from the store: other
    /// nodes sharing the store (and an overlapping library generation) schedule too, so this
    /// generation's memory may be behind. Does not keep the process in memory.
    pub fn head(&self, host: &Host, pid: &str) -> Result<Option<Head>, DeviceError> {
        read_head(host, pid)
    }

    /// The log of `pid`, created on first use; idle logs are dropped when there are too many.
    fn log(&self, pid: &str) -> Arc<ProcessLog> {
        let mut logs = lock(&self.logs);
        if let Some(log) = logs.get(pid) {
            return log.clone();
        }
        if logs.len() >= self.capacity {
            // Only the map holds an idle log: nobody is reserving, preparing or committing.
            let keep = self.capacity * 3 / 4;
            let idle: Vec<String> = logs
                .iter()
                .filter(|(_, log)| Arc::strong_count(log) == 1)
                .map(|(k, _)| k.clone())
                .take(logs.len().saturating_sub(keep))
                .collect();
            for key in idle {
                logs.remove(&key);
            }
        }
        let log = Arc::new(ProcessLog::default());
        logs.insert(pid.to_owned(), log.clone());
        log
    }

    /// How many process logs are in memory.
    pub fn len(&self) -> usize {
        lock(&self.logs).len()
    }

    /// Whether no process log is in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Waits a little before retrying a voided reservation, longer each time and jittered, so two
/// writers racing on one head (two library generations during a hot reload) stop colliding.
fn backoff(attempt: u32) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos() % 1000))
        .unwrap_or(500);
    let micros = 250 * u64::from(attempt.min(20)) + jitter;
    std::thread::sleep(std::time::Duration::from_micros(micros));
}

/// Reads a process's head from the store.
pub fn read_head(host: &Host, pid: &str) -> Result<Option<Head>, DeviceError> {
    match host.store_read(&keys::head(pid))? {
        None => Ok(None),
        Some(bytes) => Head::decode(&bytes).map(Some).map_err(|_| {
            DeviceError::failure(format!(
                "the stored schedule head of process {pid} is corrupt"
            ))
        }),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct ProcessLog {
    state: Mutex<LogState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct LogState {
    /// Whether `committed` reflects the store.
    loaded: bool,
    /// The durable head.
    committed: Option<Head>,
    /// The head including every queued reservation.
    tip: Option<Head>,
    /// Reservations not yet durable, in slot order.
    pending: VecDeque<Entry>,
    /// Whether a commit is in flight (at most one per process).
    committing: bool,
    /// The tickets of the commit in flight: neither queued nor done, but not voided.
    in_flight: Vec<u64>,
    next_ticket: u64,
    /// Outcomes waiting for their callers.
    done: HashMap<u64, Done>,
}

#[derive(Debug)]
struct Entry {
    ticket: u64,
    message_id: String,
    head: Head,
    work: Work,
}

#[derive(Debug)]
enum Work {
    Preparing,
    Ready(Prepared),
    Failed(DeviceError),
}

enum Reserved {
    Duplicate(u64),
    Ticket(u64, Reservation),
}

#[derive(Debug)]
enum Done {
    Committed(u64, Message),
    Failed(DeviceError),
    Retry,
}

impl ProcessLog {
    /// Waits for the log to change (another caller's commit), telling the node this call is
    /// waiting rather than computing, so that it can run other calls meanwhile.
    fn wait<'a>(&self, host: &Host, guard: MutexGuard<'a, LogState>) -> MutexGuard<'a, LogState> {
        host.blocking(|| {
            self.changed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner)
        })
    }

    fn reserve(&self, host: &Host, sub: &Submission<'_>) -> Result<Reserved, DeviceError> {
        let mut st = lock(&self.state);
        loop {
            // With nothing of ours in flight, the store's head is the truth: another node
            // sharing the store may have moved it since we last looked, and reserving on a
            // stale tip would only lose the commit's compare-and-swap.
            if !st.loaded || (st.pending.is_empty() && !st.committing) {
                let head = read_head(host, sub.pid)?;
                st.committed = head;
                st.tip = head;
                st.loaded = true;
            }
            // The same message in flight: wait for it, then answer with its slot.
            if st.pending.iter().any(|e| e.message_id == sub.message_id) {
                st = self.wait(host, st);
                continue;
            }
            break;
        }
        if st.tip.is_some() {
            let index = keys::message_slot(sub.pid, sub.message_id);
            if let Some(bytes) = host.store_read(&index)? {
                let slot = keys::decode_u64(&bytes).ok_or_else(|| {
                    DeviceError::failure(format!(
                        "the stored slot of message {} is corrupt",
                        sub.message_id
                    ))
                })?;
                return Ok(Reserved::Duplicate(slot));
            }
            if sub.spawn {
                return Err(DeviceError::new(
                    ErrorKind::Conflict,
                    format!("process {} already has a schedule", sub.pid),
                ));
            }
        } else if !sub.spawn {
            return Err(DeviceError::not_found(format!(
                "process {} has not been spawned on this node: post its process message to /~process@1.0/schedule first",
                sub.pid
            ))
            .with_detail("process", sub.pid));
        }
        let previous = st.tip;
        let head = Head::next(previous.as_ref(), sub.message_id, now_ms());
        st.tip = Some(head);
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.pending.push_back(Entry {
            ticket,
            message_id: sub.message_id.to_owned(),
            head,
            work: Work::Preparing,
        });
        Ok(Reserved::Ticket(ticket, Reservation { head, previous }))
    }

    fn finish(&self, host: &Host, pid: &str, ticket: u64, work: Work) -> Done {
        let mut st = lock(&self.state);
        match st.pending.iter_mut().find(|e| e.ticket == ticket) {
            Some(entry) => entry.work = work,
            // Voided while it was being prepared.
            None => return Done::Retry,
        }
        self.changed.notify_all();
        loop {
            if let Some(done) = st.done.remove(&ticket) {
                return done;
            }
            let queued = st.pending.iter().any(|e| e.ticket == ticket);
            if !queued && !st.in_flight.contains(&ticket) {
                // Voided by a failed commit before it.
                return Done::Retry;
            }
            let front_ready = st
                .pending
                .front()
                .is_some_and(|e| !matches!(e.work, Work::Preparing));
            if !st.committing && front_ready {
                st = self.commit_front(host, pid, st);
                continue;
            }
            st = self.wait(host, st);
        }
    }

    /// Commits the ready reservations at the front of the queue (or fails the front one).
    fn commit_front<'a>(
        &'a self,
        host: &Host,
        pid: &str,
        mut st: MutexGuard<'a, LogState>,
    ) -> MutexGuard<'a, LogState> {
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH {
            match st.pending.front().map(|e| &e.work) {
                Some(Work::Ready(_)) => {
                    if let Some(entry) = st.pending.pop_front() {
                        batch.push(entry);
                    }
                }
                Some(Work::Failed(_)) if batch.is_empty() => {
                    // Its slot cannot be filled: it and everything after it start over.
                    if let Some(Entry {
                        ticket,
                        work: Work::Failed(e),
                        ..
                    }) = st.pending.pop_front()
                    {
                        st.done.insert(ticket, Done::Failed(e));
                    }
                    void_pending(&mut st);
                    self.changed.notify_all();
                    return st;
                }
                _ => break,
            }
        }
        let Some(last) = batch.last().map(|e| e.head) else {
            return st;
        };
        let expected = st.committed.map(|h| h.encode());
        st.committing = true;
        st.in_flight = batch.iter().map(|e| e.ticket).collect();
        drop(st);

        let head_key = keys::head(pid);
        let mut writes: Vec<StoreEntry> = Vec::new();
        let mut results = Vec::with_capacity(batch.len());
        for entry in batch {
            if let Work::Ready(prepared) = entry.work {
                writes.extend(prepared.writes);
                results.push((entry.ticket, entry.head.slot, prepared.assignment));
            }
        }
        writes.push((head_key.clone(), Some(last.encode())));
        // Durable: the disk syncs meanwhile, and the node can run other calls.
        let outcome = host.blocking(|| host.store_transact(&[(head_key, expected)], &writes, true));

        let mut st = lock(&self.state);
        st.committing = false;
        st.in_flight.clear();
        match outcome {
            Ok(()) => {
                st.committed = Some(last);
                for (ticket, slot, assignment) in results {
                    st.done.insert(ticket, Done::Committed(slot, assignment));
                }
            }
            Err(e) => {
                let conflict = e.kind() == ErrorKind::Conflict;
                if conflict {
                    host.warn(&format!(
                        "process {pid}: its schedule head changed under this node (another generation or node wrote it); re-reading it and retrying"
                    ));
                } else {
                    host.warn(&format!("process {pid}: assigning slots failed: {e}"));
                }
                for (ticket, _, _) in results {
                    let done = if conflict {
                        Done::Retry
                    } else {
                        Done::Failed(e.clone())
                    };
                    st.done.insert(ticket, done);
                }
                void_pending(&mut st);
                st.loaded = false;
            }
        }
        self.changed.notify_all();
        st
    }
}

/// Drops every queued reservation (their callers retry) and rewinds the tip to the durable head.
fn void_pending(st: &mut LogState) {
    st.pending.clear();
    st.tip = st.committed;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemHost;
    use std::collections::BTreeSet;

    fn prepare_for(pid: &str) -> impl Fn(&Reservation) -> Result<Prepared, DeviceError> + '_ {
        move |r: &Reservation| {
            Ok(Prepared {
                writes: vec![(keys::slot(pid, r.head.slot), Some(r.head.encode()))],
                assignment: Message::new().with("slot", r.head.slot as i64),
            })
        }
    }

    fn spawn(seq: &Sequencer, host: &Host, pid: &str) {
        let sub = Submission {
            pid,
            message_id: pid,
            spawn: true,
        };
        let out = seq.submit(host, sub, prepare_for(pid)).unwrap();
        assert!(matches!(out, Outcome::Assigned { slot: 0, .. }));
    }

    fn schedule(seq: &Sequencer, host: &Host, pid: &str, id: &str) -> u64 {
        let sub = Submission {
            pid,
            message_id: id,
            spawn: false,
        };
        // Each slot also records which message took it.
        let prepare = |r: &Reservation| {
            let mut p = prepare_for(pid)(r)?;
            p.writes.push((
                format!("owner/{pid}/{:020}", r.head.slot),
                Some(id.as_bytes().to_vec()),
            ));
            Ok(p)
        };
        match seq.submit(host, sub, prepare).unwrap() {
            Outcome::Assigned { slot, .. } | Outcome::Duplicate { slot } => slot,
        }
    }

    /// Each message took exactly one slot.
    fn assert_each_message_once(host: &MemHost, pid: &str, n: usize) {
        let owners: Vec<Vec<u8>> = host
            .keys_with_prefix(&format!("owner/{pid}/"))
            .iter()
            .map(|k| host.stored(k).unwrap())
            .collect();
        let unique: BTreeSet<&Vec<u8>> = owners.iter().collect();
        assert_eq!((owners.len(), unique.len()), (n, n));
    }

    /// Every slot 0..=n is stored once, and each record's chain follows from the one before.
    fn assert_gap_free(host: &MemHost, pid: &str, n: u64) {
        let mut previous: Option<Head> = None;
        for slot in 0..=n {
            let bytes = host.stored(&keys::slot(pid, slot)).expect("slot present");
            let head = Head::decode(&bytes).unwrap();
            assert_eq!(head.slot, slot);
            if let Some(p) = previous {
                assert!(head.timestamp >= p.timestamp);
            }
            previous = Some(head);
        }
        assert!(host.stored(&keys::slot(pid, n + 1)).is_none());
        let stored = Head::decode(&host.stored(&keys::head(pid)).unwrap()).unwrap();
        assert_eq!(stored.slot, n);
    }

    #[test]
    fn concurrent_schedules_get_distinct_gap_free_slots() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let seq = Arc::new(Sequencer::new(64));
        let pid = "P".repeat(43);
        spawn(&seq, &host, &pid);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (seq, host, pid) = (seq.clone(), host.clone(), pid.clone());
                std::thread::spawn(move || {
                    (0..40)
                        .map(|i| schedule(&seq, &host, &pid, &format!("m-{t}-{i}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let slots: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let unique: BTreeSet<u64> = slots.iter().copied().collect();
        assert_eq!(unique.len(), 320);
        assert_eq!(unique, (1..=320).collect());
        assert_gap_free(&mem, &pid, 320);
        assert_each_message_once(&mem, &pid, 320);
        // Whether commits were shared depends on timing (on a loaded machine the threads may
        // take turns): at most one transaction per message either way.
        assert!(mem.transactions() <= 321);
    }

    #[test]
    fn two_generations_on_one_store_never_share_a_slot() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let pid = "Q".repeat(43);
        let first = Arc::new(Sequencer::new(64));
        let second = Arc::new(Sequencer::new(64));
        spawn(&first, &host, &pid);
        let threads: Vec<_> = [first, second]
            .into_iter()
            .enumerate()
            .map(|(g, seq)| {
                let (host, pid) = (host.clone(), pid.clone());
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| schedule(&seq, &host, &pid, &format!("g{g}-{i}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let slots: BTreeSet<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(slots, (1..=100).collect());
        assert_gap_free(&mem, &pid, 100);
        assert_each_message_once(&mem, &pid, 100);
    }

    #[test]
    fn a_node_sees_and_continues_the_slots_another_node_assigned() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let pid = "V".repeat(43);
        let (a, b) = (Sequencer::new(64), Sequencer::new(64));
        spawn(&a, &host, &pid);
        assert_eq!(schedule(&b, &host, &pid, "b1"), 1);
        // A last saw slot 0 in memory; its head and its next slot follow B's.
        assert_eq!(a.head(&host, &pid).unwrap().map(|h| h.slot), Some(1));
        let before = mem.transactions();
        assert_eq!(schedule(&a, &host, &pid, "a2"), 2);
        assert_eq!(
            mem.transactions(),
            before + 1,
            "no commit lost to a stale tip"
        );
        assert_eq!(b.head(&host, &pid).unwrap().map(|h| h.slot), Some(2));
        assert_gap_free(&mem, &pid, 2);
    }

    #[test]
    fn a_resent_message_gets_its_first_slot() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let seq = Sequencer::new(64);
        let pid = "R".repeat(43);
        spawn(&seq, &host, &pid);
        let prepare = |r: &Reservation| {
            Ok(Prepared {
                writes: vec![(
                    keys::message_slot(&pid, "dup"),
                    Some(keys::encode_u64(r.head.slot)),
                )],
                assignment: Message::new(),
            })
        };
        let sub = Submission {
            pid: &pid,
            message_id: "dup",
            spawn: false,
        };
        assert!(matches!(
            seq.submit(&host, sub, prepare).unwrap(),
            Outcome::Assigned { slot: 1, .. }
        ));
        assert!(matches!(
            seq.submit(&host, sub, prepare).unwrap(),
            Outcome::Duplicate { slot: 1 }
        ));
    }

    #[test]
    fn a_failed_preparation_leaves_no_gap() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let seq = Sequencer::new(64);
        let pid = "S".repeat(43);
        spawn(&seq, &host, &pid);
        let sub = Submission {
            pid: &pid,
            message_id: "bad",
            spawn: false,
        };
        let e = seq
            .submit(&host, sub, |_| Err(DeviceError::bad_request("cannot sign")))
            .unwrap_err();
        assert_eq!(e.reason(), "cannot sign");
        assert_eq!(schedule(&seq, &host, &pid, "good"), 1);
        assert_gap_free(&mem, &pid, 1);
    }

    #[test]
    fn a_failed_commit_is_retried_and_leaves_no_gap() {
        let mem = MemHost::new();
        let host = Host::new(mem.clone());
        let seq = Sequencer::new(64);
        let pid = "T".repeat(43);
        spawn(&seq, &host, &pid);
        mem.fail_next_transactions(1, ErrorKind::Conflict);
        assert_eq!(schedule(&seq, &host, &pid, "m1"), 1);
        mem.fail_next_transactions(1, ErrorKind::Failure);
        let sub = Submission {
            pid: &pid,
            message_id: "m2",
            spawn: false,
        };
        assert_eq!(
            seq.submit(&host, sub, prepare_for(&pid))
                .unwrap_err()
                .kind(),
            ErrorKind::Failure
        );
        assert_eq!(schedule(&seq, &host, &pid, "m3"), 2);
        assert_gap_free(&mem, &pid, 2);
    }

    #[test]
    fn messages_to_unknown_processes_are_not_found() {
        let host = Host::new(MemHost::new());
        let seq = Sequencer::new(64);
        let sub = Submission {
            pid: "U",
            message_id: "m",
            spawn: false,
        };
        let e = seq.submit(&host, sub, prepare_for("U")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn idle_logs_are_evicted_beyond_capacity() {
        let host = Host::new(MemHost::new());
        let seq = Sequencer::new(16);
        for i in 0..100 {
            spawn(&seq, &host, &format!("{i:043}"));
        }
        assert!(seq.len() <= 16);
        // An evicted log re-reads its head: slot 1 follows slot 0.
        assert_eq!(schedule(&seq, &host, &format!("{:043}", 0), "x"), 1);
    }
}

//! Computing a process (`spec/process.md` §2.4–§2.5): its state after a slot is its state after
//! the slot before, passed with that slot's assignment to its execution device, then patched.
//!
//! * The latest state of a process lives in memory and in the store; every computed slot's
//!   state is cached in the store (without a sync: a cache is rebuilt from the durable schedule
//!   if a crash loses it). Reading `/now/<key>` after N messages therefore costs the same for
//!   any N: nothing is replayed that was computed before.
//! * An older slot is read from its cached state, or recomputed from the nearest cached state
//!   before it without disturbing the latest.
//! * If the execution device fails at a slot, the error names the slot and the state stays at
//!   the slot before; the next request retries it.
//! * A state loaded from the store passes through the execution device's `normalize` (which can
//!   rebuild what it keeps outside the state, e.g. a VM, from the `snapshot` the device gave at
//!   the end of the computation that stored it).

use super::definition::{PatchMode, ProcessDef};
use super::states::{Computed, ProcessStates};
use crate::keys;
use crate::patch;
use crate::scheduler::record;
use crate::shared::Shared;
use ferrobeam_device_api::host::StoreEntry;
use ferrobeam_device_api::{wire, DeviceError, ErrorKind, Host, Message, Value};
use std::sync::Arc;

/// Cached states written per store transaction while computing.
const FLUSH_EVERY: usize = 64;
/// How far back (in slots) to look for a cached state to restart an old slot from.
const LOOKBACK: u64 = 64;

/// Computes one process.
#[derive(Debug)]
pub struct Engine<'a> {
    host: &'a Host,
    shared: &'a Shared,
    process: &'a ProcessDef,
}

impl<'a> Engine<'a> {
    /// An engine for `process`.
    pub fn new(host: &'a Host, shared: &'a Shared, process: &'a ProcessDef) -> Self {
        Engine {
            host,
            shared,
            process,
        }
    }

    /// The state after `target` (which must be assigned).
    pub fn compute_at(&self, target: u64) -> Result<Computed, DeviceError> {
        let entry = self.shared.states.entry(&self.process.pid);
        if let Some(latest) = entry.latest().filter(|l| l.slot == target) {
            return Ok(latest);
        }
        let _guard = entry.acquire(&self.process.pid)?;
        let latest = match entry.latest() {
            Some(latest) => Some(latest),
            None => {
                let restored = self.restore_latest()?;
                if let Some(r) = &restored {
                    entry.advance(r.clone());
                }
                restored
            }
        };
        match latest {
            Some(l) if l.slot == target => Ok(l),
            Some(l) if l.slot < target => {
                let start = self.newer_in_store(l, target)?;
                if start.slot == target {
                    entry.advance(start.clone());
                    return Ok(start);
                }
                self.run(Some(start), target, Some(&entry))
            }
            Some(_) => {
                if let Some(state) = self.load_state(target)? {
                    return Ok(Computed {
                        slot: target,
                        state: Arc::new(state),
                    });
                }
                let start = self.nearest_before(target)?;
                self.run(start, target, None)
            }
            None => self.run(None, target, Some(&entry)),
        }
    }

    /// The latest state computed so far, from memory or the store (whichever is newer: other
    /// nodes sharing the store compute too), without computing.
    pub fn latest_cached(&self) -> Result<Option<Computed>, DeviceError> {
        let entry = self.shared.states.entry(&self.process.pid);
        let stored = self.latest_slot()?;
        let mine = entry.latest();
        if let Some(latest) = &mine {
            if stored.is_none_or(|s| s <= latest.slot) {
                return Ok(mine);
            }
        }
        let Some(slot) = stored else {
            return Ok(None);
        };
        Ok(self
            .load_state(slot)?
            .map(|state| Computed {
                slot,
                state: Arc::new(state),
            })
            .or(mine))
    }

    /// Computes from `start` (the initial state when `None`) to `target`. With `entry`, the
    /// results become the process's latest state (in memory and in the store's pointer).
    fn run(
        &self,
        start: Option<Computed>,
        target: u64,
        entry: Option<&ProcessStates>,
    ) -> Result<Computed, DeviceError> {
        let (mut state, mut next) = match start {
            Some(c) => ((*c.state).clone(), c.slot.saturating_add(1)),
            None => (self.initial_state()?, 0),
        };
        let started_at = next;
        let mut writes: Vec<StoreEntry> = Vec::new();
        while next <= target {
            let page = record::load_range(self.host, &self.process.pid, next, target, 1000)?;
            if page.is_empty() {
                return Err(DeviceError::not_found(format!(
                    "slot {next} of process {} is not in its schedule",
                    self.process.pid
                )));
            }
            for assignment in page {
                let slot = assignment
                    .get("slot")
                    .and_then(Value::as_integer)
                    .and_then(|s| u64::try_from(s).ok());
                if slot != Some(next) {
                    return Err(DeviceError::failure(format!(
                        "the schedule of process {} has no slot {next}",
                        self.process.pid
                    )));
                }
                match self.step(&state, &assignment, next) {
                    Ok(new_state) => state = new_state,
                    Err(e) => {
                        if next > started_at {
                            let last = next - 1;
                            self.flush(&mut writes, entry.map(|_| last))?;
                            if let Some(entry) = entry {
                                entry.advance(Computed {
                                    slot: last,
                                    state: Arc::new(state),
                                });
                            }
                        }
                        return Err(slot_error(e, &self.process.pid, next));
                    }
                }
                writes.push((
                    keys::state(&self.process.pid, next),
                    Some(self.encode(&state, None)),
                ));
                if writes.len() >= FLUSH_EVERY {
                    self.flush(&mut writes, entry.map(|_| next))?;
                }
                next += 1;
            }
        }
        if let Some(snapshot) = self.snapshot(&state) {
            writes.push((
                keys::state(&self.process.pid, target),
                Some(self.encode(&state, Some(snapshot))),
            ));
        }
        self.flush(&mut writes, entry.map(|_| target))?;
        let computed = Computed {
            slot: target,
            state: Arc::new(state),
        };
        if let Some(entry) = entry {
            entry.advance(computed.clone());
        }
        Ok(computed)
    }

    /// One message evaluated on `state` as slot `slot` would be, nothing stored (dry runs).
    pub fn evaluate(
        &self,
        state: &Message,
        assignment: &Message,
        slot: u64,
    ) -> Result<Message, DeviceError> {
        self.step(state, assignment, slot)
            .map_err(|e| slot_error(e, &self.process.pid, slot))
    }

    /// One slot: the execution device's transition, then the patch step.
    fn step(
        &self,
        state: &Message,
        assignment: &Message,
        slot: u64,
    ) -> Result<Message, DeviceError> {
        let device = self.process.execution_device()?;
        let key = assignment.get_str("path").unwrap_or("compute");
        let mut base = Message::with_capacity(state.len());
        for (k, v) in state.iter() {
            if k.as_str() != "results" {
                base.insert(k.clone(), v.clone());
            }
        }
        base.insert("device", device);
        let mut next = match self.host.call_device(device, key, &base, assignment)? {
            Value::Message(m) => m,
            other => {
                return Err(DeviceError::failure(format!(
                    "{device} answered slot {slot} with a {}, not the next state",
                    other.type_name()
                )))
            }
        };
        next.insert("device", "process@1.0");
        next.insert("at-slot", crate::params::slot_value(slot));
        next.remove("snapshot");
        if !next.contains_key("process") {
            next.insert("process", self.process.message.clone());
        }
        let empty = Message::new();
        let route = &self.process.patch_route;
        let patched = match self.process.patch_mode {
            PatchMode::Patches => patch::apply_patches(&next, &empty, route)?,
            PatchMode::All => patch::move_all(&next, &empty, route)?,
            PatchMode::None => None,
        };
        Ok(patched.unwrap_or(next))
    }

    /// The state before slot 0 (`§2.4`): the process definition's keys, `process`,
    /// `initialized`, `at-slot: -1`, passed through the execution device's `init`.
    fn initial_state(&self) -> Result<Message, DeviceError> {
        let device = self.process.execution_device()?;
        let mut state = self.process.message.clone();
        state.remove("commitments");
        state.insert("process", self.process.message.clone());
        state.insert("initialized", "true");
        state.insert("at-slot", -1);
        state.insert("device", device);
        let mut state = self.optional_call(device, "init", &state)?.unwrap_or(state);
        state.insert("device", "process@1.0");
        Ok(state)
    }

    /// Calls `key` of `device`; `None` when the device has no such key.
    fn optional_call(
        &self,
        device: &str,
        key: &str,
        base: &Message,
    ) -> Result<Option<Message>, DeviceError> {
        let req = Message::new().with("path", key);
        match self.host.call_device(device, key, base, &req) {
            Ok(Value::Message(m)) => Ok(Some(m)),
            Ok(other) => Err(DeviceError::failure(format!(
                "{device}'s {key} returned a {}, not a message",
                other.type_name()
            ))),
            Err(e) if is_missing_key(&e, key) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The execution device's `snapshot` of `state`, when it gives a non-empty one.
    fn snapshot(&self, state: &Message) -> Option<Message> {
        let device = self.process.execution_device().ok()?;
        let mut base = state.clone();
        base.insert("device", device);
        match self.optional_call(device, "snapshot", &base) {
            Ok(Some(m)) if !m.is_empty() => Some(m),
            Ok(_) => None,
            Err(e) => {
                self.host.warn(&format!(
                    "process {}: {device} could not snapshot its state: {e}",
                    self.process.pid
                ));
                None
            }
        }
    }

    /// A stored state made ready to compute on: the execution device's `normalize`.
    fn normalize(&self, state: Message) -> Result<Message, DeviceError> {
        let device = self.process.execution_device()?;
        let mut base = state;
        base.insert("device", device);
        let mut out = match self.optional_call(device, "normalize", &base)? {
            Some(m) => m,
            None => base,
        };
        out.insert("device", "process@1.0");
        out.remove("snapshot");
        Ok(out)
    }

    /// Where to compute `target` from, given the latest state in memory (`mine`): a newer one
    /// in the store, up to `target`, when another node sharing the store (or another library
    /// generation) computed further — its work is reused, not repeated — else `mine`.
    fn newer_in_store(&self, mine: Computed, target: u64) -> Result<Computed, DeviceError> {
        let Some(stored) = self.latest_slot()? else {
            return Ok(mine);
        };
        if stored <= mine.slot {
            return Ok(mine);
        }
        // Every computed slot's state is cached, so the one at `target` exists when the other
        // node went past it.
        let at = stored.min(target);
        Ok(self.restored(at)?.unwrap_or(mine))
    }

    /// The latest cached state in the store, normalised; `None` (compute from the start) when
    /// there is none or it cannot be restored.
    fn restore_latest(&self) -> Result<Option<Computed>, DeviceError> {
        let Some(slot) = self.latest_slot()? else {
            return Ok(None);
        };
        self.restored(slot)
    }

    fn restored(&self, slot: u64) -> Result<Option<Computed>, DeviceError> {
        let Some(state) = self.read_state(slot)? else {
            return Ok(None);
        };
        match self.normalize(state) {
            Ok(state) => Ok(Some(Computed {
                slot,
                state: Arc::new(state),
            })),
            Err(e) => {
                self.host.warn(&format!(
                    "process {}: the cached state of slot {slot} could not be restored ({e}); computing from an earlier state",
                    self.process.pid
                ));
                Ok(None)
            }
        }
    }

    /// The cached state closest before `target` (within [`LOOKBACK`] slots), normalised. Every
    /// computed slot's state is cached, so this is nearly always `target - 1`; only a crash that
    /// lost the newest cache entries makes it look further.
    fn nearest_before(&self, target: u64) -> Result<Option<Computed>, DeviceError> {
        for back in 1..=LOOKBACK.min(target) {
            let slot = target - back;
            if let Some(restored) = self.restored(slot)? {
                return Ok(Some(restored));
            }
        }
        Ok(None)
    }

    fn latest_slot(&self) -> Result<Option<u64>, DeviceError> {
        Ok(self
            .host
            .store_read(&keys::latest_state(&self.process.pid))?
            .and_then(|b| keys::decode_u64(&b)))
    }

    /// The stored state after `slot` as stored (with any `snapshot`).
    fn read_state(&self, slot: u64) -> Result<Option<Message>, DeviceError> {
        let Some(bytes) = self
            .host
            .store_read(&keys::state(&self.process.pid, slot))?
        else {
            return Ok(None);
        };
        let mut state = wire::decode_message(&bytes).map_err(|e| {
            DeviceError::failure(format!(
                "the cached state of slot {slot} of process {} is corrupt: {e}",
                self.process.pid
            ))
        })?;
        state.insert("process", self.process.message.clone());
        Ok(Some(state))
    }

    /// The stored state after `slot`, for reading.
    fn load_state(&self, slot: u64) -> Result<Option<Message>, DeviceError> {
        Ok(self.read_state(slot)?.map(|mut s| {
            s.remove("snapshot");
            s
        }))
    }

    /// A state as stored: without `process` (the definition is stored once) and private keys.
    fn encode(&self, state: &Message, snapshot: Option<Message>) -> Vec<u8> {
        let mut stored = Message::with_capacity(state.len() + 1);
        for (k, v) in state.iter() {
            if k.as_str() != "process" && !k.is_private() {
                stored.insert(k.clone(), v.clone());
            }
        }
        if let Some(s) = snapshot {
            stored.insert("snapshot", s);
        }
        wire::encode_message(&stored)
    }

    /// Writes the cached states gathered so far (no sync), and the latest pointer.
    fn flush(&self, writes: &mut Vec<StoreEntry>, latest: Option<u64>) -> Result<(), DeviceError> {
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(slot) = latest {
            writes.push((
                keys::latest_state(&self.process.pid),
                Some(keys::encode_u64(slot)),
            ));
        }
        let batch = std::mem::take(writes);
        self.host.store_transact(&[], &batch, false)
    }
}

/// Whether `e` says the device has no key `key` (so an optional step does not apply).
fn is_missing_key(e: &DeviceError, key: &str) -> bool {
    e.kind() == ErrorKind::NotFound && e.details().get_str("key") == Some(key)
}

/// An execution failure at `slot`, naming it.
fn slot_error(e: DeviceError, pid: &str, slot: u64) -> DeviceError {
    let mut out = DeviceError::new(
        e.kind(),
        format!(
            "process {pid} could not compute slot {slot}: {}",
            e.reason()
        ),
    );
    for (k, v) in e.details().iter() {
        out = out.with_detail(k.as_str(), v.clone());
    }
    out.with_detail("slot", crate::params::slot_value(slot))
        .with_detail("attempted-slot", crate::params::slot_value(slot))
        .with_detail("phase", "compute")
        .with_detail("process", pid)
}

/// A state as handed out: without private keys or the executor's snapshot.
pub fn public(state: &Message) -> Message {
    let mut out = state.without_private();
    out.remove("snapshot");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids;
    use crate::scheduler::intake::Intake;
    use crate::scheduler::{Scheduler, SchedulerConfig};
    use crate::testing::MemHost;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    struct World {
        mem: MemHost,
        host: Host,
        scheduler: Scheduler,
        computes: Arc<AtomicUsize>,
        fail_slot: Arc<AtomicUsize>,
        broken: Arc<AtomicBool>,
    }

    /// A node whose `call` reaches test-device@1.0, counting its computations and failing at
    /// `fail_slot` while `broken` is set.
    fn world() -> World {
        let mem = MemHost::new();
        let computes = Arc::new(AtomicUsize::new(0));
        let fail_slot = Arc::new(AtomicUsize::new(usize::MAX));
        let broken = Arc::new(AtomicBool::new(false));
        let (c, f, b) = (computes.clone(), fail_slot.clone(), broken.clone());
        mem.on_call(move |device, key, base, req| {
            assert_eq!(device, "test-device@1.0");
            match key {
                "init" => Ok(Value::from(base.clone().with("count", 0))),
                "compute" => {
                    c.fetch_add(1, Ordering::SeqCst);
                    let slot = req.get("slot").and_then(Value::as_integer).unwrap_or(-1) as usize;
                    if b.load(Ordering::SeqCst) && slot == f.load(Ordering::SeqCst) {
                        return Err(DeviceError::failure("the executor broke"));
                    }
                    crate::test_device::compute(base, req).map(Value::from)
                }
                _ => Err(DeviceError::not_found("no such key").with_detail("key", key)),
            }
        });
        let scheduler = Scheduler::with(
            SchedulerConfig {
                sign_assignments: false,
                accept_unsigned: true,
                page_size: 1000,
            },
            Arc::new(Shared::new(64, 64)),
        );
        World {
            host: Host::new(mem.clone()),
            mem,
            scheduler,
            computes,
            fail_slot,
            broken,
        }
    }

    fn spawn(w: &World) -> ProcessDef {
        let def = Message::new()
            .with("type", "Process")
            .with("device", "process@1.0")
            .with("execution-device", "test-device@1.0")
            .with("random-seed", format!("{:?}", std::time::Instant::now()));
        let id = ids::message_id(&def).unwrap();
        w.scheduler
            .assign(
                &w.host,
                &Intake {
                    message: def.clone(),
                    id: id.clone(),
                    pid: id,
                    spawn: true,
                },
            )
            .unwrap();
        ProcessDef::of(&def).unwrap()
    }

    fn send(w: &World, p: &ProcessDef, body: Message) -> u64 {
        let body = body.with("target", p.pid.as_str()).with("type", "Message");
        let id = ids::message_id(&body).unwrap();
        let a = w
            .scheduler
            .assign(
                &w.host,
                &Intake {
                    message: body,
                    id,
                    pid: p.pid.clone(),
                    spawn: false,
                },
            )
            .unwrap();
        a.get("slot").and_then(Value::as_integer).unwrap() as u64
    }

    fn count(c: &Computed) -> i64 {
        c.state.get("count").and_then(Value::as_integer).unwrap()
    }

    #[test]
    fn states_advance_slot_by_slot_and_older_slots_come_from_the_cache() {
        let w = world();
        let p = spawn(&w);
        for n in 1..=3 {
            assert_eq!(send(&w, &p, Message::new().with("n", n)), n as u64);
        }
        let shared = Shared::new(64, 64);
        let engine = Engine::new(&w.host, &shared, &p);
        let two = engine.compute_at(2).unwrap();
        assert_eq!(count(&two), 2);
        assert_eq!(two.state.get("at-slot"), Some(&Value::Integer(2)));
        assert_eq!(count(&engine.compute_at(3).unwrap()), 3);
        assert_eq!(
            w.computes.load(Ordering::SeqCst),
            4,
            "slots 0..=3 once each"
        );
        // An older slot is read, not recomputed, and the latest stays.
        assert_eq!(count(&engine.compute_at(1).unwrap()), 1);
        assert_eq!(w.computes.load(Ordering::SeqCst), 4);
        assert_eq!(engine.latest_cached().unwrap().unwrap().slot, 3);
        // The process definition is stored once, not in every cached state.
        let stored = w.mem.stored(&keys::state(&p.pid, 3)).unwrap();
        assert!(wire::decode_message(&stored)
            .unwrap()
            .get("process")
            .is_none());
    }

    #[test]
    fn a_node_behind_reuses_the_states_another_node_on_the_store_computed() {
        let w = world();
        let p = spawn(&w);
        send(&w, &p, Message::new().with("n", 1));
        // Two nodes on one store: each has its own memory.
        let (a, b) = (Shared::new(64, 64), Shared::new(64, 64));
        assert_eq!(
            count(&Engine::new(&w.host, &b, &p).compute_at(1).unwrap()),
            1
        );
        for n in 2..=6 {
            send(&w, &p, Message::new().with("n", n));
        }
        assert_eq!(
            count(&Engine::new(&w.host, &a, &p).compute_at(6).unwrap()),
            6
        );
        let computed = w.computes.load(Ordering::SeqCst);
        // B holds slot 1 in memory; A cached slots up to 6: B computes nothing.
        let engine = Engine::new(&w.host, &b, &p);
        assert_eq!(count(&engine.compute_at(6).unwrap()), 6);
        assert_eq!(count(&engine.compute_at(4).unwrap()), 4);
        assert_eq!(w.computes.load(Ordering::SeqCst), computed);
        assert_eq!(engine.latest_cached().unwrap().unwrap().slot, 6);
        // Beyond what A computed, B goes on from A's latest state.
        send(&w, &p, Message::new().with("n", 7));
        assert_eq!(count(&engine.compute_at(7).unwrap()), 7);
        assert_eq!(w.computes.load(Ordering::SeqCst), computed + 1);
    }

    #[test]
    fn a_restarted_node_resumes_from_the_cached_state_without_replaying() {
        let w = world();
        let p = spawn(&w);
        for n in 1..=5 {
            send(&w, &p, Message::new().with("n", n));
        }
        let first = Shared::new(64, 64);
        let before = Engine::new(&w.host, &first, &p).compute_at(5).unwrap();
        let computed = w.computes.load(Ordering::SeqCst);
        // A fresh generation: nothing in memory, the same store.
        let second = Shared::new(64, 64);
        send(&w, &p, Message::new().with("n", 6));
        let engine = Engine::new(&w.host, &second, &p);
        assert_eq!(engine.latest_cached().unwrap().unwrap().state, before.state);
        assert_eq!(count(&engine.compute_at(6).unwrap()), 6);
        assert_eq!(
            w.computes.load(Ordering::SeqCst),
            computed + 1,
            "only slot 6 ran"
        );
    }

    #[test]
    fn a_cache_wiped_out_recomputes_to_the_same_state() {
        let w = world();
        let p = spawn(&w);
        for n in 1..=4 {
            send(&w, &p, Message::new().with("n", n));
        }
        let cached = Engine::new(&w.host, &Shared::new(64, 64), &p)
            .compute_at(4)
            .unwrap();
        for key in w.mem.keys_with_prefix(&format!("process/{}/state", p.pid)) {
            w.mem.remove(&key);
        }
        let fresh = Engine::new(&w.host, &Shared::new(64, 64), &p)
            .compute_at(4)
            .unwrap();
        assert_eq!(fresh.state, cached.state);
    }

    #[test]
    fn an_execution_error_names_its_slot_and_keeps_the_state_before() {
        let w = world();
        let p = spawn(&w);
        for n in 1..=3 {
            send(&w, &p, Message::new().with("n", n));
        }
        w.fail_slot.store(2, Ordering::SeqCst);
        w.broken.store(true, Ordering::SeqCst);
        let shared = Shared::new(64, 64);
        let engine = Engine::new(&w.host, &shared, &p);
        let e = engine.compute_at(3).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Failure);
        assert_eq!(e.details().get("slot"), Some(&Value::Integer(2)));
        assert!(e.reason().contains("slot 2"), "{e}");
        assert_eq!(engine.latest_cached().unwrap().unwrap().slot, 1);
        // Fixed: the next request retries slot 2 and goes on.
        w.broken.store(false, Ordering::SeqCst);
        assert_eq!(count(&engine.compute_at(3).unwrap()), 3);
    }

    #[test]
    fn outbox_patches_land_in_the_state_after_each_slot() {
        let w = world();
        let p = spawn(&w);
        let outbox = Message::new().with(
            "1",
            Message::new()
                .with("device", "patch@1.0")
                .with("counter", 42)
                .with("cache", Message::new().with("name", "T")),
        );
        send(&w, &p, Message::new().with("outbox", outbox));
        send(&w, &p, Message::new().with("n", 2));
        let state = Engine::new(&w.host, &Shared::new(64, 64), &p)
            .compute_at(2)
            .unwrap()
            .state;
        assert_eq!(
            state.get("counter"),
            Some(&Value::Integer(42)),
            "patched keys persist across slots"
        );
        assert_eq!(
            state.get_message("cache").and_then(|c| c.get_str("name")),
            Some("T")
        );
        assert_eq!(state.get_str("type"), Some("Process"));
    }
}

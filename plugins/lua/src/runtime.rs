//! The VMs of running processes (docs/lua.md, "VM per process"): one per process, kept between
//! slots and reused only when it is at the slot the state is at; otherwise rebuilt from the
//! snapshot stored with that state. Bounded: the least recently used VM is dropped first.

use crate::bindings;
use crate::error::LuaError;
use crate::modules::ModuleCache;
use crate::snapshot;
use crate::vm::{Limits, Vm};
use ferrobeam_device_api::{wire, Host, Message, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The AOS runtime's source.
pub const AOS: &str = include_str!("lua/aos.lua");

/// Which runtime a VM carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Plain `lua@5.3a`: the modules only.
    Plain,
    /// `aos@2.0`: the AOS runtime, then the modules.
    Aos,
}

/// A process's VM and the slot its state is at.
#[derive(Debug)]
pub struct Entry {
    /// The VM (`None` after a failure that may have left it half-changed).
    pub vm: Option<Vm>,
    /// The slot of the state the VM holds (`-1`: freshly built, before slot 0).
    pub slot: i64,
    /// A snapshot of the VM at `checkpoint_slot`, and the assignments applied since (`None`:
    /// a slot that was rolled back): enough to rebuild the VM at `slot` without the store.
    pub checkpoint: Option<Message>,
    /// The slot of `checkpoint`.
    pub checkpoint_slot: i64,
    /// The assignments since the checkpoint.
    pub log: Vec<Option<Message>>,
    last_used: u64,
}

/// Assignments between two in-memory checkpoints of an AOS VM.
pub const CHECKPOINT_EVERY: usize = 32;

/// Re-applies one logged assignment to a VM being rebuilt.
pub type Replay<'a> = &'a dyn Fn(&Vm, &Message) -> Result<(), LuaError>;

impl Entry {
    /// Records a computed slot; every [`CHECKPOINT_EVERY`] slots the VM is checkpointed.
    pub fn record(&mut self, slot: i64, assignment: Option<Message>) -> Result<(), LuaError> {
        self.slot = slot;
        if self.checkpoint.is_none() {
            return Ok(());
        }
        self.log.push(assignment);
        if self.log.len() >= CHECKPOINT_EVERY {
            if let Some(vm) = &self.vm {
                self.checkpoint = Some(snapshot::take(vm)?);
                self.checkpoint_slot = slot;
                self.log.clear();
            }
        }
        Ok(())
    }

    /// Forgets the VM (after a failure that may have left it half-changed).
    pub fn drop_vm(&mut self) {
        self.vm = None;
    }
}

/// Every process VM of one device, plus the module cache.
#[derive(Debug)]
pub struct Runtime {
    /// The node.
    pub host: Host,
    /// Default limits (the device's options).
    pub defaults: Limits,
    /// Modules by ID.
    pub modules: ModuleCache,
    vms: Mutex<HashMap<String, Arc<Mutex<Entry>>>>,
    clock: AtomicU64,
    max_vms: usize,
}

/// A process key holding a number, if present.
fn number(m: &Message, key: &str) -> Option<u64> {
    match m.get(key)? {
        Value::Integer(i) => u64::try_from(*i).ok(),
        Value::Binary(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

impl Runtime {
    /// Counts a spent instruction budget or memory limit in the node's metrics
    /// (`ferrobeam_device_lua_budget_exhausted_total{device, budget}`); other errors pass.
    pub fn count_exhaustion(&self, e: &LuaError) {
        let budget = match e {
            LuaError::Budget(_) => "instructions",
            LuaError::Memory(_) => "memory",
            _ => return,
        };
        // Counting is best effort: a node without the metric operation still answers.
        let _ = self
            .host
            .count("lua_budget_exhausted", &[("budget", budget)]);
    }

    /// A runtime over `host`, configured by the device options.
    pub fn new(host: Host, config: &Message) -> Runtime {
        let mut defaults = Limits::default();
        if let Some(n) = number(config, "instruction_budget") {
            defaults.instructions = n;
        }
        if let Some(n) = number(config, "memory_limit") {
            defaults.memory = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Runtime {
            host,
            defaults,
            modules: ModuleCache::default(),
            vms: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            max_vms: number(config, "max_vms").map_or(256, |n| n.max(1) as usize),
        }
    }

    /// The limits for a process (or a read): `lua-instruction-budget` and `lua-memory-limit`
    /// of the process definition, at most the device's (whoever spawns a process cannot
    /// give it more than the operator allows).
    pub fn limits(&self, process: Option<&Message>) -> Limits {
        let mut l = self.defaults;
        if let Some(p) = process {
            if let Some(n) = number(p, "lua-instruction-budget") {
                l.instructions = n.clamp(1000, self.defaults.instructions);
            }
            if let Some(n) = number(p, "lua-memory-limit") {
                l.memory = usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .clamp(1024 * 1024, self.defaults.memory.max(1024 * 1024));
            }
        }
        l
    }

    /// A new VM with the bindings, the runtime of `flavor` and the modules of `module`.
    pub fn build(
        &self,
        flavor: Flavor,
        limits: Limits,
        seed: i64,
        module: Option<&Value>,
    ) -> Result<Vm, LuaError> {
        let vm = Vm::new(limits, seed)?;
        bindings::install(vm.lua(), &self.host)?;
        if flavor == Flavor::Aos {
            vm.exec("aos", AOS.as_bytes())?;
        }
        if let Some(module) = module {
            for m in self.modules.load(&self.host, module)? {
                vm.exec(&m.name, &m.source)?;
            }
        }
        Ok(vm)
    }

    /// The entry of process `pid`, created empty when absent.
    pub fn entry(&self, pid: &str) -> Arc<Mutex<Entry>> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut vms = match self.vms.lock() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        if !vms.contains_key(pid) && vms.len() >= self.max_vms {
            let oldest = vms
                .iter()
                .filter_map(|(k, e)| e.try_lock().ok().map(|e| (e.last_used, k.clone())))
                .min()
                .map(|(_, k)| k);
            if let Some(k) = oldest {
                vms.remove(&k);
            }
        }
        let e = vms
            .entry(pid.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Entry {
                    vm: None,
                    slot: i64::MIN,
                    checkpoint: None,
                    checkpoint_slot: i64::MIN,
                    log: Vec::new(),
                    last_used: tick,
                }))
            })
            .clone();
        drop(vms);
        if let Ok(mut g) = e.try_lock() {
            g.last_used = tick;
        }
        e
    }

    /// Makes `entry` hold a VM at slot `at` of process `pid`: the one it has, a fresh one
    /// (before slot 0), or one restored from the snapshot stored with the state at `at`.
    pub fn ensure(
        &self,
        entry: &mut Entry,
        pid: &str,
        at: i64,
        flavor: Flavor,
        process: &Message,
        replay: Option<Replay<'_>>,
    ) -> Result<(), LuaError> {
        if entry.vm.is_some() && entry.slot == at {
            return Ok(());
        }
        entry.vm = None;
        let limits = self.limits(Some(process));
        let seed = seed_of(pid);
        if let (Some(replay), Some(cp)) = (replay, &entry.checkpoint) {
            if entry.checkpoint_slot + entry.log.len() as i64 == at {
                let vm = self.build(flavor, limits, seed, process.get("module"))?;
                snapshot::restore(&vm, cp)?;
                for a in entry.log.iter().flatten() {
                    replay(&vm, a)?;
                }
                entry.vm = Some(vm);
                entry.slot = at;
                return Ok(());
            }
        }
        let vm = if at < 0 {
            self.build(flavor, limits, seed, process.get("module"))?
        } else {
            let snap = self.stored_snapshot(pid, at)?.ok_or_else(|| {
                LuaError::Snapshot(format!(
                    "process {pid} has no Lua VM at slot {at} and no snapshot stored for it"
                ))
            })?;
            let vm = self.build(flavor, limits, seed, process.get("module"))?;
            snapshot::restore(&vm, &snap)?;
            vm
        };
        entry.checkpoint = Some(snapshot::take(&vm)?);
        entry.checkpoint_slot = at;
        entry.log.clear();
        entry.vm = Some(vm);
        entry.slot = at;
        Ok(())
    }

    /// Restores process `pid`'s VM at slot `at` from `snap` (the `normalize` step).
    pub fn restore_into(
        &self,
        pid: &str,
        at: i64,
        flavor: Flavor,
        process: &Message,
        snap: &Message,
    ) -> Result<(), LuaError> {
        let entry = self.entry(pid);
        let mut g = entry
            .lock()
            .map_err(|_| LuaError::Snapshot("a VM lock was poisoned".into()))?;
        if g.vm.is_some() && g.slot == at {
            return Ok(());
        }
        let vm = self.build(
            flavor,
            self.limits(Some(process)),
            seed_of(pid),
            process.get("module"),
        )?;
        snapshot::restore(&vm, snap)?;
        g.checkpoint = Some(snapshot::take(&vm)?);
        g.checkpoint_slot = at;
        g.log.clear();
        g.vm = Some(vm);
        g.slot = at;
        Ok(())
    }

    /// The Lua snapshot stored with process `pid`'s state after `slot` (docs/processes.md,
    /// "Store layout": `process/<pid>/state/<slot>`), if any.
    fn stored_snapshot(&self, pid: &str, slot: i64) -> Result<Option<Message>, LuaError> {
        if !crate::modules::is_id(pid) {
            return Ok(None);
        }
        let key = format!("process/{pid}/state/{slot:020}");
        let bytes = self
            .host
            .store_read(&key)
            .map_err(|e| LuaError::Snapshot(e.reason().to_owned()))?;
        let Some(bytes) = bytes else { return Ok(None) };
        let state = wire::decode_message(&bytes).map_err(|e| LuaError::Snapshot(e.to_string()))?;
        Ok(state.get_message("snapshot").cloned())
    }
}

/// The random seed of a process: FNV-1a of its ID.
pub fn seed_of(pid: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in pid.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The process ID of a computed state (its `process` message's signed ID).
pub fn process_id(state: &Message) -> Option<String> {
    let process = state.get_message("process")?;
    ferrobeam_httpsig::id(process, ferrobeam_httpsig::IdMode::All).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrobeam_device_api::testing::TestHost;

    #[test]
    fn a_process_may_lower_its_limits_but_not_raise_them() {
        let config = Message::new()
            .with("instruction_budget", 1_000_000)
            .with("memory_limit", 64 * 1024 * 1024);
        let rt = Runtime::new(Host::new(TestHost::new()), &config);
        let lower = Message::new()
            .with("lua-instruction-budget", 50_000)
            .with("lua-memory-limit", "8388608");
        assert_eq!(
            rt.limits(Some(&lower)),
            Limits {
                instructions: 50_000,
                memory: 8 * 1024 * 1024
            }
        );
        let higher = Message::new()
            .with("lua-instruction-budget", 1_000_000_000)
            .with("lua-memory-limit", 1i64 << 40);
        assert_eq!(rt.limits(Some(&higher)), rt.defaults);
        assert_eq!(rt.limits(None), rt.defaults);
    }
}

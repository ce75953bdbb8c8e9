//! `process@1.0` (`spec/process.md` §2): an AO process — a signed process message plus its
//! schedule — read over HTTP.
//!
//! | key | answer |
//! | --- | --- |
//! | `schedule` | the scheduler's `schedule` (POST: spawn or schedule a message; GET: the schedule) |
//! | `slot` | the scheduler's `slot` |
//! | `compute` | the state after slot `compute` / `slot` (`/compute=2`, `compute&slot=2`, `?slot=2`); without a slot, the latest state computed so far (computing everything assigned only when nothing is) |
//! | `now` | the state after every assigned slot |
//! | `push` | schedule (or take `slot`), compute, deliver the outbox to local processes; a process message is spawned and its assignment answered |
//! | `results` | on a state: its `results`, or with `results=N` those of slot N (`/compute/results=N`, aoconnect's `result`); asked for JSON (`require-codec: application/json`), the JSON document aoconnect reads ([`legacy`]) |
//! | `as` | `as=execution`: the current state, marked so that `compute` dry-runs the request with the execution device (`dryrun`, [`dryrun`]) |
//!
//! Keys after `compute` or `now` read the state (`/now/counter`, `/compute/results/outbox/1`).
//!
//! Option (`[devices."process@1.0".options]`): `memory_states`, how many processes keep their
//! latest state in memory (default 1024; the rest reload it from the store).

pub mod compute;
pub mod definition;
pub mod dryrun;
pub mod legacy;
pub mod push;
pub mod states;

use crate::params::{self, slot_value};
use crate::shared::{shared, Shared};
use compute::{public, Engine};
use definition::{ProcessDef, DEFAULT_SCHEDULER};
use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Outcome, Value,
};
use std::sync::Arc;

/// The `process@1.0` device.
#[derive(Debug)]
pub struct Process {
    shared: Arc<Shared>,
}

impl Device for Process {
    const NAME: &'static str = "process@1.0";
    // Any other key of a process (or of its state, `now/balances/…`) is `message@1.0`'s.
    const HANDLES: Option<&'static [&'static str]> = Some(&["as"]);

    fn init(ctx: InitContext) -> Result<Self, DeviceError> {
        let shared = shared();
        let states = params::count(&ctx.config, "memory_states", crate::shared::MEMORY_STATES)?;
        shared.states.set_capacity(states);
        Ok(Process { shared })
    }

    /// `as` is a Rust keyword, so it is handled here rather than listed as a method.
    fn handle(&self, key: &str, base: &Message, req: &Message, opts: &Opts) -> Option<Outcome> {
        match key {
            "as" => Some(self.run_as(base, req, opts).map(Value::Message)),
            _ => None,
        }
    }
}

impl Process {
    /// A process device over explicit state (tests).
    pub fn with(shared: Arc<Shared>) -> Self {
        Process { shared }
    }

    /// `schedule`: handed to the process's scheduler device (a spawn when the message is a
    /// process; then there is no process yet and `base` is the request).
    pub fn schedule(
        &self,
        base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Value, DeviceError> {
        let (scheduler, base) = match ProcessDef::of(base) {
            Ok(p) => (p.scheduler, p.message),
            Err(_) => (DEFAULT_SCHEDULER.to_owned(), base.clone()),
        };
        opts.host().call_device(&scheduler, "schedule", &base, req)
    }

    /// `slot`: the scheduler's view of the process's current slot.
    pub fn slot(&self, base: &Message, req: &Message, opts: &Opts) -> Result<Value, DeviceError> {
        let p = ProcessDef::of(base)?;
        opts.host()
            .call_device(&p.scheduler, "slot", &p.message, req)
    }

    /// `compute`: the state after a slot, or the latest computed; on a state marked by `as`,
    /// the results of a dry run.
    pub fn compute(
        &self,
        base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Value, DeviceError> {
        let p = ProcessDef::of(base)?;
        let host = opts.host();
        if base.contains_key(dryrun::DRY_RUN) {
            let current = self.current(opts, &p)?;
            let results = dryrun::evaluate(host, &self.shared, &p, current, req)?;
            return Ok(if legacy::wants_json(req) {
                Value::Message(legacy::document(&results))
            } else {
                results
            });
        }
        let engine = Engine::new(host, &self.shared, &p);
        let computed = match params::first_slot(req, &["compute", "slot"])? {
            Some(slot) => {
                self.assigned(opts, &p, slot)?;
                engine.compute_at(slot)?
            }
            None => self.latest(opts, &p)?,
        };
        Ok(Value::Message(public(&computed.state)))
    }

    /// `results`: the base state's `results`; with a slot (`results=N`), those of slot N.
    pub fn results(
        &self,
        base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Value, DeviceError> {
        let p = ProcessDef::of(base)?;
        let state = match params::first_slot(req, &["results"])? {
            Some(slot) => {
                self.assigned(opts, &p, slot)?;
                Engine::new(opts.host(), &self.shared, &p)
                    .compute_at(slot)?
                    .state
            }
            None if base.contains_key("at-slot") => Arc::new(base.clone()),
            None => self.latest(opts, &p)?.state,
        };
        let results = public(&state)
            .remove("results")
            .unwrap_or_else(|| Value::Message(Message::new()));
        Ok(if legacy::wants_json(req) {
            Value::Message(legacy::document(&results))
        } else {
            results
        })
    }

    /// `as=<role>`: the current state, marked for a dry run by the `<role>-device`.
    fn run_as(&self, base: &Message, req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
        let p = ProcessDef::of(base)?;
        let role = req.get_str("as").unwrap_or("execution");
        let current = self.current(opts, &p)?;
        let computed = Engine::new(opts.host(), &self.shared, &p).compute_at(current)?;
        dryrun::mark(public(&computed.state), &p, role)
    }

    /// `now`: the state after every slot assigned so far.
    pub fn now(&self, base: &Message, _req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
        let p = ProcessDef::of(base)?;
        let current = self.current(opts, &p)?;
        let computed = Engine::new(opts.host(), &self.shared, &p).compute_at(current)?;
        Ok(public(&computed.state))
    }

    /// `push`: schedule, compute, deliver.
    pub fn push(&self, base: &Message, req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
        let p = ProcessDef::of(base)?;
        push::push(opts.host(), &self.shared, &p, req)
    }

    /// The latest state computed so far; everything assigned when nothing is (`§9.7`).
    fn latest(&self, opts: &Opts, p: &ProcessDef) -> Result<states::Computed, DeviceError> {
        let engine = Engine::new(opts.host(), &self.shared, p);
        match engine.latest_cached()? {
            Some(latest) => Ok(latest),
            None => engine.compute_at(self.current(opts, p)?),
        }
    }

    /// The process's last assigned slot.
    fn current(&self, opts: &Opts, p: &ProcessDef) -> Result<u64, DeviceError> {
        self.shared
            .sequencer
            .head(opts.host(), &p.pid)?
            .map(|h| h.slot)
            .ok_or_else(|| {
                DeviceError::not_found(format!("process {} has no schedule on this node", p.pid))
                    .with_detail("process", p.pid.as_str())
            })
    }

    /// `slot` must be assigned (`§2.5`: "Requested slot not yet available in schedule.").
    fn assigned(&self, opts: &Opts, p: &ProcessDef, slot: u64) -> Result<(), DeviceError> {
        let current = self.current(opts, p)?;
        if slot > current {
            return Err(DeviceError::not_found(format!(
                "Requested slot not yet available in schedule: slot {slot} of process {} (its latest is {current}).",
                p.pid
            ))
            .with_detail("phase", "get-schedule")
            .with_detail("attempted-slot", slot_value(slot))
            .with_detail("current", slot_value(current)));
        }
        Ok(())
    }
}

device_methods!(Process {
    schedule,
    slot,
    compute,
    now,
    push,
    results
});

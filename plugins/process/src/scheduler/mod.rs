//! `scheduler@1.0` (`spec/process.md` §3): assigns messages to slots of a process — durably,
//! gap-free, hash-chained — and serves the schedule.
//!
//! | key | request | answer |
//! | --- | --- | --- |
//! | `schedule` (POST) | the message in `body` (or `subject`, or the request itself) | the assignment: `process`, `slot`, `hash-chain`, `timestamp`, `body`, … |
//! | `schedule` (GET) | `target`, `from` (0), `to` (latest), `limit`, `accept` | `{type: schedule, process, continues, assignments: {"<slot>": …}}`, or with `accept=application/aos-2` the legacy JSON `{page_info, edges}` |
//! | `slot` | `target` (or the process it is called on) | `{process, current, timestamp, block-height, block-hash}` |
//! | `status` | `after` | `{address, processes: [...]}` |
//!
//! Options (`[devices."scheduler@1.0".options]`): `sign_assignments` (default `true`: the node
//! wallet commits every assignment, which needs the `sign` capability), `accept_unsigned`
//! (default `false`), `page_size` (default and largest page of `schedule` GET, 1000).

pub mod aos2;
pub mod head;
pub mod intake;
pub mod record;
pub mod sequencer;

use crate::ids;
use crate::keys;
use crate::params::{self, slot_param, slot_value};
use crate::shared::{shared, Shared};
use ferrobeam_device_api::{
    device_methods, Device, DeviceError, Host, InitContext, Message, Opts, Value,
};
use head::now_ms;
use intake::{Intake, Policy};
use sequencer::{Outcome, Submission};
use std::sync::Arc;

/// Most assignments one `schedule` GET returns.
pub const MAX_PAGE: usize = 1000;

/// The scheduler's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Commit every assignment with the node wallet.
    pub sign_assignments: bool,
    /// Accept messages nobody signed.
    pub accept_unsigned: bool,
    /// The default and largest page of `schedule` GET.
    pub page_size: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            sign_assignments: true,
            accept_unsigned: false,
            page_size: MAX_PAGE,
        }
    }
}

impl SchedulerConfig {
    /// Reads `[devices."scheduler@1.0".options]`.
    pub fn from_options(options: &Message) -> Result<Self, DeviceError> {
        let d = SchedulerConfig::default();
        Ok(SchedulerConfig {
            sign_assignments: params::flag(options, "sign_assignments", d.sign_assignments)?,
            accept_unsigned: params::flag(options, "accept_unsigned", d.accept_unsigned)?,
            page_size: params::count(options, "page_size", d.page_size)?.min(MAX_PAGE),
        })
    }
}

/// The `scheduler@1.0` device.
#[derive(Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    shared: Arc<Shared>,
}

impl Device for Scheduler {
    const NAME: &'static str = "scheduler@1.0";

    fn init(ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Scheduler {
            config: SchedulerConfig::from_options(&ctx.config)?,
            shared: shared(),
        })
    }
}

impl Scheduler {
    /// A scheduler over explicit state (tests).
    pub fn with(config: SchedulerConfig, shared: Arc<Shared>) -> Self {
        Scheduler { config, shared }
    }

    /// `schedule`: POST assigns a message, GET reads the schedule.
    pub fn schedule(
        &self,
        base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        if params::method(req) == "POST" {
            self.post(base, req, opts)
        } else {
            self.read(base, req, opts)
        }
    }

    /// `slot`: the current slot of a process.
    pub fn slot(&self, base: &Message, req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
        let pid = target_process(base, req)?;
        let head = self.head_of(opts.host(), &pid)?;
        let mut out = Message::new()
            .with("process", pid.as_str())
            .with("current", slot_value(head.slot))
            .with("timestamp", slot_value(now_ms()))
            .with("block-height", 0)
            .with("block-hash", record::NO_BLOCK_HASH)
            .with("cache-control", "no-store");
        if let Some(address) = opts.get_str("address") {
            out.insert("addresses", Value::List(vec![Value::from(address)]));
        }
        Ok(out)
    }

    /// `status`: this node's address and the processes it schedules (1000 a page; `after` pages).
    pub fn status(
        &self,
        _base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let after = req.get_str("after").map(keys::process_index);
        let page = opts
            .host()
            .store_list(keys::PROCESSES_PREFIX, after.as_deref(), MAX_PAGE)?;
        let processes: Vec<Value> = page
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(keys::PROCESSES_PREFIX))
            .map(Value::from)
            .collect();
        let mut out = Message::new()
            .with("processes", processes)
            .with("cache-control", "no-store");
        if let Some(address) = opts.get_str("address") {
            out.insert("address", address);
        }
        Ok(out)
    }

    fn head_of(&self, host: &Host, pid: &str) -> Result<head::Head, DeviceError> {
        self.shared.sequencer.head(host, pid)?.ok_or_else(|| {
            DeviceError::not_found(format!("process {pid} has no schedule on this node"))
                .with_detail("process", pid)
        })
    }

    fn post(&self, base: &Message, req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
        let policy = Policy {
            accept_unsigned: self.config.accept_unsigned,
            node_address: opts.get_str("address"),
        };
        let intake = intake::intake(base, req, policy)?;
        // The answer is the assignment with its own commitment, as HyperBEAM answers: the node
        // does not sign a result that carries a signature, so a scheduled message costs one
        // signature (`docs/processes.md`).
        self.assign(opts.host(), &intake)
    }

    /// Assigns an accepted message its slot; a message assigned before gets its first
    /// assignment back.
    pub fn assign(&self, host: &Host, intake: &Intake) -> Result<Message, DeviceError> {
        let submission = Submission {
            pid: &intake.pid,
            message_id: &intake.id,
            spawn: intake.spawn,
        };
        let sign = self.config.sign_assignments;
        let outcome = self
            .shared
            .sequencer
            .submit(host, submission, |reservation| {
                record::prepare(
                    host,
                    &intake.pid,
                    &intake.message,
                    &intake.id,
                    intake.spawn,
                    sign,
                    reservation,
                )
            })?;
        match outcome {
            Outcome::Assigned { assignment, .. } => Ok(assignment),
            Outcome::Duplicate { slot } => {
                record::load(host, &intake.pid, slot)?.ok_or_else(|| {
                    DeviceError::failure(format!(
                        "message {} was assigned slot {slot} of process {}, which is missing",
                        intake.id, intake.pid
                    ))
                })
            }
        }
    }

    fn read(&self, base: &Message, req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
        let host = opts.host();
        let pid = target_process(base, req)?;
        let head = self.head_of(host, &pid)?;
        let from = slot_param(req, "from")?.unwrap_or(0);
        let to = slot_param(req, "to")?.unwrap_or(head.slot).min(head.slot);
        let limit = match slot_param(req, "limit")? {
            Some(n) => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .clamp(1, self.config.page_size),
            None => self.config.page_size,
        };
        let assignments = record::load_range(host, &pid, from, to, limit)?;
        let last = assignments
            .last()
            .and_then(|a| a.get("slot"))
            .and_then(Value::as_integer)
            .and_then(|s| u64::try_from(s).ok());
        let continues = last.is_some_and(|l| l < to);
        let accept = req
            .get_str("accept")
            .or_else(|| base.get_str("accept"))
            .unwrap_or("application/http");
        if accept.contains("application/aos-2") {
            let body = aos2::page(&pid, &assignments, continues, now_ms())?;
            return Ok(Message::new()
                .with("content-type", "application/json")
                .with("body", body));
        }
        let mut numbered = Message::with_capacity(assignments.len());
        for a in assignments {
            let slot = a
                .get("slot")
                .and_then(Value::as_integer)
                .unwrap_or_default();
            numbered.insert(slot.to_string(), a);
        }
        Ok(Message::new()
            .with("type", "schedule")
            .with("process", pid.as_str())
            .with("continues", continues)
            .with("timestamp", slot_value(now_ms()))
            .with("block-height", 0)
            .with("block-hash", record::NO_BLOCK_HASH)
            .with("assignments", numbered))
    }
}

/// The process a read is about (`§3.1`): the request's `target`, else the process it was called
/// on.
pub fn target_process(base: &Message, req: &Message) -> Result<String, DeviceError> {
    if let Some(target) = req.get("target") {
        let text = target
            .as_str()
            .ok_or_else(|| DeviceError::bad_request("`target` must be a process ID"))?;
        return ids::checked(text, "target");
    }
    if let Some(Value::Message(process)) = base.get("process") {
        return ids::message_id(process);
    }
    if ids::is_process(base) && base.contains_key("commitments") {
        return ids::message_id(base);
    }
    Err(DeviceError::bad_request(
        "which process? give `target`, or call this on a process (/<process-id>/…)",
    ))
}

device_methods!(Scheduler {
    schedule,
    slot,
    status
});

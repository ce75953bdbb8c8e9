//! A process definition (`spec/process.md` §2.1) and the roles it names.

use crate::ids;
use crate::patch::Route;
use ferrobeam_device_api::{DeviceError, Message, Value};

/// The scheduler a process uses when it names none.
pub const DEFAULT_SCHEDULER: &str = "scheduler@1.0";
/// Where a process's patches come from by default: its latest results' outbox.
pub const DEFAULT_PATCH_FROM: &str = "/results/outbox";

/// What `patch@1.0` does after each slot (`patch-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchMode {
    /// Move patch messages (the default; `patches` or `compute`).
    Patches,
    /// Move the whole source (`all`).
    All,
    /// Do not patch (`none`).
    None,
}

/// A process: its ID, its definition and the devices it names.
#[derive(Debug, Clone)]
pub struct ProcessDef {
    /// The process ID.
    pub pid: String,
    /// The process message (committed keys and commitments).
    pub message: Message,
    /// `execution-device`.
    pub execution: String,
    /// `scheduler-device` (default `scheduler@1.0`).
    pub scheduler: String,
    /// `patch-mode`.
    pub patch_mode: PatchMode,
    /// `patch-from` (default `/results/outbox`) and `patch-to` (default `/`).
    pub patch_route: Route,
}

impl ProcessDef {
    /// The process `base` is: a process message (`/<pid>~process@1.0/…`) or a computed state
    /// (its `process`).
    pub fn of(base: &Message) -> Result<ProcessDef, DeviceError> {
        let message = match base.get("process") {
            Some(Value::Message(p)) => p,
            _ => base,
        };
        if !ids::is_process(message) {
            return Err(DeviceError::bad_request(
                "process@1.0 needs a process: call it as /<process-id>~process@1.0/… (a message with type: Process)",
            ));
        }
        let pid = ids::message_id(message)?;
        let text = |key: &str| message.get_str(key).map(str::to_owned);
        let patch_mode = match message.get_str("patch-mode") {
            None | Some("patches") | Some("compute") => PatchMode::Patches,
            Some("all") => PatchMode::All,
            Some("none") => PatchMode::None,
            Some(other) => {
                return Err(DeviceError::bad_request(format!(
                    "process {pid}: patch-mode must be patches, all or none, not {other:?}"
                )))
            }
        };
        Ok(ProcessDef {
            execution: text("execution-device").unwrap_or_default(),
            scheduler: text("scheduler-device").unwrap_or_else(|| DEFAULT_SCHEDULER.to_owned()),
            patch_mode,
            patch_route: Route {
                from: text("patch-from").unwrap_or_else(|| DEFAULT_PATCH_FROM.to_owned()),
                to: text("patch-to").unwrap_or_else(|| "/".to_owned()),
            },
            message: message.clone(),
            pid,
        })
    }

    /// The execution device, or why there is none.
    pub fn execution_device(&self) -> Result<&str, DeviceError> {
        if self.execution.is_empty() {
            return Err(DeviceError::bad_request(format!(
                "process {} names no `execution-device`, so it cannot compute",
                self.pid
            ))
            .with_detail("process", self.pid.as_str()));
        }
        Ok(&self.execution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_roles_come_from_the_process_message() {
        let def = Message::new()
            .with("type", "Process")
            .with("execution-device", "test-device@1.0");
        let p = ProcessDef::of(&def).unwrap();
        assert_eq!(p.scheduler, DEFAULT_SCHEDULER);
        assert_eq!(p.patch_mode, PatchMode::Patches);
        assert_eq!(p.patch_route.from, DEFAULT_PATCH_FROM);
        let state = Message::new().with("process", def).with("at-slot", 4);
        assert_eq!(ProcessDef::of(&state).unwrap().pid, p.pid);
    }

    #[test]
    fn a_message_that_is_not_a_process_is_refused() {
        assert!(ProcessDef::of(&Message::new().with("type", "Message")).is_err());
        let none = Message::new().with("type", "Process");
        assert!(ProcessDef::of(&none).unwrap().execution_device().is_err());
    }
}

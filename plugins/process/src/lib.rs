//! # ferrobeam-process — AO processes
//!
//! The devices that make a signed process message plus an ordered, durable schedule into state
//! readable over HTTP (`spec/process.md` §1–§4; `docs/processes.md`):
//!
//! | device | module | what |
//! | --- | --- | --- |
//! | `scheduler@1.0` | [`scheduler`] | spawns (slot 0) and assigns messages to gap-free, hash-chained, durable slots; serves schedules |
//! | `process@1.0` | [`process`] | `compute`, `now`, `slot`, `schedule`, `push` over an execution device, with states cached per slot |
//! | `patch@1.0` | [`patch`] | moves `device = 'patch@1.0'` outbox messages into the state |
//! | `test-device@1.0` | [`test_device`] | the execution device `wao`'s `hb.spawn` names |
//! | `cache@1.0` | [`cache`] | `write`: stores a signed message by ID (`ferrobeam upload`) |
//!
//! They are one library because they share in-memory state — the per-process slot sequencer
//! and latest states ([`shared`]) — and one copy of std. Everything they keep is in the node's
//! store under the layout of [`keys`].
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cache;
pub mod ids;
pub mod keys;
pub mod params;
pub mod patch;
pub mod process;
pub mod scheduler;
pub mod shared;
pub mod test_device;
#[cfg(test)]
mod testing;

ferrobeam_device_api::export_devices!(
    scheduler::Scheduler,
    process::Process,
    patch::Patch,
    test_device::TestDevice,
    cache::Cache
);

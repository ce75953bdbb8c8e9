//! ferrobeam's end-to-end tests: one binary (fewer link steps on a 2-core machine), one module
//! per concern. Every test starts real nodes on free ports and talks HTTP to them, or loads real
//! plugin libraries in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abi;
mod ans104;
mod aoconnect;
mod codecs;
mod crash_safety;
mod edge;
mod faults;
mod guide;
mod identity;
mod limits;
mod lua;
mod message_device;
mod multinode;
mod mydev;
mod ops;
mod paths;
mod pg_store;
mod process_client;
mod process_crash;
mod processes;
mod reload;
mod request_cache;
mod response_cache;
mod secrets;
mod trust;
mod upload;
mod verification;

//! ferrobeam's end-to-end tests: one binary (fewer link steps on a 2-core machine), one module
//! per concern. Every test starts real nodes on free ports and talks HTTP to them, or loads real
//! plugin libraries in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abi;
mod codecs;
mod edge;
mod guide;
mod identity;
mod message_device;
mod mydev;
mod ops;
mod paths;
mod process_client;
mod process_crash;
mod processes;
mod reload;
mod secrets;
mod upload;
mod verification;

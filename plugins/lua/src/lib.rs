//! # ferrobeam-lua — `lua@5.3a` and the AOS runtime (`aos@2.0`)
//!
//! Lua 5.3 (mlua, vendored) as an AO-Core device (`spec/process.md` §5–§6; docs/lua.md):
//!
//! | module | what |
//! | --- | --- |
//! | [`vm`] | one sandboxed VM: safe libraries, text chunks only, deterministic `math.random` and `os.time`, instruction budget (global hook), memory limit |
//! | [`convert`] | messages ↔ Lua tables (`§5.3`) |
//! | [`modules`] | `module` by ID, inline message, list or map (`§5.1`) |
//! | [`bindings`] | `ao.resolve`, `ao.get`, `ao.set`, `ao.event` (`§5.5`) |
//! | [`call`] | a path key calls a Lua global: names, arguments, return protocol (`§5.2`, `§5.4`) |
//! | [`runtime`] | one VM per process, kept between slots, rebuilt from snapshots |
//! | [`snapshot`] | VM data snapshots |
//! | [`aos`] | `aos@2.0`: the AOS runtime's message mapping and results (`§6`) |
//! | [`device`] | the two devices |
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod aos;
pub mod bindings;
pub mod call;
pub mod convert;
pub mod device;
pub mod error;
pub mod modules;
pub mod runtime;
pub mod snapshot;
pub mod vm;

ferrobeam_device_api::export_devices!(device::Lua53a, device::Aos);

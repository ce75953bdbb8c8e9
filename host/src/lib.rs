//! # ferrobeam
//!
//! An AO-Core node speaking HyperBEAM's protocol, whose devices are plugins: `cdylib` libraries
//! loaded from a folder and `devices.toml`, checked at the boundary, and swapped while serving.
//!
//! | module | concern |
//! | --- | --- |
//! | [`config`] | `devices.toml` |
//! | [`allocator`] | the C allocator's settings the node runs with |
//! | [`author`] | `new-device` and `build-device` |
//! | [`registry`] | loading and checking device libraries, device lookup |
//! | [`reload`] | watching the plugins folder and `devices.toml` |
//! | [`path`] | HyperBEAM's path syntax |
//! | [`resolve`] | running path steps against devices |
//! | [`http`] | the HTTP edge: limits, codecs, errors to responses |
//! | [`store`] | where messages are kept |
//! | [`upload`] | `ferrobeam upload`: a file stored on a running node as a signed message |
//! | [`verify`] | RSA-PSS signature checks devices ask of the node (`verify/rsa-pss`) |
//! | [`wallet`] | the node's key: loading, creating, signing, the signature cache |
//! | [`cache`] | the bounded memo of pure results (signatures, encoded responses, IDs) |
//! | [`node`] | the node tying these together |
//! | [`metrics`] | what the node counts, served at `/metrics` |
//! | [`status`] | the status page (`/status`) |
//! | [`logging`] | log format and level |
//! | [`operator`] | the node's identity, signing and runtime options as host operations |
#![deny(missing_docs)]

pub mod allocator;
pub mod author;
pub mod cache;
pub mod config;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod operator;
pub mod path;
pub mod registry;
pub mod reload;
pub mod resolve;
pub mod status;
pub mod store;
pub mod upload;
pub mod verify;
pub mod wallet;

pub use node::Node;

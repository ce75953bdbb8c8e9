//! # ferrobeam
//!
//! An AO-Core node speaking HyperBEAM's protocol, whose devices are plugins: `cdylib` libraries
//! loaded from a folder and `devices.toml`, checked at the boundary, and swapped while serving.
//!
//! | module | concern |
//! | --- | --- |
//! | [`config`] | `devices.toml` |
//! | [`author`] | `new-device` and `build-device` |
//! | [`registry`] | loading and checking device libraries, device lookup |
//! | [`reload`] | watching the plugins folder and `devices.toml` |
//! | [`path`] | HyperBEAM's path syntax |
//! | [`resolve`] | running path steps against devices |
//! | [`http`] | the HTTP edge: limits, codecs, errors to responses |
//! | [`store`] | where messages are kept |
//! | [`node`] | the node tying these together |
#![deny(missing_docs)]

pub mod author;
pub mod config;
pub mod http;
pub mod node;
pub mod path;
pub mod registry;
pub mod reload;
pub mod resolve;
pub mod store;

pub use node::Node;

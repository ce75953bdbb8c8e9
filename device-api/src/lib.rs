//! # ferrobeam-device-api
//!
//! The stable boundary between the ferrobeam node and its devices.
#![deny(missing_docs)]

pub mod message;
pub mod wire;

pub use message::{Key, Message, Value};

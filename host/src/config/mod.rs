//! The node's configuration: `devices.toml` (HyperBEAM's `preloaded_devices`, plus node settings).
//!
//! ```toml
//! [node]
//! port = 8734
//! plugins_dir = "target/devices"    # relative to this file
//!
//! [devices."mydev@1.0"]
//! library = "libferrobeam_mydev.so" # relative to plugins_dir, or absolute
//! enabled = true
//! capabilities = []                 # e.g. ["sign"]
//! [devices."mydev@1.0".options]     # handed to the device at init
//! greeting = "hello"
//! ```
//!
//! A library in `plugins_dir` is loaded without being named here (its header names its devices);
//! an entry pins, configures, disables or points outside the folder. Unknown keys are errors
//! with their line.

pub mod check;
mod file;
mod limits;
pub mod overrides;

pub use file::{Capability, ConfigError, DeviceEntry, DevicesFile, NodeSettings, NODE_KEYS};
pub use limits::Limits;
pub use overrides::Override;

//! The device author's tools: `ferrobeam new-device` and `ferrobeam build-device`.

mod build;
mod template;

pub use build::{build_device, install_library, BuildError};
pub use template::{default_device_api, new_device, NewDeviceError};

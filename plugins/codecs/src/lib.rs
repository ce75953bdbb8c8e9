//! The codec devices. Each wraps the pure functions of its codec library; the node's HTTP edge
//! calls them for every request and response, so the node itself holds no codec logic.

mod json;
mod structured;

pub use json::Json;
pub use structured::Structured;

ferrobeam_device_api::export_devices!(Structured, Json);

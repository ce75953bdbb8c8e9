//! The codec devices. Each wraps the pure functions of its codec library; the node's HTTP edge
//! calls them for every request and response, so the node itself holds no codec logic.

mod flat;
mod httpsig;
mod json;
mod structured;

pub use flat::Flat;
pub use httpsig::Httpsig;
pub use json::Json;
pub use structured::Structured;

ferrobeam_device_api::export_devices!(Structured, Httpsig, Flat, Json);

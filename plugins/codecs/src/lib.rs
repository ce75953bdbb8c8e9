//! The codec devices (`structured@1.0`, `httpsig@1.0`, `flat@1.0`, `json@1.0`, `ans104@1.0`). Each wraps the pure functions of its codec library; the node's HTTP edge
//! calls them for every request and response, so the node itself holds no codec logic.

mod ans104;
mod flat;
mod httpsig;
mod json;
mod structured;

pub use ans104::Ans104;
pub use flat::Flat;
pub use httpsig::Httpsig;
pub use json::Json;
pub use structured::Structured;

ferrobeam_device_api::export_devices!(Structured, Httpsig, Flat, Json, Ans104);

//! # ferrobeam-device-api
//!
//! The stable boundary between the ferrobeam node and its devices. This is the crate a device
//! author reads.
//!
//! * [`message`]: the AO-Core message model — [`Message`], [`Key`], [`Value`]; [`binary`]: the
//!   bytes of a binary value, [`Binary`].
//! * [`device`]: writing a device — the [`Device`] trait, [`device_methods!`] and
//!   [`export_devices!`].
//! * [`host`]: what a device can ask of the node — [`Host`] and [`Opts`]; [`crypto`]: signature
//!   checks, which the node makes.
//! * [`error`]: [`DeviceError`] and the HTTP status it becomes.
//! * [`testing`]: calling a device in-process from a unit test.
//! * [`allocator`]: the C allocator's settings the node (and so a plugin) runs with.
//! * [`wire`] and [`abi`]: the byte encoding and the `extern "C"` surface underneath; the macros
//!   write these for you.
//!
//! ## A whole device
//!
//! ```
//! use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
//!
//! pub struct MyDev;
//!
//! impl Device for MyDev {
//!     const NAME: &'static str = "mydev@1.0";
//!     fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
//!         Ok(MyDev)
//!     }
//! }
//!
//! impl MyDev {
//!     /// `GET /~mydev@1.0/info`
//!     fn info(&self, _base: &Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
//!         Ok(Message::new().with("version", "1.0"))
//!     }
//! }
//!
//! device_methods!(MyDev { info });
//! // and, in the `cdylib` crate the node loads:
//! // ferrobeam_device_api::export_devices!(MyDev);
//! ```
//!
//! ## Compatibility
//!
//! A library records [`abi::ABI_VERSION`], the `device-api` version and the rustc that built it
//! in its header. The node reads that header first and refuses a library that differs, with one
//! line saying which device, which file, which versions, and how to rebuild.
#![deny(missing_docs)]

pub mod abi;
pub mod allocator;
pub mod binary;
pub mod crypto;
pub mod device;
pub mod error;
pub mod host;
pub mod message;
pub mod runtime;
pub mod testing;
pub mod wire;

pub use binary::Binary;
pub use device::{Device, InitContext, Outcome};
pub use error::{DeviceError, ErrorKind};
pub use host::{Host, LogLevel, Opts};
pub use message::{Entry, Key, Message, Value};

#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
}

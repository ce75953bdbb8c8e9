//! `structured@1.0`: typed message ⇄ TABM (`spec/codecs.md` §2).

use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};

/// The `structured@1.0` device.
#[derive(Debug)]
pub struct Structured;

impl Device for Structured {
    const NAME: &'static str = "structured@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Structured)
    }
}

fn codec_error(e: impl std::fmt::Display) -> DeviceError {
    DeviceError::bad_request(format!("structured@1.0: {e}"))
}

impl Structured {
    /// Typed message (the base) → TABM, converted where it is (the base is the call's own).
    pub fn from(
        &self,
        base: Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        ferrobeam_structured::from_owned(base).map_err(codec_error)
    }

    /// TABM (the base) → typed message, converted where it is.
    pub fn to(&self, base: Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
        ferrobeam_structured::to_owned(base).map_err(codec_error)
    }
}

device_methods!(Structured { from, to });

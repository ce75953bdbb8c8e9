//! `httpsig@1.0`: TABM ⇄ HTTP message (`spec/codecs.md` §5–§7; `ferrobeam-httpsig`).
//!
//! An HTTP message is a message whose keys are lower-case header names plus `body`.

use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};

/// The `httpsig@1.0` device.
#[derive(Debug)]
pub struct Httpsig;

impl Device for Httpsig {
    const NAME: &'static str = "httpsig@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Httpsig)
    }
}

fn codec_error(e: ferrobeam_httpsig::Error) -> DeviceError {
    DeviceError::bad_request(format!("httpsig@1.0: {e}"))
}

impl Httpsig {
    /// HTTP message (the base) → TABM, with commitments built from its signatures. A message
    /// that carries no signature still gets its HMAC commitment (its unsigned ID), as the
    /// guide's `forward` shows for a plain GET.
    pub fn from(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let tabm = ferrobeam_httpsig::from_message(base).map_err(codec_error)?;
        if tabm.contains_key("commitments") {
            return Ok(tabm);
        }
        ferrobeam_httpsig::reset_hmac(&tabm).map_err(codec_error)
    }

    /// TABM (the base) → HTTP message.
    pub fn to(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
        ferrobeam_httpsig::to_message(base).map_err(codec_error)
    }
}

device_methods!(Httpsig { from, to });

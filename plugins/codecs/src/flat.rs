//! `flat@1.0`: nested ⇄ `a/b/c` keys and the `key: value` line format (`spec/codecs.md` §3;
//! `ferrobeam-flat`).

use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// The `flat@1.0` device.
#[derive(Debug)]
pub struct Flat;

impl Device for Flat {
    const NAME: &'static str = "flat@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Flat)
    }
}

fn codec_error(e: ferrobeam_flat::Error) -> DeviceError {
    DeviceError::bad_request(format!("flat@1.0: {e}"))
}

impl Flat {
    /// TABM (the base) → flat message of `a/b/c` keys.
    pub fn to(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
        ferrobeam_flat::to(base).map_err(codec_error)
    }

    /// Flat message (the base) → TABM.
    pub fn from(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        ferrobeam_flat::from(base).map_err(codec_error)
    }

    /// `{content-type: text/plain, body: key: value lines}` of the base.
    pub fn serialize(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let mut m = base.clone();
        if m.get_str("device") == Some("flat@1.0") {
            m.remove("device");
        }
        let body = ferrobeam_flat::serialize(&m).map_err(codec_error)?;
        Ok(Message::new()
            .with("content-type", "text/plain")
            .with("body", body))
    }

    /// The message of the `key: value` lines at the request's `target` (default `body`).
    pub fn deserialize(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let target = req.get_str("target").unwrap_or("body");
        let text = base.get(target).and_then(Value::as_bytes).ok_or_else(|| {
            DeviceError::not_found(format!("flat@1.0 deserialize: nothing at `{target}`"))
        })?;
        ferrobeam_flat::deserialize(text).map_err(codec_error)
    }
}

device_methods!(Flat {
    to,
    from,
    serialize,
    deserialize
});

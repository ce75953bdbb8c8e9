//! `json@1.0`: messages ⇄ JSON (`spec/codecs.md` §8; `ferrobeam-json`).

use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// The `json@1.0` device.
#[derive(Debug)]
pub struct Json;

impl Device for Json {
    const NAME: &'static str = "json@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Json)
    }
}

fn codec_error(e: ferrobeam_json::Error) -> DeviceError {
    DeviceError::bad_request(format!("json@1.0: {e}"))
}

impl Json {
    /// The base as JSON text.
    pub fn to(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<Value, DeviceError> {
        ferrobeam_json::to(base)
            .map(Value::from)
            .map_err(codec_error)
    }

    /// The base's `body` (JSON text) as a message.
    pub fn from(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let body = base
            .get("body")
            .and_then(Value::as_bytes)
            .ok_or_else(|| DeviceError::bad_request("json@1.0 from needs JSON text in `body`"))?;
        ferrobeam_json::from(body).map_err(codec_error)
    }

    /// `{content-type: application/json, body: JSON of the base}`.
    pub fn serialize(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        ferrobeam_json::serialize(base).map_err(codec_error)
    }

    /// Decodes the JSON at the request's `target` key of the base (default `body`).
    pub fn deserialize(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let target = req.get_str("target").unwrap_or("body");
        let text = base.get(target).and_then(Value::as_bytes).ok_or_else(|| {
            DeviceError::not_found(format!("json@1.0 deserialize: no JSON at `{target}`"))
        })?;
        ferrobeam_json::from(text).map_err(codec_error)
    }
}

device_methods!(Json {
    to,
    from,
    serialize,
    deserialize
});

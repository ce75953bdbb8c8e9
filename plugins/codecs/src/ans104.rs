//! `ans104@1.0`: ANS-104 data items ⇄ messages (`spec/clients.md` §3.2; `ferrobeam-ans104`).
//!
//! | key | base | result |
//! | --- | --- | --- |
//! | `from` | HTTP message whose `body` is a data item | its message, signature verified (else 400 with the reason), `priv.signature-status: verified` |
//! | `to` | message (TABM) | the item's bytes |
//! | `serialize` | message | `{content-type: application/ans104, body: <item>}` |
//! | `deserialize` | message with an item at `target` (default `body`) | its message |
//! | `verify` | message | `true` when its `ans104@1.0` commitment signs exactly it |
//! | `id` | message | the item ID, `sha256(signature)` |
//! | `committed` | message | the keys its signature covers |

use ferrobeam_ans104 as ans104;
use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// The `ans104@1.0` device.
#[derive(Debug)]
pub struct Ans104;

impl Device for Ans104 {
    const NAME: &'static str = "ans104@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Ans104)
    }
}

fn codec_error(e: ans104::Error) -> DeviceError {
    match e {
        ans104::Error::Crypto(why) => DeviceError::failure(format!("ans104@1.0: {why}")),
        other => DeviceError::bad_request(format!("ans104@1.0: {other}")),
    }
}

fn item_at<'a>(base: &'a Message, key: &str) -> Result<&'a [u8], DeviceError> {
    base.get(key).and_then(Value::as_bytes).ok_or_else(|| {
        DeviceError::bad_request(format!("ans104@1.0: no data item (bytes) at `{key}`"))
    })
}

impl Ans104 {
    /// A received item (the base's `body`) as a message, its signature verified. The verdict
    /// goes under `priv` as `httpsig@1.0` records it, so devices read one signature status.
    pub fn from(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let mut msg = ans104::decode_verified(item_at(base, "body")?).map_err(codec_error)?;
        msg.insert(
            "priv",
            Message::new().with(ferrobeam_httpsig::SIGNATURE_STATUS, "verified"),
        );
        Ok(msg)
    }

    /// The base as an item's bytes.
    pub fn to(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<Value, DeviceError> {
        Ok(Value::binary(
            ans104::to_item(base).map_err(codec_error)?.serialize(),
        ))
    }

    /// The base as an HTTP body with its content type.
    pub fn serialize(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let bytes = ans104::to_item(base).map_err(codec_error)?.serialize();
        Ok(Message::new()
            .with("content-type", ans104::CONTENT_TYPE)
            .with("body", bytes))
    }

    /// The item at the request's `target` key of the base (default `body`) as a message.
    pub fn deserialize(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let target = req.get_str("target").unwrap_or("body");
        let item = ans104::DataItem::parse(item_at(base, target)?).map_err(codec_error)?;
        ans104::from_item(&item).map_err(codec_error)
    }

    /// Whether the base is exactly what its `ans104@1.0` commitment signed.
    pub fn verify(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<bool, DeviceError> {
        Ok(ans104::verify_message(base).is_ok())
    }

    /// The base's item ID.
    pub fn id(&self, base: &Message, _req: &Message, _opts: &Opts) -> Result<String, DeviceError> {
        Ok(ans104::to_item(base).map_err(codec_error)?.id())
    }

    /// The keys the base's `ans104@1.0` signature covers, sorted.
    pub fn committed(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Value, DeviceError> {
        let keys = ans104::committed_keys(base).ok_or_else(|| {
            DeviceError::bad_request("ans104@1.0: the message has no ans104@1.0 commitment")
        })?;
        Ok(Value::List(keys.into_iter().map(Value::from).collect()))
    }
}

device_methods!(Ans104 {
    from,
    to,
    serialize,
    deserialize,
    verify,
    id,
    committed
});

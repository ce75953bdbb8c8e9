//! `cache@1.0`: stores a signed message by its ID, so it is readable at `/<id>` and usable as
//! `module=<id>` — the node's counterpart of `arx upload` (`ferrobeam upload FILE` posts here).
//!
//! `POST /~cache@1.0/write` with the message as the request itself (what `ferrobeam upload`
//! sends: the file as the body, its `content-type`, both signed) or as a message in `body`. The
//! message keeps only its committed keys, and its signatures must verify. By default only the
//! node's operator may write (a signer of the message or of the request must be the node's
//! address); the option `public_writes = true` lets anyone store signed messages. Answers
//! `{id}`, the message's ID.

use crate::ids;
use crate::keys;
use crate::params;
use crate::scheduler::intake::{self, Picked};
use ferrobeam_device_api::{
    device_methods, wire, Device, DeviceError, ErrorKind, InitContext, Message, Opts, Value,
};
use ferrobeam_httpsig::SignatureStatus;

/// The `cache@1.0` device.
#[derive(Debug)]
pub struct Cache {
    public_writes: bool,
}

impl Device for Cache {
    const NAME: &'static str = "cache@1.0";

    fn init(ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Cache {
            public_writes: params::flag(&ctx.config, "public_writes", false)?,
        })
    }
}

impl Cache {
    /// `write`: stores the request's message durably; `{id}`.
    pub fn write(
        &self,
        _base: &Message,
        req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        if params::method(req) != "POST" {
            return Err(DeviceError::bad_request("cache@1.0 write takes a POST"));
        }
        let picked = intake::pick(req)?;
        let nested = matches!(picked, Picked::Nested(_));
        let message = intake::accept(picked, req, false)?;
        if message.iter().all(|(k, _)| k.as_str() == "commitments") {
            return Err(DeviceError::bad_request(
                "cache@1.0: there is nothing to store",
            ));
        }
        if !self.public_writes {
            let operator = opts.get_str("address").ok_or_else(|| {
                DeviceError::new(
                    ErrorKind::Forbidden,
                    "this node has no wallet, so no operator may write to its cache",
                )
            })?;
            let mut signers = committers(&message);
            if nested && ferrobeam_httpsig::signature_status(req) == SignatureStatus::Verified {
                signers.extend(committers(req));
            }
            if !signers.iter().any(|s| s == operator) {
                return Err(DeviceError::new(
                    ErrorKind::Forbidden,
                    format!(
                        "only the node operator ({operator}) may write to this node's cache; sign with its wallet, or set public_writes = true"
                    ),
                ));
            }
        }
        let id = ids::message_id(&message)?;
        opts.host()
            .store_write(&keys::message(&id), &wire::encode_message(&message))?;
        Ok(Message::new().with("id", id))
    }
}

/// The addresses that signed `msg`.
fn committers(msg: &Message) -> Vec<String> {
    msg.get_message("commitments")
        .map(|c| {
            c.iter()
                .filter_map(|(_, v)| v.as_message())
                .filter_map(|m| m.get("committer").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

device_methods!(Cache { write });

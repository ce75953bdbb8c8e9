//! `httpsig@1.0`: TABM ⇄ HTTP message, commitments, verification and IDs (`spec/codecs.md`
//! §5–§7; `ferrobeam-httpsig`).
//!
//! An HTTP message is a message whose keys are lower-case header names plus `body`.
//!
//! | key | base | request | result |
//! | --- | --- | --- | --- |
//! | `from` | HTTP message | `method`, `path` of the HTTP request (derived components) | TABM with checked commitments and the verdict in `priv` ([`ferrobeam_httpsig::from_request`]) |
//! | `to` | TABM | | HTTP message |
//! | `commit` | message | | the message signed by the node wallet (needs the `sign` capability) |
//! | `verify` | message | | `true` when every RSA commitment verifies |
//! | `id` | message | `committers`, `commitments` (`§7.1`) | the ID |
//! | `committed` | message | | the keys its signatures cover (`§6.7`) |
//! | `prepare_commit` | message | `keyid` | `{base, params-line, sig-name, committer}`: what the key must sign |
//! | `finish_commit` | message | the above plus `signature` | the signed TABM |
//!
//! `prepare_commit` and `finish_commit` split signing around the private-key operation, so the
//! node signs its responses itself: the key never reaches a plugin.

use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};
use ferrobeam_httpsig::{CommitRequest, Error};

/// The `httpsig@1.0` device.
#[derive(Debug)]
pub struct Httpsig;

impl Device for Httpsig {
    const NAME: &'static str = "httpsig@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(Httpsig)
    }
}

/// A codec error as a device error: the node's refusals keep their status, the rest are 400.
pub(crate) fn codec_error(e: Error) -> DeviceError {
    match e {
        Error::Host(e) => e,
        other => DeviceError::bad_request(format!("httpsig@1.0: {other}")),
    }
}

fn bytes<'a>(req: &'a Message, key: &str) -> Result<&'a [u8], DeviceError> {
    req.get(key)
        .and_then(Value::as_bytes)
        .ok_or_else(|| DeviceError::bad_request(format!("httpsig@1.0: `{key}` (bytes) is missing")))
}

fn text(req: &Message, key: &str) -> Result<String, DeviceError> {
    std::str::from_utf8(bytes(req, key)?)
        .map(str::to_owned)
        .map_err(|_| DeviceError::bad_request(format!("httpsig@1.0: `{key}` is not text")))
}

impl Httpsig {
    /// HTTP message (the base) → TABM, with commitments built from its signatures and checked:
    /// failed ones removed, only committed keys kept when a signature verifies, the verdict
    /// under `priv` (`signature-status`). An unsigned message still gets its HMAC commitment
    /// (its unsigned ID), as the guide's `forward` shows for a plain GET.
    pub fn from(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let mut derived = Message::new();
        for key in ["method", "path", "status"] {
            if let Some(v) = req.get(key) {
                derived.insert(key, v.clone());
            }
        }
        ferrobeam_httpsig::from_request(base, &derived).map_err(codec_error)
    }

    /// TABM (the base) → HTTP message; a TABM of headers alone is sorted where it is (the base
    /// is the call's own).
    pub fn to(&self, base: Message, _req: &Message, _opts: &Opts) -> Result<Message, DeviceError> {
        ferrobeam_httpsig::to_message_owned(base).map_err(codec_error)
    }

    /// Signs the base with the node wallet, through the node (`sign` capability).
    pub fn commit(
        &self,
        base: &Message,
        _req: &Message,
        opts: &Opts,
    ) -> Result<Message, DeviceError> {
        ferrobeam_httpsig::commit_with_host(opts.host(), base).map_err(codec_error)
    }

    /// Whether every RSA commitment of the base verifies (a message without any does).
    pub fn verify(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<bool, DeviceError> {
        Ok(ferrobeam_httpsig::verify_signed_commitments(base)
            .iter()
            .all(|(_, outcome)| outcome.is_ok()))
    }

    /// The base's ID under the request's `committers` / `commitments` selection (`§7.1`).
    pub fn id(&self, base: &Message, req: &Message, _opts: &Opts) -> Result<String, DeviceError> {
        ferrobeam_httpsig::id_for_request(base, req).map_err(codec_error)
    }

    /// The keys the base's signatures cover (`§6.7`), sorted.
    pub fn committed(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Value, DeviceError> {
        committed(base)
    }

    /// What the key with base64url modulus `keyid` must sign to commit the base (`§6.3`).
    pub fn prepare_commit(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let n = ferrobeam_httpsig::b64url_decode(bytes(req, "keyid")?)
            .ok_or_else(|| DeviceError::bad_request("httpsig@1.0: `keyid` is not base64url"))?;
        let prepared = ferrobeam_httpsig::prepare_commit(base, &n).map_err(codec_error)?;
        Ok(Message::new()
            .with("base", prepared.base)
            .with("params-line", prepared.params_line)
            .with("sig-name", prepared.sig_name)
            .with("committer", prepared.committer))
    }

    /// The base with the commitment `signature` (over `prepare_commit`'s base) and its
    /// recomputed HMAC commitment, as a TABM.
    pub fn finish_commit(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        let prepared = CommitRequest {
            base: Vec::new(),
            params_line: bytes(req, "params-line")?.to_vec(),
            sig_name: text(req, "sig-name")?,
            committer: text(req, "committer")?,
        };
        ferrobeam_httpsig::finish_commit(base, &prepared, bytes(req, "signature")?)
            .map_err(codec_error)
    }
}

/// The keys covered by every RSA commitment of `msg` (the HMAC commitment when unsigned).
pub(crate) fn committed(msg: &Message) -> Result<Value, DeviceError> {
    let mut ids = ferrobeam_httpsig::signed_commitment_ids(msg);
    if ids.is_empty() {
        ids = msg
            .get_message("commitments")
            .map(|c| c.keys().map(|k| k.as_str()).collect())
            .unwrap_or_default();
    }
    if ids.is_empty() {
        return Err(DeviceError::bad_request(
            "httpsig@1.0: the message has no commitments, so nothing is committed",
        ));
    }
    let keys = ferrobeam_httpsig::committed_keys(msg, &ids).map_err(codec_error)?;
    Ok(Value::List(keys.into_iter().map(Value::from).collect()))
}

device_methods!(Httpsig {
    from,
    to,
    commit,
    verify,
    id,
    committed,
    prepare_commit,
    finish_commit
});

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrobeam_device_api::testing::TestDevice;

    #[test]
    fn prepare_and_finish_commit_round_trip_a_signature() {
        let dev = TestDevice::<Httpsig>::new().unwrap();
        let msg = Message::new().with("a", 1);
        let n = vec![0xc5u8; 512];
        let keyid = ferrobeam_httpsig::keyid(&n);
        let prepared = dev
            .call(
                "prepare_commit",
                &msg,
                &Message::new().with("keyid", keyid.as_str()),
            )
            .unwrap();
        let prepared = prepared.as_message().unwrap();
        assert!(prepared
            .get_str("base")
            .unwrap()
            .starts_with("\"a\": 1\n\"ao-types\": a=\"integer\"\n"));
        let mut req = prepared.clone();
        req.insert("signature", vec![7u8; 512]);
        let signed = dev.call("finish_commit", &msg, &req).unwrap();
        let signed = signed.as_message().unwrap();
        assert_eq!(ferrobeam_httpsig::signed_commitment_ids(signed).len(), 1);
        assert_eq!(
            dev.call("verify", signed, &Message::new()).unwrap(),
            Value::from(false),
            "a made-up signature must not verify"
        );
    }

    #[test]
    fn commit_without_a_node_identity_is_refused_with_the_nodes_status() {
        let dev = TestDevice::<Httpsig>::new().unwrap();
        let e = dev
            .call("commit", &Message::new().with("a", "b"), &Message::new())
            .unwrap_err();
        // TestHost offers no `node/identity`: its 400 comes through unchanged.
        assert_eq!(e.kind().status(), 400, "{e}");
        assert!(e.reason().contains("node/identity"), "{e}");
    }
}

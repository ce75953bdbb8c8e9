//! Decoding a received HTTP request into a TABM whose commitments have been checked
//! (`codecs.md` §5.5, §6.5, §6.6, §10.1).
//!
//! # What devices see
//!
//! Every request decoded this way carries, under its private key `priv`, the node's verdict on
//! its signatures — a client can never set it, because every private key it sends (at any
//! depth, nested messages included) is dropped:
//!
//! | `priv` key | value |
//! | --- | --- |
//! | [`SIGNATURE_STATUS`] | `"verified"` (signed, every signature verifies), `"unverified"` (at least one signature does not) or `"unsigned"` |
//! | [`UNVERIFIED`] | when some signature failed: a message `{<commitment ID>: <reason>}` |
//!
//! A signature that fails is also removed from `commitments`, so `committers`, IDs and
//! hashpaths never count a forgery; when at least one signature verifies, only the keys the
//! verified signatures cover are kept (`§6.7`: `host`, `user-agent` and anything else unsigned
//! is dropped). A device that needs verified input reads [`signature_status`] and answers 400
//! with the reason when it is `unverified`.

use crate::commitment::{is_hmac_message, reset_hmac};
use crate::committed::{committed_keys, with_only_committed};
use crate::verify::{verify_commitment, verify_received};
use crate::{from_message, Error};
use ferrobeam_device_api::{Message, Value};

/// The key, inside `priv`, holding a request's [`SignatureStatus`].
pub const SIGNATURE_STATUS: &str = "signature-status";
/// The key, inside `priv`, holding `{commitment ID: reason}` for signatures that failed.
pub const UNVERIFIED: &str = "unverified";

/// What the node found when it checked a request's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStatus {
    /// No signature (or the message was not decoded by the node).
    Unsigned,
    /// Signed, and every signature verifies.
    Verified,
    /// At least one signature does not verify.
    Unverified,
}

impl SignatureStatus {
    /// The text stored in `priv`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Verified => "verified",
            SignatureStatus::Unverified => "unverified",
        }
    }
}

/// The status the node recorded on `msg` (see the module documentation). A message the node
/// did not decode from HTTP — built by a device, say — reads as `Unsigned`: only the node's
/// own verdict counts.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::{signature_status, SignatureStatus};
/// let msg = Message::new().with("priv", Message::new().with("signature-status", "verified"));
/// assert_eq!(signature_status(&msg), SignatureStatus::Verified);
/// assert_eq!(signature_status(&Message::new()), SignatureStatus::Unsigned);
/// ```
pub fn signature_status(msg: &Message) -> SignatureStatus {
    match msg
        .get_message("priv")
        .and_then(|p| p.get_str(SIGNATURE_STATUS))
    {
        Some("verified") => SignatureStatus::Verified,
        Some("unverified") => SignatureStatus::Unverified,
        _ => SignatureStatus::Unsigned,
    }
}

/// Why the signatures of `msg` were not accepted, one line per failed signature.
pub fn unverified_reasons(msg: &Message) -> Vec<String> {
    msg.get_message("priv")
        .and_then(|p| p.get_message(UNVERIFIED))
        .map(|m| {
            m.iter()
                .map(|(id, why)| format!("{id}: {}", why.as_str().unwrap_or("invalid")))
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes a received HTTP request (`http`: lower-case header names plus `body`) and checks
/// its signatures: each one over the bytes as received, then, if that fails, over HyperBEAM's
/// re-encoding of the decoded message. `derived` gives the check as received the values of
/// derived components that are not headers: the HTTP `method` and the request target as
/// `path`. Decoding comes first and, as HyperBEAM's, needs every signed component as a field
/// (the HMAC commitment covers them): a request that signs `@path` without a `path` header is
/// an error ([`Error::MissingComponent`]), whatever `derived` holds.
///
/// Returns the TABM with its commitments (failed ones removed, the HMAC commitment
/// recomputed), only the committed keys when a signature verified, and the verdict in `priv`.
pub fn from_request(http: &Message, derived: &Message) -> Result<Message, Error> {
    // Private keys are the node's: none sent by a client survives, at any depth.
    let mut tabm = from_message(http)?;
    tabm.remove_private();
    let signed: Vec<String> = crate::signed_commitment_ids(&tabm)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if signed.is_empty() {
        let mut tabm = if tabm.contains_key("commitments") {
            tabm
        } else {
            reset_hmac(&tabm)?
        };
        tabm.insert("priv", verdict(SignatureStatus::Unsigned, Message::new()));
        return Ok(tabm);
    }
    let received = verify_received(http, derived)?;
    let mut verified = Vec::with_capacity(signed.len());
    let mut failed = Message::new();
    for id in &signed {
        let as_received = received
            .iter()
            .find(|c| &c.commitment_id == id)
            .map(|c| c.outcome.clone());
        let outcome = match as_received {
            Some(Ok(())) => Ok(()),
            Some(Err(first)) => verify_reencoded(&tabm, id).map_err(|_| first),
            None => verify_reencoded(&tabm, id),
        };
        match outcome {
            Ok(()) => verified.push(id.as_str()),
            Err(why) => {
                failed.insert(id.as_str(), why.to_string());
            }
        }
    }
    let status = if failed.is_empty() {
        SignatureStatus::Verified
    } else {
        SignatureStatus::Unverified
    };
    if !verified.is_empty() {
        let keys = committed_keys(&tabm, &verified)?;
        tabm = with_only_committed(&tabm, &keys);
    }
    if !failed.is_empty() {
        tabm = without_commitments(&tabm, &failed)?;
    }
    tabm.insert("priv", verdict(status, failed));
    Ok(tabm)
}

/// Checks commitment `id` over HyperBEAM's re-encoding: TABM → typed message → TABM.
fn verify_reencoded(tabm: &Message, id: &str) -> Result<(), Error> {
    let typed = ferrobeam_structured::to(tabm)?;
    verify_commitment(&ferrobeam_structured::from_owned(typed)?, id)
}

/// `tabm` without the commitments in `failed`, its HMAC commitment recomputed over the rest.
fn without_commitments(tabm: &Message, failed: &Message) -> Result<Message, Error> {
    let mut out = tabm.clone();
    let mut none_left = false;
    if let Some(Value::Message(commitments)) = out.get_mut("commitments") {
        commitments.retain(|id, c| {
            !failed.contains_key(id.as_str()) && !c.as_message().is_some_and(is_hmac_message)
        });
        none_left = commitments.is_empty();
    }
    if none_left {
        // An empty `commitments` would be encoded as a field (`empty-message`).
        out.remove("commitments");
    }
    reset_hmac(&out)
}

fn verdict(status: SignatureStatus, failed: Message) -> Message {
    let mut m = Message::new().with(SIGNATURE_STATUS, status.as_str());
    if !failed.is_empty() {
        m.insert(UNVERIFIED, failed);
    }
    m
}

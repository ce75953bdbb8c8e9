//! `POST /~meta@1.0/info`: the operator changes the node options (`spec/codecs.md` §11).
//!
//! The request must carry the node's verdict `verified` (the HTTP edge checked its signatures,
//! `ferrobeam_httpsig::from_request`), a verified signature by the operator — the option
//! `operator` when set (`unclaimed` lets any signer in), else the node's own `address` — and
//! that signature must cover `@path`, so a signature made for another endpoint cannot be
//! replayed here. The options set are the fields that signature covers; the node applies them
//! through the `node/configure` host operation, which needs the `configure` capability.

use ferrobeam_device_api::host::operation;
use ferrobeam_device_api::{DeviceError, ErrorKind, Message, Opts, Value};
use ferrobeam_httpsig::SignatureStatus;
use std::collections::BTreeSet;

/// Fields of the request that describe the request, not options to set.
const NOT_OPTIONS: &[&str] = &[
    "path",
    "method",
    "commitments",
    "signature",
    "signature-input",
    "ao-types",
    "body-keys",
    "content-digest",
    "content-type",
    "inline-body-key",
    "device",
];

/// Applies an operator-signed change; the reply says how many changes the node has had.
pub fn apply(req: &Message, opts: &Opts) -> Result<Message, DeviceError> {
    match ferrobeam_httpsig::signature_status(req) {
        SignatureStatus::Verified => {}
        SignatureStatus::Unverified => {
            return Err(DeviceError::bad_request(format!(
                "the request's signature does not verify, so it cannot change the node: {}",
                ferrobeam_httpsig::unverified_reasons(req).join("; ")
            )))
        }
        SignatureStatus::Unsigned => {
            return Err(DeviceError::new(
                ErrorKind::Forbidden,
                "changing the node configuration needs a request signed by the operator wallet",
            ))
        }
    }
    let operator = opts
        .get_str("operator")
        .or_else(|| opts.get_str("address"))
        .ok_or_else(|| {
            DeviceError::new(
                ErrorKind::Unavailable,
                "this node has no wallet, so it has no operator who could change it",
            )
        })?;
    let commitment = operator_commitment(req, operator)?;
    let committed = ferrobeam_httpsig::committed_keys(req, &[commitment.as_str()])
        .map_err(|e| DeviceError::bad_request(e.to_string()))?;
    if !committed.contains("path") {
        return Err(DeviceError::bad_request(
            "the operator's signature must cover @path, so it cannot be replayed against another endpoint",
        ));
    }
    let set = options_to_set(req, &committed);
    if set.is_empty() {
        return Err(DeviceError::bad_request("the request sets no options"));
    }
    let answer = opts
        .host()
        .call(operation::NODE_CONFIGURE, &Message::new().with("set", set))?;
    let history = answer
        .as_message()
        .and_then(|m| m.get("history-length"))
        .and_then(Value::as_integer)
        .unwrap_or_default();
    Ok(Message::new()
        .with(
            "body",
            format!("Node message updated. History: {history} updates."),
        )
        .with("history-length", history))
}

/// The ID of a verified commitment by `operator` (any signer when `unclaimed`).
fn operator_commitment(req: &Message, operator: &str) -> Result<String, DeviceError> {
    let commitments = req.get_message("commitments");
    let signers: Vec<(&str, &str)> = commitments
        .map(|c| {
            c.iter()
                .filter_map(|(id, v)| Some((id.as_str(), v.as_message()?.get_str("committer")?)))
                .collect()
        })
        .unwrap_or_default();
    signers
        .iter()
        .find(|(_, who)| operator == "unclaimed" || *who == operator)
        .map(|(id, _)| (*id).to_owned())
        .ok_or_else(|| {
            let who: Vec<&str> = signers.iter().map(|(_, w)| *w).collect();
            DeviceError::new(
                ErrorKind::Forbidden,
                format!(
                    "Unauthorized: signed by {}, not by the operator {operator}",
                    who.join(", ")
                ),
            )
        })
}

/// The committed fields of the request that are options.
fn options_to_set(req: &Message, committed: &BTreeSet<String>) -> Message {
    req.iter()
        .filter(|(k, _)| {
            committed.contains(k.as_str()) && !k.is_private() && !NOT_OPTIONS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

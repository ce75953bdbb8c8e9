//! The node's signature on every response (`spec/codecs.md` §10.2): like HyperBEAM's
//! `force_signed`, each result is committed with the node wallet before it is encoded, exactly
//! as the real HyperBEAM response in the vectors is — every encoded field a component, derived
//! ones (`@status`) with `@`, `alg="rsa-pss-sha512"`, `keyid`, and `tag` = the result's hashpath
//! when it has one.
//!
//! The codec work is `httpsig@1.0`'s (`prepare_commit`, `finish_commit`); only the private-key
//! operation happens here, in the node, so the key never reaches a plugin. Signatures are
//! cached by signature base: an unchanged answer to an unchanged request is not re-signed.

use super::codec::{expect_message, HTTPSIG, STRUCTURED};
use crate::node::Node;
use crate::resolve::call_with;
use ferrobeam_device_api::{DeviceError, Message, Value};

/// `result` committed by the node wallet, as a TABM (its commitments included). A node without
/// a wallet returns the unsigned TABM.
pub fn signed_tabm(node: &Node, result: &Message) -> Result<Message, DeviceError> {
    // A result that already has a signer (a stored signed message served at `/<id>`, the
    // assignment a schedule POST answers) goes out with its own signatures, as HyperBEAM's
    // `force_signed` leaves it: signing it again would put a second member under the same
    // signature name when the signer is this node.
    if has_signer(result) {
        return with_own_signatures(node, result);
    }
    let Some(signer) = node.signer() else {
        return expect_message(
            call_with(node, STRUCTURED, "from", result, &Message::new())?,
            STRUCTURED,
        );
    };
    let keyid = Message::new().with("keyid", signer.wallet().keyid());
    let mut prepared = expect_message(
        call_with(node, HTTPSIG, "prepare_commit", result, &keyid)?,
        HTTPSIG,
    )?;
    let base = match prepared.remove("base") {
        Some(Value::Binary(b)) => b,
        _ => {
            return Err(DeviceError::failure(
                "httpsig@1.0 prepare_commit returned no signature base",
            ))
        }
    };
    let signature = signer
        .sign(&base)
        .map_err(|e| DeviceError::failure(format!("the node could not sign its response: {e}")))?;
    prepared.insert("signature", signature.to_vec());
    expect_message(
        call_with(node, HTTPSIG, "finish_commit", result, &prepared)?,
        HTTPSIG,
    )
}

/// A result that carries its own signatures, as a TABM that still verifies. The `status` the
/// edge embeds (§9.5) is outside them: as an integer it would add `status="integer"` to an
/// `ao-types` they may cover, so it travels as its decimal text, untyped (the status line
/// carries it too, and HyperBEAM's client takes it from there).
fn with_own_signatures(node: &Node, result: &Message) -> Result<Message, DeviceError> {
    let encode = |msg: &Message| {
        expect_message(
            call_with(node, STRUCTURED, "from", msg, &Message::new())?,
            STRUCTURED,
        )
    };
    match result.get("status") {
        Some(Value::Integer(code)) if !status_committed(result) => {
            let code = code.to_string();
            let mut unstatused = result.clone();
            unstatused.remove("status");
            let mut tabm = encode(&unstatused)?;
            tabm.insert("status", code);
            Ok(tabm)
        }
        _ => encode(result),
    }
}

/// Whether a signature of `msg` may cover `status`: an httpsig commitment whose
/// `signature-input` names it, or a commitment without one (an ANS-104 item's covers its tags).
fn status_committed(msg: &Message) -> bool {
    msg.get_message("commitments").is_some_and(|commitments| {
        commitments.iter().any(|(_, c)| {
            let Some(c) = c.as_message() else {
                return false;
            };
            match c.get("signature-input").and_then(Value::as_bytes) {
                Some(input) => [&b"\"status\""[..], b"\"@status\""]
                    .iter()
                    .any(|name| input.windows(name.len()).any(|w| w == *name)),
                None => c.contains_key("committer"),
            }
        })
    })
}

/// Whether `msg` carries a signature (a commitment with a `committer`, §7.1).
fn has_signer(msg: &Message) -> bool {
    msg.get_message("commitments").is_some_and(|commitments| {
        commitments
            .iter()
            .any(|(_, c)| c.as_message().is_some_and(|c| c.contains_key("committer")))
    })
}

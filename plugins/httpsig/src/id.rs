//! Message IDs (`codecs.md` §7.1).

use crate::commitment::hmac_base_and_id;
use crate::crypto::{b64url, sha256};
use crate::Error;
use ferrobeam_device_api::{Message, Value};

/// Which commitments an ID is computed from (`hb_message:id(M, Mode)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdMode {
    /// `none`: no commitments; the HMAC of the bare message — the *unsigned ID*.
    None,
    /// `all` / `signed`: every commitment that has a `committer` (RSA) — the *signed ID*;
    /// falls back to the unsigned ID when there is none.
    All,
    /// HyperBEAM's default: every commitment, the HMAC one included; the unsigned ID when
    /// the message has no commitments.
    Default,
    /// The commitments of these committers (addresses); each must have at least one.
    Committers(Vec<String>),
}

/// The ID of `msg` (rich message or TABM) in `mode`. One selected commitment gives its own
/// ID; several give base64url(sha256(their IDs sorted and joined by `", "`)).
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::{id, IdMode};
/// let msg = Message::new().with("a", "b");
/// assert_eq!(id(&msg, IdMode::None).unwrap(), "UfSqKA58Hwk99Jg5fsYGY4iKDfnnUAW9MQdMv2-Fw40");
/// assert_eq!(id(&msg, IdMode::Default).unwrap(), id(&msg, IdMode::None).unwrap());
/// ```
pub fn id(msg: &Message, mode: IdMode) -> Result<String, Error> {
    let commitments = msg.get_message("commitments");
    let selected: Vec<&str> = match (&mode, commitments) {
        (IdMode::None, _) | (_, None) => Vec::new(),
        (IdMode::Default, Some(c)) => c.keys().map(|k| k.as_str()).collect(),
        (IdMode::All, Some(c)) => c
            .iter()
            .filter(|(_, v)| v.as_message().is_some_and(|m| m.contains_key("committer")))
            .map(|(k, _)| k.as_str())
            .collect(),
        (IdMode::Committers(who), Some(c)) => {
            let mut out = Vec::new();
            for address in who {
                let before = out.len();
                out.extend(
                    c.iter()
                        .filter(|(_, v)| {
                            v.as_message().and_then(|m| m.get_str("committer")) == Some(address)
                        })
                        .map(|(k, _)| k.as_str()),
                );
                if out.len() == before {
                    return Err(Error::UnknownCommitter(address.clone()));
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        }
    };
    if let (IdMode::Committers(who), None) = (&mode, commitments) {
        if let Some(first) = who.first() {
            return Err(Error::UnknownCommitter(first.clone()));
        }
    }
    if selected.is_empty() {
        unsigned_id(msg)
    } else {
        Ok(combine_ids(selected))
    }
}

/// The unsigned ID (`id(M, none)`): the HMAC commitment ID of the message without its
/// commitments (`§6.4`); a top-level `signature-input` field is renamed `x-signature-input`
/// first so that it is not taken for a signature.
pub fn unsigned_id(msg: &Message) -> Result<String, Error> {
    Ok(unsigned_hmac(msg)?.1)
}

/// The HMAC signature base and unsigned ID of a message (see [`unsigned_id`]).
pub fn unsigned_hmac(msg: &Message) -> Result<(Vec<u8>, String), Error> {
    let mut bare = Message::with_capacity(msg.len());
    for (k, v) in msg.iter() {
        if k.as_str() != "commitments" {
            bare.insert(k.clone(), v.clone());
        }
    }
    let mut tabm = ferrobeam_structured::from(&bare)?;
    if let Some(input) = tabm.remove("signature-input") {
        tabm.insert("x-signature-input", input);
    }
    hmac_base_and_id(&tabm)
}

/// Combines several IDs: one ID is itself; more are base64url(sha256(sorted IDs joined by
/// `", "`)).
///
/// ```
/// use ferrobeam_httpsig::combine_ids;
/// assert_eq!(combine_ids(vec!["x"]), "x");
/// assert_eq!(combine_ids(vec!["b", "a"]), combine_ids(vec!["a", "b"]));
/// ```
pub fn combine_ids(mut ids: Vec<&str>) -> String {
    ids.sort_unstable();
    if ids.len() == 1 {
        return ids[0].to_owned();
    }
    b64url(&sha256(ids.join(", ").as_bytes()))
}

/// The IDs of the commitments of `msg` that have a committer (RSA).
pub fn signed_commitment_ids(msg: &Message) -> Vec<&str> {
    msg.get_message("commitments")
        .map(|c| {
            c.iter()
                .filter(|(_, v)| matches!(v, Value::Message(m) if m.contains_key("committer")))
                .map(|(k, _)| k.as_str())
                .collect()
        })
        .unwrap_or_default()
}

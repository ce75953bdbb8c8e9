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
    let mut tabm = ferrobeam_structured::from_owned(bare)?;
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

/// Which commitments an ID request selects (`codecs.md` §7.1): none, all, or the listed ones
/// (committer addresses or commitment IDs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `none`.
    None,
    /// `all`.
    All,
    /// The listed addresses or IDs.
    Only(Vec<String>),
}

impl Selection {
    /// Reads a request value: `"none"`, `"all"`, a list of texts, or one text (a single
    /// address or ID, or several separated by commas).
    ///
    /// ```
    /// use ferrobeam_device_api::Value;
    /// use ferrobeam_httpsig::Selection;
    /// assert_eq!(Selection::from_value(&Value::from("all")), Some(Selection::All));
    /// let two = Value::List(vec!["a".into(), "b".into()]);
    /// assert_eq!(Selection::from_value(&two), Some(Selection::Only(vec!["a".into(), "b".into()])));
    /// assert_eq!(Selection::from_value(&Value::from(1)), None);
    /// ```
    pub fn from_value(v: &Value) -> Option<Selection> {
        match v {
            Value::Binary(_) | Value::Atom(_) => {
                let text = v.as_str().or_else(|| v.as_atom())?;
                Some(match text {
                    "none" => Selection::None,
                    "all" => Selection::All,
                    other => Selection::Only(
                        other
                            .split(',')
                            .map(|s| s.trim().trim_matches('"').to_owned())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    ),
                })
            }
            Value::List(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Selection::Only),
            _ => None,
        }
    }
}

/// `dev_message:id(Base, Req)` (`§7.1`): the ID of `msg` under the request's `committers`
/// (default `none`) and `commitments` (default `all` when committers is `none`, else `none`).
/// The selected commitments are the union of both; none selected gives the unsigned ID, one its
/// own ID, several base64url(sha256(sorted IDs joined by `", "`)).
///
/// A listed committer without a commitment, or a listed commitment ID the message does not
/// have, is an error. Values that are not selections (the request's own `commitments`
/// message, say) count as absent.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::{id_for_request, unsigned_id};
/// let msg = Message::new().with("a", "b");
/// assert_eq!(id_for_request(&msg, &Message::new()).unwrap(), unsigned_id(&msg).unwrap());
/// ```
pub fn id_for_request(msg: &Message, req: &Message) -> Result<String, Error> {
    // A request message carries its own `commitments` (a message): that is not a selection.
    let selection = |key: &str| req.get(key).and_then(Selection::from_value);
    let committers = selection("committers").unwrap_or(Selection::None);
    let commitments = match selection("commitments") {
        Some(s) => s,
        None if committers == Selection::None => Selection::All,
        None => Selection::None,
    };
    let mut selected: Vec<&str> = Vec::new();
    let all = msg.get_message("commitments");
    match (&committers, all) {
        (Selection::None, _) => {}
        (Selection::All, _) => selected.extend(signed_commitment_ids(msg)),
        (Selection::Only(who), None) => {
            if let Some(first) = who.first() {
                return Err(Error::UnknownCommitter(first.clone()));
            }
        }
        (Selection::Only(who), Some(c)) => {
            for address in who {
                let before = selected.len();
                selected.extend(
                    c.iter()
                        .filter(|(_, v)| {
                            v.as_message().and_then(|m| m.get_str("committer"))
                                == Some(address.as_str())
                        })
                        .map(|(k, _)| k.as_str()),
                );
                if selected.len() == before {
                    return Err(Error::UnknownCommitter(address.clone()));
                }
            }
        }
    }
    match (&commitments, all) {
        (Selection::None, _) | (Selection::All, None) => {}
        (Selection::All, Some(c)) => selected.extend(c.keys().map(|k| k.as_str())),
        (Selection::Only(ids), c) => {
            for id in ids {
                let key = c.and_then(|c| c.keys().find(|k| k.as_str() == id));
                match key {
                    Some(k) => selected.push(k.as_str()),
                    None => return Err(Error::UnknownCommitment(id.clone())),
                }
            }
        }
    }
    selected.sort_unstable();
    selected.dedup();
    if selected.is_empty() {
        unsigned_id(msg)
    } else {
        Ok(combine_ids(selected))
    }
}

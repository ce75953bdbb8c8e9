//! Message and process IDs (`spec/codecs.md` §7.1, `spec/process.md` §2.2).

use ferrobeam_device_api::{DeviceError, Message, Value};
use ferrobeam_httpsig::IdMode;

/// Whether `text` is a message or process ID: 43 base64url characters. Only such IDs are ever
/// used in store keys.
///
/// ```
/// use ferrobeam_process::ids::is_id;
/// assert!(is_id("XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU"));
/// assert!(!is_id("process/../x"));
/// ```
pub fn is_id(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ID of a message: its signed ID (every commitment with a committer), or its unsigned
/// (HMAC) ID when it has no signature (`id(M, all)`).
pub fn message_id(msg: &Message) -> Result<String, DeviceError> {
    ferrobeam_httpsig::id(msg, IdMode::All)
        .map_err(|e| DeviceError::bad_request(format!("the message has no valid ID: {e}")))
}

/// The process ID of `base`: the ID of its `process` message when it is a computed state
/// (`§2.4`), else of `base` itself (a process definition).
pub fn process_id(base: &Message) -> Result<String, DeviceError> {
    match base.get("process") {
        Some(Value::Message(process)) => message_id(process),
        _ => message_id(base),
    }
}

/// A client-supplied ID, checked.
pub fn checked(text: &str, what: &str) -> Result<String, DeviceError> {
    if is_id(text) {
        Ok(text.to_owned())
    } else {
        Err(DeviceError::bad_request(format!(
            "`{what}` must be a 43-character ID, not {text:?}"
        )))
    }
}

/// Whether `msg` is a process definition (`type: Process`, any case).
pub fn is_process(msg: &Message) -> bool {
    msg.get_str("type")
        .is_some_and(|t| t.eq_ignore_ascii_case("process"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_identified_by_its_process() {
        let def = Message::new().with("type", "Process").with("a", "1");
        let pid = message_id(&def).unwrap();
        let state = Message::new()
            .with("process", def.clone())
            .with("at-slot", 3);
        assert_eq!(process_id(&state).unwrap(), pid);
        assert_eq!(process_id(&def).unwrap(), pid);
        assert!(is_process(&def));
    }

    #[test]
    fn only_43_character_base64url_ids_pass() {
        assert!(checked("a/b", "target").is_err());
        assert!(checked(&"A".repeat(43), "target").is_ok());
        assert!(!is_id(&"=".repeat(43)));
    }
}

//! Reading request parameters that arrive either typed or as text (query strings and path
//! segments are text: `?slot=2`, `compute=2`; a typed header is an integer).

use ferrobeam_device_api::{DeviceError, Message, Value};

/// A non-negative integer parameter: an integer, or decimal text. `None` when absent.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_process::params::slot_param;
/// let req = Message::new().with("slot", "12").with("to", 3);
/// assert_eq!(slot_param(&req, "slot").unwrap(), Some(12));
/// assert_eq!(slot_param(&req, "to").unwrap(), Some(3));
/// assert_eq!(slot_param(&req, "from").unwrap(), None);
/// assert!(slot_param(&Message::new().with("slot", "x"), "slot").is_err());
/// ```
pub fn slot_param(msg: &Message, key: &str) -> Result<Option<u64>, DeviceError> {
    let Some(value) = msg.get(key) else {
        return Ok(None);
    };
    let bad = || {
        DeviceError::bad_request(format!(
            "`{key}` must be a non-negative integer, not {value:?}"
        ))
    };
    match value {
        Value::Integer(n) => u64::try_from(*n).map(Some).map_err(|_| bad()),
        Value::Binary(_) => {
            let text = value.as_str().ok_or_else(bad)?.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| bad())
        }
        Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15 => Ok(Some(*f as u64)),
        _ => Err(bad()),
    }
}

/// The first of `keys` that is present, as a slot.
pub fn first_slot(msg: &Message, keys: &[&str]) -> Result<Option<u64>, DeviceError> {
    for key in keys {
        if let Some(n) = slot_param(msg, key)? {
            return Ok(Some(n));
        }
    }
    Ok(None)
}

/// A slot as a message integer (slots never exceed `i64::MAX` in practice; saturates).
pub fn slot_value(slot: u64) -> Value {
    Value::Integer(i64::try_from(slot).unwrap_or(i64::MAX))
}

/// A boolean option: the atoms `true`/`false` or the texts `"true"`/`"false"`.
pub fn flag(msg: &Message, key: &str, default: bool) -> Result<bool, DeviceError> {
    match msg.get(key) {
        None => Ok(default),
        Some(v) => match v.as_bool().or_else(|| match v.as_str() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }) {
            Some(b) => Ok(b),
            None => Err(DeviceError::bad_request(format!(
                "option `{key}` must be true or false, not {v:?}"
            ))),
        },
    }
}

/// A positive integer option.
pub fn count(msg: &Message, key: &str, default: usize) -> Result<usize, DeviceError> {
    match slot_param(msg, key)? {
        None => Ok(default),
        Some(0) => Err(DeviceError::bad_request(format!(
            "option `{key}` must be at least 1"
        ))),
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// The HTTP method of a request step (`GET` when the request names none).
pub fn method(req: &Message) -> String {
    req.get_str("method").unwrap_or("GET").to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_and_fractional_slots_are_refused() {
        assert!(slot_param(&Message::new().with("slot", -1), "slot").is_err());
        assert!(slot_param(&Message::new().with("slot", 1.5), "slot").is_err());
        assert_eq!(
            slot_param(&Message::new().with("slot", 2.0), "slot").unwrap(),
            Some(2)
        );
    }

    #[test]
    fn flags_read_atoms_and_text() {
        let m = Message::new()
            .with("a", true)
            .with("b", "false")
            .with("c", 1);
        assert!(flag(&m, "a", false).unwrap());
        assert!(!flag(&m, "b", true).unwrap());
        assert!(flag(&m, "c", true).is_err());
        assert!(flag(&m, "d", true).unwrap());
    }
}

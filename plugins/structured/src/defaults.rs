//! Legacy Arweave-transaction default values dropped on decode (`codecs.md` §1.3).

use ferrobeam_device_api::{Message, Value};

/// The keys that have a legacy-TX default (`signature_type`, whose default is a tuple no decoded
/// value can equal, aside).
///
/// ```
/// assert!(ferrobeam_structured::DEFAULT_TX_KEYS.contains(&"quantity"));
/// ```
pub const DEFAULT_TX_KEYS: [&str; 16] = [
    "format",
    "id",
    "unsigned_id",
    "last_tx",
    "owner",
    "tags",
    "target",
    "quantity",
    "data",
    "manifest",
    "data_size",
    "data_tree",
    "data_root",
    "signature",
    "reward",
    "denomination",
];

/// Whether `value` under `key` equals the legacy-TX default, so that decoding drops it.
/// Comparison is strict: the integer `0` is a default, the float `0.0` is not.
///
/// ```
/// use ferrobeam_device_api::Value;
/// use ferrobeam_structured::is_default_tx_value;
/// assert!(is_default_tx_value("quantity", &Value::from(0)));
/// assert!(is_default_tx_value("data", &Value::from("")));
/// assert!(!is_default_tx_value("data", &Value::from("x")));
/// assert!(!is_default_tx_value("other", &Value::from("")));
/// ```
#[inline]
pub fn is_default_tx_value(key: &str, value: &Value) -> bool {
    // The value's kind and length first, where the caller is: nearly every value is a
    // non-empty binary of another length than the defaults', which rules it out without a
    // call or reading the key.
    match value {
        Value::Binary(b) if !matches!(b.len(), 0 | 32 | 512) => false,
        _ => is_default_by_key(key, value),
    }
}

/// [`is_default_tx_value`] past its first test.
fn is_default_by_key(key: &str, value: &Value) -> bool {
    let zeros = |b: &[u8]| b.iter().all(|&x| x == 0);
    match value {
        Value::Binary(b) => match b.len() {
            0 => matches!(key, "last_tx" | "target" | "data" | "data_root"),
            32 => matches!(key, "id" | "unsigned_id") && zeros(b),
            512 => matches!(key, "owner" | "signature") && zeros(b),
            _ => false,
        },
        Value::List(l) => l.is_empty() && matches!(key, "tags" | "data_tree"),
        Value::Integer(0) => matches!(key, "quantity" | "data_size" | "reward" | "denomination"),
        Value::Atom(a) => match key {
            "format" => a == "ans104",
            "manifest" => a == "undefined",
            _ => false,
        },
        // `signature_type` defaults to the tuple {rsa, 65537}, which no decoded value can equal.
        _ => false,
    }
}

/// Removes every entry whose value is its legacy-TX default (HyperBEAM's
/// `filter_default_keys`).
pub fn filter_default_tx_keys(msg: &mut Message) {
    msg.retain(|k, v| !is_default_tx_value(k.as_str(), v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrobeam_device_api::Message;

    /// The defaults as the spec's table reads: one key at a time, each with its value.
    fn by_the_table(key: &str, value: &Value) -> bool {
        let zeros = |n: usize| matches!(value, Value::Binary(b) if b.len() == n && b.iter().all(|&x| x == 0));
        let empty_binary = matches!(value, Value::Binary(b) if b.is_empty());
        let empty_list = matches!(value, Value::List(l) if l.is_empty());
        match key {
            "format" => matches!(value, Value::Atom(a) if a == "ans104"),
            "id" | "unsigned_id" => zeros(32),
            "owner" | "signature" => zeros(512),
            "last_tx" | "target" | "data" | "data_root" => empty_binary,
            "tags" | "data_tree" => empty_list,
            "quantity" | "data_size" | "reward" | "denomination" => {
                matches!(value, Value::Integer(0))
            }
            "manifest" => matches!(value, Value::Atom(a) if a == "undefined"),
            _ => false,
        }
    }

    /// Every key with a default (and some without), against values of every kind, among them
    /// each default, its near misses (one byte set, one byte short) and the same value under
    /// another key: the value-first reading agrees with the table.
    #[test]
    fn value_first_agrees_with_the_table() {
        let mut values = vec![
            Value::from(0),
            Value::from(1),
            Value::Float(0.0),
            Value::Atom("ans104".into()),
            Value::Atom("undefined".into()),
            Value::Atom("other".into()),
            Value::List(Vec::new()),
            Value::List(vec![Value::from(0)]),
            Value::Message(Message::new()),
            Value::from(""),
            Value::from("x"),
        ];
        for n in [31, 32, 33, 511, 512, 513] {
            values.push(Value::binary(vec![0u8; n]));
            let mut one_set = vec![0u8; n];
            one_set[n - 1] = 1;
            values.push(Value::binary(one_set));
        }
        let mut keys = DEFAULT_TX_KEYS.to_vec();
        keys.extend(["signature_type", "other", "", "Data", "datas"]);
        for key in keys {
            for value in &values {
                assert_eq!(
                    is_default_tx_value(key, value),
                    by_the_table(key, value),
                    "{key:?} = {value:?}"
                );
            }
        }
    }
}

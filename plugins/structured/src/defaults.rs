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
pub fn is_default_tx_value(key: &str, value: &Value) -> bool {
    let zeros =
        |n: usize| matches!(value, Value::Binary(b) if b.len() == n && b.iter().all(|&x| x == 0));
    let empty_binary = matches!(value, Value::Binary(b) if b.is_empty());
    let empty_list = matches!(value, Value::List(l) if l.is_empty());
    let zero = matches!(value, Value::Integer(0));
    match key {
        "format" => matches!(value, Value::Atom(a) if a == "ans104"),
        "id" | "unsigned_id" => zeros(32),
        "owner" | "signature" => zeros(512),
        "last_tx" | "target" | "data" | "data_root" => empty_binary,
        "tags" | "data_tree" => empty_list,
        "quantity" | "data_size" | "reward" | "denomination" => zero,
        "manifest" => matches!(value, Value::Atom(a) if a == "undefined"),
        // `signature_type` defaults to the tuple {rsa, 65537}, which no decoded value can equal.
        _ => false,
    }
}

/// Removes every entry whose value is its legacy-TX default (HyperBEAM's
/// `filter_default_keys`).
pub fn filter_default_tx_keys(msg: &mut Message) {
    msg.retain(|k, v| !is_default_tx_value(k.as_str(), v));
}

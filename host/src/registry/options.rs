//! Device options from `devices.toml`, as the message a library receives at `init`.

use crate::config::DevicesFile;
use ferrobeam_device_api::{Message, Value};

/// `{ "<device>": { options… } }` for every configured device.
pub fn init_config(config: &DevicesFile) -> Message {
    config
        .devices
        .iter()
        .map(|(name, entry)| (name.as_str(), Value::from(table(&entry.options))))
        .collect()
}

fn table(t: &toml::Table) -> Message {
    t.iter().map(|(k, v)| (k.as_str(), value(v))).collect()
}

fn value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::Integer(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::List(a.iter().map(value).collect()),
        toml::Value::Table(t) => Value::from(table(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn options_become_typed_messages_per_device() {
        let f = DevicesFile::parse(
            Path::new("devices.toml"),
            "[devices.\"a@1.0\".options]\nn = 3\nflag = true\nlist = [1, \"x\"]\n[devices.\"a@1.0\".options.inner]\nk = \"v\"\n",
        )
        .unwrap();
        let m = init_config(&f);
        let a = m.get_message("a@1.0").unwrap();
        assert_eq!(a.get("n"), Some(&Value::Integer(3)));
        assert_eq!(a.get("flag").and_then(Value::as_bool), Some(true));
        assert_eq!(
            a.get("list").and_then(Value::as_list).map(|l| l.len()),
            Some(2)
        );
        assert_eq!(
            a.get_message("inner").and_then(|i| i.get_str("k")),
            Some("v")
        );
    }
}

//! Events plugins count themselves (`metric` host operation, `Host::count`): rendered as
//! `ferrobeam_device_<name>_total{device="…", <labels>}`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{PoisonError, RwLock};

/// Most distinct (device, name, labels) series kept.
pub const MAX_EVENT_SERIES: usize = 2000;
/// Most labels one event carries.
pub const MAX_LABELS: usize = 4;
/// Longest label value kept (longer ones are cut).
pub const MAX_VALUE_LEN: usize = 128;

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The name is not `[a-z][a-z0-9_]*` of at most 64 characters.
    #[error("metric name `{0}` must be lower-case letters, digits and '_', starting with a letter, at most 64 long")]
    BadName(String),
    /// A label name is not `[a-z][a-z0-9_]*` or is `device` (the node sets it).
    #[error("label name `{0}` must be lower-case letters, digits and '_' (and not `device`)")]
    BadLabel(String),
    /// More than [`MAX_LABELS`] labels.
    #[error("at most {MAX_LABELS} labels per event")]
    TooManyLabels,
}

type Key = (String, String, Vec<(String, String)>);

/// Counted plugin events.
#[derive(Debug, Default)]
pub struct Events {
    series: RwLock<BTreeMap<Key, u64>>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Events {
    /// Adds `by` to event `name` of `device` with `labels`.
    pub fn count(
        &self,
        device: &str,
        name: &str,
        labels: &[(String, String)],
        by: u64,
    ) -> Result<(), EventError> {
        if !valid_name(name) {
            return Err(EventError::BadName(name.to_owned()));
        }
        if labels.len() > MAX_LABELS {
            return Err(EventError::TooManyLabels);
        }
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| {
                if !valid_name(k) || k == "device" {
                    return Err(EventError::BadLabel(k.clone()));
                }
                let v: String = v.chars().take(MAX_VALUE_LEN).collect();
                Ok((k.clone(), v))
            })
            .collect::<Result<_, _>>()?;
        labels.sort();
        let mut map = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let key = (name.to_owned(), device.to_owned(), labels);
        if map.len() >= MAX_EVENT_SERIES && !map.contains_key(&key) {
            let overflow = (name.to_owned(), device.to_owned(), Vec::new());
            *map.entry(overflow).or_insert(0) += by;
            return Ok(());
        }
        *map.entry(key).or_insert(0) += by;
        Ok(())
    }

    /// The count of one series (tests, the status page).
    pub fn get(&self, device: &str, name: &str, labels: &[(String, String)]) -> u64 {
        let mut labels = labels.to_vec();
        labels.sort();
        let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&(name.to_owned(), device.to_owned(), labels))
            .copied()
            .unwrap_or(0)
    }

    /// Appends every event family in the text format.
    pub fn encode(&self, out: &mut String) {
        let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let mut current = "";
        for ((name, device, labels), n) in map.iter() {
            if name != current {
                let _ = writeln!(
                    out,
                    "# HELP ferrobeam_device_{name}_total Counted by devices through the metric host operation."
                );
                let _ = writeln!(out, "# TYPE ferrobeam_device_{name}_total counter");
                current = name;
            }
            let mut l = format!("device=\"{}\"", escape(device));
            for (k, v) in labels {
                let _ = write!(l, ",{k}=\"{}\"", escape(v));
            }
            let _ = writeln!(out, "ferrobeam_device_{name}_total{{{l}}} {n}");
        }
    }
}

/// A `metric` host operation's arguments: the event name, its labels and the amount.
pub type EventRequest<'a> = (&'a str, Vec<(String, String)>, u64);

/// The arguments of a `metric` host operation: `{name, labels?, by?}`.
pub fn request(
    payload: &ferrobeam_device_api::Message,
) -> Result<EventRequest<'_>, ferrobeam_device_api::DeviceError> {
    use ferrobeam_device_api::{DeviceError, Value};
    let name = payload
        .get_str("name")
        .ok_or_else(|| DeviceError::bad_request("metric needs a text `name`"))?;
    let labels = match payload.get("labels") {
        None => Vec::new(),
        Some(Value::Message(m)) => m
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(t) => Ok((k.as_str().to_owned(), t.to_owned())),
                None => Err(DeviceError::bad_request(format!(
                    "metric label `{}` must be text",
                    k.as_str()
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(DeviceError::bad_request(
                "metric `labels` must be a message",
            ))
        }
    };
    let by = match payload.get("by") {
        None => 1,
        Some(v) => v
            .as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                DeviceError::bad_request("metric `by` must be a non-negative integer")
            })?,
    };
    Ok((name, labels, by))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_and_rendered_per_device_and_labels() {
        let e = Events::default();
        let l = vec![("budget".to_owned(), "instructions".to_owned())];
        e.count("lua@5.3a", "budget_exhausted", &l, 1).unwrap();
        e.count("lua@5.3a", "budget_exhausted", &l, 2).unwrap();
        assert_eq!(e.get("lua@5.3a", "budget_exhausted", &l), 3);
        let mut out = String::new();
        e.encode(&mut out);
        assert!(out.contains(
            "ferrobeam_device_budget_exhausted_total{device=\"lua@5.3a\",budget=\"instructions\"} 3\n"
        ), "{out}");
        assert!(out.contains("# TYPE ferrobeam_device_budget_exhausted_total counter\n"));
    }

    #[test]
    fn bad_names_and_labels_are_refused() {
        let e = Events::default();
        assert!(matches!(
            e.count("d", "Bad-Name", &[], 1),
            Err(EventError::BadName(_))
        ));
        let dev = vec![("device".to_owned(), "x".to_owned())];
        assert!(matches!(
            e.count("d", "ok", &dev, 1),
            Err(EventError::BadLabel(_))
        ));
        let many: Vec<_> = (0..5).map(|i| (format!("l{i}"), "v".to_owned())).collect();
        assert_eq!(e.count("d", "ok", &many, 1), Err(EventError::TooManyLabels));
    }
}

//! How many calls each device may have running at once (`[node] max_calls_per_device`).
//!
//! A device that never returns keeps its blocking thread (Rust cannot stop it); the edge answers
//! its request with 504 once `call_timeout_secs` pass. Without a per-device bound, such calls
//! would pile up until every call slot of the node is held by one broken device; with it, that
//! device is refused (503) once it has this many calls running, and every other device keeps
//! its share.

use ferrobeam_device_api::{DeviceError, ErrorKind};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Running calls per device, bounded.
#[derive(Debug)]
pub struct DeviceGate {
    limit: usize,
    running: Mutex<HashMap<String, usize>>,
}

impl DeviceGate {
    /// A gate letting each device run at most `limit` calls at once.
    pub fn new(limit: usize) -> DeviceGate {
        DeviceGate {
            limit: limit.max(1),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call to `device`, or refuses it (503) when the device already runs `limit`.
    pub fn enter<'a>(&'a self, device: &str) -> Result<GateGuard<'a>, DeviceError> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let n = running.entry(device.to_owned()).or_insert(0);
        if *n >= self.limit {
            return Err(DeviceError::new(
                ErrorKind::Unavailable,
                format!(
                    "{device} already has {n} calls running (`max_calls_per_device`); it may be stuck — retry later"
                ),
            )
            .with_detail("device", device));
        }
        *n += 1;
        Ok(GateGuard {
            gate: self,
            device: device.to_owned(),
        })
    }

    /// Calls running now, by device.
    pub fn running(&self) -> Vec<(String, usize)> {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(String, usize)> = running
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| (d.clone(), *n))
            .collect();
        out.sort();
        out
    }
}

/// One admitted call; leaving frees its place.
#[derive(Debug)]
pub struct GateGuard<'a> {
    gate: &'a DeviceGate,
    device: String,
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        let mut running = self
            .gate
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = running.get_mut(&self.device) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_at_its_limit_is_refused_and_others_are_not() {
        let gate = DeviceGate::new(2);
        let a = gate.enter("a@1.0").unwrap();
        let _b = gate.enter("a@1.0").unwrap();
        let refused = gate.enter("a@1.0").unwrap_err();
        assert_eq!(refused.kind().status(), 503);
        assert!(refused.reason().contains("max_calls_per_device"));
        assert!(gate.enter("other@1.0").is_ok());
        drop(a);
        assert!(gate.enter("a@1.0").is_ok());
        assert_eq!(gate.running(), vec![("a@1.0".to_owned(), 1)]);
    }
}

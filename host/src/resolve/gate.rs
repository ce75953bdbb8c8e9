//! How many calls each device may have running at once (`[node] max_calls_per_device`).
//!
//! A device that never returns keeps its blocking thread (Rust cannot stop it); the edge answers
//! its request with 504 once `call_timeout_secs` pass. Without a per-device bound, such calls
//! would pile up until every call slot of the node is held by one broken device; with it, that
//! device is refused (503) once it has this many calls running, and every other device keeps
//! its share.

use ferrobeam_device_api::{DeviceError, ErrorKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Running calls per device, bounded.
///
/// One counter per device, made on its first call and kept: a call takes the map's read lock
/// only to find its counter, so calls to devices never wait for each other and allocate nothing
/// (this runs for every device call).
#[derive(Debug)]
pub struct DeviceGate {
    limit: usize,
    running: RwLock<HashMap<String, Arc<AtomicUsize>>>,
}

impl DeviceGate {
    /// A gate letting each device run at most `limit` calls at once.
    pub fn new(limit: usize) -> DeviceGate {
        DeviceGate {
            limit: limit.max(1),
            running: RwLock::new(HashMap::new()),
        }
    }

    /// Admits one call to `device`, or refuses it (503) when the device already runs `limit`.
    pub fn enter(&self, device: &str) -> Result<GateGuard, DeviceError> {
        let counter = self.counter(device);
        let before = counter.fetch_add(1, Ordering::AcqRel);
        if before >= self.limit {
            counter.fetch_sub(1, Ordering::AcqRel);
            return Err(DeviceError::new(
                ErrorKind::Unavailable,
                format!(
                    "{device} already has {before} calls running (`max_calls_per_device`); it may be stuck — retry later"
                ),
            )
            .with_detail("device", device));
        }
        Ok(GateGuard { counter })
    }

    /// Calls running now, by device.
    pub fn running(&self) -> Vec<(String, usize)> {
        let running = self.running.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(String, usize)> = running
            .iter()
            .map(|(d, n)| (d.clone(), n.load(Ordering::Acquire)))
            .filter(|(_, n)| *n > 0)
            .collect();
        out.sort();
        out
    }

    fn counter(&self, device: &str) -> Arc<AtomicUsize> {
        if let Some(c) = self
            .running
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(device)
        {
            return c.clone();
        }
        self.running
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(device.to_owned())
            .or_default()
            .clone()
    }
}

/// One admitted call; leaving frees its place.
#[derive(Debug)]
pub struct GateGuard {
    counter: Arc<AtomicUsize>,
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
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

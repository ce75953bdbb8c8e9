//! What the devices of one library generation share: the slot sequencer and the in-memory
//! states. A hot reload loads a new copy of the library with fresh ones; the store (and its
//! compare-and-swap on each schedule head) keeps generations that overlap consistent.

use crate::process::states::StateCache;
use crate::scheduler::sequencer::Sequencer;
use std::sync::{Arc, OnceLock};

/// How many process logs the sequencer keeps in memory.
pub const MEMORY_LOGS: usize = 65_536;
/// How many processes keep their latest state in memory by default.
pub const MEMORY_STATES: usize = 1024;

/// The shared state of the process devices.
#[derive(Debug)]
pub struct Shared {
    /// Slot assignment.
    pub sequencer: Sequencer,
    /// Latest states and compute locks.
    pub states: StateCache,
}

impl Shared {
    /// Fresh shared state.
    pub fn new(logs: usize, states: usize) -> Self {
        Shared {
            sequencer: Sequencer::new(logs),
            states: StateCache::new(states),
        }
    }
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

/// This library generation's shared state.
pub fn shared() -> Arc<Shared> {
    SHARED
        .get_or_init(|| Arc::new(Shared::new(MEMORY_LOGS, MEMORY_STATES)))
        .clone()
}

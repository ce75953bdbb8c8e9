//! What the devices of one mapped library share: the slot sequencer and the in-memory states.
//! A reload that changes only options starts a new instance of the devices in the same mapping,
//! and they share these with the old instance while its calls finish; a reload of a new file
//! maps a new copy with fresh ones, and the store (its compare-and-swap on each schedule head)
//! keeps generations that overlap consistent. The devices hold the shared state; once the last
//! instance is shut down it is freed.

use crate::process::states::StateCache;
use crate::scheduler::sequencer::Sequencer;
use std::sync::{Arc, Mutex, PoisonError, Weak};

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

static SHARED: Mutex<Weak<Shared>> = Mutex::new(Weak::new());

/// The shared state of the running devices of this mapping (fresh if none is running).
pub fn shared() -> Arc<Shared> {
    let mut current = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(shared) = current.upgrade() {
        return shared;
    }
    let shared = Arc::new(Shared::new(MEMORY_LOGS, MEMORY_STATES));
    *current = Arc::downgrade(&shared);
    shared
}

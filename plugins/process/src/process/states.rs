//! Per-process compute state in memory: the latest computed state (so `/now/<key>` never
//! replays), and the lock that lets one request at a time advance a process.
//!
//! At most about `capacity` processes keep a state in memory; the least recently used idle ones
//! are dropped beyond that (their states stay in the store).

use ferrobeam_device_api::{DeviceError, Message};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A state after a slot.
#[derive(Debug, Clone)]
pub struct Computed {
    /// The slot it is the state after.
    pub slot: u64,
    /// The state.
    pub state: Arc<Message>,
}

/// One process's compute slot.
#[derive(Debug, Default)]
pub struct ProcessStates {
    computing: Mutex<Option<ThreadId>>,
    free: Condvar,
    latest: Mutex<Option<Computed>>,
    last_used: AtomicU64,
}

/// Held while a thread advances a process; released on drop.
#[derive(Debug)]
pub struct ComputeGuard<'a> {
    owner: &'a ProcessStates,
}

impl Drop for ComputeGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.owner.computing) = None;
        self.owner.free.notify_one();
    }
}

impl ProcessStates {
    /// Takes the process's compute lock, waiting for another thread to finish. A thread that
    /// already holds it — a process whose execution resolves its own state — gets an error
    /// instead of a deadlock.
    pub fn acquire(&self, pid: &str) -> Result<ComputeGuard<'_>, DeviceError> {
        let me = std::thread::current().id();
        let mut computing = lock(&self.computing);
        loop {
            match *computing {
                None => {
                    *computing = Some(me);
                    return Ok(ComputeGuard { owner: self });
                }
                Some(owner) if owner == me => {
                    return Err(DeviceError::bad_request(format!(
                        "process {pid} is computing on this very request: a process cannot read its own state while it computes"
                    )))
                }
                Some(_) => {
                    computing = self
                        .free
                        .wait(computing)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// The latest state in memory.
    pub fn latest(&self) -> Option<Computed> {
        lock(&self.latest).clone()
    }

    /// Records a newer state (an older one never replaces a newer).
    pub fn advance(&self, computed: Computed) {
        let mut latest = lock(&self.latest);
        if latest.as_ref().is_none_or(|l| l.slot <= computed.slot) {
            *latest = Some(computed);
        }
    }
}

/// Every process's [`ProcessStates`].
#[derive(Debug)]
pub struct StateCache {
    entries: Mutex<HashMap<String, Arc<ProcessStates>>>,
    capacity: AtomicU64,
    clock: AtomicU64,
}

impl StateCache {
    /// A cache for about `capacity` processes.
    pub fn new(capacity: usize) -> Self {
        StateCache {
            entries: Mutex::new(HashMap::new()),
            capacity: AtomicU64::new(capacity.max(1) as u64),
            clock: AtomicU64::new(0),
        }
    }

    /// Changes the capacity (the `memory_states` option).
    pub fn set_capacity(&self, capacity: usize) {
        self.capacity
            .store(capacity.max(1) as u64, Ordering::Relaxed);
    }

    /// The entry of `pid`, made on first use.
    pub fn entry(&self, pid: &str) -> Arc<ProcessStates> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = lock(&self.entries);
        let entry = match entries.get(pid) {
            Some(e) => e.clone(),
            None => {
                let capacity =
                    usize::try_from(self.capacity.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
                if entries.len() >= capacity {
                    evict(&mut entries, capacity * 3 / 4);
                }
                let e = Arc::new(ProcessStates::default());
                entries.insert(pid.to_owned(), e.clone());
                e
            }
        };
        entry.last_used.store(tick, Ordering::Relaxed);
        entry
    }

    /// How many processes have an entry.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether no process has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops the least recently used idle entries until at most `keep` remain (entries in use are
/// kept: only the map holds an idle one).
fn evict(entries: &mut HashMap<String, Arc<ProcessStates>>, keep: usize) {
    let mut idle: Vec<(u64, String)> = entries
        .iter()
        .filter(|(_, e)| Arc::strong_count(e) == 1)
        .map(|(k, e)| (e.last_used.load(Ordering::Relaxed), k.clone()))
        .collect();
    idle.sort_unstable();
    let excess = entries.len().saturating_sub(keep);
    for (_, key) in idle.into_iter().take(excess) {
        entries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_thread_cannot_take_the_lock_twice() {
        let states = ProcessStates::default();
        let _guard = states.acquire("p").unwrap();
        assert_eq!(states.acquire("p").unwrap_err().kind().status(), 400);
    }

    #[test]
    fn other_threads_wait_for_the_lock() {
        let states = Arc::new(ProcessStates::default());
        let guard = states.acquire("p").unwrap();
        let other = {
            let states = states.clone();
            std::thread::spawn(move || states.acquire("p").map(|_| ()).is_ok())
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(guard);
        assert!(other.join().unwrap());
    }

    #[test]
    fn newer_states_win_and_idle_entries_are_evicted_oldest_first() {
        let cache = StateCache::new(4);
        let e = cache.entry("a");
        e.advance(Computed {
            slot: 5,
            state: Arc::new(Message::new()),
        });
        e.advance(Computed {
            slot: 3,
            state: Arc::new(Message::new()),
        });
        assert_eq!(e.latest().map(|c| c.slot), Some(5));
        drop(e);
        for p in ["b", "c", "d", "e", "f"] {
            cache.entry(p);
        }
        assert!(cache.len() <= 4);
        assert!(
            !lock(&cache.entries).contains_key("a"),
            "the oldest idle entry goes first"
        );
    }
}

//! The threads that run the edge's device calls.
//!
//! Device calls are synchronous and may be slow (a Lua computation) or never return (a broken
//! device), so they cannot run on the runtime's workers. tokio's blocking pool starts a thread
//! for every call that finds no idle one: under load (32 connections on 2 cores) the node ran
//! ~120 threads, each request paid a thread wake-up on the way in and out, and the kernel's
//! scheduling and glibc's per-thread arenas took more CPU than the calls themselves (measured
//! in BENCHMARKS.md, "The load command").
//!
//! This pool keeps as many *fresh* threads as the machine has cores: threads that are idle or
//! whose current call started less than [`SLOW_AFTER`] ago. Calls queue for them; a thread
//! takes the next call without sleeping while the queue is not empty, so a loaded node wakes
//! nobody. A call that runs longer than [`SLOW_AFTER`] no longer counts as fresh, and the pool
//! starts another thread (up to `max_threads`, the node's `max_concurrent_calls`), so slow and
//! stuck calls never hold back the others. Threads beyond the core count end after
//! [`KEEP_ALIVE`] without work.
//!
//! A call that says it waits (a device's `Host::blocking`, e.g. the scheduler waiting for its
//! slot's durable commit) is not fresh while it waits either ([`set_waiting`]): the pool starts
//! another thread for the calls queued behind it, so the cores compute while the disk syncs.
//!
//! The edge's pool is [`CallPool::prepared`]: its fresh threads start with it and run a prepare
//! step (one signature) before their first call, so no client waits for a thread's first RSA
//! signature. A dropped pool's threads end once its queue is empty.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A call running longer than this no longer holds back the calls queued behind it.
pub const SLOW_AFTER: Duration = Duration::from_millis(20);
/// How long a thread beyond the core count waits for work before it ends.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// The longest [`CallPool::prepared`] waits for its first threads to prepare.
pub const PREPARE_WAIT: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send + 'static>;
/// What the threads a pool starts with run once, before their first call
/// ([`CallPool::prepared`]).
type Prepare = Box<dyn Fn() + Send + Sync + 'static>;

thread_local! {
    /// The pool and slot of this thread, when it is a call thread.
    static CURRENT: RefCell<Option<(Arc<Shared>, usize)>> = const { RefCell::new(None) };
}

/// Marks the call running on this thread as waiting (`true`) or computing again (`false`); the
/// marks nest. Not on a call thread (a request running on a runtime worker), it does nothing.
pub fn set_waiting(waiting: bool) {
    CURRENT.with(|current| {
        if let Some((shared, slot)) = &*current.borrow() {
            shared.set_waiting(*slot, waiting);
        }
    });
}

/// A pool of call threads (see the module docs).
#[derive(Debug)]
pub struct CallPool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    /// Signalled as each thread has prepared.
    prepared: Condvar,
    fresh_target: usize,
    max_threads: usize,
    prepare: Option<Prepare>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("fresh_target", &self.fresh_target)
            .field("max_threads", &self.max_threads)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// When each thread's current call started (`None`: waiting for work), by slot.
    started: Vec<Option<Instant>>,
    /// How deep each thread's current call is in [`set_waiting`] sections, by slot.
    waiting: Vec<u32>,
    /// Free slots in `started` (threads that ended).
    free: Vec<usize>,
    idle: usize,
    /// The pool was dropped: threads end once the queue is empty.
    closed: bool,
    /// Threads started and not yet done preparing.
    preparing: usize,
}

impl State {
    fn threads(&self) -> usize {
        self.started.len() - self.free.len()
    }

    /// Threads that are idle or whose call is neither slow yet nor waiting.
    fn fresh(&self, now: Instant) -> usize {
        self.threads()
            - self
                .started
                .iter()
                .zip(&self.waiting)
                .filter(|(started, waiting)| {
                    started.is_some_and(|t| now.duration_since(t) >= SLOW_AFTER || **waiting > 0)
                })
                .count()
    }
}

impl CallPool {
    /// A pool keeping `fresh_target` fresh threads (at least 1), with at most `max_threads`,
    /// which starts its threads as calls come.
    pub fn new(fresh_target: usize, max_threads: usize) -> CallPool {
        CallPool::build(fresh_target, max_threads, None)
    }

    /// A pool like [`CallPool::new`]'s whose `fresh_target` threads start now and each run
    /// `prepare` first: it returns once they have prepared (or after [`PREPARE_WAIT`]), so that
    /// the first calls find them ready. The node has each thread sign
    /// once: a thread's first RSA signature costs ~1 ms more than the next
    /// (`Wallet::prepare_thread`). A thread started later, for calls queued behind slow ones,
    /// takes its call at once and does not prepare: that call has waited already, and those
    /// threads mostly run slow computations (a burst of Lua), where a signature would only
    /// take CPU from them.
    pub fn prepared(
        fresh_target: usize,
        max_threads: usize,
        prepare: impl Fn() + Send + Sync + 'static,
    ) -> CallPool {
        let pool = CallPool::build(fresh_target, max_threads, Some(Box::new(prepare)));
        let shared = &pool.shared;
        let mut state = shared.lock();
        for _ in 0..shared.fresh_target {
            shared.start_thread(&mut state, true);
        }
        let deadline = Instant::now() + PREPARE_WAIT;
        while state.preparing > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("call threads still preparing after {PREPARE_WAIT:?}");
                break;
            }
            state = shared
                .prepared
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(state);
        pool
    }

    fn build(fresh_target: usize, max_threads: usize, prepare: Option<Prepare>) -> CallPool {
        let fresh_target = fresh_target.max(1);
        CallPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                prepared: Condvar::new(),
                fresh_target,
                max_threads: max_threads.max(fresh_target),
                prepare,
            }),
        }
    }

    /// The number of fresh threads a pool keeps on this machine: one per core.
    pub fn cores() -> usize {
        std::thread::available_parallelism().map_or(2, usize::from)
    }

    /// Runs `f` on a call thread; the answer arrives on the returned channel (closed without
    /// one if `f` panicked).
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let mut state = self.shared.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            drop(state);
            self.shared.work.notify_one();
        } else {
            self.shared.grow(&mut state);
        }
        rx
    }

    /// Starts a thread if the calls running have all become slow (a caller whose call has not
    /// started after [`SLOW_AFTER`] asks).
    pub fn unstick(&self) {
        let mut state = self.shared.lock();
        if !state.queue.is_empty() && state.idle == 0 {
            self.shared.grow(&mut state);
        }
    }

    /// Threads running now.
    pub fn threads(&self) -> usize {
        self.shared.lock().threads()
    }
}

impl Drop for CallPool {
    /// Its threads finish the calls queued, then end.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts one thread when fewer than `fresh_target` are fresh and the bound allows.
    fn grow(self: &Arc<Self>, state: &mut State) {
        if state.threads() >= self.max_threads || state.fresh(Instant::now()) >= self.fresh_target {
            return;
        }
        self.start_thread(state, false);
    }

    /// Starts one thread, which runs the pool's prepare step first when `prepare` is set.
    fn start_thread(self: &Arc<Self>, state: &mut State, prepare: bool) {
        let prepare = prepare && self.prepare.is_some();
        let slot = match state.free.pop() {
            Some(slot) => slot,
            None => {
                state.started.push(None);
                state.waiting.push(0);
                state.started.len() - 1
            }
        };
        if prepare {
            // Preparing counts as a call: the pool starts another thread if it is slow.
            if let Some(s) = state.started.get_mut(slot) {
                *s = Some(Instant::now());
            }
            state.preparing += 1;
        }
        let shared = self.clone();
        let spawned = std::thread::Builder::new()
            .name("ferrobeam-call".to_owned())
            .spawn(move || shared.work_loop(slot, prepare));
        if let Err(e) = spawned {
            tracing::warn!("cannot start a call thread: {e}");
            state.free.push(slot);
            if prepare {
                if let Some(s) = state.started.get_mut(slot) {
                    *s = None;
                }
                state.preparing -= 1;
            }
        }
    }

    /// See [`set_waiting`]: a call starting to wait may let a queued call start.
    fn set_waiting(self: &Arc<Self>, slot: usize, waiting: bool) {
        let mut state = self.lock();
        let Some(depth) = state.waiting.get_mut(slot) else {
            return;
        };
        *depth = if waiting {
            depth.saturating_add(1)
        } else {
            depth.saturating_sub(1)
        };
        if waiting && !state.queue.is_empty() && state.idle == 0 {
            self.grow(&mut state);
        }
    }

    fn work_loop(self: Arc<Self>, slot: usize, prepare: bool) {
        CURRENT.with(|current| *current.borrow_mut() = Some((self.clone(), slot)));
        if let Some(prepare) = self.prepare.as_ref().filter(|_| prepare) {
            let _ = catch_unwind(AssertUnwindSafe(prepare));
            let mut state = self.lock();
            state.preparing = state.preparing.saturating_sub(1);
            if let Some(s) = state.started.get_mut(slot) {
                *s = None;
            }
            drop(state);
            self.prepared.notify_all();
        }
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                if let Some(s) = state.started.get_mut(slot) {
                    *s = Some(Instant::now());
                }
                drop(state);
                // A panic in host code ends this call (its caller sees a closed channel), not
                // the thread.
                let _ = catch_unwind(AssertUnwindSafe(job));
                state = self.lock();
                if let Some(s) = state.started.get_mut(slot) {
                    *s = None;
                }
                // A call that ended inside a section (it panicked) waits no more.
                if let Some(w) = state.waiting.get_mut(slot) {
                    *w = 0;
                }
                continue;
            }
            if state.closed {
                state.free.push(slot);
                drop(state);
                CURRENT.with(|current| *current.borrow_mut() = None);
                return;
            }
            state.idle += 1;
            let (next, waited) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if waited.timed_out() && state.queue.is_empty() && state.threads() > self.fresh_target {
                state.free.push(slot);
                drop(state);
                CURRENT.with(|current| *current.borrow_mut() = None);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_calls_and_returns_their_answers() {
        let pool = CallPool::new(2, 8);
        let answers: Vec<_> = (0..10).map(|i| pool.run(move || i * 2)).collect();
        for (i, rx) in answers.into_iter().enumerate() {
            assert_eq!(rx.await.ok(), Some(i * 2));
        }
        assert!(pool.threads() <= 2, "{} threads", pool.threads());
    }

    #[tokio::test]
    async fn a_stuck_call_does_not_hold_back_the_others() {
        let pool = CallPool::new(1, 4);
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let first = pool.run(move || stuck.recv().is_ok());
        tokio::time::sleep(SLOW_AFTER * 2).await;
        let second = pool.run(|| 7);
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), second)
                .await
                .ok()
                .and_then(Result::ok),
            Some(7)
        );
        let _ = release.send(());
        assert_eq!(first.await.ok(), Some(true));
    }

    /// The answer of `rx` if it comes well within [`SLOW_AFTER`]: only a waiting mark can have
    /// started a thread for a call that comes that soon behind a busy one.
    async fn soon<T>(rx: tokio::sync::oneshot::Receiver<T>) -> Option<T> {
        tokio::time::timeout(SLOW_AFTER / 4, rx)
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// A call waiting lets the one queued behind it start at once, long before the wait
    /// would have made it slow.
    #[tokio::test]
    async fn a_waiting_call_lets_a_queued_one_start() {
        let pool = CallPool::new(1, 4);
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (waiting_tx, waiting) = std::sync::mpsc::channel::<()>();
        let first = pool.run(move || {
            set_waiting(true);
            let _ = waiting_tx.send(());
            let released = held.recv().is_ok();
            set_waiting(false);
            released
        });
        waiting.recv().unwrap();
        let second = pool.run(|| 7);
        assert_eq!(soon(second).await, Some(7));
        let _ = release.send(());
        assert_eq!(first.await.ok(), Some(true));
        // Computing again, the first thread counts as fresh: nothing more is started.
        assert_eq!(pool.run(|| 8).await.ok(), Some(8));
        assert_eq!(pool.threads(), 2);
    }

    /// A call queued while the only thread computes starts as soon as that call waits.
    #[tokio::test]
    async fn a_call_that_starts_waiting_lets_the_queue_move() {
        let pool = CallPool::new(1, 4);
        let (start_waiting, computing) = std::sync::mpsc::channel::<()>();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let first = pool.run(move || {
            let _ = computing.recv();
            set_waiting(true);
            let released = held.recv().is_ok();
            set_waiting(false);
            released
        });
        let second = pool.run(|| 7);
        let _ = start_waiting.send(());
        assert_eq!(soon(second).await, Some(7));
        let _ = release.send(());
        assert_eq!(first.await.ok(), Some(true));
    }

    /// A prepared pool's fresh threads have each prepared once when it is returned; every call
    /// runs on a thread that has prepared; a panicking `prepare` costs no thread.
    #[tokio::test]
    async fn a_prepared_pool_starts_its_threads_and_prepares_each_before_its_calls() {
        use std::cell::Cell;
        thread_local!(static PREPARED: Cell<bool> = const { Cell::new(false) });
        let (done, prepared) = std::sync::mpsc::channel();
        let done = Mutex::new(done);
        let pool = CallPool::prepared(2, 4, move || {
            PREPARED.with(|p| p.set(true));
            let _ = done.lock().map(|d| d.send(std::thread::current().id()));
        });
        assert_eq!(pool.threads(), 2, "started with the pool");
        let (a, b) = (prepared.try_recv(), prepared.try_recv());
        assert!(
            a.is_ok() && b.is_ok() && a != b,
            "each thread prepared before the pool was returned"
        );
        let answers: Vec<_> = (0..8)
            .map(|_| pool.run(|| PREPARED.with(Cell::get)))
            .collect();
        for answer in answers {
            assert_eq!(answer.await.ok(), Some(true));
        }
        assert!(prepared.try_recv().is_err(), "once per thread");

        let pool = CallPool::prepared(1, 1, || panic!("prepare failed"));
        assert_eq!(pool.run(|| 3).await.ok(), Some(3));
    }

    /// A thread started later, for a call queued behind a slow one, takes it without preparing.
    #[tokio::test]
    async fn threads_started_behind_slow_calls_do_not_prepare() {
        use std::cell::Cell;
        thread_local!(static PREPARED: Cell<bool> = const { Cell::new(false) });
        let pool = CallPool::prepared(1, 4, || PREPARED.with(|p| p.set(true)));
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let first = pool.run(move || stuck.recv().is_ok() && PREPARED.with(Cell::get));
        tokio::time::sleep(SLOW_AFTER * 2).await;
        let second = pool.run(|| PREPARED.with(Cell::get));
        pool.unstick();
        let second = tokio::time::timeout(Duration::from_secs(5), second).await;
        assert_eq!(second.ok().and_then(Result::ok), Some(false));
        assert_eq!(pool.threads(), 2);
        let _ = release.send(());
        assert_eq!(
            first.await.ok(),
            Some(true),
            "the first thread had prepared"
        );
    }

    /// Dropping a pool ends its threads, the fresh ones too, once the calls queued are done.
    #[tokio::test]
    async fn a_dropped_pool_ends_its_threads_after_its_queued_calls() {
        let pool = CallPool::prepared(2, 4, || {});
        let shared = pool.shared.clone();
        let answers: Vec<_> = (0..4).map(|i| pool.run(move || i)).collect();
        drop(pool);
        for (i, answer) in answers.into_iter().enumerate() {
            assert_eq!(answer.await.ok(), Some(i));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.lock().threads() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(shared.lock().threads(), 0);
    }

    #[tokio::test]
    async fn a_panicking_call_closes_its_channel_and_the_pool_keeps_serving() {
        let pool = CallPool::new(1, 1);
        let panicked = pool.run(|| -> u8 { panic!("host bug") });
        assert!(panicked.await.is_err());
        assert_eq!(pool.run(|| 1).await.ok(), Some(1));
    }
}

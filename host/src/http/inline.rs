//! Which requests run on the runtime's worker threads instead of a call thread.
//!
//! Handing a request to a call thread ([`super::call_pool`]) and its answer back costs two
//! thread wake-ups. For a request the node answers in microseconds (a device's `info`, a
//! remembered state's key) those wake-ups cost more than the work: measured on 2 cores, they
//! took the node from ~9 to ~14 µs of user CPU and from ~10 to ~17 µs of kernel CPU per request,
//! and lost a third of its throughput (BENCHMARKS.md, "The load command").
//!
//! So a request runs where it arrived, on the worker, when both hold:
//! - its **class** — the first two segments of its path, an ID-shaped part written `*`
//!   (`~mydev@1.0/info`, `*~process@1.0/now`) — has *proven fast*: its last [`PROVEN`] runs
//!   each took less than [`FAST`]. Any slower run (a computation catching up, a signature the
//!   node had not made before, a device that hangs) sends the class back to the call threads
//!   until it proves itself again; a class never seen runs on a call thread.
//! - fewer than the [limit](Inline::new) of requests are running on workers already. The
//!   runtime has one worker more than the limit, so even a proven-fast device that suddenly
//!   hangs on every worker it may use leaves a worker free: the node keeps accepting, reading
//!   and answering, and its other requests go to the call threads, which time out (504).
//!
//! A worker blocked by a request's call must not leave the sockets unpolled:
//! [`super::driver_watch`] sees to that.
//!
//! What is given up: a request running on a worker is not cut off at `call_timeout_secs` (it
//! answers when its call returns), so a device that was fast and hangs delays the requests it
//! started then — at most [the limit](Inline::new) of them, after which its class runs on the
//! call threads and times out as usual.

use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// A run at least this long is slow: its class leaves the workers.
pub const FAST: Duration = Duration::from_millis(1);
/// Consecutive fast runs a class needs before it runs on a worker.
pub const PROVEN: u32 = 16;
/// Classes remembered; requests of classes beyond them run on call threads.
pub const MAX_CLASSES: usize = 1024;
/// The longest class remembered.
const MAX_CLASS_LEN: usize = 96;

/// Fast-run counts by request class, and the requests running on workers now.
#[derive(Debug)]
pub struct Inline {
    classes: RwLock<HashMap<Box<str>, AtomicU32, RandomState>>,
    running: AtomicUsize,
    limit: usize,
}

impl Inline {
    /// At most `limit` requests on workers at once (0: never).
    pub fn new(limit: usize) -> Inline {
        Inline {
            classes: RwLock::new(HashMap::default()),
            running: AtomicUsize::new(0),
            limit,
        }
    }

    /// A place on a worker for a request of `class`, if it has proven fast and there is room.
    pub fn admit(&self, class: &str) -> Option<OnWorker<'_>> {
        let proven = self
            .classes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(class)
            .is_some_and(|streak| streak.load(Ordering::Relaxed) >= PROVEN);
        if !proven {
            return None;
        }
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()?;
        Some(OnWorker(self))
    }

    /// Records how long a request of `class` took to run (wherever it ran).
    pub fn record(&self, class: &str, took: Duration) {
        let fast = took < FAST;
        {
            let classes = self.classes.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(streak) = classes.get(class) {
                if fast {
                    // Saturating: a long-proven class stays proven, not wrapping to 0.
                    let _ = streak
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| s.checked_add(1));
                } else {
                    streak.store(0, Ordering::Relaxed);
                }
                return;
            }
        }
        let mut classes = self.classes.write().unwrap_or_else(PoisonError::into_inner);
        if classes.len() < MAX_CLASSES {
            classes
                .entry(class.into())
                .or_insert_with(|| AtomicU32::new(u32::from(fast)));
        }
    }

    /// How many requests run on workers now (the node counts them in
    /// `ferrobeam_requests_on_workers`).
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Whether any request may run on a worker at all.
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }
}

/// A request running on a worker; the place is given back when it is dropped.
#[derive(Debug)]
pub struct OnWorker<'a>(&'a Inline);

impl Drop for OnWorker<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The class of a request target: its first two path segments, with an ID-shaped segment or
/// ID before a `~device` written `*`; `None` for a target too long to be worth a class.
///
/// ```
/// # use ferrobeam::http::inline::class_of;
/// assert_eq!(class_of("/~mydev@1.0/info?x=1").as_deref(), Some("~mydev@1.0/info"));
/// let pid = "a".repeat(43);
/// assert_eq!(
///     class_of(&format!("/{pid}~process@1.0/now/count")).as_deref(),
///     Some("*~process@1.0/now")
/// );
/// assert_eq!(class_of(&format!("/{pid}")).as_deref(), Some("*"));
/// ```
pub fn class_of(target: &str) -> Option<String> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let mut class = String::with_capacity(48);
    for (i, segment) in path.trim_start_matches('/').split('/').take(2).enumerate() {
        if i > 0 {
            class.push('/');
        }
        let (head, device) = match segment.split_once('~') {
            Some((head, device)) => (head, Some(device)),
            None => (segment, None),
        };
        if crate::path::is_id(head) {
            class.push('*');
        } else {
            class.push_str(head);
        }
        if let Some(device) = device {
            class.push('~');
            class.push_str(device);
        }
        if class.len() > MAX_CLASS_LEN {
            return None;
        }
    }
    Some(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST_RUN: Duration = Duration::from_micros(10);
    const SLOW_RUN: Duration = Duration::from_millis(5);

    #[test]
    fn a_class_runs_on_a_worker_only_after_proving_fast() {
        let inline = Inline::new(2);
        assert!(inline.admit("~mydev@1.0/info").is_none(), "never seen");
        for _ in 0..PROVEN - 1 {
            inline.record("~mydev@1.0/info", FAST_RUN);
        }
        assert!(inline.admit("~mydev@1.0/info").is_none(), "not proven yet");
        inline.record("~mydev@1.0/info", FAST_RUN);
        assert!(inline.admit("~mydev@1.0/info").is_some());
        assert!(
            inline.admit("~other@1.0/info").is_none(),
            "classes are separate"
        );
    }

    #[test]
    fn one_slow_run_sends_a_class_back_to_the_call_threads() {
        let inline = Inline::new(2);
        for _ in 0..100 {
            inline.record("c", FAST_RUN);
        }
        assert!(inline.admit("c").is_some());
        inline.record("c", SLOW_RUN);
        assert!(inline.admit("c").is_none());
        for _ in 0..PROVEN {
            inline.record("c", FAST_RUN);
        }
        assert!(inline.admit("c").is_some(), "proven again");
    }

    #[test]
    fn at_most_the_limit_run_on_workers_at_once() {
        let inline = Inline::new(2);
        for _ in 0..PROVEN {
            inline.record("c", FAST_RUN);
        }
        let a = inline.admit("c");
        let b = inline.admit("c");
        assert!(a.is_some() && b.is_some());
        assert!(inline.admit("c").is_none(), "limit reached");
        assert_eq!(inline.running(), 2);
        drop(a);
        assert!(inline.admit("c").is_some(), "a place was given back");
        assert!(Inline::new(0).admit("c").is_none());
    }

    #[test]
    fn classes_are_bounded() {
        let inline = Inline::new(1);
        for i in 0..MAX_CLASSES + 10 {
            inline.record(&format!("c{i}"), FAST_RUN);
        }
        let classes = inline
            .classes
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        assert_eq!(classes.len(), MAX_CLASSES);
    }

    #[test]
    fn long_targets_have_no_class() {
        assert_eq!(class_of(&format!("/~{}/x", "d".repeat(200))), None);
        assert_eq!(class_of("/").as_deref(), Some(""));
    }
}

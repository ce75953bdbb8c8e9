//! Keeps the runtime's I/O polled while requests block its workers.
//!
//! A request that runs on a worker ([`super::inline`]) blocks that worker until its call
//! returns. The runtime keeps one worker free for this, but a free worker does not always
//! poll the sockets. tokio's sockets are polled by whichever idle worker holds the I/O driver,
//! and an idle worker that finds the driver taken sleeps until it is woken. So this can happen:
//! 1. worker A waits on the driver, and the idle workers B and C sleep;
//! 2. the rest of a request arrives on a connection that was waiting for it. A takes the
//!    connection's task from the driver and runs it. tokio wakes no other worker for a single
//!    task that came from the driver (such a wake-up does not make A look for more work);
//! 3. the request's call hangs, and A with it.
//!
//! Nothing polls the sockets after that: the listener accepts nobody and no request is read
//! or answered. `faults::a_fast_device_that_starts_hanging_cannot_take_the_workers` showed it
//! on a loaded machine: `/metrics` went unanswered for 30 s.
//!
//! So a thread of the node's own looks at the workers every [`EVERY`] while requests run on
//! them, and then hands the runtime an empty task. Spawning from outside the runtime wakes a
//! sleeping worker; that worker runs the task and goes back to sleep, this time holding the
//! free driver. An idle node is looked at every [`IDLE_EVERY`].

use super::Edge;
use std::sync::Weak;
use std::time::Duration;

/// How often the workers are looked at while requests run on them: about the longest the
/// sockets go unpolled when a worker's call hangs at the wrong moment on a busy node.
pub const EVERY: Duration = Duration::from_millis(10);
/// How often an idle node's workers are looked at: the longest when the first request to run
/// on a worker after a quiet spell is the one that hangs.
pub const IDLE_EVERY: Duration = Duration::from_millis(100);

/// Starts the watch over `edge`'s workers, on the current runtime. The thread ends once the
/// edge is dropped. Does nothing outside a runtime.
pub(super) fn start(edge: Weak<Edge>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let started = std::thread::Builder::new()
        .name("ferrobeam-drive".to_owned())
        .spawn(move || loop {
            let Some(edge) = edge.upgrade() else { return };
            let busy = edge.inline.running() > 0;
            drop(edge);
            if busy {
                // Dropping the handle detaches the task; on a runtime shutting down, spawning
                // simply does nothing.
                drop(runtime.spawn(async {}));
            }
            std::thread::sleep(if busy { EVERY } else { IDLE_EVERY });
        });
    if let Err(e) = started {
        tracing::warn!("could not start the thread that keeps the sockets polled: {e}");
    }
}

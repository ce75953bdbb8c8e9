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
//! on a loaded machine (`/metrics` went unanswered for 30 s), and the test below makes that
//! state on purpose, on a bare runtime: without the watch the second listener is never served.
//!
//! So a thread of the node's own looks at the workers every [`EVERY`] while requests run on
//! them, and then hands the runtime an empty task. Spawning from outside the runtime wakes a
//! sleeping worker; that worker runs the task and goes back to sleep, this time holding the
//! free driver. An idle node is looked at every [`IDLE_EVERY`].

use std::time::Duration;

/// How often the workers are looked at while requests run on them: about the longest the
/// sockets go unpolled when a worker's call hangs at the wrong moment on a busy node.
pub const EVERY: Duration = Duration::from_millis(10);
/// How often an idle node's workers are looked at: the longest when the first request to run
/// on a worker after a quiet spell is the one that hangs.
pub const IDLE_EVERY: Duration = Duration::from_millis(100);

/// Starts the watch over the current runtime's workers. `busy` says whether requests run on
/// them now, or `None` once there is nothing left to watch (the edge was dropped), which ends
/// the thread. Does nothing outside a runtime.
pub(super) fn start(busy: impl Fn() -> Option<bool> + Send + 'static) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let started = std::thread::Builder::new()
        .name("ferrobeam-drive".to_owned())
        .spawn(move || {
            while let Some(busy) = busy() {
                if busy {
                    // Dropping the handle detaches the task; on a runtime shutting down,
                    // spawning simply does nothing.
                    drop(runtime.spawn(async {}));
                }
                std::thread::sleep(if busy { EVERY } else { IDLE_EVERY });
            }
        });
    if let Err(e) = started {
        tracing::warn!("could not start the thread that keeps the sockets polled: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Instant;
    use tokio::io::AsyncReadExt as _;

    /// The state the module's documentation describes, made on purpose: two workers, both
    /// idle; a task waiting on a connection is woken by the driver and then blocks its worker.
    /// Is a second listener's connection then accepted within `within`, with or without the
    /// watch?
    fn second_listener_accepts(watch: bool, within: Duration) -> bool {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let release = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicBool::new(false));
        let watching = Arc::new(AtomicBool::new(true));
        let first = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let second = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let (first_addr, second_addr) = (first.local_addr().unwrap(), second.local_addr().unwrap());
        for l in [&first, &second] {
            l.set_nonblocking(true).expect("nonblocking");
        }
        let blocked = release.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(first).expect("listener");
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut byte = [0u8; 1];
            let _ = stream.read_exact(&mut byte).await;
            // A call that hangs, on the worker the driver woke for this task.
            while !blocked.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let seen = accepted.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(second).expect("listener");
            if listener.accept().await.is_ok() {
                seen.store(true, Ordering::Relaxed);
            }
        });
        if watch {
            let _entered = runtime.enter();
            let watching = watching.clone();
            start(move || Some(watching.load(Ordering::Relaxed)).filter(|&w| w));
        }
        let mut client = std::net::TcpStream::connect(first_addr).expect("connect");
        // Both workers go idle: one waits on the driver, the other sleeps.
        std::thread::sleep(Duration::from_millis(200));
        client.write_all(b"x").expect("write");
        std::thread::sleep(Duration::from_millis(100));
        let _second_client = std::net::TcpStream::connect(second_addr).expect("connect");
        let asked = Instant::now();
        while !accepted.load(Ordering::Relaxed) && asked.elapsed() < within {
            std::thread::sleep(Duration::from_millis(5));
        }
        let answered = accepted.load(Ordering::Relaxed);
        watching.store(false, Ordering::Relaxed);
        release.store(true, Ordering::Relaxed);
        runtime.shutdown_timeout(Duration::from_secs(1));
        answered
    }

    #[test]
    fn a_worker_blocked_by_a_task_from_the_driver_leaves_the_sockets_polled() {
        // Without the watch the second listener is never served: the case is real (with tokio
        // 1.54; should a later tokio serve it, the watch may no longer be needed).
        assert!(
            !second_listener_accepts(false, Duration::from_secs(1)),
            "tokio served the second listener with its driver's holder blocked"
        );
        assert!(second_listener_accepts(true, Duration::from_secs(10)));
    }
}

//! A small bounded pool of PostgreSQL connections.
//!
//! At most `max` connections exist at once; a caller waits for a free one (up to the connect
//! timeout) rather than opening more. A connection that failed, or that the server closed (it
//! restarted), is dropped instead of being handed out again, so the node heals by itself once
//! the server is back: the next caller simply connects anew.

use super::session::Session;
use crate::store::StoreError;
use postgres::Config;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A bounded set of connections to one server.
pub struct Pool {
    config: Config,
    max: usize,
    wait: Duration,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Session>,
    /// Connections handed out or idle.
    open: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("max", &self.max).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    /// A pool of at most `max` connections made from `config`; a caller waits at most `wait`
    /// for one.
    pub fn new(config: Config, max: usize, wait: Duration) -> Pool {
        Pool {
            config,
            max: max.max(1),
            wait,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// A connection: an idle one still open, else a new one when under the limit, else the
    /// first one freed.
    pub fn get(&self) -> Result<Conn<'_>, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut st = lock(&self.state);
        loop {
            while let Some(session) = st.idle.pop() {
                if session.is_closed() {
                    st.open -= 1;
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    session: Some(session),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match Session::open(&self.config) {
                    Ok(session) => Ok(Conn {
                        pool: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        lock(&self.state).open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "all {} connections to PostgreSQL stayed busy for {:?}",
                    self.max, self.wait
                )));
            }
            st = self
                .freed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Closes every idle connection: one was found dead, so the server went away and the
    /// others are dead too. The next callers connect anew.
    pub fn purge_idle(&self) {
        let mut st = lock(&self.state);
        let idle = std::mem::take(&mut st.idle);
        st.open -= idle.len();
        drop(st);
        drop(idle);
        self.freed.notify_all();
    }

    fn put_back(&self, session: Option<Session>) {
        let mut st = lock(&self.state);
        match session {
            Some(c) if !c.is_closed() => st.idle.push(c),
            _ => st.open -= 1,
        }
        drop(st);
        self.freed.notify_one();
    }
}

/// A connection borrowed from the [`Pool`]; returned on drop unless [`Conn::discard`]ed.
pub struct Conn<'a> {
    pool: &'a Pool,
    session: Option<Session>,
}

impl Conn<'_> {
    /// The session.
    pub fn session(&mut self) -> Result<&mut Session, StoreError> {
        self.session
            .as_mut()
            .ok_or_else(|| StoreError::Backend("a discarded connection was used".to_owned()))
    }

    /// Closes the connection instead of returning it (after an error that may have left it in
    /// an unknown state).
    pub fn discard(&mut self) {
        self.session = None;
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.pool.put_back(self.session.take());
    }
}

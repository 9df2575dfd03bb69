//! Read connections for queries, with a time limit that really stops them.
//!
//! One shared read connection let a single heavy query stall every other
//! one behind it. Readers now take one of several connections to the same
//! database (DuckDB runs queries on separate connections side by side), and
//! each query is armed with a deadline: a watchdog thread interrupts the
//! connection when it passes, so DuckDB abandons the query and frees what
//! it held, instead of the caller merely giving up waiting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use duckdb::{Connection, InterruptHandle};

use crate::{Result, TelemetryError};

/// One armed query: when it must end, how to stop it, and whether it was.
struct Armed {
    deadline: Instant,
    handle: Arc<InterruptHandle>,
    fired: Arc<AtomicBool>,
}

#[derive(Default)]
struct Deadlines {
    armed: HashMap<u64, Armed>,
    stop: bool,
}

/// Interrupts queries that outlive their deadline.
struct Watchdog {
    state: Arc<(Mutex<Deadlines>, Condvar)>,
    next_id: AtomicU64,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Watchdog {
    fn start() -> Result<Watchdog> {
        let state: Arc<(Mutex<Deadlines>, Condvar)> = Arc::default();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("liveops-query-watchdog".into())
            .spawn(move || watch(&shared))?;
        Ok(Watchdog {
            state,
            next_id: AtomicU64::new(0),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn arm(&self, handle: Arc<InterruptHandle>, limit: Duration) -> Disarm<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let fired = Arc::new(AtomicBool::new(false));
        let (lock, wake) = &*self.state;
        lock.lock().unwrap_or_else(|p| p.into_inner()).armed.insert(
            id,
            Armed {
                deadline: Instant::now() + limit,
                handle,
                fired: fired.clone(),
            },
        );
        wake.notify_one();
        Disarm {
            dog: self,
            id,
            fired,
        }
    }

    fn stop(&self) {
        let (lock, wake) = &*self.state;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        wake.notify_one();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn watch(state: &(Mutex<Deadlines>, Condvar)) {
    let (lock, wake) = state;
    let mut d = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if d.stop {
            return;
        }
        let now = Instant::now();
        for a in d.armed.values() {
            if a.deadline <= now && !a.fired.swap(true, Ordering::SeqCst) {
                a.handle.interrupt();
            }
        }
        let next = d
            .armed
            .values()
            .filter(|a| !a.fired.load(Ordering::SeqCst))
            .map(|a| a.deadline)
            .min();
        d = match next {
            Some(t) => {
                wake.wait_timeout(d, t.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => wake.wait(d).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

/// Takes a query's deadline back when it ends.
struct Disarm<'a> {
    dog: &'a Watchdog,
    id: u64,
    fired: Arc<AtomicBool>,
}

impl Drop for Disarm<'_> {
    fn drop(&mut self) {
        let (lock, _) = &*self.dog.state;
        lock.lock()
            .unwrap_or_else(|p| p.into_inner())
            .armed
            .remove(&self.id);
    }
}

/// A few read connections to one DuckDB database, each query under a
/// time limit.
pub(crate) struct ReadPool {
    idle: Mutex<Option<Vec<Connection>>>,
    returned: Condvar,
    limit: Duration,
    dog: Watchdog,
}

impl std::fmt::Debug for ReadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPool")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Hands a connection back to the pool, even when the query panicked.
struct Lent<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(v) = idle.as_mut() {
                v.push(c);
            }
            self.pool.returned.notify_one();
        }
    }
}

impl ReadPool {
    /// `size` connections cloned from `conn`, each query limited to `limit`.
    pub(crate) fn new(conn: &Connection, size: usize, limit: Duration) -> Result<ReadPool> {
        let conns = (0..size.max(1))
            .map(|_| conn.try_clone())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(ReadPool {
            idle: Mutex::new(Some(conns)),
            returned: Condvar::new(),
            limit,
            dog: Watchdog::start()?,
        })
    }

    /// Runs `f` on a free connection (waiting for one if all are busy). A
    /// query still running at the time limit is interrupted and answers
    /// [`TelemetryError::Query`] saying so.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                match idle.as_mut() {
                    None => return Err(TelemetryError::Closed),
                    Some(v) => {
                        if let Some(c) = v.pop() {
                            break c;
                        }
                    }
                }
                idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
            }
        };
        let lent = Lent {
            pool: self,
            conn: Some(conn),
        };
        let Some(c) = lent.conn.as_ref() else {
            return Err(TelemetryError::Closed);
        };
        let armed = self.dog.arm(c.interrupt_handle(), self.limit);
        let out = f(c);
        let stopped = armed.fired.load(Ordering::SeqCst);
        drop(armed);
        match out {
            Err(_) if stopped => Err(TelemetryError::Query(format!(
                "the query ran longer than its limit of {} s and was stopped; narrow the range or add filters",
                self.limit.as_secs().max(1)
            ))),
            other => other,
        }
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, Vec::len)
    }

    /// Closes every connection once it is handed back; later queries fail
    /// with `Closed`.
    pub(crate) fn close(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.take();
        self.returned.notify_all();
        drop(idle);
        self.dog.stop();
    }
}

impl Drop for ReadPool {
    fn drop(&mut self) {
        self.dog.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query that would run for minutes is stopped at the limit, and the
    /// connection serves the next query.
    #[test]
    fn a_runaway_query_is_interrupted() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        let pool = ReadPool::new(&conn, 2, Duration::from_millis(300))?;
        // Without the interrupt this would run for hours: that the test
        // ends at all is the point.
        let got = pool.with(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM range(100000000000) a, range(1000) b WHERE a.range % 7 = b.range",
                [],
                |r| r.get(0),
            )?;
            Ok(n)
        });
        assert!(
            matches!(&got, Err(TelemetryError::Query(m)) if m.contains("limit")),
            "{got:?}"
        );
        for _ in 0..4 {
            let one: i64 = pool.with(|c| Ok(c.query_row("SELECT 1", [], |r| r.get(0))?))?;
            assert_eq!(one, 1);
        }
        pool.close();
        assert!(matches!(pool.with(|_| Ok(())), Err(TelemetryError::Closed)));
        Ok(())
    }

    /// A slow query on one connection does not hold up a quick one on
    /// another.
    #[test]
    fn readers_do_not_wait_for_each_other() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        let pool = Arc::new(ReadPool::new(&conn, 2, Duration::from_secs(3))?);
        let slow = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.with(|c| {
                    let n: i64 = c.query_row(
                        "SELECT count(*) FROM range(100000000000) a, range(1000) b WHERE a.range % 7 = b.range",
                        [],
                        |r| r.get(0),
                    )?;
                    Ok(n)
                })
            })
        };
        // Wait until the slow query holds its connection.
        while pool.idle_count() > 1 {
            std::thread::yield_now();
        }
        let one: i64 = pool.with(|c| Ok(c.query_row("SELECT 1", [], |r| r.get(0))?))?;
        assert_eq!(one, 1);
        assert!(
            !slow.is_finished(),
            "the quick query waited for the slow one to end"
        );
        let slow = slow.join().map_err(|_| TelemetryError::Closed)?;
        assert!(matches!(slow, Err(TelemetryError::Query(_))));
        Ok(())
    }
}

//! Background work that runs inside the server until it shuts down. Each
//! job is one `tick` over work it reads from the stores (so a restart picks
//! up where the last one stopped), run on a timer; tests call the ticks
//! themselves after moving the clock. A job that panics is logged and
//! started again, never lost.
//!
//! When several nodes share one state database, each job runs on one node
//! at a time: a round runs only on the node holding the job's lease (see
//! [`Job::round`]), and a node that stops gives its leases up.

pub mod analytics;
pub mod housekeeping;
pub mod performance;
pub mod support;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// One round of a job.
pub type Tick = for<'a> fn(&'a AppState) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// One background job: its name, how often it runs and one round of it.
#[derive(Debug)]
pub struct Job {
    pub name: &'static str,
    every: fn(&crate::config::Config) -> Duration,
    tick: Tick,
}

/// Every job the server runs.
pub const JOBS: [Job; 3] = [
    Job {
        name: "housekeeping",
        every: |_| Duration::from_secs(600),
        tick: |s| Box::pin(housekeeping::tick(s)),
    },
    Job {
        name: "support",
        every: |c| Duration::from_millis(c.job_tick_ms),
        tick: |s| Box::pin(support::tick(s)),
    },
    Job {
        name: "performance",
        every: |_| Duration::from_secs(60),
        tick: |s| Box::pin(performance::tick(s)),
    },
];

/// The job called `name`.
pub fn job(name: &str) -> Option<&'static Job> {
    JOBS.iter().find(|j| j.name == name)
}

/// The shortest lease: a node that dies hands its jobs over within this.
const MIN_LEASE: Duration = Duration::from_secs(15);

impl Job {
    /// How long one round's lease lasts: three rounds, and at least
    /// [`MIN_LEASE`], so the holder renews it long before it runs out.
    fn lease(&self, state: &AppState) -> Duration {
        ((self.every)(&state.config) * 3).max(MIN_LEASE)
    }

    /// Runs one round if this node holds (or can take) the job's lease,
    /// and says whether it ran. A node that cannot reach the state
    /// database runs nothing: two nodes never run a round side by side.
    pub async fn round(&self, state: &AppState) -> bool {
        let now = state.now_ms();
        let until =
            now.saturating_add(i64::try_from(self.lease(state).as_millis()).unwrap_or(i64::MAX));
        match state
            .db
            .take_lease(self.name, &state.node, now, until)
            .await
        {
            Ok(true) => {
                (self.tick)(state).await;
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(job = self.name, error = %e, "could not take the job's lease");
                false
            }
        }
    }
}

/// Runs `job` every interval (the first at once) until `stop` changes,
/// under a supervisor that restarts it when it panics.
pub fn spawn(job: &'static Job, state: AppState, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let counted = state.clone();
    let stopping = stop.clone();
    supervise(
        job.name,
        stopping,
        move || run(job, state.clone(), stop.clone()),
        move |name| {
            counted
                .metrics
                .job_restarts
                .get_or_create(&crate::metrics::KindLabels { kind: name.into() })
                .inc();
        },
    )
}

/// Runs what `start` makes; when it panics, says so (`on_restart`), waits
/// a little (longer each time, up to a minute) and starts it again. Ends
/// when it ends, or when `stop` changes.
fn supervise<F>(
    name: &'static str,
    stop: watch::Receiver<bool>,
    start: impl Fn() -> F + Send + 'static,
    on_restart: impl Fn(&'static str) + Send + 'static,
) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut restarts = 0u32;
        loop {
            match tokio::spawn(start()).await {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    restarts += 1;
                    on_restart(name);
                    tracing::error!(job = name, restarts, "a job panicked; starting it again");
                    let pause = Duration::from_secs(u64::from(restarts.min(60)));
                    let mut stop = stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.changed() => return,
                    }
                }
                Err(_) => return,
            }
        }
    })
}

async fn run(job: &'static Job, state: AppState, mut stop: watch::Receiver<bool>) {
    let mut timer = tokio::time::interval((job.every)(&state.config));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ticks = state
        .metrics
        .job_ticks
        .get_or_create(&crate::metrics::KindLabels {
            kind: job.name.into(),
        })
        .clone();
    loop {
        tokio::select! {
            _ = timer.tick() => {
                if job.round(&state).await {
                    ticks.inc();
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Starts every job.
pub fn start(state: &AppState, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    JOBS.iter()
        .map(|job| spawn(job, state.clone(), stop.clone()))
        .collect()
}

/// Logs a step of a tick that failed; the other steps still run.
fn warn_on<E: std::fmt::Display>(what: &str, r: Result<impl Sized, E>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "{what} failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A job that panics twice is started three times and then runs to
    /// its end; each restart is counted.
    #[tokio::test(start_paused = true)]
    async fn a_panicking_job_is_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let restarts = Arc::new(AtomicUsize::new(0));
        let (_tx, stop) = watch::channel(false);
        let (r, c) = (runs.clone(), restarts.clone());
        let job = supervise(
            "test",
            stop,
            move || {
                let r = r.clone();
                async move {
                    let n = r.fetch_add(1, Ordering::SeqCst);
                    assert!(n >= 2, "a failing run ({n})");
                }
            },
            move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            },
        );
        assert!(job.await.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(restarts.load(Ordering::SeqCst), 2);
    }

    /// Stopping ends a supervised job that is waiting to be restarted.
    #[tokio::test(start_paused = true)]
    async fn stopping_ends_the_supervisor() {
        let (tx, stop) = watch::channel(false);
        let job = supervise(
            "test",
            stop,
            || async { panic!("always") },
            move |_| {
                let _ = tx.send(true);
            },
        );
        assert!(job.await.is_ok());
    }
}

//! Group commit for the error intake: intakes that arrive while one is
//! being written wait together, and whichever takes the writer's turn next
//! writes them all (see `errors::take`). Kept apart from the intake so the
//! server's state can hold it without naming the intake.

use std::sync::Mutex;

use liveops_telemetry::errors::ErrorEvent;

/// One event ready to store, with what the issue needs of it.
pub(crate) struct Prepared {
    pub(crate) stored: ErrorEvent,
    pub(crate) title: String,
    pub(crate) culprit: Option<String>,
}

/// One intake's events, and where its answer goes (why not, on failure).
pub(crate) struct Job {
    pub(crate) project: String,
    pub(crate) events: Vec<Prepared>,
    pub(crate) now: i64,
    pub(crate) done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Intakes waiting to be written, and the writer's turn.
#[derive(Default)]
pub struct GroupCommit {
    pending: Mutex<Vec<Job>>,
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Adds an intake to those waiting.
    pub(crate) fn wait(&self, job: Job) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job);
    }

    /// Waits for the writer's turn.
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// Every intake waiting; call it holding the turn.
    pub(crate) fn drain(&self) -> Vec<Job> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

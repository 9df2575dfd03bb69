//! Group commit for the error intake: intakes that arrive while one is
//! being written wait together, and whichever takes the writer's turn next
//! writes them all (see `errors::take`). Writing has two turns, one after
//! the other: the telemetry turn stores a batch's events, then the state
//! turn files its issues. A writer takes the state turn before it gives
//! the telemetry turn up, so batches are filed in the order they were
//! stored, while the next batch's events are stored as this one is filed.
//! Kept apart from the intake so the server's state can hold it without
//! naming the intake.

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
    state_turn: tokio::sync::Mutex<()>,
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

    /// Waits for the writer's (telemetry) turn.
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// Waits for the state turn; take it holding the telemetry turn.
    pub(crate) async fn state_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.state_turn.lock().await
    }

    /// Every intake waiting; call it holding the turn.
    pub(crate) fn drain(&self) -> Vec<Job> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

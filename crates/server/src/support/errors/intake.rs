//! The error intake's spool and filer. An intake is answered once its
//! events are durable in this node's spool (`liveops_telemetry::spool`, in
//! the data directory); the filer then stores them in telemetry and files
//! them into issues in large batches, and records how far it has read in
//! the same state transaction that files them. So a SDK's request costs a
//! parse and a share of one disk sync, a batch's fixed costs are paid once
//! for thousands of events, and after a crash each acknowledged event is
//! filed exactly once: what the state database says was filed is skipped,
//! and what telemetry holds already is not stored twice.
//!
//! Reads on this node wait, for a few seconds at most, until the filer has
//! caught up with what the node had acknowledged when the read came in
//! ([`caught_up`]), so a client that sends an event and then asks about it
//! sees it. A read on another node does not wait for this node's spool.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures::FutureExt;
use tokio::sync::watch;

use super::spool::{CATCH_UP, decode};
use crate::state::AppState;

/// How much the filer reads from the spool at a time.
const BATCH_BYTES: usize = 48 * 1024 * 1024;

/// Holds a read until this node's acknowledged error events are filed (a
/// few seconds at most), so it answers with them.
pub async fn caught_up(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.errors_intake.caught_up(CATCH_UP).await {
        tracing::warn!("a read went ahead before the error filer caught up");
    }
    next.run(req).await
}

/// Files what the spool holds, in batches, until `stop`; then files what
/// is left and returns.
pub async fn run_filer(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(spool) = state.errors_intake.spool().cloned() else {
        return;
    };
    let mut durable = state.errors_intake.durable_changes();
    let mut at = state.errors_intake.filed();
    // Records from before this start may be stored in telemetry already
    // (a crash between the two commits): those are not stored again. So
    // may a batch that failed part way.
    let recovered = state.errors_intake.recovered();
    let mut failed = false;
    loop {
        let stopping = *stop.borrow();
        if at >= spool.durable() {
            if stopping {
                return;
            }
            tokio::select! {
                _ = durable.changed() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let s = spool.clone();
        let read = tokio::task::spawn_blocking(move || s.read(at, BATCH_BYTES)).await;
        let outcome = match read {
            Ok(Ok(records)) => match records.last().map(|r| r.0) {
                Some(end) => {
                    let mut batch = Vec::with_capacity(records.len());
                    for (_, bytes) in &records {
                        match decode(bytes) {
                            Ok(x) => batch.push(x),
                            Err(e) => {
                                tracing::error!(error = %e, "a spooled error event was skipped");
                            }
                        }
                    }
                    drop(records);
                    let replay = failed || at < recovered;
                    // A panic while filing is a failed try, not the end
                    // of the filer: the batch is tried again.
                    let filed =
                        AssertUnwindSafe(super::file_batch(&state, batch, Some(end), replay))
                            .catch_unwind()
                            .await;
                    match filed {
                        Ok(Ok(())) => Ok(end),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err("filing panicked".to_owned()),
                    }
                }
                None => Err(format!(
                    "the spool holds nothing at {at}, before its end at {}",
                    spool.durable()
                )),
            },
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(end) => {
                at = end;
                failed = false;
                state.errors_intake.set_filed(at);
                let s = spool.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.release(end)).await {
                    tracing::warn!(error = %e, "filed spool segments could not be deleted");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "spooled error events could not be filed; trying again");
                // Part of the batch may be stored already.
                failed = true;
                if stopping {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

//! Background work that runs inside the server until it shuts down.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::{AppState, now_ms};

/// Drops expired browser sessions every ten minutes.
pub async fn housekeeping(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match state.db.prune_sessions(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "pruned expired sessions"),
                    Err(e) => tracing::warn!(error = %e, "could not prune sessions"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Runs due escalation steps and acknowledgement timeouts, then sends due
/// notifications, every `job_tick_ms`. Both read their work from the
/// database, so a restart picks up exactly where the last run stopped.
pub async fn support(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(state.config.job_tick_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = crate::support::service::run_due(&state.db).await {
                    tracing::warn!(error = %e, "escalation run failed");
                }
                if let Err(e) = crate::support::deliver::run_due(&state.db, &state.sender).await {
                    tracing::warn!(error = %e, "delivery run failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

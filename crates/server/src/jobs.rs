//! Background work that runs inside the server until it shuts down.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::{AppState, now_ms};

/// Drops expired browser sessions, and analytics events past each
/// project's retention, and makes the last complete week's reports, every
/// ten minutes (and once at start).
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
                if let Err(e) = expire_events(&state).await {
                    tracing::warn!(error = %e, "could not drop expired events");
                }
                if let Err(e) = crate::improvement::send_due(&state).await {
                    tracing::warn!(error = %e, "could not make the weekly reports");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Deletes events older than each project's retention. The deletes run on
/// the telemetry store's query connection, so ingest carries on meanwhile.
pub async fn expire_events(state: &AppState) -> anyhow::Result<u64> {
    let mut dropped = 0;
    for (project, days) in state.db.retention_limits().await? {
        let cutoff = now_ms() - days * 86_400_000;
        let t = state.telemetry.clone();
        let n = tokio::task::spawn_blocking(move || t.analytics().drop_before(&project, cutoff))
            .await??;
        dropped += n;
    }
    if dropped > 0 {
        tracing::info!(events = dropped, "dropped events past their retention");
    }
    Ok(dropped)
}

/// Runs due escalation steps, acknowledgement timeouts, SLA warnings,
/// maintenance stages, postmortem drafts and action item reminders, then
/// sends due notifications, every `job_tick_ms`.
/// All read their work from the database, so a restart picks up exactly
/// where the last run stopped.
pub async fn support(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(state.config.job_tick_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = crate::support::service::run_due(&state.db).await {
                    tracing::warn!(error = %e, "escalation run failed");
                }
                if let Err(e) = crate::support::tickets::watch_slas(&state.db).await {
                    tracing::warn!(error = %e, "SLA watch failed");
                }
                if let Err(e) = crate::support::maintenance::run_due(&state.db).await {
                    tracing::warn!(error = %e, "maintenance run failed");
                }
                if let Err(e) = crate::security::watch::credentials(&state.db).await {
                    tracing::warn!(error = %e, "credential expiry watch failed");
                }
                if let Err(e) = crate::security::watch::patch_slas(&state.db).await {
                    tracing::warn!(error = %e, "patch SLA watch failed");
                }
                if let Err(e) = crate::reviews::draft_due(&state).await {
                    tracing::warn!(error = %e, "postmortem drafting failed");
                }
                if let Err(e) = crate::reviews::remind_overdue(&state.db).await {
                    tracing::warn!(error = %e, "action item reminders failed");
                }
                if let Err(e) = crate::support::deliver::run_due(&state.db, &state.sender).await {
                    tracing::warn!(error = %e, "delivery run failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Scans new spans for performance findings and release regressions, and
/// evaluates alert rules and SLOs, every minute.
pub async fn performance(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = crate::performance::scan_now(&state).await {
                    tracing::warn!(error = %e, "performance scan failed");
                }
                if let Err(e) = crate::performance::alerts::evaluate(&state, now_ms()).await {
                    tracing::warn!(error = %e, "alert rule and SLO evaluation failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

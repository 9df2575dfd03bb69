//! Every ten minutes: expired sessions and sign-in failures go, analytics
//! events past each project's retention go, and the last complete week's
//! reports are made and sent.

use crate::state::AppState;

/// One round.
pub async fn tick(state: &AppState) {
    let now = state.now_ms();
    match state.db.prune_sessions(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "pruned expired sessions"),
        Err(e) => tracing::warn!(error = %e, "could not prune sessions"),
    }
    super::warn_on(
        "pruning sign-in failures",
        state
            .db
            .prune_login_failures(now - crate::auth::throttle::WINDOW_MS)
            .await,
    );
    super::warn_on("dropping expired events", expire_events(state).await);
    super::warn_on(
        "making the weekly reports",
        crate::improvement::send_due(state).await,
    );
}

/// Deletes events older than each project's retention. The deletes run on
/// the telemetry store's maintenance connection, so ingest carries on.
pub async fn expire_events(state: &AppState) -> anyhow::Result<u64> {
    let mut dropped = 0;
    for (project, days) in state.db.retention_limits().await? {
        let cutoff = state.now_ms() - days * 86_400_000;
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

//! Every ten minutes: expired sessions and sign-in failures go, events,
//! spans and metrics past each project's retention go, each cohort's size
//! is measured once a day, the alerts on saved insights are checked, and
//! the last complete week's reports are made and sent.

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
    super::warn_on(
        "dropping telemetry past its retention",
        crate::scaling::retention::enforce(state).await,
    );
    super::warn_on(
        "measuring the cohorts",
        crate::analytics::cohorts::measure_all(state).await,
    );
    super::warn_on(
        "checking the insight alerts",
        super::analytics::check_alerts(state).await,
    );
    super::warn_on(
        "making the weekly reports",
        crate::improvement::send_due(state).await,
    );
}

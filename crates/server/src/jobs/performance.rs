//! Every minute: new spans are scanned for findings and release
//! regressions, and alert rules and SLOs are evaluated.

use super::warn_on;
use crate::state::AppState;

/// One round.
pub async fn tick(state: &AppState) {
    warn_on(
        "performance scan",
        crate::performance::scan::scan_now(state).await,
    );
    warn_on(
        "alert rule and SLO evaluation",
        crate::performance::alerts::evaluate(state, state.now_ms()).await,
    );
}

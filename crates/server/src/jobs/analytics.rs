//! Each housekeeping round: every alert on a saved insight is checked
//! against the insight's headline number, answered now as its endpoint
//! answers it; an alert that starts to break tells the on-call people.

use crate::contract::{answers, dashboards};
use crate::state::AppState;

/// Checks every alert; how many fired.
pub async fn check_alerts(state: &AppState) -> anyhow::Result<usize> {
    let mut fired = 0;
    for alert in state.db.insight_alerts().await? {
        let insight = match crate::analytics::insights::find(
            state,
            &alert.project_id,
            &alert.insight_id,
        )
        .await
        {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(insight = alert.insight_id, error = %e, "an alerting insight is gone");
                continue;
            }
        };
        let query = crate::analytics::insights::query_of(&insight)?;
        // An insight that cannot be answered just now (its cohort was
        // deleted, say) is skipped, and said so; the others are checked.
        let result = match answers::answer(state, &alert.project_id, insight.kind, &query).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(insight = insight.name, error = ?e.detail(), "an alerting insight could not be answered");
                continue;
            }
        };
        let value = dashboards::headline(insight.kind, &result);
        let previous = dashboards::previous_headline(insight.kind, &result);
        let outcome =
            crate::analytics::alerts::check(state, &insight, &alert, value, previous).await?;
        if outcome == crate::analytics::alerts::Checked::Fired {
            fired += 1;
        }
    }
    Ok(fired)
}

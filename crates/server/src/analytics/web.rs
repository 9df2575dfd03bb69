//! Web analytics: the overview of a range's page views, as the core
//! defines sessions, bounces and attribution, over the views the
//! telemetry store gives.

use liveops_core::analytics::web::{self, Overview};

use super::cohorts::{CohortChoice, resolve_choice};
use super::{Result, telemetry};
use crate::state::AppState;

/// The most values each breakdown of the overview may show.
pub const MAX_TOP: usize = 100;

/// The web overview of `[from_ms, to_ms)`, each breakdown cut to `top`
/// values: of the persons of the choice's filter cohort (everyone without
/// one), and of each breakdown cohort's persons within it, named. The views
/// are read once and summed in the blocking pool.
pub async fn overview(
    state: &AppState,
    project_id: &str,
    from_ms: i64,
    to_ms: i64,
    top: usize,
    choice: &CohortChoice,
) -> Result<(Overview, Vec<(String, Overview)>)> {
    let resolved = resolve_choice(state, project_id, choice).await?;
    let id = project_id.to_owned();
    let top = top.clamp(1, MAX_TOP);
    telemetry(state, move |a| {
        a.page_views(&id, from_ms, to_ms).map(|mut views| {
            if let Some(m) = &resolved.filter {
                views.retain(|v| m.contains(&v.who));
            }
            let each = resolved
                .breakdown
                .iter()
                .map(|(name, m)| {
                    let theirs = views.iter().filter(|v| m.contains(&v.who)).cloned();
                    (name.clone(), web::overview(theirs.collect(), top))
                })
                .collect();
            (web::overview(views, top), each)
        })
    })
    .await
}

//! Web analytics: the overview of a range's page views, as the core
//! defines sessions, bounces and attribution, over the views the
//! telemetry store gives.

use liveops_core::analytics::web::{self, Overview};

use super::{Result, telemetry};
use crate::state::AppState;

/// The most values each breakdown of the overview may show.
pub const MAX_TOP: usize = 100;

/// The web overview of `[from_ms, to_ms)`, each breakdown cut to `top`
/// values; with a cohort (by id or name), of its persons' views only. The
/// views are read and summed in the blocking pool.
pub async fn overview(
    state: &AppState,
    project_id: &str,
    from_ms: i64,
    to_ms: i64,
    top: usize,
    in_cohort: Option<&str>,
) -> Result<Overview> {
    let persons = super::cohorts::filter(state, project_id, in_cohort).await?;
    let id = project_id.to_owned();
    let top = top.clamp(1, MAX_TOP);
    telemetry(state, move |a| {
        a.page_views(&id, from_ms, to_ms).map(|mut views| {
            if let Some(m) = &persons {
                views.retain(|v| m.contains(&v.who));
            }
            web::overview(views, top)
        })
    })
    .await
}

//! The continuous-improvement page: the DORA four keys of the last 30 days
//! with their levels.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use liveops_core::Area;
use maud::html;

use super::support::load;
use super::{Frame, UiSession, api_error, page};
use crate::api::improvement::compute;
use crate::state::{AppState, now_ms};

const DAY_MS: i64 = 86_400_000;

fn hours(secs: Option<i64>) -> String {
    secs.map(|s| format!("{:.1} h", s as f64 / 3600.0))
        .unwrap_or_else(|| "–".into())
}

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = match load(&state, &s, &slug).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let project = &projects[idx].0;
    let to = now_ms();
    let k = match compute(
        &state,
        &project.id,
        "production",
        None,
        to - 30 * DAY_MS,
        to,
    )
    .await
    {
        Ok(k) => k,
        Err(e) => return api_error(e),
    };
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: Area::Improvement.slug(),
    };
    let level = |l: &Option<String>| l.clone().unwrap_or_else(|| "–".into());
    page(
        &format!("Continuous improvement · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Improvement.title()) }
            p.lede { (Area::Improvement.summary()) }
            @if k.deployments == 0 && k.time_to_restore_secs.is_none() {
                div.empty data-area="improvement" {
                    p { strong { "No production deployments or restored incidents in the last 30 days." } }
                    p { "Record deployments with " code { "liveops deploy record" } " and link the incidents they cause; the DORA four keys appear here." }
                }
            } @else {
                section {
                    h2 { "DORA four keys, last 30 days" }
                    table.dora {
                        thead { tr { th { "Key" } th { "Value" } th { "Level" } } }
                        tbody {
                            tr { td { "Deployment frequency" } td { (format!("{:.2}", k.deployment_frequency)) " per day (" (k.deployments) " deployments)" } td { (k.frequency_level) } }
                            tr { td { "Lead time for changes" } td { (hours(k.lead_time_secs)) } td { (level(&k.lead_time_level)) } }
                            tr { td { "Change failure rate" } td { (k.change_failure_rate.map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "–".into())) } td { (level(&k.change_failure_level)) } }
                            tr { td { "Time to restore" } td { (hours(k.time_to_restore_secs)) } td { (level(&k.time_to_restore_level)) } }
                        }
                    }
                    p { "Overall: " strong.level { (k.level) } " (the weakest key)." }
                }
            }
        },
    )
    .into_response()
}

//! The continuous-improvement API: the DORA four keys over a range, per
//! project and optionally per service, with their performance levels.

use axum::Json;
use axum::extract::State;
use liveops_core::Permission;
use liveops_core::improvement::dora::{Deployment, Level, Restore, four_keys};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::analytics::parse_when;
use crate::auth::{Principal, project_access};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms, now_ms};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// Start (date or RFC 3339); 30 days before `to` by default.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    pub service: Option<String>,
    /// production by default.
    pub environment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoraView {
    pub from: String,
    pub to: String,
    pub deployments: usize,
    /// Production deployments per day.
    pub deployment_frequency: f64,
    pub frequency_level: String,
    /// Median from commit to production, in seconds.
    pub lead_time_secs: Option<i64>,
    pub lead_time_level: Option<String>,
    /// Deployments linked to an incident, over all.
    pub change_failure_rate: Option<f64>,
    pub change_failure_level: Option<String>,
    /// Median from an incident's start to its resolution, in seconds.
    pub time_to_restore_secs: Option<i64>,
    pub time_to_restore_level: Option<String>,
    /// The lowest of the keys' levels: elite, high, medium or low.
    pub level: String,
}

/// The DORA four keys over a range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/dora", tag = "improvement",
    params(("project" = String, Path, description = "Project slug"), DoraQuery),
    responses((status = 200, description = "The four keys", body = DoraView)))]
pub async fn dora(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<DoraQuery>,
) -> ApiResult<Json<DoraView>> {
    let access = project_access(&state, &principal, &slug, Permission::Read).await?;
    let to = match &q.to {
        Some(t) => parse_when("to", t)?,
        None => now_ms(),
    };
    let from = match &q.from {
        Some(f) => parse_when("from", f)?,
        None => to - 30 * DAY_MS,
    };
    if from >= to || to - from > 731 * DAY_MS {
        return Err(ApiError::unprocessable(
            "`from` must come before `to`, at most two years apart",
        ));
    }
    Ok(Json(
        compute(
            &state,
            &access.project.id,
            q.environment.as_deref().unwrap_or("production"),
            q.service.as_deref().filter(|s| !s.is_empty()),
            from,
            to,
        )
        .await?,
    ))
}

/// The four keys of a project over `[from, to)`.
pub async fn compute(
    state: &AppState,
    project_id: &str,
    environment: &str,
    service: Option<&str>,
    from: i64,
    to: i64,
) -> ApiResult<DoraView> {
    let facts = state
        .db
        .dora_facts(project_id, environment, service, from, to)
        .await?;
    let deployments: Vec<Deployment> = facts
        .deployments
        .into_iter()
        .map(|(deployed_at, commits, failed)| Deployment {
            deployed_at,
            commits,
            failed,
        })
        .collect();
    let restores: Vec<Restore> = facts
        .restores
        .into_iter()
        .map(|(started_at, resolved_at)| Restore {
            started_at,
            resolved_at,
        })
        .collect();
    let k = four_keys(&deployments, &restores, from, to);
    let name = |l: Option<Level>| l.map(|l| l.as_str().to_owned());
    Ok(DoraView {
        from: format_ms(from),
        to: format_ms(to),
        deployments: k.deployments,
        deployment_frequency: (k.deployment_frequency * 1000.0).round() / 1000.0,
        frequency_level: k.frequency_level.as_str().into(),
        lead_time_secs: k.lead_time_ms.map(|m| m / 1000),
        lead_time_level: name(k.lead_time_level),
        change_failure_rate: k
            .change_failure_rate
            .map(|r| (r * 10_000.0).round() / 10_000.0),
        change_failure_level: name(k.failure_level),
        time_to_restore_secs: k.time_to_restore_ms.map(|m| m / 1000),
        time_to_restore_level: name(k.restore_level),
        level: k.level.as_str().into(),
    })
}

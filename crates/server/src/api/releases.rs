//! The release-planning API: deployments and the commits they carried,
//! release trains, releases with their items, hotfixes, OpenAPI documents
//! and notes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, need};
use crate::contract::releases::*;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::releases::deploy;
use crate::state::AppState;

/// Records a deployment with the commits it carried.
#[utoipa::path(post, path = "/api/v1/projects/{project}/releases/deployments", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    request_body = DeploymentBody,
    responses((status = 201, description = "The deployment", body = DeploymentView)))]
pub async fn record_deployment(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<DeploymentBody>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    let d = body.parse().map_err(ApiError::unprocessable)?;
    let row = deploy::record(&state, &access.actor(), &access.project.id, &d).await?;
    Ok((StatusCode::CREATED, Json(deployment_view(row))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsParams {
    pub service: Option<String>,
    pub environment: Option<String>,
    /// At most this many, 1 to 500 (default 100).
    pub limit: Option<i64>,
}

/// Deployments, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/deployments", tag = "releases",
    params(("project" = String, Path, description = "Project slug"), DeploymentsParams),
    responses((status = 200, description = "Deployments", body = Vec<DeploymentView>)))]
pub async fn list_deployments(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<DeploymentsParams>,
) -> ApiResult<Json<Vec<DeploymentView>>> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::unprocessable("`limit` must be 1 to 500"));
    }
    let rows = state
        .db
        .deployments(
            &access.project.id,
            p.service.as_deref().filter(|s| !s.is_empty()),
            p.environment.as_deref().filter(|s| !s.is_empty()),
            limit,
        )
        .await?;
    Ok(Json(rows.into_iter().map(deployment_view).collect()))
}

// ---------------------------------------------------------------- trains

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainBody {
    pub name: String,
    /// weekly, biweekly or monthly.
    pub cadence: String,
    /// The first release day, `YYYY-MM-DD`.
    pub first_release: String,
    /// Days before each release that the code freezes (default 2).
    pub freeze_days: Option<i64>,
}

/// Starts a release train.
#[utoipa::path(post, path = "/api/v1/projects/{project}/releases/trains", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    request_body = TrainBody,
    responses((status = 201, description = "The train", body = TrainView)))]
pub async fn create_train(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<TrainBody>,
) -> ApiResult<(StatusCode, Json<TrainView>)> {
    let t = crate::releases::create_train(
        &state,
        &access.actor(),
        &access.project.id,
        &b.name,
        &b.cadence,
        &b.first_release,
        b.freeze_days.unwrap_or(2),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(train_view(t, 6, state.now_ms())?)))
}

/// Release trains with their next departures.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/trains", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Trains", body = Vec<TrainView>)))]
pub async fn list_trains(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<TrainView>>> {
    let trains = state.db.trains(&access.project.id).await?;
    Ok(Json(
        trains
            .into_iter()
            .map(|t| train_view(t, 6, state.now_ms()))
            .collect::<ApiResult<_>>()?,
    ))
}

/// A train's calendar as iCalendar: each release day and freeze day.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/trains/{train}/calendar.ics", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("train" = String, Path, description = "Train name")),
    responses((status = 200, description = "iCalendar", content_type = "text/calendar", body = String)))]
pub async fn train_calendar(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, train)): ApiPath<(String, String)>,
) -> ApiResult<axum::response::Response> {
    super::feeds::train_ics(&state, &access.project.id, &train).await
}

// ---------------------------------------------------------------- releases

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// major, minor, patch or hotfix.
    pub kind: String,
    /// A semver version; the next one for the kind by default.
    pub version: Option<String>,
    /// The train it leaves on; its next free departure sets the date.
    pub train: Option<String>,
    /// `YYYY-MM-DD`.
    pub planned_for: Option<String>,
    /// Person-weeks of effort it can hold.
    pub capacity: Option<f64>,
}

/// Plans a release.
#[utoipa::path(post, path = "/api/v1/projects/{project}/releases", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    request_body = ReleaseBody,
    responses((status = 201, description = "The release", body = ReleaseView)))]
pub async fn create_release(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<ReleaseBody>,
) -> ApiResult<(StatusCode, Json<ReleaseView>)> {
    let r = crate::releases::create_release(
        &state,
        &access.actor(),
        &access.project.id,
        &crate::releases::ReleasePlan {
            version: b.version,
            kind: b.kind,
            train: b.train,
            planned_for: b.planned_for,
            capacity: b.capacity,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(release_view(
            crate::releases::detail(&state, &access.project.id, r).await?,
        )),
    ))
}

/// Releases, the unshipped first, then newest shipped.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Releases", body = Vec<ReleaseView>)))]
pub async fn list_releases(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<ReleaseView>>> {
    let mut out = Vec::new();
    for r in state.db.releases(&access.project.id).await? {
        out.push(release_view(
            crate::releases::detail(&state, &access.project.id, r).await?,
        ));
    }
    Ok(Json(out))
}

/// A release with its items and capacity.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/{version}", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("version" = String, Path, description = "Release version")),
    responses((status = 200, description = "The release", body = ReleaseView)))]
pub async fn get_release(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, version)): ApiPath<(String, String)>,
) -> ApiResult<Json<ReleaseView>> {
    let r = crate::releases::find_release(&state, &access.project.id, &version).await?;
    Ok(Json(release_view(
        crate::releases::detail(&state, &access.project.id, r).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Backlog item numbers to schedule into the release.
    pub items: Vec<i64>,
}

/// Schedules backlog items into a release.
#[utoipa::path(post, path = "/api/v1/projects/{project}/releases/{version}/items", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("version" = String, Path, description = "Release version")),
    request_body = ScheduleBody,
    responses((status = 200, description = "The release", body = ReleaseView)))]
pub async fn schedule_items(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, version)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ScheduleBody>,
) -> ApiResult<Json<ReleaseView>> {
    let pid = access.project.id.clone();
    let r = crate::releases::find_release(&state, &pid, &version).await?;
    if b.items.is_empty() || b.items.len() > 500 {
        return Err(ApiError::unprocessable(
            "`items` lists 1 to 500 item numbers",
        ));
    }
    // Check every item first, so that a refusal changes nothing.
    let mut found = Vec::new();
    for n in &b.items {
        let i = crate::feedback::find_item(&state, &pid, &n.to_string())
            .await
            .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        found.push(i);
    }
    crate::releases::schedule(&state, &access.actor(), &pid, &r, found).await?;
    Ok(Json(release_view(
        crate::releases::detail(&state, &pid, r).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseStateBody {
    /// frozen, planned (thaw) or shipped.
    pub state: String,
}

/// Freezes, thaws or ships a release.
#[utoipa::path(post, path = "/api/v1/projects/{project}/releases/{version}/state", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("version" = String, Path, description = "Release version")),
    request_body = ReleaseStateBody,
    responses((status = 200, description = "The release", body = ReleaseMoved)))]
pub async fn move_release(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, version)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ReleaseStateBody>,
) -> ApiResult<Json<ReleaseMoved>> {
    let pid = access.project.id.clone();
    let r = crate::releases::find_release(&state, &pid, &version).await?;
    let shipped = crate::releases::move_to(&state, &access.actor(), &pid, &r, &b.state).await?;
    let r = crate::releases::find_release(&state, &pid, &version).await?;
    Ok(Json(ReleaseMoved {
        release: release_view(crate::releases::detail(&state, &pid, r).await?),
        carried_over: shipped.map(|s| s.carried_over).unwrap_or_default(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HotfixReleaseBody {
    /// The incident number.
    pub incident: i64,
    /// The version; the next patch by default.
    pub version: Option<String>,
}

/// Opens a hotfix release for an incident; its hotfix requests are taken up
/// and, when it ships, the incident records the fix.
#[utoipa::path(post, path = "/api/v1/projects/{project}/releases/hotfixes", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    request_body = HotfixReleaseBody,
    responses((status = 201, description = "The hotfix release", body = ReleaseView)))]
pub async fn create_hotfix(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(b): ApiJson<HotfixReleaseBody>,
) -> ApiResult<(StatusCode, Json<ReleaseView>)> {
    let r = crate::releases::hotfix(
        &state,
        &access.actor(),
        &access.project.id,
        &b.incident.to_string(),
        b.version,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(release_view(
            crate::releases::detail(&state, &access.project.id, r).await?,
        )),
    ))
}

/// Stores the OpenAPI document (3.0 or 3.1, JSON or YAML) a release ships,
/// for its notes' API changes.
#[utoipa::path(put, path = "/api/v1/projects/{project}/releases/{version}/openapi", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("version" = String, Path, description = "Release version")),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 204, description = "Stored")))]
pub async fn put_openapi(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, version)): ApiPath<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let r = crate::releases::find_release(&state, &access.project.id, &version).await?;
    crate::releases::set_openapi(&state, &access.actor(), &access.project.id, &r, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A release's notes: items, fixed incidents, deployed commits and API changes.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/{version}/notes", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("version" = String, Path, description = "Release version")),
    responses((status = 200, description = "The notes", body = NotesView)))]
pub async fn release_notes(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, version)): ApiPath<(String, String)>,
) -> ApiResult<Json<NotesView>> {
    let r = crate::releases::find_release(&state, &access.project.id, &version).await?;
    let n = crate::releases::notes(&state, &access.project.id, &r).await?;
    Ok(Json(NotesView {
        version: r.version,
        markdown: n.markdown,
        fixed_incidents: n.fixed_incidents,
        fixed_issues: n.fixed_issues,
        api_base: n.api_base,
        api_changes: n
            .api_changes
            .into_iter()
            .map(|c| ApiChangeView {
                id: c.id.into(),
                level: c.level.as_str().into(),
                method: c.method,
                path: c.path,
                text: c.text,
            })
            .collect(),
        version_problem: n.version_problem.map(|p| p.to_string()),
    }))
}

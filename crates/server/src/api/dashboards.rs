//! Dashboards over the API: list, make, open (every tile answered), change,
//! delete, copy out as JSON and make from such a copy; and the goal on a
//! saved insight.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::analytics::dashboards as service;
use crate::auth::{Access, need};
use crate::contract::dashboards::*;
use crate::contract::insights::InsightView;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::state::AppState;

/// The project's dashboards, by name.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/dashboards", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Dashboards", body = Vec<DashboardView>)))]
pub async fn list(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<DashboardView>>> {
    let rows = service::list(&state, &access.project.id).await?;
    Ok(Json(
        rows.iter()
            .map(|d| DashboardView::new(d, &access.project.slug))
            .collect(),
    ))
}

/// Makes a dashboard of saved insights, with a range and filters for all.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/dashboards", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = DashboardBody,
    responses((status = 201, description = "The dashboard", body = DashboardView),
        (status = 409, description = "A dashboard has this name")))]
pub async fn create(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<DashboardBody>,
) -> ApiResult<(StatusCode, Json<DashboardView>)> {
    let d = service::create(
        &state,
        &access.actor(),
        &access.project.id,
        &body.name,
        &body.frame(),
        &body.tiles(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(DashboardView::new(&d, &access.project.slug)),
    ))
}

/// A dashboard (by id or name) with every tile answered: from the answer
/// cache while the data is unchanged, each saying how old it is.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/dashboards/{dashboard}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("dashboard" = String, Path, description = "Dashboard id or name")),
    responses((status = 200, description = "The dashboard answered", body = DashboardAnswerView),
        (status = 404, description = "No such dashboard")))]
pub async fn show(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<Json<DashboardAnswerView>> {
    let d = service::find(&state, &access.project.id, &which).await?;
    Ok(Json(
        answer(&state, &access.project.slug, &access.project.id, &d).await?,
    ))
}

/// Sets a dashboard's range, filters and tiles (its name stays).
#[utoipa::path(put, path = "/api/v1/projects/{project}/analytics/dashboards/{dashboard}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("dashboard" = String, Path, description = "Dashboard id or name")),
    request_body = DashboardBody,
    responses((status = 200, description = "The dashboard", body = DashboardView),
        (status = 404, description = "No such dashboard")))]
pub async fn update(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DashboardBody>,
) -> ApiResult<Json<DashboardView>> {
    let d = service::update(
        &state,
        &access.actor(),
        &access.project.id,
        &which,
        &body.frame(),
        &body.tiles(),
    )
    .await?;
    Ok(Json(DashboardView::new(&d, &access.project.slug)))
}

/// Deletes a dashboard; its insights stay.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/dashboards/{dashboard}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("dashboard" = String, Path, description = "Dashboard id or name")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such dashboard")))]
pub async fn delete(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    service::delete(&state, &access.actor(), &access.project.id, &which).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A dashboard as JSON, with its insights and goals, to copy into another
/// project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/dashboards/{dashboard}/export", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("dashboard" = String, Path, description = "Dashboard id or name")),
    responses((status = 200, description = "The dashboard as JSON", body = DashboardExport),
        (status = 404, description = "No such dashboard")))]
pub async fn export_json(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<Json<DashboardExport>> {
    let d = service::find(&state, &access.project.id, &which).await?;
    Ok(Json(export(&state, &access.project.id, &d).await?))
}

/// Makes a dashboard from an exported one: its insights are saved by name
/// (or reused where this project asks the same question under that name).
/// All or nothing.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/dashboards/import", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = DashboardExport,
    responses((status = 201, description = "The dashboard", body = DashboardView),
        (status = 409, description = "A dashboard has this name, or an insight of the same name asks another question")))]
pub async fn import(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(doc): ApiJson<DashboardExport>,
) -> ApiResult<(StatusCode, Json<DashboardView>)> {
    let carried = doc.carried(state.now_ms())?;
    let d = service::import(
        &state,
        &access.actor(),
        &access.project.id,
        &doc.name,
        &doc.frame(),
        &carried,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(DashboardView::new(&d, &access.project.slug)),
    ))
}

/// Sets (or with `alert: null`, removes) the alert on a saved insight:
/// when its headline number goes above or below a value, or moves by a
/// share against the period before, the tier's on-call people are told
/// through their notification rules. Checked every housekeeping round.
#[utoipa::path(put, path = "/api/v1/projects/{project}/analytics/insights/{insight}/alert", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("insight" = String, Path, description = "Insight id or name")),
    request_body = AlertPut,
    responses((status = 200, description = "The insight", body = InsightView),
        (status = 404, description = "No such insight")))]
pub async fn put_alert(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AlertPut>,
) -> ApiResult<Json<InsightView>> {
    let spec = body.alert.as_ref().map(AlertBody::parse).transpose()?;
    let row =
        crate::analytics::alerts::set(&state, &access.actor(), &access.project.id, &which, spec)
            .await?;
    Ok(Json(InsightView::new(&row, &access.project.slug)))
}

/// Sets (or with `goal: null`, removes) the goal on a saved insight's
/// headline number.
#[utoipa::path(put, path = "/api/v1/projects/{project}/analytics/insights/{insight}/goal", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("insight" = String, Path, description = "Insight id or name")),
    request_body = GoalPut,
    responses((status = 200, description = "The insight", body = InsightView),
        (status = 404, description = "No such insight")))]
pub async fn put_goal(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<GoalPut>,
) -> ApiResult<Json<InsightView>> {
    let goal = body.goal.map(|g| g.parse()).transpose()?;
    let row = service::set_goal(&state, &access.actor(), &access.project.id, &which, goal).await?;
    Ok(Json(InsightView::new(&row, &access.project.slug)))
}

//! Saved insights over the API: list, save (checked against the kind's
//! request), open (answered now, exactly as the kind's endpoint answers)
//! and delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::analytics::insights as service;
use crate::auth::{Access, need};
use crate::contract::answers;
use crate::contract::insights::*;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::state::{AppState, format_ms};

/// The project's saved insights, by name.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/insights", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Saved insights", body = Vec<InsightView>)))]
pub async fn list(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<InsightView>>> {
    let rows = service::list(&state, &access.project.id).await?;
    Ok(Json(
        rows.iter()
            .map(|r| InsightView::new(r, &access.project.slug))
            .collect(),
    ))
}

/// Saves a question (a trend, funnel, retention, stickiness, lifecycle,
/// active users, the web overview or revenue) under a name.
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/insights", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = InsightBody,
    responses((status = 201, description = "Saved", body = InsightView),
        (status = 409, description = "An insight has this name")))]
pub async fn create(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<InsightBody>,
) -> ApiResult<(StatusCode, Json<InsightView>)> {
    let kind = body.parse(state.now_ms())?;
    let row = service::create(
        &state,
        &access.actor(),
        &access.project.id,
        &body.name,
        kind,
        &body.query,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(InsightView::new(&row, &access.project.slug)),
    ))
}

/// A saved insight (by id or name), answered now.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/insights/{insight}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("insight" = String, Path, description = "Insight id or name")),
    responses((status = 200, description = "The insight and its answer", body = InsightAnswerView),
        (status = 404, description = "No such insight")))]
pub async fn show(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<Json<InsightAnswerView>> {
    let row = service::find(&state, &access.project.id, &which).await?;
    let query = service::query_of(&row)?;
    let result = answers::answer(&state, &access.project.id, row.kind, &query).await?;
    Ok(Json(InsightAnswerView {
        insight: InsightView::new(&row, &access.project.slug),
        computed_at: format_ms(state.now_ms()),
        result,
    }))
}

/// Deletes a saved insight (by id or name).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/insights/{insight}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("insight" = String, Path, description = "Insight id or name")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such insight")))]
pub async fn delete(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    service::delete(&state, &access.actor(), &access.project.id, &which).await?;
    Ok(StatusCode::NO_CONTENT)
}

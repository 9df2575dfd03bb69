//! A project at a glance, as JSON: what its overview page shows.

use axum::Json;
use axum::extract::State;

use crate::auth::{Access, need};
use crate::error::ApiResult;
use crate::overview::{Glance, glance};
use crate::state::AppState;

/// How the product is doing now: open incidents and who is on call,
/// active users today and a week before, the last five minutes of
/// requests, SLO budgets, findings past their patch SLA and the next
/// release.
#[utoipa::path(get, path = "/api/v1/projects/{project}/overview", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The project now", body = Glance)))]
pub async fn overview(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Glance>> {
    Ok(Json(glance(&state, &access.project.id).await?))
}

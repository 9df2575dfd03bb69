//! Cohorts over the API: list, define, show (with some persons), delete,
//! and sizes over time. Insights take a cohort as `in_cohort` and break
//! down by cohorts with `breakdown_type=cohort`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::analytics::Interval;

use crate::analytics::cohorts as service;
use crate::auth::{Access, need};
use crate::contract::analytics::range;
use crate::contract::cohorts::*;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};

const DAY_MS: i64 = 86_400_000;

/// The project's cohorts, by name, with their sizes now.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/cohorts", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Cohorts", body = Vec<CohortView>)))]
pub async fn list(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<CohortView>>> {
    let sized = service::list_sized(&state, &access.project.id).await?;
    Ok(Json(
        sized
            .iter()
            .map(|(row, size)| CohortView::new(row, *size))
            .collect(),
    ))
}

/// Defines a cohort: behavioural (did an event at least N times in the
/// last D days, or did not), by person properties, or static (a list of
/// distinct ids, or a CSV of them).
#[utoipa::path(post, path = "/api/v1/projects/{project}/analytics/cohorts", tag = "analytics",
    params(("project" = String, Path, description = "Project slug")),
    request_body = CohortBody,
    responses((status = 201, description = "The cohort", body = CohortView),
        (status = 409, description = "A cohort has this name")))]
pub async fn create(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<CohortBody>,
) -> ApiResult<(StatusCode, Json<CohortView>)> {
    let new = body.parse()?;
    let (row, size) =
        service::create_sized(&state, &access.actor(), &access.project.id, new).await?;
    Ok((StatusCode::CREATED, Json(CohortView::new(&row, size))))
}

/// A cohort, by id or name, with up to 100 of its persons.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/cohorts/{cohort}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("cohort" = String, Path, description = "Cohort id or name")),
    responses((status = 200, description = "The cohort", body = CohortDetailView),
        (status = 404, description = "No such cohort")))]
pub async fn show(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<Json<CohortDetailView>> {
    let (row, members, persons) = service::detail(&state, &access.project.id, &which, 100).await?;
    Ok(Json(CohortDetailView {
        cohort: CohortView::new(&row, members.len()),
        persons: persons
            .into_iter()
            .map(|p| CohortPersonView {
                id: p.id,
                distinct_ids: p.distinct_ids,
            })
            .collect(),
    }))
}

/// Deletes a cohort, by id or name.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/analytics/cohorts/{cohort}", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("cohort" = String, Path, description = "Cohort id or name")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such cohort")))]
pub async fn delete(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    service::delete(&state, &access.actor(), &access.project.id, &which).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A cohort's size at the end of each day of a range.
#[utoipa::path(get, path = "/api/v1/projects/{project}/analytics/cohorts/{cohort}/sizes", tag = "analytics",
    params(("project" = String, Path, description = "Project slug"),
        ("cohort" = String, Path, description = "Cohort id or name"), CohortSizesParams),
    responses((status = 200, description = "Sizes per day", body = Vec<CohortSizeView>),
        (status = 404, description = "No such cohort")))]
pub async fn sizes(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, which)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<CohortSizesParams>,
) -> ApiResult<Json<Vec<CohortSizeView>>> {
    let (from, to) = range(
        p.from.as_deref(),
        p.to.as_deref(),
        30,
        service::MAX_DAYS as i64,
        Some(Interval::Day),
        state.now_ms(),
    )?;
    let first = from.div_euclid(DAY_MS);
    let days = ((to - 1).div_euclid(DAY_MS) - first + 1) as usize;
    let got = service::sizes_of(&state, &access.project.id, &which, first, days).await?;
    Ok(Json(
        got.into_iter()
            .map(|(day, size)| CohortSizeView {
                date: format_ms(day * DAY_MS)[..10].to_owned(),
                size,
            })
            .collect(),
    ))
}

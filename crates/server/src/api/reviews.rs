//! The post-production reviews API: postmortems drafted from an incident's
//! data, edited, marked, signed off and published, with action items that
//! become backlog items, exported as JSON or Markdown; and post-launch
//! reviews of a release or period, whose findings feed the backlog.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use liveops_store::reviews::Postmortem;

use crate::auth::{Access, need};
use crate::contract::reviews::*;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::reviews::launch::{self, FindingBody, LaunchReviewBody, ReviewSectionsBody};
use crate::reviews::postmortems::{self as pms, ActionBody, SectionsBody};
use crate::reviews::{self as service};
use crate::state::{AppState, format_ms};

async fn fresh(state: &AppState, pm: &Postmortem) -> ApiResult<Json<PostmortemView>> {
    let pm = state.db.postmortem_by_id(&pm.id).await?;
    Ok(Json(view(
        pms::load(state, pm, true).await?,
        state.now_ms(),
    )))
}

/// A project's postmortems, newest incident first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/reviews/postmortems", tag = "reviews",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Postmortems", body = [PostmortemSummaryView])))]
pub async fn list_postmortems(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<PostmortemSummaryView>>> {
    let all = state.db.postmortems(&access.project.id).await?;
    Ok(Json(
        all.into_iter()
            .map(|p| PostmortemSummaryView {
                incident: p.incident_number,
                title: p.incident_title,
                state: p.state.as_str().into(),
                created_at: format_ms(p.created_at),
                updated_at: format_ms(p.updated_at),
                published_at: p.published_at.map(format_ms),
            })
            .collect(),
    ))
}

/// An incident's postmortem, as JSON or Markdown.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number"), PostmortemQuery),
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn get_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PostmortemQuery>,
) -> ApiResult<Response> {
    let pm = pms::find(&state, &access, &number).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let l = pms::load(&state, pm, q.hidden.unwrap_or(true)).await?;
            Ok(Json(view(l, state.now_ms())).into_response())
        }
        "markdown" | "md" => {
            let l = pms::load(&state, pm, false).await?;
            let md = service::markdown(&l.pm, &l.facts, &l.lines, &l.actions, &l.sign_offs);
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
        }
        other => Err(ApiError::unprocessable(format!(
            "format `{other}` is not one of: json, markdown"
        ))),
    }
}

/// Drafts the incident's postmortem from its data.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 201, description = "The draft", body = PostmortemView)))]
pub async fn draft_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<PostmortemView>)> {
    let i = crate::support::service::find_incident(&state, &access.project.id, &number).await?;
    let pm = pms::draft(&state, &access.who(), &i).await?;
    Ok((StatusCode::CREATED, fresh(&state, &pm).await?))
}

/// Edits the written sections.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = SectionsBody,
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn edit_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SectionsBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = pms::find(&state, &access, &number).await?;
    pms::edit(&state, &access.who(), &pm, &body).await?;
    fresh(&state, &pm).await
}

/// Reads the figures again (say, once late telemetry has arrived).
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem/refresh", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn refresh_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = pms::find(&state, &access, &number).await?;
    pms::refresh(&state, &access.who(), &pm).await?;
    fresh(&state, &pm).await
}

/// Moves the postmortem through draft → in review → published.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem/state", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = StepBody,
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn move_postmortem(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<StepBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = pms::find(&state, &access, &number).await?;
    pms::step(&state, &access.who(), &pm, &body.step).await?;
    fresh(&state, &pm).await
}

/// Signs the postmortem off as its reviewer.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem/sign-off", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn sign_off(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = pms::find(&state, &access, &number).await?;
    pms::sign(&state, &access.who(), &pm).await?;
    fresh(&state, &pm).await
}

/// Stars or hides a timeline entry.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem/timeline", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = MarkBody,
    responses((status = 200, description = "The postmortem", body = PostmortemView)))]
pub async fn mark_entry(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MarkBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = pms::find(&state, &access, &number).await?;
    pms::mark(&state, &access.who(), &pm, &body.entry, &body.mark).await?;
    fresh(&state, &pm).await
}

/// Adds an action item; it becomes a backlog item linked both ways.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/incidents/{number}/postmortem/actions", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Incident number")),
    request_body = ActionBody,
    responses((status = 201, description = "The action item", body = ActionView)))]
pub async fn add_action(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<(StatusCode, Json<ActionView>)> {
    let pm = pms::find(&state, &access, &number).await?;
    let a = pms::action(&state, &access.who(), &pm, &body).await?;
    Ok((StatusCode::CREATED, Json(action_view(a, state.now_ms()))))
}

// ---------------------------------------------------------------- post-launch reviews

/// Generates a post-launch review of a release or a period.
#[utoipa::path(post, path = "/api/v1/projects/{project}/reviews", tag = "reviews",
    params(("project" = String, Path, description = "Project slug")),
    request_body = LaunchReviewBody,
    responses((status = 201, description = "The review", body = LaunchReviewView)))]
pub async fn create_review(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<LaunchReviewBody>,
) -> ApiResult<(StatusCode, Json<LaunchReviewView>)> {
    let r = launch::review(&state, &access.who(), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(review_view(launch::shown(&state, r).await?)?),
    ))
}

/// A project's post-launch reviews, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/reviews", tag = "reviews",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Reviews", body = [LaunchReviewView])))]
pub async fn list_reviews(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<LaunchReviewView>>> {
    let mut out = Vec::new();
    for r in state.db.launch_reviews(&access.project.id).await? {
        out.push(review_view(launch::shown(&state, r).await?)?);
    }
    Ok(Json(out))
}

/// One post-launch review.
#[utoipa::path(get, path = "/api/v1/projects/{project}/reviews/{number}", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Review number")),
    responses((status = 200, description = "The review", body = LaunchReviewView)))]
pub async fn get_review(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
) -> ApiResult<Json<LaunchReviewView>> {
    let shown = launch::shown_by_number(&state, &access.project.id, &number).await?;
    Ok(Json(review_view(shown)?))
}

/// Edits a review's sections.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/reviews/{number}", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Review number")),
    request_body = ReviewSectionsBody,
    responses((status = 200, description = "The review", body = LaunchReviewView)))]
pub async fn edit_review(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ReviewSectionsBody>,
) -> ApiResult<Json<LaunchReviewView>> {
    launch::save_review(&state, &access.who(), &number, &body).await?;
    let shown = launch::shown_by_number(&state, &access.project.id, &number).await?;
    Ok(Json(review_view(shown)?))
}

/// Raises a backlog item from one of the review's findings.
#[utoipa::path(post, path = "/api/v1/projects/{project}/reviews/{number}/findings", tag = "reviews",
    params(("project" = String, Path, description = "Project slug"),
           ("number" = String, Path, description = "Review number")),
    request_body = FindingBody,
    responses((status = 201, description = "The review", body = LaunchReviewView)))]
pub async fn add_finding(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, number)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<FindingBody>,
) -> ApiResult<(StatusCode, Json<LaunchReviewView>)> {
    launch::raise_finding(&state, &access.who(), &number, &body).await?;
    let shown = launch::shown_by_number(&state, &access.project.id, &number).await?;
    Ok((StatusCode::CREATED, Json(review_view(shown)?)))
}

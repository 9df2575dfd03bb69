//! The release-intake API: which Git hosts and CI systems a project takes
//! webhooks from, each with a secret shown once, and the pull requests
//! they reported.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Access, need};
use crate::contract::releases::{PullRequestView, pull_request_view};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::releases::hooks::{self, CreatedHook, HookView, Provider};
use crate::state::AppState;

/// The Git hosts and CI systems a project takes webhooks from.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/webhooks", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Webhook senders", body = Vec<HookView>)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<HookView>>> {
    Ok(Json(
        hooks::list(&state, &access.project.id, &access.project.slug).await?,
    ))
}

/// Makes the secret a sender (github, gitlab or ci) signs with, replacing
/// any before; the secret is shown only in this answer.
#[utoipa::path(put, path = "/api/v1/projects/{project}/releases/webhooks/{provider}", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("provider" = String, Path, description = "github, gitlab or ci")),
    responses((status = 201, description = "The sender and its secret", body = CreatedHook)))]
pub async fn put_webhook(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, provider)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<CreatedHook>)> {
    let provider = Provider::parse(&provider)?;
    let made = hooks::create_secret(
        &state,
        &access.actor(),
        &access.project.id,
        &access.project.slug,
        provider,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Stops taking a sender's webhooks.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/releases/webhooks/{provider}", tag = "releases",
    params(("project" = String, Path, description = "Project slug"),
           ("provider" = String, Path, description = "github, gitlab or ci")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, provider)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let provider = Provider::parse(&provider)?;
    hooks::delete_secret(&state, &access.actor(), &access.project.id, provider).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullRequestsParams {
    /// Only this repository's.
    pub repository: Option<String>,
    /// At most this many, 1 to 500 (default 100).
    pub limit: Option<i64>,
}

/// Pull (merge) requests the Git hosts reported, most recently opened
/// first, with the stages of their lead time.
#[utoipa::path(get, path = "/api/v1/projects/{project}/releases/pull-requests", tag = "releases",
    params(("project" = String, Path, description = "Project slug"), PullRequestsParams),
    responses((status = 200, description = "Pull requests", body = Vec<PullRequestView>)))]
pub async fn list_pull_requests(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<PullRequestsParams>,
) -> ApiResult<Json<Vec<PullRequestView>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::unprocessable("`limit` must be 1 to 500"));
    }
    let rows = state
        .db
        .pull_requests(&access.project.id, q.repository.as_deref(), limit)
        .await?;
    Ok(Json(rows.into_iter().map(pull_request_view).collect()))
}

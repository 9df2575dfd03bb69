//! The release-planning API: deployments and the commits they carried.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::Permission;
use liveops_store::releases::{DeployedCommit, DeploymentRow, NewDeployment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::analytics::parse_when;
use crate::auth::{Principal, project_access};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms, now_ms};

/// The most commits one deployment may list.
const MAX_COMMITS: usize = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitBody {
    pub sha: String,
    pub message: String,
    /// When it was committed (RFC 3339).
    pub committed_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentBody {
    pub service: String,
    pub version: String,
    /// production (default), staging, …
    pub environment: Option<String>,
    /// The commit deployed (7 to 40 hex digits).
    pub commit: Option<String>,
    /// When it went live (RFC 3339); now by default.
    pub deployed_at: Option<String>,
    /// The commits it carried since the previous deployment.
    #[serde(default)]
    pub commits: Vec<CommitBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentView {
    pub id: String,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub commit: Option<String>,
    pub deployed_at: String,
    pub recorded_by: String,
    pub commits: i64,
    /// From the oldest commit it carried to the deployment, in seconds.
    pub lead_time_secs: Option<i64>,
}

fn view(d: DeploymentRow) -> DeploymentView {
    DeploymentView {
        lead_time_secs: d.first_commit_at.map(|c| (d.deployed_at - c) / 1000),
        id: d.id,
        service: d.service,
        version: d.version,
        environment: d.environment,
        commit: d.commit_sha,
        deployed_at: format_ms(d.deployed_at),
        recorded_by: d.created_by,
        commits: d.commits,
    }
}

fn text(field: &str, v: &str, max: usize) -> ApiResult<String> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(format!(
            "`{field}` needs 1 to {max} printable characters"
        )));
    }
    Ok(t.to_owned())
}

fn sha(field: &str, v: &str) -> ApiResult<String> {
    let t = v.trim().to_ascii_lowercase();
    if !(7..=64).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::unprocessable(format!(
            "`{field}` must be a commit id of 7 to 64 hex digits"
        )));
    }
    Ok(t)
}

/// Records a deployment with the commits it carried.
#[utoipa::path(post, path = "/api/v1/projects/{project}/deployments", tag = "releases",
    params(("project" = String, Path, description = "Project slug")),
    request_body = DeploymentBody,
    responses((status = 201, description = "The deployment", body = DeploymentView)))]
pub async fn record_deployment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<DeploymentBody>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    let access = project_access(&state, &principal, &slug, Permission::Write).await?;
    let service = text("service", &body.service, 100)?;
    let version = text("version", &body.version, 100)?;
    let environment = text(
        "environment",
        body.environment.as_deref().unwrap_or("production"),
        50,
    )?;
    let commit = body
        .commit
        .as_deref()
        .map(|c| sha("commit", c))
        .transpose()?;
    let deployed_at = match &body.deployed_at {
        Some(t) => parse_when("deployed_at", t)?,
        None => now_ms(),
    };
    if body.commits.len() > MAX_COMMITS {
        return Err(ApiError::unprocessable(format!(
            "a deployment lists at most {MAX_COMMITS} commits"
        )));
    }
    let commits = body
        .commits
        .iter()
        .map(|c| {
            Ok(DeployedCommit {
                sha: sha("commits[].sha", &c.sha)?,
                message: c.message.chars().take(10_000).collect(),
                committed_at: parse_when("commits[].committed_at", &c.committed_at)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let actor = access.actor();
    let row = state
        .db
        .record_deployment(
            &access.project.id,
            &NewDeployment {
                service: &service,
                version: &version,
                environment: &environment,
                commit_sha: commit.as_deref(),
                deployed_at,
                created_by: &actor.name,
                commits: &commits,
            },
            now_ms(),
        )
        .await
        .map_err(|e| match e {
            liveops_store::StoreError::Conflict(what) => {
                ApiError::unprocessable(format!("{what}: each commit once"))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(view(row))))
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
#[utoipa::path(get, path = "/api/v1/projects/{project}/deployments", tag = "releases",
    params(("project" = String, Path, description = "Project slug"), DeploymentsParams),
    responses((status = 200, description = "Deployments", body = Vec<DeploymentView>)))]
pub async fn list_deployments(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(p): ApiQuery<DeploymentsParams>,
) -> ApiResult<Json<Vec<DeploymentView>>> {
    let access = project_access(&state, &principal, &slug, Permission::Read).await?;
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
    Ok(Json(rows.into_iter().map(view).collect()))
}

//! Error tracking over the API: the project's DSN and error alerts, the
//! issue list, an issue in full and one of its events, and resolving,
//! ignoring, reopening, merging and unmerging issues, and the files
//! (source maps, minified scripts) a release's browser errors are mapped with.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::auth::{Access, need};
use crate::contract::errors::*;
use crate::error::{ApiBytes, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::support::errors::{self as service, issues, sourcemaps};

/// Where SDKs reach this server: `public_url`, else the host the caller
/// used.
fn base_of(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    service::public_base(state, host)
}

/// The project's DSN (made on first use) and error alert settings.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/errors/dsn", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The DSN", body = DsnView)))]
pub async fn get_dsn(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    headers: HeaderMap,
) -> ApiResult<Json<DsnView>> {
    let s = service::settings(&state, &access.actor(), &access.project.id).await?;
    Ok(Json(service::dsn_view(&base_of(&state, &headers), &s)?))
}

/// Gives the DSN a new public key; SDKs with the old one are refused.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/errors/dsn", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The new DSN", body = DsnView)))]
pub async fn rotate_dsn(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    headers: HeaderMap,
) -> ApiResult<Json<DsnView>> {
    let s = service::rotate_key(&state, &access.actor(), &access.project.id).await?;
    Ok(Json(service::dsn_view(&base_of(&state, &headers), &s)?))
}

/// Sets what new issues and regressions do: open an incident through an
/// alert integration, or nothing.
#[utoipa::path(put, path = "/api/v1/projects/{project}/support/errors/alerts", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = ErrorAlertsBody,
    responses((status = 200, description = "The settings", body = DsnView)))]
pub async fn put_error_alerts(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ErrorAlertsBody>,
) -> ApiResult<Json<DsnView>> {
    let s = service::set_alerts(&state, &access.actor(), &access.project.id, &body).await?;
    Ok(Json(service::dsn_view(&base_of(&state, &headers), &s)?))
}

/// Issues, by last seen unless asked otherwise.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/errors/issues", tag = "support",
    params(("project" = String, Path, description = "Project slug"), IssueListParams),
    responses((status = 200, description = "Issues", body = Vec<IssueSummary>)))]
pub async fn list_issues(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<IssueListParams>,
) -> ApiResult<Json<Vec<IssueSummary>>> {
    Ok(Json(issues::list(&state, &access.project.id, &p).await?))
}

/// An issue in full: releases, tags, events over time, the newest events
/// with their stack traces, what happened to it.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/errors/issues/{number}", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number")),
    responses((status = 200, description = "The issue", body = IssueDetail)))]
pub async fn get_issue(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_p, number)): ApiPath<(String, i64)>,
) -> ApiResult<Json<IssueDetail>> {
    Ok(Json(
        issues::show(&state, &access.project.id, number).await?,
    ))
}

/// Resolves (now, in the next release or in a release), ignores (until
/// more events, users or a time) or reopens an issue.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/support/errors/issues/{number}", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number")),
    request_body = IssueUpdate,
    responses((status = 200, description = "The issue", body = IssueSummary)))]
pub async fn update_issue(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, number)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<IssueUpdate>,
) -> ApiResult<Json<IssueSummary>> {
    Ok(Json(
        issues::update(&state, &access.actor(), &access.project.id, number, &body).await?,
    ))
}

/// One event of an issue, with its stack trace, breadcrumbs and context.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/errors/issues/{number}/events/{event}", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number"), ("event" = String, Path, description = "Event id")),
    responses((status = 200, description = "The event", body = ErrorEventView)))]
pub async fn get_issue_event(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_p, number, event)): ApiPath<(String, i64, String)>,
) -> ApiResult<Json<ErrorEventView>> {
    Ok(Json(
        issues::event(&state, &access.project.id, number, &event).await?,
    ))
}

/// Folds other issues into this one.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/errors/issues/{number}/merge", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number")),
    request_body = MergeBody,
    responses((status = 200, description = "The merged issue", body = IssueSummary)))]
pub async fn merge_issues(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, number)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<MergeBody>,
) -> ApiResult<Json<IssueSummary>> {
    Ok(Json(
        issues::merge(
            &state,
            &access.actor(),
            &access.project.id,
            number,
            &body.issues,
        )
        .await?,
    ))
}

/// Splits a fingerprint off into an issue of its own.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/errors/issues/{number}/unmerge", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number")),
    request_body = UnmergeBody,
    responses((status = 200, description = "The new issue", body = IssueSummary)))]
pub async fn unmerge_issue(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, number)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<UnmergeBody>,
) -> ApiResult<Json<IssueSummary>> {
    Ok(Json(
        issues::unmerge(
            &state,
            &access.actor(),
            &access.project.id,
            number,
            &body.fingerprint,
        )
        .await?,
    ))
}

/// The project's grouping rules, in the order they are tried.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/errors/grouping-rules", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Rules", body = Vec<GroupingRuleView>)))]
pub async fn list_grouping_rules(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<GroupingRuleView>>> {
    Ok(Json(
        service::grouping_rules(&state, &access.project.id).await?,
    ))
}

/// Adds a grouping rule, tried after the others.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/errors/grouping-rules", tag = "support",
    params(("project" = String, Path, description = "Project slug")),
    request_body = GroupingRuleBody,
    responses((status = 201, description = "The rule", body = GroupingRuleView)))]
pub async fn add_grouping_rule(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<GroupingRuleBody>,
) -> ApiResult<(axum::http::StatusCode, Json<GroupingRuleView>)> {
    let rule =
        service::add_grouping_rule(&state, &access.actor(), &access.project.id, &body).await?;
    Ok((axum::http::StatusCode::CREATED, Json(rule)))
}

/// Removes a grouping rule.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/support/errors/grouping-rules/{id}", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_grouping_rule(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_p, id)): ApiPath<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    service::delete_grouping_rule(&state, &access.actor(), &access.project.id, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Links an issue to an incident or a ticket.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/errors/issues/{number}/links", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number")),
    request_body = IssueLinkBody,
    responses((status = 200, description = "The issue", body = IssueDetail)))]
pub async fn link_issue(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, number)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<IssueLinkBody>,
) -> ApiResult<Json<IssueDetail>> {
    issues::link(
        &state,
        &access.actor(),
        &access.project.id,
        number,
        &body.kind,
        body.number,
    )
    .await?;
    Ok(Json(
        issues::show(&state, &access.project.id, number).await?,
    ))
}

/// Makes a backlog bug from an issue, linked to it.
#[utoipa::path(post, path = "/api/v1/projects/{project}/support/errors/issues/{number}/backlog", tag = "support",
    params(("project" = String, Path, description = "Project slug"), ("number" = i64, Path, description = "Issue number")),
    responses((status = 201, description = "The item", body = BacklogFromIssue)))]
pub async fn issue_to_backlog(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, number)): ApiPath<(String, i64)>,
) -> ApiResult<(axum::http::StatusCode, Json<BacklogFromIssue>)> {
    let item = issues::to_backlog(&state, &access.actor(), &access.project.id, number).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(BacklogFromIssue { item }),
    ))
}

/// Keeps a source map or a minified script for a release, under the name
/// the browser loads it by; a file of that name is replaced.
#[utoipa::path(put, path = "/api/v1/projects/{project}/support/errors/releases/{release}/files", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
        ("release" = String, Path, description = "The release, as the SDK's `release` option names it"),
        ReleaseFileParams),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 201, description = "Kept", body = UploadedFile),
        (status = 200, description = "Kept in place of a file of that name", body = UploadedFile)))]
pub async fn upload_release_file(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, release)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ReleaseFileParams>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<(axum::http::StatusCode, Json<UploadedFile>)> {
    let name = q
        .name
        .ok_or_else(|| ApiError::bad_request("say the file's name with `?name=~/path`"))?;
    let kept = sourcemaps::upload(
        &state,
        &access.actor(),
        &access.project.id,
        &release,
        &name,
        body.to_vec(),
    )
    .await?;
    let status = if kept.replaced {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::CREATED
    };
    Ok((status, Json(kept)))
}

/// A release's files, by name.
#[utoipa::path(get, path = "/api/v1/projects/{project}/support/errors/releases/{release}/files", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
        ("release" = String, Path, description = "The release")),
    responses((status = 200, description = "Files", body = Vec<ReleaseFileView>)))]
pub async fn list_release_files(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_p, release)): ApiPath<(String, String)>,
) -> ApiResult<Json<Vec<ReleaseFileView>>> {
    Ok(Json(
        sourcemaps::list(&state, &access.project.id, &release).await?,
    ))
}

/// Deletes one file of a release (`?name=`), or all of them (`?all=true`).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/support/errors/releases/{release}/files", tag = "support",
    params(("project" = String, Path, description = "Project slug"),
        ("release" = String, Path, description = "The release"), ReleaseFileParams),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_release_files(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_p, release)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ReleaseFileParams>,
) -> ApiResult<axum::http::StatusCode> {
    if q.name.is_none() && !q.all {
        return Err(ApiError::bad_request(
            "say which file with `?name=`, or `?all=true` for every file of the release",
        ));
    }
    sourcemaps::delete(
        &state,
        &access.actor(),
        &access.project.id,
        &release,
        q.name.as_deref(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

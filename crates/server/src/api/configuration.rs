//! A project's configuration as one document: export it, apply one, and
//! create, change or delete a single setting of any kind by name.

use axum::Json;
use axum::extract::State;

use crate::auth::{Access, need};
use crate::configuration;
use crate::contract::configuration::{ApplyParams, Document, PlanView};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;

/// The project's configuration, in the form `POST` takes back.
#[utoipa::path(get, path = "/api/v1/projects/{project}/configuration", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The configuration", body = Document)))]
pub async fn export(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        configuration::export(&state, &access.project.id, &access.project.slug).await?,
    ))
}

/// Makes the project's configuration match the document, all of it or
/// none: creates and updates what differs, and with `prune` deletes what
/// the document leaves out. `dry_run` only says what would change.
#[utoipa::path(post, path = "/api/v1/projects/{project}/configuration", tag = "projects",
    params(("project" = String, Path, description = "Project slug"), ApplyParams),
    request_body = Document,
    responses((status = 200, description = "What changed", body = PlanView)))]
pub async fn apply(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiQuery(q): ApiQuery<ApplyParams>,
    ApiJson(doc): ApiJson<Document>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(
        configuration::apply(
            &state,
            &access.actor(),
            &access.project.id,
            &access.project.slug,
            doc,
            q.dry_run,
            q.prune,
        )
        .await?,
    ))
}

/// Creates or changes one setting, given as the document lists it.
#[utoipa::path(put, path = "/api/v1/projects/{project}/configuration/{kind}/{name}", tag = "projects",
    params(("project" = String, Path, description = "Project slug"),
           ("kind" = String, Path, description = "The document's key: schedules, policies, alert_rules, …"),
           ("name" = String, Path, description = "The setting's name (capacity: service/metric)")),
    request_body = serde_json::Value,
    responses((status = 200, description = "What changed", body = PlanView)))]
pub async fn put_one(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, kind, name)): ApiPath<(String, String, String)>,
    ApiJson(spec): ApiJson<serde_json::Value>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(
        configuration::put_one(
            &state,
            &access.actor(),
            &access.project.id,
            &access.project.slug,
            &kind,
            &name,
            spec,
        )
        .await?,
    ))
}

/// Deletes one setting.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/configuration/{kind}/{name}", tag = "projects",
    params(("project" = String, Path, description = "Project slug"),
           ("kind" = String, Path, description = "The document's key: schedules, policies, alert_rules, …"),
           ("name" = String, Path, description = "The setting's name (capacity: service/metric)")),
    responses((status = 200, description = "What changed", body = PlanView)))]
pub async fn delete_one(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, kind, name)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(
        configuration::delete_one(
            &state,
            &access.actor(),
            &access.project.id,
            &access.project.slug,
            &kind,
            &name,
        )
        .await?,
    ))
}

//! Projects, their members and their ingest keys.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::{Email, Permission, ProjectName, Role, Slug};
use liveops_store::StoreError;
use liveops_store::projects::Project;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::users::require_instance_admin;
use crate::actions;
use crate::auth::{Principal, project_access};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::{AppState, format_ms};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub slug: String,
    pub name: String,
    /// The start of the project's ingest key, to recognise it by.
    pub ingest_key_hint: String,
    pub created_at: String,
    /// The caller's role in the project.
    pub role: String,
}

impl ProjectView {
    pub fn new(p: &Project, role: Role) -> ProjectView {
        ProjectView {
            slug: p.slug.clone(),
            name: p.name.clone(),
            ingest_key_hint: p.ingest_key_hint.clone(),
            created_at: format_ms(p.created_at),
            role: role.to_string(),
        }
    }
}

/// The projects a caller can reach: a token its one project, an instance
/// admin every project, anyone else their memberships.
pub(crate) async fn visible_projects(
    state: &AppState,
    principal: &Principal,
) -> ApiResult<Vec<ProjectView>> {
    let all: Vec<(Project, Role)> = if principal.user.is_admin {
        state
            .db
            .all_projects()
            .await?
            .into_iter()
            .map(|p| (p, Role::Owner))
            .collect()
    } else {
        state.db.projects_of(&principal.user.id).await?
    };
    Ok(all
        .iter()
        .filter(|(p, _)| principal.token_project().is_none_or(|id| id == p.id))
        .map(|(p, r)| ProjectView::new(p, *r))
        .collect())
}

/// The projects the caller can reach.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    responses((status = 200, description = "Projects", body = Vec<ProjectView>)))]
pub async fn list_projects(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<ProjectView>>> {
    Ok(Json(visible_projects(&state, &principal).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
    /// Lower-case letters, digits and hyphens; derived from the name when left out.
    pub slug: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedProject {
    pub project: ProjectView,
    /// The write-only key SDKs send events with. Shown only in this answer.
    pub ingest_key: String,
}

/// Creates a project, with the caller as its owner. Instance administrators only.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, description = "The new project", body = CreatedProject)))]
pub async fn create_project(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<CreatedProject>)> {
    require_instance_admin(&principal)?;
    let name =
        ProjectName::parse(&body.name).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let slug = match body.slug.as_deref() {
        Some(s) => Slug::parse(s),
        None => Slug::from_name(&name),
    }
    .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let created = actions::create_project(
        &state.db,
        &principal.actor(),
        &name,
        &slug,
        Some(&principal.user),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedProject {
            project: ProjectView::new(&created.project, Role::Owner),
            ingest_key: created.ingest_key,
        }),
    ))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The project", body = ProjectView)))]
pub async fn get_project(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<ProjectView>> {
    let access = project_access(&state, &principal, &slug, Permission::Read).await?;
    Ok(Json(ProjectView::new(&access.project, access.role)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestKey {
    /// The new ingest key. The old one stops working now.
    pub ingest_key: String,
}

/// Replaces the project's ingest key.
#[utoipa::path(post, path = "/api/v1/projects/{project}/ingest-key", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The new key, shown once", body = IngestKey)))]
pub async fn rotate_ingest_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<IngestKey>> {
    let access = project_access(&state, &principal, &slug, Permission::Administer).await?;
    let key = actions::rotate_ingest_key(&state.db, &access.actor(), &access.project).await?;
    state.ingest_keys.forget_all();
    Ok(Json(IngestKey { ingest_key: key }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub email: String,
    pub role: String,
}

/// The project's members and their roles.
#[utoipa::path(get, path = "/api/v1/projects/{project}/members", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Members", body = Vec<MemberView>)))]
pub async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<MemberView>>> {
    let access = project_access(&state, &principal, &slug, Permission::Read).await?;
    let members = state.db.members(&access.project.id).await?;
    Ok(Json(
        members
            .iter()
            .map(|m| MemberView {
                email: m.user.email.clone(),
                role: m.role.to_string(),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// owner, admin, responder or viewer.
    pub role: String,
}

async fn member_target(state: &AppState, email: &str) -> ApiResult<liveops_store::access::User> {
    let email = Email::parse(email).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    match state.db.user_by_email(&email).await {
        Ok(u) => Ok(u),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!(
            "no user {email}; an instance administrator adds users first"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Gives a user a role in the project. Owners alone grant or change ownership.
#[utoipa::path(put, path = "/api/v1/projects/{project}/members/{email}", tag = "projects",
    params(("project" = String, Path, description = "Project slug"),
           ("email" = String, Path, description = "The user's e-mail address")),
    request_body = RoleBody,
    responses((status = 200, description = "The membership", body = MemberView)))]
pub async fn set_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((slug, email)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<MemberView>> {
    let role: Role = body
        .role
        .parse()
        .map_err(|e: liveops_core::access::UnknownRole| ApiError::unprocessable(e.to_string()))?;
    let access = project_access(&state, &principal, &slug, Permission::Administer).await?;
    let user = member_target(&state, &email).await?;
    let current = state.db.role_of(&access.project.id, &user.id).await?;
    if role == Role::Owner || current == Some(Role::Owner) {
        liveops_core::access::authorize(access.role, principal.scopes(), Permission::Own)?;
    }
    if current == Some(Role::Owner)
        && role != Role::Owner
        && state.db.count_owners(&access.project.id).await? <= 1
    {
        return Err(ApiError::conflict("a project keeps at least one owner"));
    }
    actions::set_member(&state.db, &access.actor(), &access.project, &user, role).await?;
    Ok(Json(MemberView {
        email: user.email,
        role: role.to_string(),
    }))
}

/// Takes a user out of the project, with their tokens for it.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/members/{email}", tag = "projects",
    params(("project" = String, Path, description = "Project slug"),
           ("email" = String, Path, description = "The user's e-mail address")),
    responses((status = 204, description = "Removed")))]
pub async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((slug, email)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = project_access(&state, &principal, &slug, Permission::Administer).await?;
    let user = member_target(&state, &email).await?;
    let current = state.db.role_of(&access.project.id, &user.id).await?;
    if current.is_none() {
        return Err(ApiError::not_found(format!(
            "{} is not a member",
            user.email
        )));
    }
    if current == Some(Role::Owner) {
        liveops_core::access::authorize(access.role, principal.scopes(), Permission::Own)?;
        if state.db.count_owners(&access.project.id).await? <= 1 {
            return Err(ApiError::conflict("a project keeps at least one owner"));
        }
    }
    actions::remove_member(&state.db, &access.actor(), &access.project, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

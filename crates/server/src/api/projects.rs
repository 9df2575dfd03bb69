//! Projects, their members and their ingest keys.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::{Email, Permission, ProjectName, Role, Slug};
use liveops_store::StoreError;
use liveops_store::projects::{KeyPurpose, Project};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access;
use crate::auth::{Access, InstanceAdmin, Principal, need};
use crate::contract::access::{KeyView, KeysView, ProjectView, RotatedKey};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::work::{Audit, Work};

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
    /// The public browser key SDKs send analytics, feedback and error
    /// events with. Shown only in this answer.
    pub ingest_key: String,
    /// The server key OTLP exporters send spans and metrics with. Shown only here.
    pub server_key: String,
    /// The secret of the inbound e-mail webhook. Shown only here.
    pub mail_secret: String,
}

/// Creates a project, with the caller as its owner. Instance administrators only.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, description = "The new project", body = CreatedProject)))]
pub async fn create_project(
    State(state): State<AppState>,
    InstanceAdmin(principal): InstanceAdmin,
    ApiJson(body): ApiJson<NewProject>,
) -> ApiResult<(
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    Json<CreatedProject>,
)> {
    let name =
        ProjectName::parse(&body.name).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let slug = match body.slug.as_deref() {
        Some(s) => Slug::parse(s),
        None => Slug::from_name(&name),
    }
    .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let created = access::create_project(
        &state.db,
        &*state.clock,
        &principal.actor(),
        &name,
        &slug,
        Some(&principal.user),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(CreatedProject {
            project: ProjectView::new(&created.project, Role::Owner),
            ingest_key: created.ingest_key,
            server_key: created.server_key,
            mail_secret: created.mail_secret,
        }),
    ))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The project", body = ProjectView)))]
pub async fn get_project(Access(access, _): Access<need::Read>) -> ApiResult<Json<ProjectView>> {
    Ok(Json(ProjectView::new(&access.project, access.role)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestKey {
    /// The new ingest key. The old one stops working now.
    pub ingest_key: String,
}

/// Replaces the project's public browser key (the ingest key).
#[utoipa::path(post, path = "/api/v1/projects/{project}/ingest-key", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "The new key, shown once", body = IngestKey)))]
pub async fn rotate_ingest_key(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
) -> ApiResult<([(axum::http::HeaderName, &'static str); 1], Json<IngestKey>)> {
    let key = access::rotate_key(
        &state.db,
        &*state.clock,
        &access.actor(),
        &access.project,
        KeyPurpose::Browser,
    )
    .await?;
    state.ingest_keys.forget_all();
    Ok((NO_STORE, Json(IngestKey { ingest_key: key })))
}

/// Answers that carry a new secret must not be kept by any cache.
const NO_STORE: [(axum::http::HeaderName, &str); 1] =
    [(axum::http::header::CACHE_CONTROL, "no-store")];

/// The project's keys, by purpose.
#[utoipa::path(get, path = "/api/v1/projects/{project}/keys", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Key hints", body = KeysView)))]
pub async fn list_keys(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
) -> ApiResult<Json<KeysView>> {
    let keys = state
        .db
        .key_hints(&access.project.id)
        .await?
        .into_iter()
        .map(|(p, hint)| KeyView {
            purpose: p.as_str().into(),
            hint,
        })
        .collect();
    let mailgun_signature = state
        .db
        .mail_signing_key(&access.project.id)
        .await?
        .is_some();
    Ok(Json(KeysView {
        keys,
        mailgun_signature,
    }))
}

/// Replaces the project's key for a purpose: browser, server or mail.
#[utoipa::path(post, path = "/api/v1/projects/{project}/keys/{purpose}", tag = "projects",
    params(("project" = String, Path, description = "Project slug"),
           ("purpose" = String, Path, description = "browser, server or mail")),
    responses((status = 200, description = "The new key, shown once", body = RotatedKey)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, purpose)): ApiPath<(String, String)>,
) -> ApiResult<(
    [(axum::http::HeaderName, &'static str); 1],
    Json<RotatedKey>,
)> {
    let purpose: KeyPurpose = purpose.parse().map_err(ApiError::not_found)?;
    let key = access::rotate_key(
        &state.db,
        &*state.clock,
        &access.actor(),
        &access.project,
        purpose,
    )
    .await?;
    state.ingest_keys.forget_all();
    Ok((
        NO_STORE,
        Json(RotatedKey {
            purpose: purpose.as_str().into(),
            key,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSigningBody {
    /// Mailgun's HTTP webhook signing key; inbound mail must then carry
    /// Mailgun's signature. `null` turns the check off.
    pub mailgun_signing_key: Option<String>,
}

/// Sets or clears the Mailgun signing key inbound mail is checked against.
#[utoipa::path(put, path = "/api/v1/projects/{project}/keys/mail/signing", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    request_body = MailSigningBody,
    responses((status = 204, description = "Stored (sealed)")))]
pub async fn put_mail_signing(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<MailSigningBody>,
) -> ApiResult<StatusCode> {
    let key = body
        .mailgun_signing_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if key.is_some_and(|k| k.len() < 16 || k.len() > 200 || k.chars().any(char::is_control)) {
        return Err(ApiError::unprocessable(
            "a Mailgun signing key has 16 to 200 printable characters",
        ));
    }
    let sealed = key.map(|k| state.sealer.seal(k));
    let mut w = Work::begin(
        &state.db,
        &*state.clock,
        &access.actor(),
        Some(&access.project.id),
    )
    .await?;
    let tx = w.conn();
    liveops_store::projects::set_mail_signing_key(&mut *tx, &access.project.id, sealed.as_deref())
        .await?;
    w.commit(Audit::new(
        "project.mail_signing.set",
        if key.is_some() { "on" } else { "off" },
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSigningBody {
    /// The Slack app's signing secret: buttons on pages posted to
    /// `/ingest/slack/{project}` must carry its signature. `null` turns the
    /// buttons off.
    pub signing_secret: Option<String>,
}

/// Sets or clears the Slack signing secret page buttons are checked with.
#[utoipa::path(put, path = "/api/v1/projects/{project}/keys/slack/signing", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    request_body = SlackSigningBody,
    responses((status = 204, description = "Stored (sealed)")))]
pub async fn put_slack_signing(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<SlackSigningBody>,
) -> ApiResult<StatusCode> {
    crate::support::links::set_slack_secret(
        &state,
        &access.actor(),
        &access.project.id,
        body.signing_secret.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicPagesBody {
    /// The public status page at `/status/{project}` and its subscriptions.
    pub status_page: bool,
    /// The public changelog at `/changelog/{project}` (items marked public only).
    pub changelog: bool,
}

/// Turns the project's public pages on or off; both are off until a
/// project turns them on.
#[utoipa::path(put, path = "/api/v1/projects/{project}/public-pages", tag = "projects",
    params(("project" = String, Path, description = "Project slug")),
    request_body = PublicPagesBody,
    responses((status = 200, description = "The project", body = ProjectView)))]
pub async fn put_public_pages(
    State(state): State<AppState>,
    Access(access, _): Access<need::Administer>,
    ApiJson(body): ApiJson<PublicPagesBody>,
) -> ApiResult<Json<ProjectView>> {
    let project = access::set_public_pages(
        &state.db,
        &*state.clock,
        &access.actor(),
        &access.project,
        body.status_page,
        body.changelog,
    )
    .await?;
    Ok(Json(ProjectView::new(&project, access.role)))
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
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<MemberView>>> {
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

/// The user a membership change names. Adding someone needs them to have
/// an account (an instance administrator makes it); removing someone who
/// is not a member answers the same whether or not they have one.
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
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, email)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<MemberView>> {
    let principal = &access.principal;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: liveops_core::access::UnknownRole| ApiError::unprocessable(e.to_string()))?;
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
    access::set_member(
        &state.db,
        &*state.clock,
        &access.actor(),
        &access.project,
        &user,
        role,
    )
    .await?;
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
    Access(access, _): Access<need::Administer>,
    ApiPath((_project, email)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let principal = &access.principal;
    let parsed = Email::parse(&email).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let not_member = || ApiError::not_found(format!("{parsed} is not a member"));
    let user = match state.db.user_by_email(&parsed).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(not_member()),
        Err(e) => return Err(e.into()),
    };
    let current = state.db.role_of(&access.project.id, &user.id).await?;
    if current.is_none() {
        return Err(not_member());
    }
    if current == Some(Role::Owner) {
        liveops_core::access::authorize(access.role, principal.scopes(), Permission::Own)?;
        if state.db.count_owners(&access.project.id).await? <= 1 {
            return Err(ApiError::conflict("a project keeps at least one owner"));
        }
    }
    match access::remove_member(
        &state.db,
        &*state.clock,
        &access.actor(),
        &access.project,
        &user,
    )
    .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(access::RemoveMemberError::OnRota(why)) => Err(ApiError::conflict(format!(
            "{} cannot leave the project yet; take them off first: {}",
            user.email,
            why.join("; ")
        ))),
        Err(access::RemoveMemberError::Store(e)) => Err(e.into()),
    }
}

//! Who is calling: a browser session or an API token, and what they may do in a project.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use liveops_core::access::authorize;
use liveops_core::{Permission, Role, Scopes};
use liveops_store::StoreError;
use liveops_store::access::{ApiToken, User};
use liveops_store::audit::{Actor, ActorKind};
use liveops_store::projects::Project;

use super::client::ClientAddr;
use super::{CSRF_HEADER, SESSION_COOKIE, keys};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session; writes must echo its CSRF token.
    Session { csrf: String },
    /// An API token limited by its scopes: bound to one project, or an
    /// instance token, which acts as its user everywhere.
    Token(Box<ApiToken>),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub via: Via,
    pub ip: Option<String>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            kind: match self.via {
                Via::Session { .. } => ActorKind::Session,
                Via::Token(_) => ActorKind::Token,
            },
            name: self.user.email.clone(),
            ip: self.ip.clone(),
        }
    }

    pub fn scopes(&self) -> Option<&Scopes> {
        match &self.via {
            Via::Token(t) => Some(&t.scopes),
            Via::Session { .. } => None,
        }
    }

    /// The project a token is bound to; `None` for sessions and instance tokens.
    pub fn token_project(&self) -> Option<&str> {
        match &self.via {
            Via::Token(t) => t.project_id.as_deref(),
            Via::Session { .. } => None,
        }
    }

    /// Whether the caller may act beyond one project: a session, or an
    /// instance token. A project token never may, whoever owns it.
    pub fn instance_wide(&self) -> bool {
        match &self.via {
            Via::Session { .. } => true,
            Via::Token(t) => t.project_id.is_none(),
        }
    }

    /// Refuses project tokens: what follows reaches beyond one project.
    pub fn require_instance_wide(&self) -> ApiResult<()> {
        if self.instance_wide() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "a project token cannot act beyond its project; sign in, or use an instance \
                 token (`liveops token create --instance`)",
            ))
        }
    }
}

/// The user id of the member of `project_id` with this address, if they
/// are one. Anyone else, with an account or without, is `None`.
pub async fn member_of(
    state: &AppState,
    project_id: &str,
    email: &liveops_core::Email,
) -> ApiResult<Option<String>> {
    let user = match state.db.user_by_email(email).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(state
        .db
        .role_of(project_id, &user.id)
        .await?
        .map(|_| user.id))
}

impl Principal {
    /// The holder of an API token, if the token is live.
    pub async fn from_token(
        state: &AppState,
        token: &str,
        ip: Option<String>,
    ) -> ApiResult<Principal> {
        let now = state.now_ms();
        let found = match state.db.token_by_hash(&keys::hash(token)).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => {
                return Err(ApiError::unauthorized("the API token is not valid"));
            }
            Err(e) => return Err(e.into()),
        };
        if found.revoked_at.is_some() {
            return Err(ApiError::unauthorized("the API token has been revoked"));
        }
        if found.expires_at <= now {
            return Err(ApiError::unauthorized(format!(
                "the API token expired at {}",
                crate::state::format_ms(found.expires_at)
            )));
        }
        state.db.touch_token(&found.id, now).await?;
        let user = state.db.user_by_id(&found.user_id).await?;
        Ok(Principal {
            user,
            via: Via::Token(Box::new(found)),
            ip,
        })
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Principal> {
        let ip = ClientAddr::of(parts, state).to_option_string();
        let now = state.now_ms();
        if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| ApiError::unauthorized("the Authorization header is not readable"))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::unauthorized("use `Authorization: Bearer <token>` with an API token")
                })?;
            return Principal::from_token(state, token, ip).await;
        }

        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "sign in, or send an API token as `Authorization: Bearer <token>`",
            ));
        };
        let session = match state.db.session(&keys::hash(cookie.value()), now).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => {
                return Err(ApiError::unauthorized(
                    "your session has ended; sign in again",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !super::same_secret(sent, &session.csrf_token) {
                return Err(ApiError::forbidden(format!(
                    "a browser session must send its CSRF token in the `{CSRF_HEADER}` header"
                )));
            }
        }
        Ok(Principal {
            user: session.user,
            via: Via::Session {
                csrf: session.csrf_token,
            },
            ip,
        })
    }
}

/// A caller's standing in one project.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    pub principal: Principal,
    pub project: Project,
    pub role: Role,
}

impl ProjectAccess {
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }
}

/// Loads the project `slug` and checks that the caller may do what `needed`
/// covers there. Projects the caller cannot see answer 404, exactly like
/// projects that do not exist, so that slugs do not leak.
pub async fn project_access(
    state: &AppState,
    principal: &Principal,
    slug: &str,
    needed: Permission,
) -> ApiResult<ProjectAccess> {
    let hidden = || ApiError::not_found(format!("no project `{slug}` that you can see"));
    if liveops_core::Slug::parse(slug).is_err() {
        return Err(hidden());
    }
    let project = match state.db.project_by_slug(slug).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(hidden()),
        Err(e) => return Err(e.into()),
    };
    if principal
        .token_project()
        .is_some_and(|bound| bound != project.id)
    {
        return Err(hidden());
    }
    let role = if principal.user.is_admin {
        Role::Owner
    } else {
        state
            .db
            .role_of(&project.id, &principal.user.id)
            .await?
            .ok_or_else(hidden)?
    };
    authorize(role, principal.scopes(), needed)?;
    Ok(ProjectAccess {
        principal: principal.clone(),
        project,
        role,
    })
}

/// The permission a route needs, as a type, so that [`Access`] checks it
/// before anything else of the request is read.
pub trait Needs: Send + Sync + 'static {
    const PERMISSION: Permission;
}

/// The permissions routes ask for.
pub mod need {
    use super::{Needs, Permission};

    /// Reading the project.
    #[derive(Debug)]
    pub struct Read;
    /// Changing what the project holds.
    #[derive(Debug)]
    pub struct Write;
    /// Reading what only admins see, such as the audit log.
    #[derive(Debug)]
    pub struct ReadAudit;
    /// Configuring the project.
    #[derive(Debug)]
    pub struct Administer;

    impl Needs for Read {
        const PERMISSION: Permission = Permission::Read;
    }
    impl Needs for Write {
        const PERMISSION: Permission = Permission::Write;
    }
    impl Needs for ReadAudit {
        const PERMISSION: Permission = Permission::ReadAudit;
    }
    impl Needs for Administer {
        const PERMISSION: Permission = Permission::Administer;
    }
}

/// The caller's standing in the project the `{project}` path segment
/// names, checked for `N`'s permission as the request's first step: who may
/// not do this is told so (401, 403, or 404 for a project they cannot see)
/// before the body is read or parsed.
#[derive(Debug)]
pub struct Access<N>(pub ProjectAccess, pub std::marker::PhantomData<N>);

impl<N: Needs> FromRequestParts<AppState> for Access<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Access<N>> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no project in this path"))?;
        let slug = params
            .iter()
            .find(|(k, _)| *k == "project")
            .map(|(_, v)| v.to_owned())
            .ok_or_else(|| ApiError::not_found("no project in this path"))?;
        let access = project_access(state, &principal, &slug, N::PERMISSION).await?;
        Ok(Access(access, std::marker::PhantomData))
    }
}

/// A caller who may act beyond one project: a session or an instance
/// token, never a project token. Checked before the body is read.
#[derive(Debug)]
pub struct InstanceWide(pub Principal);

impl FromRequestParts<AppState> for InstanceWide {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<InstanceWide> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require_instance_wide()?;
        Ok(InstanceWide(principal))
    }
}

/// An instance administrator acting with full rights: a session, or an
/// instance token with the `admin` scope. Checked before the body is read.
#[derive(Debug)]
pub struct InstanceAdmin(pub Principal);

impl FromRequestParts<AppState> for InstanceAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<InstanceAdmin> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require_instance_wide()?;
        if !principal.user.is_admin {
            return Err(ApiError::forbidden(
                "only instance administrators may do this",
            ));
        }
        if principal
            .scopes()
            .is_some_and(|s| !s.contains(liveops_core::Scope::Admin))
        {
            return Err(ApiError::forbidden(
                "this API token lacks the `admin` scope",
            ));
        }
        Ok(InstanceAdmin(principal))
    }
}

//! Who is calling: a browser session or an API token, and what they may do in a project.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use liveops_core::access::authorize;
use liveops_core::{Permission, Role, Scopes};
use liveops_store::StoreError;
use liveops_store::access::{ApiToken, User};
use liveops_store::audit::{Actor, ActorKind};
use liveops_store::projects::Project;

use super::{CSRF_HEADER, SESSION_COOKIE, keys};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, now_ms};

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session; writes must echo its CSRF token.
    Session { csrf: String },
    /// An API token, bound to one project and limited by its scopes.
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

    /// The project a token is bound to; `None` for sessions.
    pub fn token_project(&self) -> Option<&str> {
        match &self.via {
            Via::Token(t) => Some(&t.project_id),
            Via::Session { .. } => None,
        }
    }
}

pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
}

impl Principal {
    /// The holder of an API token, if the token is live.
    pub async fn from_token(
        state: &AppState,
        token: &str,
        ip: Option<String>,
    ) -> ApiResult<Principal> {
        let now = now_ms();
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

/// A caller of a calendar feed: as for any API call, or with the API token
/// in the `token` query parameter, because calendar apps subscribe to a URL
/// and cannot send headers. Use a read-only token for feeds.
#[derive(Debug)]
pub struct FeedPrincipal(pub Principal);

impl FromRequestParts<AppState> for FeedPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<FeedPrincipal> {
        let token = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        match token {
            Some(t)
                if !parts
                    .headers
                    .contains_key(axum::http::header::AUTHORIZATION) =>
            {
                Principal::from_token(state, t.trim(), client_ip(parts))
                    .await
                    .map(FeedPrincipal)
            }
            _ => Principal::from_request_parts(parts, state)
                .await
                .map(FeedPrincipal),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Principal> {
        let ip = client_ip(parts);
        let now = now_ms();
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
            if sent != session.csrf_token {
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

//! Personal API tokens: listed, created (the secret shown once) and revoked.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::access::authorize;
use liveops_core::{Permission, Scopes, TimeSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access;
use crate::auth::{Access, InstanceWide, Principal, ProjectAccess, Via, need};
use crate::contract::access::TokenView;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;

/// Whether the caller may see and revoke everybody's tokens in the project.
fn manages_all(access: &ProjectAccess) -> bool {
    authorize(
        access.role,
        access.principal.scopes(),
        Permission::Administer,
    )
    .is_ok()
}

/// Tokens in the project: all of them for admins, one's own otherwise.
#[utoipa::path(get, path = "/api/v1/projects/{project}/tokens", tag = "access",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Tokens, newest first", body = Vec<TokenView>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<TokenView>>> {
    let principal = &access.principal;
    let only = (!manages_all(&access)).then_some(principal.user.id.as_str());
    let tokens = state.db.tokens(&access.project.id, only).await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, e.g. `ci deploys`.
    pub name: String,
    /// Any of `read`, `write`, `admin`.
    pub scopes: Vec<String>,
    /// Lifetime such as `30d`, `12h` or `2w`; at most ten years. Defaults to `90d`.
    pub expires_in: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// The secret to send as `Authorization: Bearer …`. Shown only in this answer.
    pub secret: String,
}

/// Creates a token for the caller in this project. A token can only make
/// tokens with no more scopes and no longer life than itself.
#[utoipa::path(post, path = "/api/v1/projects/{project}/tokens", tag = "access",
    params(("project" = String, Path, description = "Project slug")),
    request_body = NewToken,
    responses((status = 201, description = "The token and its secret", body = CreatedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    Json<CreatedToken>,
)> {
    let principal = &access.principal;
    let (name, scopes, span) = parse_new_token(&body)?;
    if let Some(extra) = scopes
        .iter()
        .find(|s| !liveops_core::access::role_grants(access.role, *s))
    {
        return Err(ApiError::forbidden(format!(
            "your role `{}` cannot use the `{}` scope",
            access.role,
            extra.as_str()
        )));
    }
    let expires_at = within_parent(principal, &scopes, span, state.now_ms())?;
    let created = access::create_token(
        &state.db,
        &*state.clock,
        &access.actor(),
        access::TokenSpec {
            user: &principal.user,
            project: Some(&access.project),
            name,
            scopes: &scopes,
            expires_at,
        },
    )
    .await?;
    let token = state.db.token(&access.project.id, &created.id).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(CreatedToken {
            token: TokenView::from(&token),
            secret: created.secret,
        }),
    ))
}

/// Answers that carry a new secret must not be kept by any cache.
const NO_STORE: [(axum::http::HeaderName, &str); 1] =
    [(axum::http::header::CACHE_CONTROL, "no-store")];

/// When a new token expires: after `span`, but no later than the token
/// that makes it, which must hold every scope it gives.
fn within_parent(
    principal: &Principal,
    scopes: &Scopes,
    span: TimeSpan,
    now: i64,
) -> ApiResult<i64> {
    let mut expires_at = now.saturating_add(span.millis());
    if let Via::Token(parent) = &principal.via {
        if let Some(extra) = scopes.iter().find(|s| !parent.scopes.contains(*s)) {
            return Err(ApiError::forbidden(format!(
                "a token cannot create a token with the `{}` scope it lacks itself",
                extra.as_str()
            )));
        }
        expires_at = expires_at.min(parent.expires_at);
    }
    Ok(expires_at)
}

/// A new token's name, scopes and lifetime, checked.
fn parse_new_token(body: &NewToken) -> ApiResult<(&str, Scopes, TimeSpan)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "a token name needs 1 to 100 printable characters",
        ));
    }
    let scopes: Scopes = body
        .scopes
        .join(",")
        .parse()
        .map_err(|e: liveops_core::access::ScopesError| ApiError::unprocessable(e.to_string()))?;
    let span: TimeSpan = body
        .expires_in
        .as_deref()
        .unwrap_or("90d")
        .parse()
        .map_err(|e: liveops_core::span::TimeSpanError| ApiError::unprocessable(e.to_string()))?;
    Ok((name, scopes, span))
}

/// Your instance tokens: tokens that act as you in every project you can
/// reach, and on the instance as far as you may.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access",
    responses((status = 200, description = "Your instance tokens, newest first", body = Vec<TokenView>)))]
pub async fn list_instance_tokens(
    State(state): State<AppState>,
    InstanceWide(principal): InstanceWide,
) -> ApiResult<Json<Vec<TokenView>>> {
    let tokens = state.db.instance_tokens(&principal.user.id).await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

/// Creates an instance token for you. Only a session or another instance
/// token may; a token can only make tokens with no more scopes and no
/// longer life than itself.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access",
    request_body = NewToken,
    responses((status = 201, description = "The token and its secret", body = CreatedToken)))]
pub async fn create_instance_token(
    State(state): State<AppState>,
    InstanceWide(principal): InstanceWide,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    Json<CreatedToken>,
)> {
    let (name, scopes, span) = parse_new_token(&body)?;
    let expires_at = within_parent(&principal, &scopes, span, state.now_ms())?;
    let created = access::create_token(
        &state.db,
        &*state.clock,
        &principal.actor(),
        access::TokenSpec {
            user: &principal.user,
            project: None,
            name,
            scopes: &scopes,
            expires_at,
        },
    )
    .await?;
    let token = state
        .db
        .instance_tokens(&principal.user.id)
        .await?
        .into_iter()
        .find(|t| t.id == created.id)
        .ok_or_else(|| ApiError::internal("the new token could not be read back"))?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(CreatedToken {
            token: TokenView::from(&token),
            secret: created.secret,
        }),
    ))
}

/// Revokes one of your instance tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_instance_token(
    State(state): State<AppState>,
    InstanceWide(principal): InstanceWide,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let missing = || ApiError::not_found(format!("no instance token {id} of yours"));
    if !liveops_store::is_id(&id) {
        return Err(missing());
    }
    match access::revoke_instance_token(
        &state.db,
        &*state.clock,
        &principal.actor(),
        &principal.user,
        &id,
    )
    .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(liveops_store::StoreError::NotFound) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// Revokes a token. Anyone may revoke their own; admins anyone's.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/tokens/{id}", tag = "access",
    params(("project" = String, Path, description = "Project slug"),
           ("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let principal = &access.principal;
    if !liveops_store::is_id(&id) {
        return Err(ApiError::not_found(format!(
            "no token {id} in this project"
        )));
    }
    let token = state
        .db
        .token(&access.project.id, &id)
        .await
        .map_err(|_| ApiError::not_found(format!("no token {id} in this project")))?;
    if token.user_id != principal.user.id && !manages_all(&access) {
        return Err(ApiError::forbidden(
            "only project admins may revoke other people's tokens",
        ));
    }
    if token.revoked_at.is_some() {
        return Err(ApiError::conflict("the token is already revoked"));
    }
    access::revoke_token(
        &state.db,
        &*state.clock,
        &access.actor(),
        &access.project,
        &id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

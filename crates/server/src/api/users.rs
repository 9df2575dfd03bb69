//! Instance-wide user management, for instance administrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liveops_core::Email;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access;
use crate::auth::{InstanceAdmin, keys, password};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::{AppState, format_ms};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub is_admin: bool,
    pub created_at: String,
}

impl From<&liveops_store::access::User> for UserView {
    fn from(u: &liveops_store::access::User) -> Self {
        UserView {
            id: u.id.clone(),
            email: u.email.clone(),
            is_admin: u.is_admin,
            created_at: format_ms(u.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    /// At least 10 characters. Leave out to have one generated and returned once.
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    /// The generated password, shown only in this answer.
    pub password: Option<String>,
}

/// All users of this liveops instance.
#[utoipa::path(get, path = "/api/v1/users", tag = "access",
    responses((status = 200, description = "Every user", body = Vec<UserView>)))]
pub async fn list_users(
    State(state): State<AppState>,
    InstanceAdmin(_caller): InstanceAdmin,
) -> ApiResult<Json<Vec<UserView>>> {
    let users = state.db.list_users().await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// Adds a user to this liveops instance.
#[utoipa::path(post, path = "/api/v1/users", tag = "access", request_body = NewUser,
    responses((status = 201, description = "The new user", body = CreatedUser)))]
pub async fn create_user(
    State(state): State<AppState>,
    InstanceAdmin(principal): InstanceAdmin,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    Json<CreatedUser>,
)> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let (plain, generated) = match body.password {
        Some(p) => (p, false),
        None => (keys::generate_password(), true),
    };
    let hash = password::hash(&plain).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let user = access::create_user(
        &state.db,
        &*state.clock,
        &principal.actor(),
        &email,
        &hash,
        body.admin,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(CreatedUser {
            user: UserView::from(&user),
            password: generated.then_some(plain),
        }),
    ))
}

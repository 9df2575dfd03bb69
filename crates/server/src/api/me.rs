//! `GET /api/v1/me`: who the caller is and what they can reach.

use axum::Json;
use axum::extract::State;

use crate::auth::{Principal, Via};
use crate::contract::access::{Me, TokenView};
use crate::error::ApiResult;
use crate::state::{AppState, format_ms};

/// The authenticated caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "access",
    responses((status = 200, description = "The caller", body = Me)))]
pub async fn me(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Me>> {
    let projects = super::projects::visible_projects(&state, &principal).await?;
    let (authenticated_by, token) = match &principal.via {
        Via::Session { .. } => ("session", None),
        Via::Token(t) => ("token", Some(TokenView::from(t.as_ref()))),
    };
    let u = &principal.user;
    Ok(Json(Me {
        id: u.id.clone(),
        email: u.email.clone(),
        is_admin: u.is_admin,
        created_at: format_ms(u.created_at),
        authenticated_by: authenticated_by.into(),
        token,
        projects,
    }))
}

//! The project's audit log, for its admins.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Access, need};
use crate::contract::access::{AuditPage, AuditView};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Return entries older than this entry id (from `next_before`).
    pub before: Option<String>,
    /// At most this many entries, 1 to 500; 100 by default.
    pub limit: Option<i64>,
}

/// A page of the audit log, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/audit", tag = "access",
    params(("project" = String, Path, description = "Project slug"), AuditQuery),
    responses((status = 200, description = "Audit entries", body = AuditPage)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Access(access, _): Access<need::ReadAudit>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    if q.before
        .as_deref()
        .is_some_and(|b| !liveops_store::is_id(b))
    {
        return Err(ApiError::bad_request(
            "before must be an entry id from next_before",
        ));
    }
    let entries = state
        .db
        .audit_log(&access.project.id, q.before.as_deref(), limit)
        .await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id.clone()))
        .flatten();
    Ok(Json(AuditPage {
        entries: entries.iter().map(AuditView::from).collect(),
        next_before,
    }))
}

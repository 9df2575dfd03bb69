//! The project's audit log, for its admins.

use axum::Json;
use axum::extract::State;
use liveops_store::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, need};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    pub at: String,
    /// Who: an e-mail address, or `cli` / `system`.
    pub actor: String,
    /// How they reached liveops: session, token, cli or system.
    pub actor_kind: String,
    /// What happened, e.g. `token.create`.
    pub action: String,
    pub target: Option<String>,
    /// Extra facts about the change.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    /// The client address.
    pub ip: Option<String>,
}

impl From<&AuditEntry> for AuditView {
    fn from(e: &AuditEntry) -> Self {
        AuditView {
            id: e.id.clone(),
            at: format_ms(e.at),
            actor: e.actor.clone(),
            actor_kind: e.actor_kind.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            detail: e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            ip: e.ip.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Return entries older than this entry id (from `next_before`).
    pub before: Option<String>,
    /// At most this many entries, 1 to 500; 100 by default.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<String>,
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

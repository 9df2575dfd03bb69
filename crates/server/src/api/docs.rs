//! The documentation API: architecture decision records imported from a
//! project's repository, and those dated within a release.

use axum::Json;
use axum::extract::State;

use crate::auth::{Access, need};
use crate::contract::docs::{AdrFile, AdrImport, AdrQuery, AdrView, RejectedFile};
use crate::error::{ApiJson, ApiQuery, ApiResult};
use crate::state::AppState;

/// Imports architecture decision records (adr-tools or MADR Markdown).
#[utoipa::path(post, path = "/api/v1/projects/{project}/docs/adrs", tag = "docs",
    params(("project" = String, Path, description = "Project slug")),
    request_body = Vec<AdrFile>,
    responses((status = 200, description = "What was imported", body = AdrImport)))]
pub async fn import_adrs(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(files): ApiJson<Vec<AdrFile>>,
) -> ApiResult<Json<AdrImport>> {
    let files = files.into_iter().map(|f| (f.path, f.text)).collect();
    let done = crate::docs::import_adrs(&state, &access.actor(), &access.project.id, files).await?;
    Ok(Json(AdrImport {
        imported: done.imported,
        skipped: done
            .skipped
            .into_iter()
            .map(|(path, reason)| RejectedFile { path, reason })
            .collect(),
    }))
}

/// Decision records, by number, optionally for one release.
#[utoipa::path(get, path = "/api/v1/projects/{project}/docs/adrs", tag = "docs",
    params(("project" = String, Path, description = "Project slug"), AdrQuery),
    responses((status = 200, description = "Records", body = Vec<AdrView>)))]
pub async fn list_adrs(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(q): ApiQuery<AdrQuery>,
) -> ApiResult<Json<Vec<AdrView>>> {
    let pid = access.project.id.clone();
    let all = state.db.adrs(&pid).await?;
    let all = match q.release.as_deref().filter(|r| !r.is_empty()) {
        Some(v) => {
            let r = crate::releases::find_release(&state, &pid, v).await?;
            crate::docs::adrs_for(&state, &pid, &r, all).await?
        }
        None => all,
    };
    Ok(Json(
        all.into_iter()
            .map(|a| AdrView {
                number: a.number,
                title: a.title,
                status: a.status,
                date: a.decided_on,
                decision: a.decision,
                path: a.path,
            })
            .collect(),
    ))
}

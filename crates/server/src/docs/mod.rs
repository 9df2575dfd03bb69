//! Documentation sync: architecture decision records imported from the
//! repository (adr-tools or MADR Markdown), one change per import.

use liveops_store::audit::Actor;
use liveops_store::releases::{self as store, AdrRow};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// What an import kept, and the files it passed over with why.
#[derive(Debug, Clone, Default)]
pub struct AdrsImported {
    pub imported: usize,
    /// (path, reason).
    pub skipped: Vec<(String, String)>,
}

/// Imports decision records from (path, text) files: those that parse are
/// added or refreshed by number, the rest are skipped with the reason.
pub async fn import_adrs(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    files: Vec<(String, String)>,
) -> ApiResult<AdrsImported> {
    if files.len() > 5000 {
        return Err(ApiError::unprocessable("import at most 5000 files at once"));
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (path, text) in files {
        let name = path.rsplit('/').next().unwrap_or(&path);
        match liveops_core::docs::adr::parse(name, &text) {
            Ok(a) => rows.push(AdrRow {
                number: i64::from(a.number),
                title: a.title.chars().take(300).collect(),
                status: a.status.chars().take(50).collect(),
                decided_on: a.date.map(|d| d.to_string()),
                decision: a.decision.map(|d| d.chars().take(5000).collect()),
                path: path.chars().take(500).collect(),
                imported_at: now,
            }),
            Err(e) => skipped.push((path, e.to_string())),
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = rows.iter().find(|r| !seen.insert(r.number)) {
        return Err(ApiError::unprocessable(format!(
            "two files are decision record {}",
            dup.number
        )));
    }
    store::upsert_adrs(w.conn(), project_id, &rows).await?;
    w.commit(
        Audit::action("docs.adrs.import")
            .detail(json!({ "imported": rows.len(), "skipped": skipped.len() })),
    )
    .await?;
    Ok(AdrsImported {
        imported: rows.len(),
        skipped,
    })
}

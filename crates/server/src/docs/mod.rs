//! Documentation sync: architecture decision records imported from the
//! repository (adr-tools or MADR Markdown), one change per import; the
//! records dated within a release; and the API changes between the OpenAPI
//! documents of two releases.

use liveops_core::docs::api_diff::{self, Change, VersionProblem};
use liveops_store::audit::Actor;
use liveops_store::docs::{self as store, AdrRow};
use liveops_store::releases::ReleaseRow;
use semver::Version;
use serde_json::json;

use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

crate::area_error!(
    /// What went wrong in documentation sync.
    DocsError
);

pub type Result<T, E = DocsError> = std::result::Result<T, E>;

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
) -> Result<AdrsImported> {
    if files.len() > 5000 {
        return Err(DocsError::invalid("import at most 5000 files at once"));
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
        return Err(DocsError::invalid(format!(
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

/// The decision records made while a release was in the making: dated
/// after the release before it shipped, up to its own shipping day (today
/// while unshipped).
pub async fn adrs_for(
    state: &AppState,
    project_id: &str,
    release: &ReleaseRow,
    all: Vec<AdrRow>,
) -> Result<Vec<AdrRow>> {
    let day = |ms: i64| format_ms(ms).chars().take(10).collect::<String>();
    let until = release
        .shipped_at
        .map(day)
        .unwrap_or_else(|| crate::clock::today(state.now_ms()).to_string());
    let this = Version::parse(&release.version).ok();
    let since = state
        .db
        .releases(project_id)
        .await?
        .into_iter()
        .filter(|r| r.id != release.id)
        .filter(|r| match (&this, Version::parse(&r.version).ok()) {
            (Some(t), Some(v)) => v < *t,
            _ => true,
        })
        .filter_map(|r| r.shipped_at)
        .filter(|at| release.shipped_at.is_none_or(|s| *at < s))
        .max()
        .map(day);
    Ok(all
        .into_iter()
        .filter(|a| match &a.decided_on {
            Some(d) => {
                d.as_str() <= until.as_str()
                    && since.as_ref().is_none_or(|s| d.as_str() > s.as_str())
            }
            None => false,
        })
        .collect())
}

/// What changed in a release's API since the release before it.
#[derive(Debug, Clone, Default)]
pub struct ApiChanges {
    /// The version compared with; none when there is nothing to compare.
    pub base: Option<String>,
    pub changes: Vec<Change>,
    /// The version number is too small for what changed.
    pub problem: Option<VersionProblem>,
}

/// The changes between the release's OpenAPI document and the last one
/// before it, by version.
pub async fn api_changes(
    state: &AppState,
    project_id: &str,
    release: &ReleaseRow,
) -> Result<ApiChanges> {
    if !release.has_openapi {
        return Ok(ApiChanges::default());
    }
    let all = state.db.releases(project_id).await?;
    api_changes_among(state, &all, release).await
}

/// [`api_changes`], the release before found among `all` the project's.
async fn api_changes_among(
    state: &AppState,
    all: &[ReleaseRow],
    release: &ReleaseRow,
) -> Result<ApiChanges> {
    if !release.has_openapi {
        return Ok(ApiChanges::default());
    }
    let Ok(this) = Version::parse(&release.version) else {
        return Ok(ApiChanges::default());
    };
    let base = all
        .iter()
        .filter(|r| r.has_openapi)
        .filter_map(|r| Version::parse(&r.version).ok().map(|v| (v, r)))
        .filter(|(v, _)| *v < this)
        .max_by(|a, b| a.0.cmp(&b.0));
    let Some((base_version, base)) = base else {
        return Ok(ApiChanges::default());
    };
    let (Some(old), Some(new)) = (
        state.db.release_openapi(&base.id).await?,
        state.db.release_openapi(&release.id).await?,
    ) else {
        return Ok(ApiChanges::default());
    };
    let parse = |text: &str, v: &str| {
        liveops_wire::openapi::parse(text.as_bytes())
            .map_err(|e| DocsError::internal(format!("release {v}'s stored OpenAPI: {e}")))
    };
    let changes = api_diff::diff(
        &parse(&old, &base.version)?,
        &parse(&new, &release.version)?,
    );
    let problem = api_diff::check_version(&changes, &base_version, &this);
    Ok(ApiChanges {
        base: Some(base.version.clone()),
        changes,
        problem,
    })
}

/// What the documentation page shows: every decision record, and for each
/// release with an OpenAPI document and one before it, the API changes
/// between the two.
pub async fn overview(
    state: &AppState,
    project_id: &str,
) -> Result<(Vec<AdrRow>, Vec<(String, ApiChanges)>)> {
    let adrs = state.db.adrs(project_id).await?;
    let all = state.db.releases(project_id).await?;
    let mut changes = Vec::new();
    for r in &all {
        let c = api_changes_among(state, &all, r).await?;
        if c.base.is_some() {
            changes.push((r.version.clone(), c));
        }
    }
    Ok((adrs, changes))
}

//! Saved insights: a question asked of the analytics, kept under a name in
//! the state store so that anyone in the project can open it again by its
//! link. The question is stored as its request; it is answered afresh, for
//! today, each time it is opened (the adapters answer it through the same
//! code as the API's own endpoint for its kind).

use liveops_core::analytics::insight::{InsightKind, insight_name};
use liveops_store::analytics::insights::{self as store, InsightRow};
use liveops_store::audit::Actor;

use super::{AnalyticsError, Result};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// The longest request an insight may keep, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Saves a question under a name. `query` is its request as JSON, already
/// checked by the caller against its kind.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    name: &str,
    kind: InsightKind,
    query: &serde_json::Value,
) -> Result<InsightRow> {
    let name = insight_name(name).ok_or_else(|| {
        AnalyticsError::invalid(format!(
            "an insight needs a name of 1 to {} printable characters",
            liveops_core::analytics::insight::MAX_NAME
        ))
    })?;
    if !query.is_object() {
        return Err(AnalyticsError::invalid(
            "an insight's query is a JSON object: the request its kind's endpoint takes",
        ));
    }
    let text = query.to_string();
    if text.len() > MAX_QUERY_BYTES {
        return Err(AnalyticsError::invalid(format!(
            "an insight's query holds at most {MAX_QUERY_BYTES} bytes"
        )));
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let row = store::insert_insight(w.conn(), project_id, &name, kind, &text, &actor.name, now)
        .await
        .map_err(|e| match e {
            liveops_store::StoreError::Conflict(_) => {
                AnalyticsError::conflict(format!("there is already an insight `{name}`"))
            }
            e => e.into(),
        })?;
    w.commit(
        Audit::new("analytics.insight.create", &row.name)
            .detail(serde_json::json!({ "id": row.id, "kind": kind.as_str() })),
    )
    .await?;
    Ok(row)
}

/// A saved insight by id or name, or a 404 that names it.
pub async fn find(state: &AppState, project_id: &str, which: &str) -> Result<InsightRow> {
    match state.db.insight(project_id, which.trim()).await {
        Err(liveops_store::StoreError::NotFound) => Err(AnalyticsError::not_found(format!(
            "no insight `{}` in this project",
            which.trim()
        ))),
        other => Ok(other?),
    }
}

/// The project's saved insights, by name.
pub async fn list(state: &AppState, project_id: &str) -> Result<Vec<InsightRow>> {
    Ok(state.db.insights(project_id).await?)
}

/// A saved insight's request, as JSON.
pub fn query_of(row: &InsightRow) -> Result<serde_json::Value> {
    serde_json::from_str(&row.query).map_err(AnalyticsError::internal)
}

/// Removes a saved insight by id or name.
pub async fn delete(state: &AppState, actor: &Actor, project_id: &str, which: &str) -> Result<()> {
    let row = find(state, project_id, which).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_insight(w.conn(), project_id, &row.id).await? {
        return Err(AnalyticsError::not_found(format!("no insight `{which}`")));
    }
    w.commit(
        Audit::new("analytics.insight.delete", &row.name)
            .detail(serde_json::json!({ "id": row.id, "kind": row.kind.as_str() })),
    )
    .await?;
    Ok(())
}

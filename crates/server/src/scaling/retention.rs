//! Retention: how long each project keeps its events, spans, metrics and
//! hourly request rollups, and the housekeeping step that drops what is
//! older (and minute rollups past their fixed window).

use liveops_core::scaling::retention::{self, Kind};
use liveops_store::audit::Actor;

use super::{Result, ScalingError};
use crate::contract::scaling::{RetentionKindView, RetentionView};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// What one project has set, by kind (a kind it has not set is absent).
async fn chosen(state: &AppState, project_id: &str) -> Result<Vec<(Kind, Option<i64>)>> {
    Ok(state
        .db
        .retention_settings(Some(project_id))
        .await?
        .into_iter()
        .filter_map(|(_, kind, days)| Some((kind.parse().ok()?, days)))
        .collect())
}

/// How long the project keeps each kind of telemetry.
pub async fn settings(state: &AppState, project_id: &str) -> Result<RetentionView> {
    let chosen = chosen(state, project_id).await?;
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| {
            let set = chosen.iter().find(|(k, _)| *k == kind);
            RetentionKindView {
                kind: kind.as_str().into(),
                days: set.map_or(kind.default_days(), |(_, d)| *d),
                default_days: kind.default_days(),
                set: set.is_some(),
            }
        })
        .collect();
    Ok(RetentionView { kinds })
}

/// Sets how long the project keeps `kind` (`None`: everything); older data
/// goes at the next housekeeping round.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    kind: Kind,
    days: Option<i64>,
) -> Result<RetentionView> {
    let days = retention::days(days).map_err(|e| ScalingError::invalid(e.to_string()))?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    liveops_store::scaling::set_retention(w.conn(), project_id, kind.as_str(), days, now).await?;
    w.commit(
        Audit::new("retention.set", kind.as_str())
            .detail(serde_json::json!({ "kind": kind.as_str(), "days": days })),
    )
    .await?;
    settings(state, project_id).await
}

/// Every limited retention in force: (project id, kind, days), defaults
/// included.
async fn in_force(state: &AppState) -> Result<Vec<(String, Kind, i64)>> {
    let mut out = Vec::new();
    let set = state.db.retention_settings(None).await?;
    for project in state.db.all_projects().await? {
        for kind in Kind::ALL {
            let days = set
                .iter()
                .find(|(p, k, _)| *p == project.id && k == kind.as_str())
                .map_or(kind.default_days(), |(_, _, d)| *d);
            if let Some(days) = days {
                out.push((project.id.clone(), kind, days));
            }
        }
    }
    Ok(out)
}

/// Drops every project's telemetry past its retention; returns how many
/// rows went. The deletes run on the telemetry store's own connections,
/// so ingest carries on.
pub async fn enforce(state: &AppState) -> Result<u64> {
    let mut dropped = 0;
    for (project, kind, days) in in_force(state).await? {
        let cutoff_ms = retention::cutoff_ms(state.now_ms(), days);
        let cutoff_ns = cutoff_ms.saturating_mul(1_000_000);
        let t = state.telemetry.clone();
        let n = tokio::task::spawn_blocking(move || match kind {
            // Raw error events follow the events' retention; their issues stay.
            Kind::Events => Ok(t.analytics().drop_before(&project, cutoff_ms)?
                + t.errors().drop_before(&project, cutoff_ms)?),
            Kind::Spans => t.performance().drop_spans_before(&project, cutoff_ns),
            Kind::Metrics => t.performance().drop_metrics_before(&project, cutoff_ns),
            Kind::Rollups => t.performance().drop_rollups_before(&project, cutoff_ns),
        })
        .await
        .map_err(ScalingError::internal)??;
        if n > 0 {
            tracing::info!(
                kind = kind.as_str(),
                rows = n,
                "dropped telemetry past its retention"
            );
        }
        dropped += n;
    }
    // Minute rollups are kept a fixed window, whatever the hourly ones do.
    let minutes_from_ns = retention::cutoff_ms(state.now_ms(), retention::MINUTE_ROLLUP_DAYS)
        .saturating_mul(1_000_000);
    for project in state.db.all_projects().await? {
        let t = state.telemetry.clone();
        dropped += tokio::task::spawn_blocking(move || {
            t.performance()
                .keep_minutes_from(&project.id, minutes_from_ns)
        })
        .await
        .map_err(ScalingError::internal)??;
    }
    Ok(dropped)
}

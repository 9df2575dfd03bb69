//! What the team sets to watch: alert rules and SLOs, and the status of
//! the scan's findings. Each change is one unit of work with its audit
//! entry; the default integration a rule or SLO files into is made in the
//! same transaction when the project has none.

use liveops_core::performance::rule::{Comparator, Watched};
use liveops_core::support::incident::Severity;
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::performance::{self as store, FindingRow, FindingStatus, RuleRow, SloRow};
use serde_json::json;

use super::{PerformanceError, Result};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// A new alert rule, parsed.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub name: String,
    pub metric: Watched,
    pub comparator: Comparator,
    pub threshold: f64,
    pub for_secs: i64,
    pub window_secs: i64,
    pub service: String,
    pub route: String,
    pub severity: Severity,
    /// The integration whose policy pages, by name; the default one when `None`.
    pub integration: Option<String>,
}

/// A new SLO, parsed.
#[derive(Debug, Clone)]
pub struct NewSlo {
    pub name: String,
    /// availability or latency.
    pub kind: String,
    pub objective: f64,
    pub latency_ms: Option<f64>,
    pub period_days: i64,
    pub service: String,
    pub route: String,
    pub integration: Option<String>,
}

fn named(what: &'static str) -> impl Fn(StoreError) -> PerformanceError {
    move |e| match e {
        StoreError::Conflict(_) => PerformanceError::conflict(format!("{what} already exists")),
        other => other.into(),
    }
}

pub async fn create_rule(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    r: &NewRule,
) -> Result<RuleRow> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let integration =
        super::alerts::integration_in(w.conn(), project_id, r.integration.as_deref(), now).await?;
    let row = store::insert_rule(
        w.conn(),
        project_id,
        &store::NewRule {
            name: &r.name,
            metric: &r.metric.as_string(),
            comparator: r.comparator.as_str(),
            threshold: r.threshold,
            for_secs: r.for_secs,
            window_secs: r.window_secs,
            service: &r.service,
            route: &r.route,
            severity: r.severity.as_str(),
            integration_id: &integration.id,
        },
        now,
    )
    .await
    .map_err(named("a rule with this name"))?;
    w.commit(
        Audit::new("performance.rule.create", &row.name).detail(json!({
            "metric": row.metric, "comparator": row.comparator, "threshold": row.threshold,
        })),
    )
    .await?;
    Ok(row)
}

pub async fn delete_rule(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    id: &str,
) -> Result<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_rule(w.conn(), project_id, id).await? {
        return Err(PerformanceError::not_found("no such rule"));
    }
    w.commit(Audit::new("performance.rule.delete", id)).await?;
    Ok(())
}

pub async fn create_slo(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    s: &NewSlo,
) -> Result<SloRow> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let integration =
        super::alerts::integration_in(w.conn(), project_id, s.integration.as_deref(), now).await?;
    let row = store::insert_slo(
        w.conn(),
        project_id,
        &store::NewSlo {
            name: &s.name,
            kind: &s.kind,
            objective: s.objective,
            latency_ms: s.latency_ms,
            period_days: s.period_days,
            service: &s.service,
            route: &s.route,
            integration_id: &integration.id,
        },
        now,
    )
    .await
    .map_err(named("an SLO with this name"))?;
    w.commit(
        Audit::new("performance.slo.create", &row.name).detail(json!({
            "kind": row.kind, "objective": row.objective, "period_days": row.period_days,
        })),
    )
    .await?;
    Ok(row)
}

pub async fn delete_slo(state: &AppState, actor: &Actor, project_id: &str, id: &str) -> Result<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_slo(w.conn(), project_id, id).await? {
        return Err(PerformanceError::not_found("no such SLO"));
    }
    w.commit(Audit::new("performance.slo.delete", id)).await?;
    Ok(())
}

/// Resolves, ignores or reopens a finding.
pub async fn set_finding_status(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    id: &str,
    status: FindingStatus,
) -> Result<FindingRow> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let row = match store::set_finding_status(w.conn(), project_id, id, status).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(super::queries::no_finding()),
        Err(e) => return Err(e.into()),
    };
    w.commit(
        Audit::new("performance.finding.status", id).detail(json!({ "status": status.as_str() })),
    )
    .await?;
    Ok(row)
}

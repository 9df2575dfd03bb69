//! Funnels as the API asks them, with the revenue of the persons who
//! converted when asked; and key funnels: the conversions the team
//! watches, which the release, incident and weekly reviews report on.

use liveops_store::StoreError;
use liveops_store::analytics::{self as store, KeyFunnel};
use liveops_store::audit::Actor;
use serde_json::json;

use crate::analytics::{AnalyticsError, Result};
use crate::state::AppState;
use crate::work::{Audit, Work};
use liveops_core::analytics::Interval;
use liveops_core::analytics::revenue as core_revenue;
use liveops_telemetry::analytics::{FunnelAnswer, FunnelQuery};

/// What a funnel's converted persons paid over its range.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelRevenue {
    pub currency: String,
    pub revenue: f64,
    pub converted: u64,
    pub per_converted: Option<f64>,
    pub unconverted: u64,
}

/// Runs a funnel; with `q.converted`, also sums what the persons who
/// completed it paid in its range.
/// With cohorts, the funnel keeps to the filter's persons, and a breakdown
/// by cohorts gives each cohort's steps (in place of a property breakdown).
pub async fn run(
    state: &AppState,
    project_id: &str,
    mut q: FunnelQuery,
    cohorts: &super::cohorts::CohortChoice,
) -> Result<(FunnelAnswer, Option<FunnelRevenue>)> {
    if q.breakdown.is_some() && !cohorts.breakdown.is_empty() {
        return Err(AnalyticsError::invalid(
            "a funnel breaks down by a property or by cohorts, not both",
        ));
    }
    let chosen = super::cohorts::resolve_choice(state, project_id, cohorts).await?;
    q.persons = chosen.filter;
    let mut by_cohort = Vec::new();
    for (label, persons) in chosen.breakdown {
        let mut each = q.clone();
        each.persons = Some(persons);
        each.converted = false;
        each.dropoff_after = None;
        let id = project_id.to_owned();
        let got = super::telemetry(state, move |a| a.funnel(&id, &each)).await?;
        by_cohort.push((label, got.steps));
    }
    let (with_revenue, from, to) = (q.converted, q.from_ms, q.to_ms);
    let id = project_id.to_owned();
    let mut answer = super::telemetry(state, move |a| a.funnel(&id, &q)).await?;
    if !by_cohort.is_empty() {
        answer.breakdown = by_cohort;
    }
    if !with_revenue {
        return Ok((answer, None));
    }
    let converted_ids: std::collections::HashSet<String> =
        std::mem::take(&mut answer.converted).into_iter().collect();
    let converted = answer.steps.last().map_or(0, |s| s.count);
    let (payments, money) = super::revenue::payments(state, project_id, from, to).await?;
    let theirs: Vec<core_revenue::Payment> = payments
        .into_iter()
        .filter(|(did, _)| converted_ids.contains(did))
        .map(|(_, p)| p)
        .collect();
    let r = core_revenue::revenue(&theirs, &money.rates, Interval::Day, from, to);
    Ok((
        answer,
        Some(FunnelRevenue {
            currency: r.base.to_string(),
            per_converted: (converted > 0).then(|| r.revenue / converted as f64),
            revenue: r.revenue,
            converted,
            unconverted: r.unconverted.values().sum(),
        }),
    ))
}

/// Starts watching a funnel; its `created_at` is the change's instant.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    mut f: KeyFunnel,
) -> Result<KeyFunnel> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    f.created_at = w.now();
    store::insert_key_funnel(w.conn(), project_id, &f)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AnalyticsError::conflict(format!("there is already a key funnel `{}`", f.name))
            }
            e => e.into(),
        })?;
    w.commit(
        Audit::new("analytics.key_funnel.create", &f.name)
            .detail(json!({ "steps": f.steps.len(), "window_ms": f.window_ms })),
    )
    .await?;
    Ok(f)
}

/// Stops watching a funnel.
pub async fn delete(state: &AppState, actor: &Actor, project_id: &str, name: &str) -> Result<()> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    if !store::delete_key_funnel(w.conn(), project_id, name).await? {
        return Err(AnalyticsError::not_found(format!("no key funnel `{name}`")));
    }
    w.commit(Audit::new("analytics.key_funnel.delete", name))
        .await?;
    Ok(())
}

/// A key funnel's conversion over `[from, to)`, first step to last, to
/// four places; `None` when nobody entered it.
/// A key funnel's conversion over `[from_ms, to_ms)`, to four places;
/// `None` when nobody entered it.
pub fn conversion(
    a: &dyn liveops_telemetry::Analytics,
    project_id: &str,
    f: &KeyFunnel,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<f64>, liveops_telemetry::TelemetryError> {
    let q = liveops_telemetry::analytics::FunnelQuery {
        persons: None,
        steps: f.steps.clone(),
        window_ms: f.window_ms,
        order: liveops_core::analytics::funnel::FunnelOrder::Ordered,
        exclusions: Vec::new(),
        from_ms,
        to_ms,
        breakdown: None,
        dropoff_after: None,
        converted: false,
    };
    let answer = a.funnel(project_id, &q)?;
    Ok(answer
        .steps
        .last()
        .filter(|_| answer.steps.first().is_some_and(|s| s.count > 0))
        .map(|s| (s.conversion * 10_000.0).round() / 10_000.0))
}

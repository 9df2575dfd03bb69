//! Alert rules and SLOs, evaluated by the background job: each files its
//! alerts into an integration, so an incident opens (deduplicated by the
//! rule or SLO) through the production-support alert path and resolves
//! when the condition clears.

use liveops_core::performance::Rollup;
use liveops_core::performance::rule::{
    self, Comparator, Condition, RuleState, Transition, Watched,
};
use liveops_core::performance::slo::{self, BurnWindow, Urgency};
use liveops_core::support::alert::{Alert, AlertGroup};
use liveops_core::support::incident::Severity;
use liveops_store::performance::{RuleRow, SloRow};
use liveops_store::support::intake::{Integration, IntegrationKind, NewIntegration};
use liveops_telemetry::performance::RouteQuery;

use crate::auth::keys;
use crate::state::AppState;
use crate::support::service;

const NS_PER_MS: i64 = 1_000_000;
/// The integration rules and SLOs use unless told otherwise.
pub const DEFAULT_INTEGRATION: &str = "liveops performance";

/// The integration named `name`, or the project's default one for
/// performance alerts (made on first use: generic, SEV3, auto-resolving).
/// The integration a rule or SLO files into: the one named, or the
/// project's default one, made within the caller's transaction when it is
/// missing.
pub async fn integration_in(
    conn: &mut sqlx::AnyConnection,
    project_id: &str,
    name: Option<&str>,
    now: i64,
) -> super::Result<Integration> {
    let all = liveops_store::support::intake::integrations_in(conn, project_id).await?;
    let wanted = name.unwrap_or(DEFAULT_INTEGRATION);
    if let Some(i) = all.into_iter().find(|i| i.name == wanted) {
        return Ok(i);
    }
    if name.is_some() {
        return Err(super::PerformanceError::invalid(format!(
            "the project has no integration named `{wanted}`"
        )));
    }
    let secret = format!("lo_alert_{}", keys::random_string(40));
    Ok(liveops_store::support::intake::insert_integration(
        conn,
        &NewIntegration {
            project_id,
            name: DEFAULT_INTEGRATION,
            kind: IntegrationKind::Generic,
            secret_hash: &keys::hash(&secret),
            secret_sealed: None,
            policy_id: None,
            component_id: None,
            default_severity: Severity::Sev3,
            auto_resolve: true,
        },
        now,
    )
    .await?)
}

fn blank(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// The requests of the last `secs`; none (so no figures, never made-up
/// ones) when the store cannot be read, which is logged.
fn merged(
    state: &AppState,
    project: &str,
    service: &str,
    route: &str,
    secs: i64,
    now_ms: i64,
) -> Rollup {
    state
        .telemetry
        .performance()
        .merged(
            project,
            &RouteQuery {
                from_ns: (now_ms - secs * 1000) * NS_PER_MS,
                to_ns: now_ms * NS_PER_MS,
                service: blank(service),
                route: blank(route),
                version: None,
            },
        )
        .unwrap_or_else(|e| {
            tracing::warn!(project, service, route, error = %e, "could not read request rollups");
            Rollup::default()
        })
}

/// Where a rule's stored state says it stands.
fn stored_state(r: &RuleRow) -> RuleState {
    match (r.state.as_str(), r.pending_since) {
        ("firing", _) => RuleState::Firing,
        ("pending", Some(since_ms)) => RuleState::Pending { since_ms },
        _ => RuleState::Ok,
    }
}

/// What a rule watches and its condition, or why the stored rule cannot
/// be read.
pub fn condition(r: &RuleRow) -> Result<(Watched, Condition), String> {
    let watched = r.metric.parse::<Watched>().map_err(|e| e.to_string())?;
    let comparator = r
        .comparator
        .parse::<Comparator>()
        .map_err(|e| e.to_string())?;
    Ok((
        watched,
        Condition {
            comparator,
            threshold: r.threshold,
            for_ms: r.for_secs.saturating_mul(1000),
        },
    ))
}

/// What the rule watches, now, over its window.
pub fn rule_value(state: &AppState, r: &RuleRow, w: &Watched, now_ms: i64) -> Option<f64> {
    match w {
        Watched::Request(m) => {
            let rollup = merged(
                state,
                &r.project_id,
                &r.service,
                &r.route,
                r.window_secs,
                now_ms,
            );
            m.value(&rollup, r.window_secs as f64 / 60.0)
        }
        Watched::Otel(name) => state
            .telemetry
            .performance()
            .metric_value(
                &r.project_id,
                name,
                blank(&r.service).as_deref(),
                (now_ms - r.window_secs * 1000) * NS_PER_MS,
                now_ms * NS_PER_MS,
            )
            .unwrap_or_else(|e| {
                tracing::warn!(rule = %r.name, error = %e, "could not read the rule's metric");
                None
            }),
    }
}

async fn file(
    state: &AppState,
    project_id: &str,
    integration_id: &str,
    group: AlertGroup,
) -> anyhow::Result<()> {
    let Some(integration) = state
        .db
        .integrations(project_id)
        .await?
        .into_iter()
        .find(|i| i.id == integration_id)
    else {
        anyhow::bail!("integration {integration_id} is gone");
    };
    service::ingest_alerts(state, &integration, &group).await?;
    Ok(())
}

/// Evaluates every rule and SLO at `now_ms`; returns how many alerts were
/// filed (fired or resolved).
pub async fn evaluate(state: &AppState, now_ms: i64) -> anyhow::Result<usize> {
    let mut filed = 0;
    for r in state.db.rules(None).await? {
        let (watched, c) = match condition(&r) {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(rule = %r.name, %why, "skipping an unreadable rule");
                continue;
            }
        };
        let value = {
            let (s, r2) = (state.clone(), r.clone());
            tokio::task::spawn_blocking(move || rule_value(&s, &r2, &watched, now_ms)).await?
        };
        let (next, t) = rule::step(&c, stored_state(&r), value, now_ms);
        let since = match next {
            RuleState::Pending { since_ms } => Some(since_ms),
            _ => None,
        };
        state
            .db
            .set_rule_state(&r.id, next.as_str(), since, value, now_ms)
            .await?;
        if t == Transition::None {
            continue;
        }
        let scope = match (r.service.as_str(), r.route.as_str()) {
            ("", "") => "every route".to_owned(),
            (s, "") => format!("service {s}"),
            (_, route) => route.to_owned(),
        };
        let summary = format!(
            "{} is {} on {scope} over the last {} s (alert when {} {})",
            r.metric,
            value.map_or("no data".to_owned(), |v| format!("{v:.3}")),
            r.window_secs,
            r.comparator,
            r.threshold
        );
        let group = AlertGroup {
            key: format!("performance-rule:{}", r.id),
            title: format!("{}: {} {} {}", r.name, r.metric, r.comparator, r.threshold),
            alerts: vec![Alert {
                fingerprint: r.id.clone(),
                firing: t == Transition::Fire,
                summary,
                severity: r.severity.parse().ok(),
                labels: vec![
                    ("rule".into(), r.name.clone()),
                    ("metric".into(), r.metric.clone()),
                ],
                starts_at: None,
            }],
        };
        file(state, &r.project_id, &r.integration_id, group).await?;
        filed += 1;
    }
    for s in state.db.slos(None).await? {
        let burning = {
            let (st, s2) = (state.clone(), s.clone());
            tokio::task::spawn_blocking(move || slo_status(&st, &s2, now_ms).burning).await?
        };
        let next = burning.map_or("ok", |(u, _)| u.as_str());
        if next == s.state {
            continue;
        }
        state.db.set_slo_state(&s.id, next, now_ms).await?;
        let firing = burning.is_some();
        if !firing && s.state == "ok" {
            continue;
        }
        let summary = match burning {
            Some((u, w)) => format!(
                "the error budget burns faster than {:.1}× over both {} s and {} s ({})",
                w.threshold,
                w.long_secs,
                w.short_secs,
                u.as_str()
            ),
            None => "the burn rate is back under every threshold".to_owned(),
        };
        let severity = match burning.map(|b| b.0) {
            Some(Urgency::Page) => Severity::Sev2,
            _ => Severity::Sev4,
        };
        let group = AlertGroup {
            key: format!("slo:{}", s.id),
            title: format!("SLO {} is burning its error budget", s.name),
            alerts: vec![Alert {
                fingerprint: s.id.clone(),
                firing,
                summary,
                severity: Some(severity),
                labels: vec![("slo".into(), s.name.clone())],
                starts_at: None,
            }],
        };
        file(state, &s.project_id, &s.integration_id, group).await?;
        filed += 1;
    }
    Ok(filed)
}

/// An SLO's standing at `now_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct SloStatus {
    pub good: u64,
    pub total: u64,
    /// Over the SLO's period: the share of good requests.
    pub attainment: Option<f64>,
    /// The share of the period's error budget left (negative when spent).
    pub budget_remaining: f64,
    /// Burn rate over each window of the alerting table: (window, rate).
    pub burn_rates: Vec<(i64, f64)>,
    pub burning: Option<(Urgency, BurnWindow)>,
}

pub(crate) fn bad_total(s: &SloRow, r: &Rollup) -> (u64, u64) {
    let bad = match (s.kind.as_str(), s.latency_ms) {
        ("latency", Some(ms)) => (r.latency.share_above(ms) * r.requests as f64).round() as u64,
        _ => r.errors,
    };
    (bad.min(r.requests), r.requests)
}

pub fn slo_status(state: &AppState, s: &SloRow, now_ms: i64) -> SloStatus {
    let period_secs = s.period_days.saturating_mul(86_400);
    let windows = slo::burn_windows(period_secs);
    let mut rates: Vec<(i64, f64)> = Vec::new();
    let mut rate = |secs: i64| {
        if let Some((_, r)) = rates.iter().find(|(w, _)| *w == secs) {
            return *r;
        }
        let rollup = merged(state, &s.project_id, &s.service, &s.route, secs, now_ms);
        let (bad, total) = bad_total(s, &rollup);
        let r = slo::burn_rate(bad, total, s.objective);
        rates.push((secs, r));
        r
    };
    let burning = slo::evaluate(&windows, &mut rate);
    for w in &windows {
        rate(w.long_secs);
        rate(w.short_secs);
    }
    let whole = merged(
        state,
        &s.project_id,
        &s.service,
        &s.route,
        period_secs,
        now_ms,
    );
    let (bad, total) = bad_total(s, &whole);
    rates.sort_by_key(|r| r.0);
    SloStatus {
        good: total - bad,
        total,
        attainment: (total > 0).then(|| (total - bad) as f64 / total as f64),
        budget_remaining: slo::budget_remaining(bad, total, s.objective),
        burn_rates: rates,
        burning,
    }
}

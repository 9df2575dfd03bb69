//! Alerts on saved insights: when an insight's headline number goes above
//! or below a value, or moves by a share against the period before, the
//! people on call in a tier are told through their own notification rules
//! (`support::notice`). An alert fires once when its rule starts to break
//! and is quiet again once it holds; the housekeeping job checks every
//! alert each round (the job answers the insight, this decides and tells).

use liveops_core::analytics::insight::AlertRule;
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::Severity;
use liveops_store::analytics::dashboards::{self as store, AlertRow};
use liveops_store::analytics::insights::InsightRow;
use liveops_store::audit::Actor;
use serde_json::json;

use super::{AnalyticsError, Result};
use crate::state::AppState;
use crate::work::{Audit, Work};

/// An alert as set: its rule, who is told and how urgently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertSpec {
    pub rule: AlertRule,
    pub tier: Tier,
    pub severity: Severity,
}

/// Sets, or with `None` removes, the alert on an insight.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    insight: &str,
    spec: Option<AlertSpec>,
) -> Result<InsightRow> {
    let row = super::insights::find(state, project_id, insight).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    store::put_alert(
        w.conn(),
        project_id,
        &row.id,
        spec.map(|s| (s.rule, s.tier, s.severity)),
    )
    .await?;
    w.commit(
        Audit::new("analytics.insight.alert", &row.name).detail(json!({
            "id": row.id,
            "rule": spec.map(|s| s.rule.describe()),
            "tier": spec.map(|s| s.tier.as_str()),
            "severity": spec.map(|s| s.severity.as_str()),
        })),
    )
    .await?;
    Ok(row)
}

/// What one check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The rule started to break: the on-call people were told.
    Fired,
    /// Still breaking; told before.
    StillFiring,
    /// The rule holds (again).
    Quiet,
}

/// Checks an alert against the insight's headline now (and the period
/// before's, for a change); tells the on-call people when it starts to
/// break. `None` when the insight has no headline number just now.
pub async fn check(
    state: &AppState,
    insight: &InsightRow,
    alert: &AlertRow,
    value: Option<f64>,
    previous: Option<f64>,
) -> Result<Checked> {
    let now = state.now_ms();
    let breached = value.is_some_and(|v| alert.rule.breached(v, previous));
    let outcome = match (breached, alert.firing) {
        (true, false) => Checked::Fired,
        (true, true) => Checked::StillFiring,
        (false, _) => Checked::Quiet,
    };
    if outcome == Checked::Fired {
        let slug = state.db.project_by_id(&alert.project_id).await?.slug;
        let base = state.config.public_base().unwrap_or("");
        let url = format!("{base}/p/{slug}/analytics/insights/{}", insight.id);
        let shown = value.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"));
        let subject = format!(
            "[{}] {}: {shown}, {}",
            alert.severity.as_str().to_uppercase(),
            insight.name,
            alert.rule.describe()
        );
        let text = format!(
            "{subject}\n\nThe insight {} in {slug} is now {shown}{}.\n\n{url}\n",
            insight.name,
            previous.map_or_else(String::new, |p| format!(" (the period before: {p:.2})")),
        );
        let notice = crate::support::notice::Notice {
            subject,
            text,
            url: url.clone(),
            payload: json!({
                "event": "insight.alert",
                "severity": alert.severity.as_str(),
                "insight": {"id": insight.id, "name": insight.name, "kind": insight.kind.as_str()},
                "rule": {"condition": alert.rule.condition(), "value": alert.rule.value()},
                "value": value,
                "previous": previous,
                "url": url,
            }),
        };
        crate::support::notice::tell_on_call(
            state,
            &alert.project_id,
            alert.tier,
            alert.severity,
            &notice,
        )
        .await
        .map_err(AnalyticsError::internal)?;
    }
    let fired_at = match outcome {
        Checked::Fired => Some(now),
        Checked::StillFiring => alert.fired_at,
        Checked::Quiet => None,
    };
    state
        .db
        .record_alert_check(&insight.id, breached, value, now, fired_at)
        .await?;
    Ok(outcome)
}

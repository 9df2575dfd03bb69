//! What error issues tell people. A new issue, a regression or a spike
//! (events in a window, or a share of the route's requests) alerts as the
//! project's error settings say:
//!
//! - through an alert integration, which opens an incident whose
//!   escalation policy pages whoever is on call;
//! - to the on-call people of a tier, each through their own notification
//!   rules (channels, delays and the least severity they want), without an
//!   incident;
//! - or both. The severity comes from the issue's level by the project's
//!   mapping.
//!
//! A regression is also mailed to the person who resolved the issue.
//! Nothing here fails an intake: a failure is logged, and the events stay
//! stored.

use liveops_core::support::alert::{Alert, AlertGroup};
use liveops_core::support::escalation::Tier;
use liveops_core::support::incident::Severity;
use liveops_core::support::issue_alerts;
use liveops_store::support::errors::{ErrorSettings, IssueRow};
use liveops_store::support::intake::Integration;
use liveops_store::support::notify::{self, Channel, NewDelivery};
use liveops_telemetry::performance::RouteQuery;
use serde_json::json;

use super::on_telemetry;
use crate::state::AppState;
use crate::support::service;

/// Why an issue alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    New,
    /// Back after a fix, in this release when one is known.
    Regressed(Option<String>),
    /// Busier than the settings allow: what was seen.
    Spiking(String),
}

impl Why {
    fn word(&self) -> &'static str {
        match self {
            Why::New => "New issue",
            Why::Regressed(_) => "Regressed",
            Why::Spiking(_) => "Spiking",
        }
    }

    fn event(&self) -> &'static str {
        match self {
            Why::New => "error_issue.new",
            Why::Regressed(_) => "error_issue.regressed",
            Why::Spiking(_) => "error_issue.spiking",
        }
    }

    fn title(&self, issue: &IssueRow) -> String {
        let base = format!("{}: #{} {}", self.word(), issue.number, issue.title);
        match self {
            Why::Spiking(detail) => format!("{base} ({detail})"),
            _ => base,
        }
    }
}

/// The alert an integration files for an issue.
fn group(issue: &IssueRow, why: &Why, severity: Option<Severity>) -> AlertGroup {
    let title = why.title(issue);
    let mut labels = vec![
        ("issue".to_owned(), issue.number.to_string()),
        ("level".to_owned(), issue.level.clone()),
    ];
    if let Why::Regressed(Some(r)) = why {
        labels.push(("release".to_owned(), r.clone()));
    }
    AlertGroup {
        key: format!(
            "error-issue:{}:{}",
            issue.id,
            why.word().to_ascii_lowercase()
        ),
        title: title.clone(),
        alerts: vec![Alert {
            fingerprint: issue.id.clone(),
            firing: true,
            summary: title,
            severity,
            labels,
            starts_at: None,
        }],
    }
}

/// Where a project's error alerts go.
struct Route {
    settings: ErrorSettings,
    integration: Option<Integration>,
}

impl Route {
    /// The project's alert routes, if its alerts go anywhere.
    async fn of(state: &AppState, settings: ErrorSettings) -> anyhow::Result<Option<Route>> {
        let integration = match &settings.alert_integration {
            None => None,
            Some(name) => Some(
                state
                    .db
                    .integrations(&settings.project_id)
                    .await?
                    .into_iter()
                    .find(|i| &i.name == name)
                    .ok_or_else(|| {
                        anyhow::anyhow!("the error alert integration `{name}` is gone")
                    })?,
            ),
        };
        if integration.is_none() && settings.notify_tier.is_none() {
            return Ok(None);
        }
        Ok(Some(Route {
            settings,
            integration,
        }))
    }

    /// Raises one alert everywhere it goes.
    async fn raise(&self, state: &AppState, issue: &IssueRow, why: &Why) -> anyhow::Result<()> {
        let severity = self.settings.severities.of(&issue.level);
        if let Some(integration) = &self.integration {
            service::ingest_alerts(state, integration, &group(issue, why, severity)).await?;
        }
        if let Some(tier) = self.settings.notify_tier {
            tell_on_call(state, tier, issue, why, severity.unwrap_or(Severity::Sev3)).await?;
        }
        Ok(())
    }
}

/// Files the alerts a round of intake calls for.
pub async fn after_intake(
    state: &AppState,
    project_id: &str,
    new: &[IssueRow],
    regressed: &[(IssueRow, Option<String>)],
) {
    if new.is_empty() && regressed.is_empty() {
        return;
    }
    if let Err(e) = send(state, project_id, new, regressed).await {
        tracing::warn!(project = project_id, error = %e, "error alerts could not be filed");
    }
}

async fn send(
    state: &AppState,
    project_id: &str,
    new: &[IssueRow],
    regressed: &[(IssueRow, Option<String>)],
) -> anyhow::Result<()> {
    for (issue, release) in regressed {
        tell_resolver(state, issue, release.as_deref()).await?;
    }
    let Some(settings) = state.db.error_settings(project_id).await? else {
        return Ok(());
    };
    let (on_new, on_regression) = (settings.alert_new, settings.alert_regression);
    let Some(route) = Route::of(state, settings).await? else {
        return Ok(());
    };
    if on_new {
        for issue in new {
            route.raise(state, issue, &Why::New).await?;
        }
    }
    if on_regression {
        for (issue, release) in regressed {
            route
                .raise(state, issue, &Why::Regressed(release.clone()))
                .await?;
        }
    }
    Ok(())
}

/// Raises a "Spiking" alert for each unresolved issue busier than its
/// project allows within the spike window: at least the spike count of
/// events, or at least the spike share of its route's requests. Once per
/// window per issue; run by the support job. Returns how many it raised.
pub async fn spikes(state: &AppState) -> crate::support::Result<usize> {
    // Counted over what this node has acknowledged, filed.
    state.errors_intake.caught_up(super::spool::CATCH_UP).await;
    let now = state.now_ms();
    let mut raised = 0;
    for s in state.db.spike_watches().await? {
        let (limit, percent, minutes) = (s.spike_events, s.spike_percent, s.spike_minutes);
        let window = minutes.max(1) * 60_000;
        let project = s.project_id.clone();
        let route = match Route::of(state, s).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(project, error = %e, "spike alerts could not be checked");
                continue;
            }
        };
        for issue in state
            .db
            .spike_candidates(&project, now - window, now - window)
            .await?
        {
            let prints: Vec<String> = state.db.issue_prints(&issue.id).await?;
            let n = on_telemetry(state, {
                let (project, prints) = (project.clone(), prints.clone());
                move |t| t.errors().count_since(&project, &prints, now - window)
            })
            .await?;
            let mut why = None;
            if limit.is_some_and(|l| i64::try_from(n).unwrap_or(i64::MAX) >= l) {
                why = Some(format!("{n} events in {minutes} min"));
            } else if let Some(p) = percent
                && let Some((name, requests)) =
                    route_requests(state, &project, &prints, now - window, now).await?
                && issue_alerts::spikes_on_route(n, requests, p)
            {
                why = Some(format!(
                    "{n} events in {minutes} min, {:.1} % of the {requests} requests to {name}",
                    n as f64 * 100.0 / requests as f64
                ));
            }
            let Some(detail) = why else { continue };
            if let Err(e) = route.raise(state, &issue, &Why::Spiking(detail)).await {
                tracing::warn!(project, error = %e, "a spike alert could not be raised");
                continue;
            }
            let mut tx = state.db.begin().await?;
            liveops_store::support::errors::mark_spike(&mut tx, &issue.id, now).await?;
            tx.commit().await?;
            raised += 1;
        }
    }
    Ok(raised)
}

/// The route the issue's newest event happened on, and the requests it
/// served in `[from_ms, to_ms)`; `None` when the event names no route.
async fn route_requests(
    state: &AppState,
    project: &str,
    prints: &[String],
    from_ms: i64,
    to_ms: i64,
) -> crate::support::Result<Option<(String, u64)>> {
    let latest = on_telemetry(state, {
        let (project, prints) = (project.to_owned(), prints.to_vec());
        move |t| t.errors().latest(&project, &prints, 1)
    })
    .await?;
    let Some(name) = latest
        .first()
        .and_then(|e| liveops_wire::sentry::parse_event(e.payload.as_bytes()).ok())
        .and_then(|e| e.route())
    else {
        return Ok(None);
    };
    let q = RouteQuery {
        from_ns: from_ms.saturating_mul(1_000_000),
        to_ns: to_ms.saturating_mul(1_000_000),
        service: None,
        version: None,
        route: Some(name.clone()),
    };
    let project = project.to_owned();
    let merged = on_telemetry(state, move |t| t.performance().merged(&project, &q)).await?;
    Ok(Some((name, merged.requests)))
}

/// Tells the people on call in `tier` about an issue, each through their
/// own notification rules (see [`crate::support::notice`]).
async fn tell_on_call(
    state: &AppState,
    tier: Tier,
    issue: &IssueRow,
    why: &Why,
    severity: Severity,
) -> anyhow::Result<()> {
    let slug = state.db.project_by_id(&issue.project_id).await?.slug;
    let base = state.config.public_base().unwrap_or("");
    let url = format!("{base}/p/{slug}/support/errors/{}", issue.number);
    let subject = format!(
        "[{}] {}",
        severity.as_str().to_uppercase(),
        why.title(issue)
    );
    let text = format!(
        "{subject}\n\nIssue #{} in {slug}: {}\n{}Level: {}\nEvents: {}\nLast seen: {}\n\n{url}\n",
        issue.number,
        issue.title,
        issue
            .culprit
            .as_deref()
            .map(|c| format!("Culprit: {c}\n"))
            .unwrap_or_default(),
        issue.level,
        issue.times_seen,
        crate::state::format_ms(issue.last_seen),
    );
    let payload = json!({
        "event": why.event(),
        "severity": severity.as_str(),
        "issue": {
            "number": issue.number,
            "title": issue.title,
            "culprit": issue.culprit,
            "level": issue.level,
            "events": issue.times_seen,
            "last_seen": crate::state::format_ms(issue.last_seen),
            "release": match why { Why::Regressed(r) => r.clone(), _ => issue.last_release.clone() },
        },
        "detail": match why { Why::Spiking(d) => Some(d.as_str()), _ => None },
        "url": url,
    });
    crate::support::notice::tell_on_call(
        state,
        &issue.project_id,
        tier,
        severity,
        &crate::support::notice::Notice {
            subject,
            text,
            url,
            payload,
        },
    )
    .await?;
    Ok(())
}

/// Mails the person who resolved a regressed issue.
async fn tell_resolver(
    state: &AppState,
    issue: &IssueRow,
    release: Option<&str>,
) -> anyhow::Result<()> {
    let Some(by) = issue.resolved_by.as_deref().filter(|b| b.contains('@')) else {
        return Ok(());
    };
    let now = state.now_ms();
    let subject = format!("Regressed: #{} {}", issue.number, issue.title);
    let body = format!(
        "Issue #{} ({}) was resolved by you and has been seen again{}.\n\nIt is unresolved again.",
        issue.number,
        issue.title,
        release
            .map(|r| format!(" in release {r}"))
            .unwrap_or_default()
    );
    let mut tx = state.db.begin().await?;
    notify::enqueue(
        &mut tx,
        &NewDelivery {
            project_id: &issue.project_id,
            incident_id: None,
            channel: Channel::Email,
            target: by,
            subject: &subject,
            payload: &body,
            due_at: now,
            signing_key: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

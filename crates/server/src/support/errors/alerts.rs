//! What error issues tell people: a new issue or a regression opens an
//! incident through the alert integration the project chose (so its
//! escalation policy pages whoever is on call), and a regression is also
//! mailed to the person who resolved the issue. Nothing here fails an
//! intake: a failure is logged, and the events stay stored.

use liveops_core::support::alert::{Alert, AlertGroup};
use liveops_core::support::incident::Severity;
use liveops_store::support::errors::IssueRow;
use liveops_store::support::notify::{self, Channel, NewDelivery};

use crate::state::AppState;
use crate::support::service;

/// An issue's level as an incident's severity: fatal errors page as SEV2;
/// the rest take the integration's default.
fn severity(level: &str) -> Option<Severity> {
    (level == "fatal").then_some(Severity::Sev2)
}

fn group(issue: &IssueRow, what: &str, release: Option<&str>) -> AlertGroup {
    let title = format!("{what}: #{} {}", issue.number, issue.title);
    let mut labels = vec![
        ("issue".to_owned(), issue.number.to_string()),
        ("level".to_owned(), issue.level.clone()),
    ];
    if let Some(r) = release {
        labels.push(("release".to_owned(), r.to_owned()));
    }
    AlertGroup {
        key: format!("error-issue:{}:{}", issue.id, what.to_ascii_lowercase()),
        title: title.clone(),
        alerts: vec![Alert {
            fingerprint: issue.id.clone(),
            firing: true,
            summary: title,
            severity: severity(&issue.level),
            labels,
            starts_at: None,
        }],
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
    let Some(name) = &settings.alert_integration else {
        return Ok(());
    };
    let Some(integration) = state
        .db
        .integrations(project_id)
        .await?
        .into_iter()
        .find(|i| &i.name == name)
    else {
        anyhow::bail!("the error alert integration `{name}` is gone");
    };
    if settings.alert_new {
        for issue in new {
            service::ingest_alerts(state, &integration, &group(issue, "New issue", None)).await?;
        }
    }
    if settings.alert_regression {
        for (issue, release) in regressed {
            service::ingest_alerts(
                state,
                &integration,
                &group(issue, "Regressed", release.as_deref()),
            )
            .await?;
        }
    }
    Ok(())
}

/// Files a "Spiking" alert for each unresolved issue with at least the
/// project's spike count of events in its spike window, once per window;
/// run by the support job. Returns how many it filed.
pub async fn spikes(state: &AppState) -> crate::support::Result<usize> {
    let now = state.now_ms();
    let mut filed = 0;
    for s in state.db.spike_watches().await? {
        let (Some(limit), Some(name)) = (s.spike_events, &s.alert_integration) else {
            continue;
        };
        let window = s.spike_minutes.max(1) * 60_000;
        let Some(integration) = state
            .db
            .integrations(&s.project_id)
            .await?
            .into_iter()
            .find(|i| &i.name == name)
        else {
            continue;
        };
        for issue in state
            .db
            .spike_candidates(&s.project_id, now - window, now - window)
            .await?
        {
            let prints: Vec<String> = state.db.issue_prints(&issue.id).await?;
            let t = state.telemetry.clone();
            let project = s.project_id.clone();
            let n = tokio::task::spawn_blocking(move || {
                t.errors().count_since(&project, &prints, now - window)
            })
            .await??;
            if i64::try_from(n).unwrap_or(i64::MAX) < limit {
                continue;
            }
            let mut g = group(&issue, "Spiking", None);
            g.title = format!(
                "Spiking: #{} {} ({n} events in {} min)",
                issue.number, issue.title, s.spike_minutes
            );
            service::ingest_alerts(state, &integration, &g).await?;
            let mut tx = state.db.begin().await?;
            liveops_store::support::errors::mark_spike(&mut tx, &issue.id, now).await?;
            tx.commit().await?;
            filed += 1;
        }
    }
    Ok(filed)
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

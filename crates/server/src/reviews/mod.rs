//! Post-production reviews: postmortems drafted from an incident's data
//! (durations, timeline, suspect deployments, analytics and performance
//! impact), their Markdown export, and reminders for overdue action items.

pub mod launch;
pub mod postmortems;

use liveops_core::reviews::postmortem::{self, Change, Entry, Line};
use liveops_store::StoreError;
use liveops_store::reviews::{Action, Postmortem, Sections};
use liveops_store::support::incidents::IncidentRow;
use liveops_store::support::notify::{Channel, NewDelivery};
use liveops_telemetry::performance::RouteQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

crate::area_error!(
    /// What went wrong in post-production reviews.
    ReviewsError
);

pub type Result<T, E = ReviewsError> = std::result::Result<T, E>;

crate::area_error_from!(crate::analytics::AnalyticsError => ReviewsError);
crate::area_error_from!(crate::support::SupportError => ReviewsError);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
const NS_PER_MS: i64 = 1_000_000;
/// How far before an incident's start a deployment is a suspect.
pub const SUSPECT_WINDOW_MS: i64 = 24 * HOUR_MS;
/// Incidents at these severities get a postmortem drafted on resolution.
pub const DRAFTED_FOR: [&str; 3] = ["sev1", "sev2", "sev3"];
/// Overdue action items are reminded once a day.
const REMIND_EVERY_MS: i64 = DAY_MS;

/// A deployment that went live shortly before the incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SuspectView {
    pub deployment: String,
    pub service: String,
    pub version: String,
    pub deployed_at: String,
    /// How long before the incident started, in seconds.
    pub before_secs: i64,
    /// It changed one of the incident's services.
    pub same_service: bool,
    /// Someone linked it to the incident as its cause.
    pub linked: bool,
}

/// A funnel's conversion during the incident and a week before.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FunnelImpact {
    pub name: String,
    pub conversion: Option<f64>,
    pub conversion_week_before: Option<f64>,
}

/// What the incident did to usage, from analytics.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UsageImpact {
    /// Distinct people active during the incident window.
    pub active_users: u64,
    /// In the same window a week before.
    pub active_users_week_before: u64,
    /// The change, as a fraction (−0.25 is a quarter fewer).
    pub change: Option<f64>,
    pub funnels: Vec<FunnelImpact>,
}

/// An SLO's error budget the incident consumed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BudgetImpact {
    pub slo: String,
    pub objective: f64,
    /// Bad requests in the window.
    pub bad: u64,
    /// The share of the SLO period's budget they used.
    pub consumed: Option<f64>,
}

/// What the incident did to the service, from traces.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PerformanceImpact {
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p95_ms: Option<f64>,
    pub p95_ms_week_before: Option<f64>,
    pub error_rate_week_before: Option<f64>,
    pub budgets: Vec<BudgetImpact>,
}

/// An error issue that was new or spiking during an incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IssueInWindow {
    pub number: i64,
    pub title: String,
    /// Its events in the incident window.
    pub events: u64,
    /// In the same length of time just before.
    pub events_before: u64,
    /// First seen during the incident.
    pub new: bool,
}

/// The figures a postmortem is drafted from, kept with it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Facts {
    pub severity: String,
    pub started_at: String,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    pub time_to_acknowledge_secs: Option<i64>,
    pub time_to_resolve_secs: Option<i64>,
    pub services: Vec<String>,
    /// Deployments in the 24 hours before, most suspect first.
    pub suspects: Vec<SuspectView>,
    pub usage: UsageImpact,
    pub performance: PerformanceImpact,
    /// Error issues new or spiking (three times the events of the time
    /// before, and at least five) in the incident window.
    #[serde(default)]
    pub errors: Vec<IssueInWindow>,
    /// When the figures were read.
    pub drafted_at: String,
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Reads the figures of `incident` from the state and telemetry stores.
pub async fn facts(state: &AppState, incident: &IncidentRow) -> Result<Facts> {
    let project = incident.project_id.clone();
    let start = incident.created_at;
    let end = incident
        .resolved_at
        .unwrap_or_else(|| state.now_ms())
        .max(start + 60_000);
    let d = postmortem::durations(start, incident.acknowledged_at, incident.resolved_at);
    let services = state.db.incident_services(&incident.id).await?;
    let linked: Vec<String> = state
        .db
        .incident_links(&incident.id)
        .await?
        .into_iter()
        .filter(|l| l.kind == "deployment")
        .map(|l| l.target_id)
        .collect();
    let deployments = state
        .db
        .deployments_between(&project, "production", start - SUSPECT_WINDOW_MS, start + 1)
        .await?;
    let changes: Vec<Change> = deployments
        .iter()
        .map(|d| Change {
            service: d.service.clone(),
            at: d.deployed_at,
        })
        .collect();
    let suspects = postmortem::suspects(&changes, start, SUSPECT_WINDOW_MS, &services)
        .into_iter()
        .filter_map(|s| {
            deployments.get(s.index).map(|d| SuspectView {
                deployment: d.id.clone(),
                service: d.service.clone(),
                version: d.version.clone(),
                deployed_at: format_ms(d.deployed_at),
                before_secs: s.before / 1000,
                same_service: s.same_service,
                linked: linked.contains(&d.id),
            })
        })
        .collect();
    let usage = usage_impact(state, &project, start, end).await?;
    let performance = performance_impact(state, &project, &services, start, end).await?;
    let errors = issues_in_window(state, &project, start, end).await?;
    Ok(Facts {
        severity: incident.severity.as_str().into(),
        started_at: format_ms(start),
        acknowledged_at: incident.acknowledged_at.map(format_ms),
        resolved_at: incident.resolved_at.map(format_ms),
        time_to_acknowledge_secs: d.to_acknowledge.map(|m| m / 1000),
        time_to_resolve_secs: d.to_resolve.map(|m| m / 1000),
        services,
        suspects,
        usage,
        performance,
        errors,
        drafted_at: format_ms(state.now_ms()),
    })
}

/// The error issues that were new or spiking in `[start, end)`.
async fn issues_in_window(
    state: &AppState,
    project: &str,
    start: i64,
    end: i64,
) -> Result<Vec<IssueInWindow>> {
    use liveops_store::support::errors::{IssueFilter, IssueOrder};
    let seen = state
        .db
        .issues(
            project,
            &IssueFilter::default(),
            IssueOrder::LastSeen,
            500,
            0,
        )
        .await?;
    let mut out = Vec::new();
    for i in seen
        .into_iter()
        .filter(|i| i.last_seen >= start && i.first_seen < end)
    {
        let prints: Vec<String> = state.db.issue_prints(&i.id).await?;
        let id = project.to_owned();
        let before_start = start - (end - start);
        let t = state.telemetry.clone();
        let (from_start, from_end, from_before) = tokio::task::spawn_blocking(move || {
            let e = t.errors();
            Ok::<_, liveops_telemetry::TelemetryError>((
                e.count_since(&id, &prints, start)?,
                e.count_since(&id, &prints, end)?,
                e.count_since(&id, &prints, before_start)?,
            ))
        })
        .await
        .map_err(ReviewsError::internal)??;
        let events = from_start.saturating_sub(from_end);
        let events_before = from_before.saturating_sub(from_start);
        let new = i.first_seen >= start;
        if new || (events >= 5 && events >= events_before.saturating_mul(3)) {
            out.push(IssueInWindow {
                number: i.number,
                title: i.title,
                events,
                events_before,
                new,
            });
        }
    }
    out.sort_by(|a, b| b.events.cmp(&a.events).then(a.number.cmp(&b.number)));
    Ok(out)
}

async fn usage_impact(
    state: &AppState,
    project: &str,
    start: i64,
    end: i64,
) -> Result<UsageImpact> {
    let funnels = state.db.key_funnels(project).await?;
    let id = project.to_owned();
    let (now, before, conversions) = crate::analytics::telemetry(state, move |a| -> Result<_, _> {
        let active = |from, to| a.features(&id, &[], from, to).map(|r| r.active_users);
        let now = active(start, end)?;
        let before = active(start - WEEK_MS, end - WEEK_MS)?;
        let mut conversions = Vec::new();
        for f in &funnels {
            let conv =
                |from: i64, to: i64| crate::analytics::funnels::conversion(a, &id, f, from, to);
            conversions.push(FunnelImpact {
                name: f.name.clone(),
                conversion: conv(start, end)?,
                conversion_week_before: conv(start - WEEK_MS, end - WEEK_MS)?,
            });
        }
        Ok((now, before, conversions))
    })
    .await?;
    Ok(UsageImpact {
        active_users: now,
        active_users_week_before: before,
        change: postmortem::relative_change(now as f64, before as f64).map(|c| round(c, 4)),
        funnels: conversions,
    })
}

async fn performance_impact(
    state: &AppState,
    project: &str,
    services: &[String],
    start: i64,
    end: i64,
) -> Result<PerformanceImpact> {
    let slos = state.db.slos(Some(project)).await?;
    let perf = state.telemetry.clone();
    let project = project.to_owned();
    let services = services.to_vec();
    tokio::task::spawn_blocking(move || {
        let p = perf.performance();
        let q = |service: Option<&str>, route: Option<&str>, from: i64, to: i64| RouteQuery {
            from_ns: from * NS_PER_MS,
            to_ns: to * NS_PER_MS,
            service: service.map(str::to_owned),
            version: None,
            route: route.map(str::to_owned),
        };
        // One service's traffic when the incident names exactly one.
        let service = match services.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let during = p.merged(&project, &q(service, None, start, end))?;
        let before = p.merged(&project, &q(service, None, start - WEEK_MS, end - WEEK_MS))?;
        let budgets = slos
            .iter()
            .map(
                |s| -> Result<BudgetImpact, liveops_telemetry::TelemetryError> {
                    let blank = |v: &str| (!v.is_empty()).then(|| v.to_owned());
                    let (svc, route) = (blank(&s.service), blank(&s.route));
                    let window =
                        p.merged(&project, &q(svc.as_deref(), route.as_deref(), start, end))?;
                    let period = p.merged(
                        &project,
                        &q(
                            svc.as_deref(),
                            route.as_deref(),
                            end - s.period_days.saturating_mul(DAY_MS),
                            end,
                        ),
                    )?;
                    let (bad, _) = crate::performance::alerts::bad_total(s, &window);
                    Ok(BudgetImpact {
                        slo: s.name.clone(),
                        objective: s.objective,
                        bad,
                        consumed: postmortem::budget_consumed(
                            bad as f64,
                            s.objective,
                            period.requests as f64,
                        )
                        .map(|c| round(c, 4)),
                    })
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        let p95 = |r: &liveops_core::performance::Rollup| {
            r.latency
                .quantile(0.95)
                .filter(|_| r.requests > 0)
                .map(|v| round(v, 1))
        };
        Ok::<_, liveops_telemetry::TelemetryError>(PerformanceImpact {
            requests: during.requests,
            errors: during.errors,
            error_rate: round(during.error_rate(), 4),
            p95_ms: p95(&during),
            p95_ms_week_before: p95(&before),
            error_rate_week_before: (before.requests > 0).then(|| round(before.error_rate(), 4)),
            budgets,
        })
    })
    .await
    .map_err(ReviewsError::internal)?
    .map_err(ReviewsError::internal)
}

fn mins(secs: i64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 2 * 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{:.1} h", secs as f64 / 3600.0)
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// The summary and impact lines a draft starts with, from the figures;
/// the blameless sections are left for people.
pub fn prefilled(incident: &IncidentRow, f: &Facts) -> Sections {
    let mut summary = format!(
        "{} incident #{} \"{}\"",
        incident.severity.as_str().to_uppercase(),
        incident.number,
        incident.title
    );
    if let Some(s) = f.time_to_resolve_secs {
        summary.push_str(&format!(" lasted {}", mins(s)));
    }
    if let Some(s) = f.time_to_acknowledge_secs {
        summary.push_str(&format!("; acknowledged after {}", mins(s)));
    }
    summary.push('.');
    if let Some(s) = f.suspects.first() {
        summary.push_str(&format!(
            " {} {} went live {} before it started.",
            s.service,
            s.version,
            mins(s.before_secs)
        ));
    }
    let mut impact = Vec::new();
    let u = &f.usage;
    match u.change {
        Some(c) => impact.push(format!(
            "- Active users: {} during the incident against {} in the same window a week before ({:+.1} %).",
            u.active_users,
            u.active_users_week_before,
            c * 100.0
        )),
        None => impact.push(format!(
            "- Active users: {} during the incident.",
            u.active_users
        )),
    }
    for fu in &u.funnels {
        if let Some(c) = fu.conversion {
            let before = fu
                .conversion_week_before
                .map(|b| format!(" (a week before: {})", pct(b)))
                .unwrap_or_default();
            impact.push(format!(
                "- Funnel {}: {} converted{before}.",
                fu.name,
                pct(c)
            ));
        }
    }
    let p = &f.performance;
    if p.requests > 0 {
        impact.push(format!(
            "- Requests: {}, errors {} ({}); p95 {}{}.",
            p.requests,
            p.errors,
            pct(p.error_rate),
            p.p95_ms
                .map(|v| format!("{v:.0} ms"))
                .unwrap_or_else(|| "–".into()),
            p.p95_ms_week_before
                .map(|v| format!(" (a week before: {v:.0} ms)"))
                .unwrap_or_default()
        ));
    }
    for b in &p.budgets {
        if let Some(c) = b.consumed {
            impact.push(format!(
                "- SLO {}: {} of the period's error budget consumed ({} bad requests).",
                b.slo,
                pct(c),
                b.bad
            ));
        }
    }
    for e in &f.errors {
        let when = if e.new {
            ", first seen then".to_owned()
        } else {
            format!(" ({} in as long before)", e.events_before)
        };
        impact.push(format!(
            "- Error issue #{} {}: {} events during the incident{when}.",
            e.number, e.title, e.events
        ));
    }
    Sections {
        summary,
        impact: impact.join("\n"),
        ..Sections::default()
    }
}

/// Drafts the postmortem of `incident` from its data.
pub async fn draft_in(
    w: &mut Work,
    state: &AppState,
    incident: &IncidentRow,
) -> Result<Postmortem> {
    let f = facts(state, incident).await?;
    let sections = prefilled(incident, &f);
    let body = serde_json::to_string(&f).map_err(ReviewsError::internal)?;
    let now = w.now();
    liveops_store::reviews::insert_postmortem(
        w.conn(),
        &incident.project_id,
        &incident.id,
        &sections,
        &body,
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict(_) => ReviewsError::conflict(format!(
            "incident #{} already has a postmortem",
            incident.number
        )),
        e => e.into(),
    })
}

/// The stored figures of a postmortem.
pub fn stored_facts(pm: &Postmortem) -> Result<Facts> {
    serde_json::from_str(&pm.facts).map_err(ReviewsError::internal)
}

/// Drafts postmortems for incidents resolved in the last week that lack
/// one; run by the support job.
pub async fn draft_due(state: &AppState) -> anyhow::Result<usize> {
    let due = state
        .db
        .resolved_without_postmortem(state.now_ms() - WEEK_MS, &DRAFTED_FOR)
        .await?;
    let mut drafted = 0;
    for (project, number) in due {
        let incident = state.db.incident_by_number(&project, number).await?;
        let mut w = Work::begin(
            &state.db,
            &*state.clock,
            &liveops_store::audit::Actor::system(),
            Some(&project),
        )
        .await?;
        let made = match draft_in(&mut w, state, &incident).await {
            Ok(pm) => w
                .commit(Audit::new(
                    "postmortem.draft",
                    pm.incident_number.to_string(),
                ))
                .await
                .map_err(ReviewsError::from),
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => drafted += 1,
            // Someone drafted it by hand meanwhile.
            Err(ReviewsError::Conflict(_)) => {}
            Err(e) => anyhow::bail!("drafting the postmortem of #{number}: {e}"),
        }
    }
    Ok(drafted)
}

/// The timeline: the incident's events and its suspect deployments, with
/// people's marks, hidden lines left out unless `with_hidden`.
pub async fn timeline(
    state: &AppState,
    pm: &Postmortem,
    facts: &Facts,
    with_hidden: bool,
) -> Result<Vec<Line>> {
    let mut entries: Vec<Entry> = state
        .db
        .incident_events(&pm.incident_id)
        .await?
        .into_iter()
        .map(|e| Entry {
            key: e.id,
            at: e.at,
            actor: e.actor,
            text: e.body.unwrap_or_default(),
            kind: e.kind,
        })
        .collect();
    for s in &facts.suspects {
        // The stored figures keep times as RFC 3339, which always parses.
        let Ok(at) = s.deployed_at.parse::<jiff::Timestamp>() else {
            continue;
        };
        let at = at.as_millisecond();
        entries.push(Entry {
            key: format!("deploy:{}", s.deployment),
            at,
            actor: "deploy".into(),
            kind: "deployment".into(),
            text: format!("{} {} went live", s.service, s.version),
        });
    }
    let marks = state.db.marks(&pm.id).await?;
    Ok(postmortem::timeline(entries, &marks, with_hidden))
}

/// The postmortem as Markdown, for wikis and repositories.
pub fn markdown(
    pm: &Postmortem,
    f: &Facts,
    lines: &[Line],
    actions: &[Action],
    sign_offs: &[(String, i64)],
) -> String {
    let s = &pm.sections;
    let mut out = format!(
        "# Postmortem: incident #{} — {}\n\n",
        pm.incident_number, pm.incident_title
    );
    out.push_str(&format!(
        "- Status: {}\n- Severity: {}\n- Started: {}\n",
        pm.state, f.severity, f.started_at
    ));
    if let Some(r) = &f.resolved_at {
        out.push_str(&format!("- Resolved: {r}\n"));
    }
    if let Some(t) = f.time_to_acknowledge_secs {
        out.push_str(&format!("- Time to acknowledge: {}\n", mins(t)));
    }
    if let Some(t) = f.time_to_resolve_secs {
        out.push_str(&format!("- Time to resolve: {}\n", mins(t)));
    }
    if !f.services.is_empty() {
        out.push_str(&format!("- Services: {}\n", f.services.join(", ")));
    }
    let section = |out: &mut String, title: &str, body: &str| {
        out.push_str(&format!("\n## {title}\n\n"));
        out.push_str(if body.trim().is_empty() {
            "_Not written yet._"
        } else {
            body.trim()
        });
        out.push('\n');
    };
    section(&mut out, "Summary", &s.summary);
    section(&mut out, "Impact", &s.impact);
    section(&mut out, "Trigger", &s.trigger);
    section(&mut out, "Detection", &s.detection);
    section(&mut out, "Root causes", &s.root_causes);
    section(&mut out, "Resolution", &s.resolution);
    out.push_str("\n## Suspect changes\n\n");
    if f.suspects.is_empty() {
        out.push_str("No deployments in the 24 hours before the incident.\n");
    }
    for d in &f.suspects {
        out.push_str(&format!(
            "- {} {} deployed {} ({} before{}{})\n",
            d.service,
            d.version,
            d.deployed_at,
            mins(d.before_secs),
            if d.same_service { ", same service" } else { "" },
            if d.linked {
                ", linked as the cause"
            } else {
                ""
            }
        ));
    }
    out.push_str("\n## Timeline (UTC)\n\n| Time | Who | What |\n|---|---|---|\n");
    for l in lines {
        let star = if l.mark == Some(postmortem::Mark::Star) {
            "★ "
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | {} | {star}{}{} |\n",
            format_ms(l.entry.at),
            cell(&l.entry.actor),
            cell(&l.entry.kind),
            if l.entry.text.is_empty() {
                String::new()
            } else {
                format!(": {}", cell(&l.entry.text))
            }
        ));
    }
    out.push_str("\n## Lessons learned\n");
    section(&mut out, "What went well", &s.went_well);
    section(&mut out, "What went wrong", &s.went_wrong);
    section(&mut out, "Where we got lucky", &s.got_lucky);
    out.push_str("\n## Action items\n\n");
    if actions.is_empty() {
        out.push_str("None yet.\n");
    } else {
        out.push_str("| Item | Type | Owner | Due | Status |\n|---|---|---|---|---|\n");
        for a in actions {
            out.push_str(&format!(
                "| #{} {} | {} | {} | {} | {} |\n",
                a.item_number,
                cell(&a.title),
                a.kind.as_str(),
                a.owner_email.as_deref().unwrap_or("–"),
                a.due_at
                    .map(|d| format_ms(d)[..10].to_owned())
                    .unwrap_or_else(|| "–".into()),
                a.status
            ));
        }
    }
    if !sign_offs.is_empty() {
        out.push_str("\n## Sign-off\n\n");
        for (who, at) in sign_offs {
            out.push_str(&format!("- {who}, {}\n", format_ms(*at)));
        }
    }
    out
}

/// Keeps a Markdown table cell on one line.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Queues an e-mail to the owner of each overdue action item, once a day,
/// with the note that it went out in the same transaction.
pub async fn remind_overdue(state: &AppState) -> anyhow::Result<usize> {
    let db = &state.db;
    let now = state.now_ms();
    let due = db.overdue_actions(now, REMIND_EVERY_MS).await?;
    let mut sent = 0;
    for o in due {
        let Some(owner) = &o.action.owner_email else {
            continue;
        };
        let due_at = o.action.due_at.map(format_ms).unwrap_or_default();
        let subject = format!(
            "Overdue action item #{}: {}",
            o.action.item_number, o.action.title
        );
        let body = format!(
            "The {} action item #{} \"{}\" from the postmortem of incident #{} was due {due_at} and is still {}.\n",
            o.action.kind.as_str(),
            o.action.item_number,
            o.action.title,
            o.incident_number,
            o.action.status
        );
        let mut tx = db.begin().await?;
        liveops_store::support::notify::enqueue(
            &mut tx,
            &NewDelivery {
                project_id: &o.project_id,
                incident_id: None,
                channel: Channel::Email,
                target: owner,
                subject: &subject,
                payload: &body,
                due_at: now,
                signing_key: None,
            },
            now,
        )
        .await?;
        liveops_store::reviews::mark_reminded(&mut tx, &o.action.id, now).await?;
        tx.commit().await?;
        sent += 1;
    }
    Ok(sent)
}

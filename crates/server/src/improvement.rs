//! The weekly continuous-improvement report: one project's week (Monday
//! 00:00 UTC to the next Monday) in DORA keys, SLO budgets, slow routes,
//! feedback, ticket SLAs, open action items and security SLA breaches;
//! generated on demand or for the last complete week by the housekeeping
//! job, kept as history, and delivered by e-mail or webhook.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use liveops_core::improvement::dora::{
    Change, Deployment, FourKeys, Level, Restore, four_keys, stages,
};
use liveops_store::audit::Actor;
use liveops_store::improvement::save_report;
use liveops_store::support::notify::{self, Channel, NewDelivery};
use liveops_telemetry::performance::RouteQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::contract::reviews::action_view;
use crate::state::{AppState, format_ms};
use crate::work::{Audit, Work};

crate::area_error!(
    /// What went wrong in continuous improvement.
    ImprovementError
);

pub type Result<T, E = ImprovementError> = std::result::Result<T, E>;

const DAY_MS: i64 = 86_400_000;
pub const WEEK_MS: i64 = 7 * DAY_MS;
const NS_PER_MS: i64 = 1_000_000;
/// The earliest week a report may cover (Monday 2000-01-03). Telemetry
/// counts time in nanoseconds, which bounds how far back a range can go.
pub const FIRST_WEEK_MS: i64 = 946_857_600_000;
/// Routes and themes a report lists.
const TOP: usize = 5;
/// Action items a report lists; the counts cover all of them.
const MAX_ACTIONS: usize = 50;

/// The Monday 00:00 UTC that starts the week holding `ms`.
pub fn week_start_of(ms: i64) -> i64 {
    let monday = Timestamp::from_millisecond(ms).ok().and_then(|t| {
        let date = t.to_zoned(TimeZone::UTC).date();
        let back = i64::from(date.weekday().to_monday_zero_offset());
        date.checked_sub(back.days())
            .ok()?
            .to_zoned(TimeZone::UTC)
            .ok()
    });
    match monday {
        Some(z) => z.timestamp().as_millisecond(),
        // Beyond jiff's years -9999 to 9999: UTC days are all 86 400 000 ms
        // long, and 1970-01-05 was a Monday.
        None => (ms - 4 * DAY_MS).div_euclid(WEEK_MS) * WEEK_MS + 4 * DAY_MS,
    }
}

/// The week before the one running now: the last complete week.
pub fn last_complete_week(now: i64) -> i64 {
    week_start_of(now) - WEEK_MS
}

/// A day as `YYYY-MM-DD`, UTC.
pub fn format_day(ms: i64) -> String {
    format_ms(ms).chars().take(10).collect()
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SloLine {
    pub name: String,
    /// availability or latency.
    pub kind: String,
    pub objective: f64,
    pub period_days: i64,
    /// The share of good requests over the SLO's period up to the week's
    /// end; null without traffic.
    pub attainment: Option<f64>,
    /// The share of the period's error budget left (negative when
    /// overspent); null when the objective leaves no budget and it was spent.
    pub budget_remaining: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteLine {
    pub service: String,
    pub route: String,
    pub requests: u64,
    pub error_rate: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PerformanceLine {
    /// The week's slowest routes by 95th percentile, slowest first.
    pub slowest_routes: Vec<RouteLine>,
    pub open_findings: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ThemeLine {
    /// The backlog item the feedback went to.
    pub title: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackLine {
    /// Feedback received this week, spam left out.
    pub received: i64,
    pub previous_week: i64,
    /// `received - previous_week`.
    pub change: i64,
    /// The backlog items this week's feedback went to most.
    pub themes: Vec<ThemeLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentLine {
    pub opened: i64,
    /// SEV1 and SEV2.
    pub major: i64,
}

/// Ticket service levels. A target is met in the week it was reached in
/// time and missed in the week its due time passed unmet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketLine {
    pub opened: i64,
    pub resolved: i64,
    pub resolved_in_time: i64,
    pub resolution_missed: i64,
    /// Met over met and missed; null when no target was decided.
    pub resolution_attainment: Option<f64>,
    pub first_responses: i64,
    pub first_responses_in_time: i64,
    pub first_response_missed: i64,
    pub first_response_attainment: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionItemLine {
    /// The backlog item's number.
    pub item: i64,
    pub title: String,
    /// mitigate, prevent or process.
    pub kind: String,
    pub status: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionLine {
    /// Postmortem action items open at the week's end.
    pub open: usize,
    /// Those past their due date then.
    pub overdue: usize,
    /// The open items, soonest due first (at most 50).
    pub items: Vec<ActionItemLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecurityLine {
    /// Findings open now that were open at the week's end.
    pub open_findings: i64,
    /// Those whose patch SLA breach had been announced by then.
    pub sla_breaches: i64,
    pub opened: i64,
    pub fixed: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewIssueLine {
    pub number: i64,
    pub title: String,
    /// Events so far.
    pub events: i64,
    pub first_seen: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ErrorsLine {
    /// Error issues first seen this week.
    pub new_issues: i64,
    /// Resolved issues that came back this week.
    pub regressed: i64,
    /// The week's new issues with the most events.
    pub top_new: Vec<NewIssueLine>,
}

/// One project's week. Counts of things that happened cover the week;
/// open items are as of `as_of`, the week's end (or when the report was
/// made, for the week still running).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WeeklyReport {
    /// The project's slug.
    pub project: String,
    pub project_name: String,
    /// The Monday the week starts, `YYYY-MM-DD` (UTC).
    pub week: String,
    pub from: String,
    /// End, exclusive: the next Monday.
    pub to: String,
    pub as_of: String,
    /// Whether the week had ended when the report was made.
    pub complete: bool,
    pub generated_at: String,
    /// The DORA four keys over the week, production deployments.
    pub dora: DoraView,
    pub slos: Vec<SloLine>,
    pub performance: PerformanceLine,
    pub feedback: FeedbackLine,
    pub incidents: IncidentLine,
    /// Reports kept before error tracking have none.
    #[serde(default)]
    pub errors: ErrorsLine,
    pub tickets: TicketLine,
    pub actions: ActionLine,
    pub security: SecurityLine,
}

fn share(met: i64, missed: i64) -> Option<f64> {
    (met + missed > 0).then(|| round(met as f64 / (met + missed) as f64, 4))
}

/// Checks that a report can cover the week starting `week_start`: from
/// 2000 on, and started by now.
pub fn check_week(week_start: i64, now: i64) -> Result<()> {
    if week_start < FIRST_WEEK_MS {
        return Err(ImprovementError::invalid(
            "`week` must be in the year 2000 or later",
        ));
    }
    if week_start > now {
        return Err(ImprovementError::invalid(format!(
            "the week of {} has not started yet",
            format_day(week_start)
        )));
    }
    Ok(())
}

/// The report of `project_id` for the week starting `week_start` (a
/// Monday 00:00 UTC that has come).
pub async fn generate(state: &AppState, project_id: &str, week_start: i64) -> Result<WeeklyReport> {
    let now = state.now_ms();
    check_week(week_start, now)?;
    if week_start_of(week_start) != week_start {
        return Err(ImprovementError::invalid(
            "a week starts on a Monday at 00:00 UTC",
        ));
    }
    let project = state.db.project_by_id(project_id).await?;
    let from = week_start;
    let to = from + WEEK_MS;
    // For the week still running, figures stop at now; a range needs at
    // least a millisecond.
    let as_of = to.min(now).max(from + 1);

    let dora = compute(state, project_id, "production", None, from, as_of).await?;

    let slo_rows = state.db.slos(Some(project_id)).await?;
    let st = state.clone();
    let pid = project_id.to_owned();
    let (slos, routes) = tokio::task::spawn_blocking(move || {
        let slos: Vec<SloLine> = slo_rows
            .into_iter()
            .map(|s| {
                let status = crate::performance::alerts::slo_status(&st, &s, as_of);
                SloLine {
                    attainment: status.attainment.map(|a| round(a, 4)),
                    budget_remaining: Some(status.budget_remaining)
                        .filter(|b| b.is_finite())
                        .map(|b| round(b, 4)),
                    name: s.name,
                    kind: s.kind,
                    objective: s.objective,
                    period_days: s.period_days,
                }
            })
            .collect();
        let routes = st.telemetry.performance().routes(
            &pid,
            &RouteQuery {
                from_ns: from * NS_PER_MS,
                to_ns: as_of * NS_PER_MS,
                service: None,
                version: None,
                route: None,
            },
        );
        routes.map(|routes| (slos, routes))
    })
    .await
    .map_err(ImprovementError::internal)?
    .map_err(ImprovementError::internal)?;
    let mut slowest: Vec<RouteLine> = routes
        .into_iter()
        .filter_map(|r| {
            Some(RouteLine {
                p95_ms: round(r.p95_ms.filter(|p| p.is_finite())?, 3),
                error_rate: round(r.error_rate, 4),
                requests: r.requests,
                service: r.service,
                route: r.route,
            })
        })
        .collect();
    slowest.sort_by(|a, b| {
        b.p95_ms
            .total_cmp(&a.p95_ms)
            .then_with(|| (&a.service, &a.route).cmp(&(&b.service, &b.route)))
    });
    slowest.truncate(TOP);

    let week = state.db.period_counts(project_id, from, as_of).await?;
    let before = state
        .db
        .period_counts(project_id, from - WEEK_MS, from)
        .await?;
    let themes = state
        .db
        .feedback_themes(project_id, from, as_of, TOP as i64)
        .await?;
    let sla = state.db.ticket_sla(project_id, from, as_of).await?;
    let (new_issues, regressed) = state
        .db
        .issue_counts_between(project_id, from, as_of)
        .await?;
    let top_new = state
        .db
        .issues_first_seen_between(project_id, from, as_of, TOP as i64)
        .await?
        .into_iter()
        .map(|i| NewIssueLine {
            number: i.number,
            title: i.title,
            events: i.times_seen,
            first_seen: format_ms(i.first_seen),
        })
        .collect();
    let open = state.db.open_counts(project_id, as_of).await?;
    let actions: Vec<ActionItemLine> = state
        .db
        .open_actions(project_id)
        .await?
        .into_iter()
        .filter(|a| a.created_at < as_of)
        .map(|a| {
            let v = action_view(a, as_of);
            ActionItemLine {
                item: v.item,
                title: v.title,
                kind: v.kind,
                status: v.status,
                owner: v.owner,
                due: v.due,
                overdue: v.overdue,
            }
        })
        .collect();

    Ok(WeeklyReport {
        project: project.slug,
        project_name: project.name,
        week: format_day(from),
        from: format_ms(from),
        to: format_ms(to),
        as_of: format_ms(as_of),
        complete: now >= to,
        generated_at: format_ms(now),
        dora,
        slos,
        performance: PerformanceLine {
            slowest_routes: slowest,
            open_findings: open.performance_findings,
        },
        feedback: FeedbackLine {
            received: week.feedback,
            previous_week: before.feedback,
            change: week.feedback - before.feedback,
            themes: themes
                .into_iter()
                .map(|(title, count)| ThemeLine { title, count })
                .collect(),
        },
        incidents: IncidentLine {
            opened: week.incidents,
            major: week.major_incidents,
        },
        errors: ErrorsLine {
            new_issues,
            regressed,
            top_new,
        },
        tickets: TicketLine {
            opened: sla.opened,
            resolved: sla.resolved,
            resolved_in_time: sla.resolved_in_time,
            resolution_missed: sla.resolution_missed,
            resolution_attainment: share(sla.resolved_in_time, sla.resolution_missed),
            first_responses: sla.first_responses,
            first_responses_in_time: sla.first_responses_in_time,
            first_response_missed: sla.first_response_missed,
            first_response_attainment: share(
                sla.first_responses_in_time,
                sla.first_response_missed,
            ),
        },
        actions: ActionLine {
            open: actions.len(),
            overdue: actions.iter().filter(|a| a.overdue).count(),
            items: actions.into_iter().take(MAX_ACTIONS).collect(),
        },
        security: SecurityLine {
            open_findings: open.security_findings,
            sla_breaches: open.security_breaches,
            opened: week.findings_opened,
            fixed: week.findings_fixed,
        },
    })
}

fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.1} %", s * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn hours(secs: Option<i64>) -> String {
    secs.map(|s| format!("{:.1} h", s as f64 / 3600.0))
        .unwrap_or_else(|| "-".into())
}

fn level(l: &Option<String>) -> &str {
    l.as_deref().unwrap_or("-")
}

/// The e-mail subject of a report.
pub fn subject(r: &WeeklyReport) -> String {
    format!(
        "[{}] Weekly report, week of {}: DORA {}",
        r.project, r.week, r.dora.level
    )
}

/// The report as plain text, for e-mail and the terminal.
pub fn render_text(r: &WeeklyReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "Weekly report for {} ({}), week of {} (Monday, UTC){}",
        r.project_name,
        r.project,
        r.week,
        if r.complete { "" } else { ", so far" }
    ));
    line(String::new());
    let d = &r.dora;
    line(format!("DORA four keys (production): {}", d.level));
    line(format!(
        "  Deployment frequency   {} deployments, {:.2} per day ({})",
        d.deployments, d.deployment_frequency, d.frequency_level
    ));
    line(format!(
        "  Lead time for changes  {} ({})",
        hours(d.lead_time_secs),
        level(&d.lead_time_level)
    ));
    line(format!(
        "  Change failure rate    {} ({})",
        percent(d.change_failure_rate),
        level(&d.change_failure_level)
    ));
    line(format!(
        "  Time to restore        {} ({})",
        hours(d.time_to_restore_secs),
        level(&d.time_to_restore_level)
    ));
    line(String::new());
    line("SLOs".into());
    if r.slos.is_empty() {
        line("  none defined".into());
    }
    for s in &r.slos {
        line(format!(
            "  {}: {} of {} over {} days, budget left {}",
            s.name,
            percent(s.attainment),
            percent(Some(s.objective)),
            s.period_days,
            s.budget_remaining
                .map(|b| format!("{:.1} %", b * 100.0))
                .unwrap_or_else(|| "none".into())
        ));
    }
    line(String::new());
    line(format!(
        "Performance: {} open findings; slowest routes by p95",
        r.performance.open_findings
    ));
    if r.performance.slowest_routes.is_empty() {
        line("  no requests recorded".into());
    }
    for x in &r.performance.slowest_routes {
        line(format!(
            "  {} {}: p95 {:.1} ms, {} requests, {:.1} % errors",
            x.service,
            x.route,
            x.p95_ms,
            x.requests,
            x.error_rate * 100.0
        ));
    }
    line(String::new());
    let f = &r.feedback;
    line(format!(
        "Feedback: {} received ({:+} on the week before, {})",
        f.received, f.change, f.previous_week
    ));
    for t in &f.themes {
        line(format!("  {} x {}", t.count, t.title));
    }
    line(String::new());
    line(format!(
        "Incidents: {} opened, {} SEV1 or SEV2",
        r.incidents.opened, r.incidents.major
    ));
    let e = &r.errors;
    line(format!(
        "Errors: {} new issues, {} regressed",
        e.new_issues, e.regressed
    ));
    for i in &e.top_new {
        line(format!("  #{} {} ({} events)", i.number, i.title, i.events));
    }
    let t = &r.tickets;
    line(format!(
        "Tickets: {} opened, {} resolved",
        t.opened, t.resolved
    ));
    line(format!(
        "  First response SLA  {} ({} met, {} missed)",
        percent(t.first_response_attainment),
        t.first_responses_in_time,
        t.first_response_missed
    ));
    line(format!(
        "  Resolution SLA      {} ({} met, {} missed)",
        percent(t.resolution_attainment),
        t.resolved_in_time,
        t.resolution_missed
    ));
    line(String::new());
    line(format!(
        "Action items: {} open, {} overdue",
        r.actions.open, r.actions.overdue
    ));
    for a in &r.actions.items {
        line(format!(
            "  #{} {} [{}, {}]{}{}",
            a.item,
            a.title,
            a.kind,
            a.status,
            a.due
                .as_deref()
                .map(|d| format!(", due {}", d.chars().take(10).collect::<String>()))
                .unwrap_or_default(),
            if a.overdue { ", OVERDUE" } else { "" }
        ));
    }
    line(String::new());
    let s = &r.security;
    line(format!(
        "Security: {} open findings, {} past their patch SLA; {} opened and {} fixed this week",
        s.open_findings, s.sla_breaches, s.opened, s.fixed
    ));
    out
}

/// What storing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The week had no report before.
    pub created: bool,
    /// Deliveries queued.
    pub deliveries: usize,
}

/// Stores the report of the week starting `week_start`, replacing one kept
/// before, and when `deliver` is set queues it for every recipient; the
/// report, its deliveries and the audit entry of the `actor` who asked
/// (none for the weekly job) commit together.
pub async fn store(
    state: &AppState,
    project_id: &str,
    week_start: i64,
    report: &WeeklyReport,
    deliver: bool,
    actor: Option<&Actor>,
    now: i64,
) -> Result<Stored> {
    let body = serde_json::to_string(report).map_err(ImprovementError::internal)?;
    let recipients = if deliver {
        state.db.recipients(project_id).await?
    } else {
        Vec::new()
    };
    let subject = subject(report);
    let text = render_text(report);
    // A report the housekeeping job makes is recorded as liveops' own.
    let by = actor.cloned().unwrap_or_else(Actor::system);
    let mut w = Work::begin(&state.db, &*state.clock, &by, Some(project_id)).await?;
    let tx = w.conn();
    let created = save_report(&mut *tx, project_id, week_start, &body, now).await?;
    let mut deliveries = 0;
    for (channel, target) in &recipients {
        let Ok(channel) = channel.parse::<Channel>() else {
            tracing::warn!(%channel, "skipping a report recipient on an unknown channel");
            continue;
        };
        let payload = match channel {
            Channel::Email => text.clone(),
            Channel::Webhook => json!({"event": "weekly_report", "project": report.project,
                       "week": report.week, "report": report})
            .to_string(),
            Channel::Slack => json!({ "text": format!("{subject}\n\n{text}") }).to_string(),
        };
        notify::enqueue(
            &mut *tx,
            &NewDelivery {
                project_id,
                incident_id: None,
                channel,
                target,
                subject: &subject,
                payload: &payload,
                due_at: now,
                signing_key: None,
            },
            now,
        )
        .await?;
        deliveries += 1;
    }
    if deliver {
        liveops_store::improvement::mark_report_delivered(&mut *tx, project_id, week_start, now)
            .await?;
    }
    w.commit(
        Audit::new("report.store", &report.week)
            .detail(json!({"deliveries": deliveries, "replaced": !created})),
    )
    .await?;
    Ok(Stored {
        created,
        deliveries,
    })
}

/// Generates, stores and delivers the last complete week's report of every
/// project that has none yet (projects created after that week are left
/// out). Returns how many were sent out.
pub async fn send_due(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now_ms();
    let week = last_complete_week(now);
    let mut done = 0;
    for project_id in state.db.projects_due_report(week).await? {
        let outcome = match generate(state, &project_id, week).await {
            Ok(report) => store(state, &project_id, week, &report, true, None, now).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(_) => done += 1,
            // One project's failure should not hold up the others.
            Err(e) => tracing::warn!(
                project = %project_id,
                error = %e,
                "could not make the weekly report"
            ),
        }
    }
    if done > 0 {
        tracing::info!(reports = done, week = %format_day(week), "weekly reports made");
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn weeks_start_on_monday_at_midnight_utc() {
        let monday = ms("2026-11-16T00:00:00Z");
        for at in [
            "2026-11-16T00:00:00Z",
            "2026-11-16T00:00:00.001Z",
            "2026-11-18T12:34:56Z",
            "2026-11-22T23:59:59.999Z",
        ] {
            assert_eq!(week_start_of(ms(at)), monday, "{at}");
        }
        assert_eq!(
            week_start_of(ms("2026-11-23T00:00:00Z")),
            ms("2026-11-23T00:00:00Z")
        );
        // Across a year's end, and before 1970.
        assert_eq!(
            week_start_of(ms("2027-01-01T08:00:00Z")),
            ms("2026-12-28T00:00:00Z")
        );
        assert_eq!(week_start_of(0), ms("1969-12-29T00:00:00Z"));
        assert_eq!(week_start_of(FIRST_WEEK_MS), FIRST_WEEK_MS);
        assert_eq!(format_day(FIRST_WEEK_MS), "2000-01-03");
        assert_eq!(
            last_complete_week(ms("2026-11-28T17:00:00Z")),
            ms("2026-11-16T00:00:00Z")
        );
    }

    #[test]
    fn week_starts_agree_with_arithmetic_and_outside_jiffs_range() {
        let arithmetic = |ms: i64| (ms - 4 * DAY_MS).div_euclid(WEEK_MS) * WEEK_MS + 4 * DAY_MS;
        // Every 7 hours 13 minutes over some 30 years, both sides of 1970.
        let step = 7 * 3_600_000 + 13 * 60_000;
        let mut at = -15 * 365 * DAY_MS;
        while at < 15 * 365 * DAY_MS {
            assert_eq!(week_start_of(at), arithmetic(at), "{at}");
            at += step;
        }
        let far = i64::MAX / 4;
        assert_eq!(week_start_of(far), arithmetic(far));
        assert_eq!(week_start_of(-far), arithmetic(-far));
    }

    #[test]
    fn weeks_must_have_started_and_be_this_century() {
        let now = ms("2026-11-28T17:00:00Z");
        assert!(check_week(ms("2026-11-23T00:00:00Z"), now).is_ok());
        assert!(check_week(ms("2026-11-30T00:00:00Z"), now).is_err());
        assert!(check_week(ms("1999-12-27T00:00:00Z"), now).is_err());
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DoraView {
    pub from: String,
    pub to: String,
    pub deployments: usize,
    /// Production deployments per day.
    pub deployment_frequency: f64,
    pub frequency_level: String,
    /// Median from commit to production, in seconds.
    pub lead_time_secs: Option<i64>,
    pub lead_time_level: Option<String>,
    /// Deployments linked to an incident, over all.
    pub change_failure_rate: Option<f64>,
    pub change_failure_level: Option<String>,
    /// Median from an incident's start to its resolution, in seconds.
    pub time_to_restore_secs: Option<i64>,
    pub time_to_restore_level: Option<String>,
    /// The lowest of the keys' levels: elite, high, medium or low.
    pub level: String,
}

/// One stage-by-stage lead time, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StagesView {
    /// The repository the pull requests were in; absent for all of them.
    pub service: Option<String>,
    /// Merged pull requests that reached production in the range.
    pub changes: usize,
    /// First commit to pull request opened (median).
    pub coding_secs: Option<i64>,
    /// Opened to merged (median).
    pub review_secs: Option<i64>,
    /// Merged to running in production (median).
    pub deploy_secs: Option<i64>,
    /// First commit to production (median).
    pub total_secs: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeadTimeView {
    pub from: String,
    pub to: String,
    pub overall: StagesView,
    /// Per service, by name.
    pub services: Vec<StagesView>,
}

fn stages_view(service: Option<String>, changes: &[Change]) -> StagesView {
    let s = stages(changes);
    let secs = |ms: Option<i64>| ms.map(|m| m / 1000);
    StagesView {
        service,
        changes: s.changes,
        coding_secs: secs(s.coding_ms),
        review_secs: secs(s.review_ms),
        deploy_secs: secs(s.deploy_ms),
        total_secs: secs(s.total_ms),
    }
}

/// Lead time in its stages for the pull requests that reached production
/// in `[from, to)`, overall and per service.
pub async fn lead_time(
    state: &AppState,
    project_id: &str,
    service: Option<&str>,
    from: i64,
    to: i64,
) -> Result<LeadTimeView> {
    let prs = state
        .db
        .deployed_pull_requests(project_id, service, from, to)
        .await?;
    let mut by_service: std::collections::BTreeMap<String, Vec<Change>> = Default::default();
    let mut all = Vec::with_capacity(prs.len());
    for p in prs {
        let (Some(merged_at), Some(deployed_at)) = (p.merged_at, p.deployed_at) else {
            continue;
        };
        let c = Change {
            first_commit_at: p.first_commit_at,
            opened_at: p.opened_at,
            merged_at,
            deployed_at,
        };
        all.push(c);
        by_service.entry(p.repository).or_default().push(c);
    }
    Ok(LeadTimeView {
        from: format_ms(from),
        to: format_ms(to),
        overall: stages_view(None, &all),
        services: by_service
            .into_iter()
            .map(|(s, c)| stages_view(Some(s), &c))
            .collect(),
    })
}

/// The four keys of a project over `[from, to)`.
pub async fn compute(
    state: &AppState,
    project_id: &str,
    environment: &str,
    service: Option<&str>,
    from: i64,
    to: i64,
) -> Result<DoraView> {
    let mut periods =
        compute_periods(state, project_id, environment, service, from, to, to - from).await?;
    periods
        .pop()
        .ok_or_else(|| ImprovementError::internal("an empty range has no periods"))
}

/// The four keys over `[from, to)` in periods of `step` ms (the last one
/// cut at `to`), from one read of the facts.
pub async fn compute_periods(
    state: &AppState,
    project_id: &str,
    environment: &str,
    service: Option<&str>,
    from: i64,
    to: i64,
    step: i64,
) -> Result<Vec<DoraView>> {
    let facts = state
        .db
        .dora_facts(project_id, environment, service, from, to)
        .await?;
    let deployments: Vec<Deployment> = facts
        .deployments
        .into_iter()
        .map(|(deployed_at, commits, failed)| Deployment {
            deployed_at,
            commits,
            failed,
        })
        .collect();
    let restores: Vec<Restore> = facts
        .restores
        .into_iter()
        .map(|(started_at, resolved_at)| Restore {
            started_at,
            resolved_at,
        })
        .collect();
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let end = start.saturating_add(step.max(1)).min(to);
        let ds: Vec<Deployment> = deployments
            .iter()
            .filter(|d| (start..end).contains(&d.deployed_at))
            .cloned()
            .collect();
        let rs: Vec<Restore> = restores
            .iter()
            .filter(|r| (start..end).contains(&r.resolved_at))
            .copied()
            .collect();
        out.push(dora_view(&four_keys(&ds, &rs, start, end), start, end));
        start = end;
    }
    Ok(out)
}

fn dora_view(k: &FourKeys, from: i64, to: i64) -> DoraView {
    let name = |l: Option<Level>| l.map(|l| l.as_str().to_owned());
    DoraView {
        from: format_ms(from),
        to: format_ms(to),
        deployments: k.deployments,
        deployment_frequency: (k.deployment_frequency * 1000.0).round() / 1000.0,
        frequency_level: k.frequency_level.as_str().into(),
        lead_time_secs: k.lead_time_ms.map(|m| m / 1000),
        lead_time_level: name(k.lead_time_level),
        change_failure_rate: k
            .change_failure_rate
            .map(|r| (r * 10_000.0).round() / 10_000.0),
        change_failure_level: name(k.failure_level),
        time_to_restore_secs: k.time_to_restore_ms.map(|m| m / 1000),
        time_to_restore_level: name(k.restore_level),
        level: k.level.as_str().into(),
    }
}

/// An incident that started soon after a production deployment, with the
/// deployment to link it to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkSuggestion {
    pub incident: i64,
    pub title: String,
    pub started_at: String,
    /// The deployment to link: POST it to the incident's links as
    /// `{"kind": "deployment", "target": id}`.
    pub deployment: String,
    pub service: String,
    pub version: String,
    pub deployed_at: String,
    /// How long after the deployment the incident started, in seconds.
    pub after_secs: i64,
    /// The deployment changed one of the incident's services.
    pub same_service: bool,
}

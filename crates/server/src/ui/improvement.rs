//! The continuous-improvement page: the DORA four keys of the last 30 days
//! with their levels, lead time in its stages, and the weekly reports kept so far, the newest in
//! full.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use liveops_core::Area;
use maud::{Markup, html};

use super::prologue::load;
use super::{Frame, UiSession, api_error, page};
use crate::improvement::{LeadTimeView, StagesView, compute, compute_periods, lead_time};
use crate::improvement::{WeeklyReport, format_day};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

fn hours(secs: Option<i64>) -> String {
    secs.map(|s| format!("{:.1} h", s as f64 / 3600.0))
        .unwrap_or_else(|| "–".into())
}

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let to = state.now_ms();
    let k = match compute(
        &state,
        &project.id,
        "production",
        None,
        to - 30 * DAY_MS,
        to,
    )
    .await
    {
        Ok(k) => k,
        Err(e) => return api_error(e),
    };
    let stages = match lead_time(&state, &project.id, None, to - 30 * DAY_MS, to).await {
        Ok(l) => l,
        Err(e) => return api_error(e),
    };
    // Twelve weeks of the keys, for the trend chart, from one read.
    let weeks = match compute_periods(
        &state,
        &project.id,
        "production",
        None,
        to - 12 * 7 * DAY_MS,
        to,
        7 * DAY_MS,
    )
    .await
    {
        Ok(w) => w,
        Err(e) => return api_error(e),
    };
    let labels: Vec<String> = weeks
        .iter()
        .map(|k| k.to.get(5..10).unwrap_or_default().to_owned())
        .collect();
    let trend = [
        (
            "deployments".to_owned(),
            weeks.iter().map(|k| k.deployments as f64).collect(),
        ),
        (
            "failed (linked to an incident)".to_owned(),
            weeks
                .iter()
                .map(|k| (k.change_failure_rate.unwrap_or(0.0) * k.deployments as f64).round())
                .collect(),
        ),
        (
            "median hours to restore".to_owned(),
            weeks
                .iter()
                .map(|k| k.time_to_restore_secs.map_or(0.0, |s| s as f64 / 3600.0))
                .collect(),
        ),
    ];
    let kept = match state.db.reports(&project.id, 12).await {
        Ok(rows) => rows,
        Err(e) => return api_error(e),
    };
    // Bodies are the server's own JSON; one an older version wrote that no
    // longer reads is left out rather than failing the page.
    let reports: Vec<(String, WeeklyReport)> = kept
        .iter()
        .filter_map(|r| {
            serde_json::from_str(&r.body)
                .ok()
                .map(|rep| (format_day(r.week_start), rep))
        })
        .collect();
    let frame = Frame::of(&s, &projects, project, Area::Improvement);
    let level = |l: &Option<String>| l.clone().unwrap_or_else(|| "–".into());
    page(
        &format!("Continuous improvement · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Improvement.title()) }
            p.lede { (Area::Improvement.summary()) }
            @if k.deployments == 0 && k.time_to_restore_secs.is_none() {
                div.empty data-area="improvement" {
                    p { strong { "No production deployments or restored incidents in the last 30 days." } }
                    p { "Record deployments with " code { "liveops deploy record" } " and link the incidents they cause; the DORA four keys appear here." }
                }
            } @else {
                section {
                    h2 { "DORA four keys, last 30 days" }
                    table.dora {
                        thead { tr { th { "Key" } th { "Value" } th { "Level" } } }
                        tbody {
                            tr { td { "Deployment frequency" } td { (format!("{:.2}", k.deployment_frequency)) " per day (" (k.deployments) " deployments)" } td { (k.frequency_level) } }
                            tr { td { "Lead time for changes" } td { (hours(k.lead_time_secs)) } td { (level(&k.lead_time_level)) } }
                            tr { td { "Change failure rate" } td { (k.change_failure_rate.map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "–".into())) } td { (level(&k.change_failure_level)) } }
                            tr { td { "Time to restore" } td { (hours(k.time_to_restore_secs)) } td { (level(&k.time_to_restore_level)) } }
                        }
                    }
                    p { "Overall: " strong.level { (k.level) } " (the weakest key)." }
                }
                (stages_table(&stages))
                section.trend {
                    h2 { "The last twelve weeks" }
                    (crate::ui::charts::lines(&labels, &trend))
                }
            }
            (weekly(&reports))
        },
    )
    .into_response()
}

/// Lead time in its stages, per service, when Git hosts reported pull
/// requests that reached production.
fn stages_table(l: &LeadTimeView) -> Markup {
    let row = |s: &StagesView| {
        html! {
            tr {
                td { (s.service.as_deref().unwrap_or("All services")) }
                td { (s.changes) }
                td { (hours(s.coding_secs)) }
                td { (hours(s.review_secs)) }
                td { (hours(s.deploy_secs)) }
                td { (hours(s.total_secs)) }
            }
        }
    };
    html! {
        @if l.overall.changes > 0 {
            section.stages {
                h2 { "Lead time in stages, last 30 days" }
                p { "From the pull requests GitHub or GitLab reported: coding is first commit to pull request, review is opened to merged, deploy is merged to production. Medians." }
                table.stages {
                    thead { tr { th { "Service" } th { "Changes" } th { "Coding" } th { "Review" } th { "Deploy" } th { "Lead time" } } }
                    tbody {
                        @for s in &l.services { (row(s)) }
                        @if l.services.len() > 1 { (row(&l.overall)) }
                    }
                }
            }
        }
    }
}

fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.1} %", s * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// The smallest error budget left among a report's SLOs.
fn least_budget(r: &WeeklyReport) -> Option<f64> {
    r.slos
        .iter()
        .filter_map(|s| s.budget_remaining)
        .reduce(f64::min)
}

/// The kept weekly reports, newest first, and the newest in full.
fn weekly(reports: &[(String, WeeklyReport)]) -> Markup {
    html! {
        section.weekly {
            h2 { "Weekly reports" }
            @if reports.is_empty() {
                p.empty { "No weekly reports yet. Each Monday the last week's report is kept here and sent to the project's recipients; make one now with " code { "liveops report weekly --send" } "." }
            } @else {
                table.reports {
                    thead { tr { th { "Week" } th { "DORA level" } th { "Deployments" } th { "Least SLO budget left" } th { "Resolution SLA" } th { "Action items open" } th { "Security SLA breaches" } } }
                    tbody {
                        @for (week, r) in reports {
                            tr {
                                td { (week) }
                                td { (r.dora.level) }
                                td { (r.dora.deployments) }
                                td { (percent(least_budget(r))) }
                                td { (percent(r.tickets.resolution_attainment)) }
                                td {
                                    (r.actions.open)
                                    @if r.actions.overdue > 0 { " (" strong.overdue { (r.actions.overdue) " overdue" } ")" }
                                }
                                td { (r.security.sla_breaches) }
                            }
                        }
                    }
                }
                @if let Some((week, r)) = reports.first() {
                    (newest(week, r))
                }
            }
        }
    }
}

fn newest(week: &str, r: &WeeklyReport) -> Markup {
    let t = &r.tickets;
    let f = &r.feedback;
    html! {
        article.report {
            h3 { "Week of " (week) @if !r.complete { " (so far)" } }
            p.meta { "Generated " (r.generated_at) "; open items as of " (r.as_of) "." }
            h4 { "DORA four keys: " (r.dora.level) }
            p {
                (r.dora.deployments) " deployments (" (r.dora.frequency_level) "), change failure rate "
                (percent(r.dora.change_failure_rate)) "."
            }
            h4 { "SLOs" }
            @if r.slos.is_empty() {
                p { "No SLOs defined." }
            } @else {
                table {
                    thead { tr { th { "SLO" } th { "Objective" } th { "Attainment" } th { "Budget left" } } }
                    tbody {
                        @for s in &r.slos {
                            tr { td { (s.name) } td { (percent(Some(s.objective))) } td { (percent(s.attainment)) } td { (percent(s.budget_remaining)) } }
                        }
                    }
                }
            }
            h4 { "Slowest routes (" (r.performance.open_findings) " open performance findings)" }
            @if r.performance.slowest_routes.is_empty() {
                p { "No requests recorded this week." }
            } @else {
                table {
                    thead { tr { th { "Route" } th { "p95" } th { "Requests" } th { "Errors" } } }
                    tbody {
                        @for x in &r.performance.slowest_routes {
                            tr { td { (x.service) " " code { (x.route) } } td { (format!("{:.1} ms", x.p95_ms)) } td { (x.requests) } td { (percent(Some(x.error_rate))) } }
                        }
                    }
                }
            }
            h4 { "Feedback" }
            p { (f.received) " received, " (f.previous_week) " the week before." }
            @if !f.themes.is_empty() {
                ul { @for th in &f.themes { li { (th.title) " (" (th.count) ")" } } }
            }
            h4 { "Errors" }
            p { (r.errors.new_issues) " new issues, " (r.errors.regressed) " regressed." }
            @if !r.errors.top_new.is_empty() {
                ul.new-issues { @for i in &r.errors.top_new {
                    li { a href={"/p/" (r.project) "/support/errors/" (i.number)} { "#" (i.number) " " (i.title) } " (" (i.events) " events)" }
                } }
            }
            h4 { "Tickets" }
            p {
                (t.opened) " opened, " (t.resolved) " resolved. First response SLA "
                (percent(t.first_response_attainment)) ", resolution SLA " (percent(t.resolution_attainment)) "."
            }
            h4 { "Action items: " (r.actions.open) " open, " (r.actions.overdue) " overdue" }
            @if !r.actions.items.is_empty() {
                ul {
                    @for a in &r.actions.items {
                        li {
                            "#" (a.item) " " (a.title) " (" (a.kind) ", " (a.status)
                            @if let Some(due) = &a.due { ", due " (due.chars().take(10).collect::<String>()) }
                            ")"
                            @if a.overdue { " " strong.overdue { "overdue" } }
                        }
                    }
                }
            }
            h4 { "Security" }
            p {
                (r.security.open_findings) " open findings, " (r.security.sla_breaches) " past their patch SLA; "
                (r.security.opened) " opened and " (r.security.fixed) " fixed this week."
            }
        }
    }
}

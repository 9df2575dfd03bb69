//! The production-support pages: incidents, on-call, tickets, errors.

mod errors;
mod maintenance;
mod tickets;

pub use errors::{issue_action, issue_list, issue_page, settings_action};
use maintenance::maintenance_section;
pub use maintenance::{move_maintenance, schedule_maintenance};
pub use tickets::{open_ticket, ticket, ticket_action, tickets};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use liveops_core::access::authorize;
use liveops_core::support::escalation::{Target, Tier};
use liveops_core::support::incident::{Severity, StatusStage};
use liveops_core::{Area, Permission};
use maud::{Markup, html};
use serde::Deserialize;

use super::prologue::{load, writable};
use super::{Frame, UiSession, api_error, error_page, page};
use crate::state::{AppState, format_ms};
use crate::support::service::{self, ActionError, ManualIncident};

fn db_error(e: impl std::fmt::Display) -> Response {
    error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
}

/// An action's outcome as a page: back to `then`, or why not.
fn outcome(done: Result<(), ActionError>, then: &str) -> Response {
    match done {
        Ok(()) => Redirect::to(then).into_response(),
        Err(ActionError::Invalid(why)) => error_page(StatusCode::UNPROCESSABLE_ENTITY, &why),
        Err(ActionError::Refused(why)) => error_page(StatusCode::CONFLICT, &why),
        Err(ActionError::Store(e)) => db_error(e),
    }
}

/// The support area: open incidents, who is on call, recent tickets.
pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let loaded = async {
        let incidents = state
            .db
            .incidents(&project.id, false, None, None, 50)
            .await?;
        let tickets = state.db.tickets(&project.id, true, None, None, 50).await?;
        let mut oncall = Vec::new();
        let now = Timestamp::from_millisecond(state.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
        for sched in state.db.schedules(&project.id).await? {
            let loaded = state.db.schedule(&project.id, &sched.id).await?;
            let who = match loaded.schedule.on_call_at(now) {
                Some((u, _)) => state
                    .db
                    .user_by_id(u)
                    .await
                    .map(|u| u.email)
                    .unwrap_or_default(),
                None => "nobody".into(),
            };
            oncall.push((sched.name, who));
        }
        for tier in Tier::ALL {
            let people =
                service::resolve_target(&state.db, &project.id, &Target::Tier(tier), now).await?;
            let mut emails = Vec::new();
            for p in people {
                emails.push(
                    state
                        .db
                        .user_by_id(&p)
                        .await
                        .map(|u| u.email)
                        .unwrap_or_default(),
                );
            }
            if !emails.is_empty() {
                oncall.push((tier.as_str().to_uppercase(), emails.join(", ")));
            }
        }
        let maintenances = state.db.all_maintenances(&project.id, 20).await?;
        let components = state.db.components(&project.id).await?;
        Ok::<_, liveops_store::StoreError>((incidents, tickets, oncall, maintenances, components))
    }
    .await;
    let (incidents, tickets, oncall, maintenances, components) = match loaded {
        Ok(v) => v,
        Err(e) => return db_error(e),
    };
    let now = state.now_ms();
    let stats =
        match crate::support::stats::stats(&state, &project.id, now - 30 * 86_400_000, now).await {
            Ok(s) => s,
            Err(e) => return api_error(e),
        };
    let secs = |v: Option<i64>| match v {
        Some(s) if s >= 3600 => format!("{:.1} h", s as f64 / 3600.0),
        Some(s) if s >= 60 => format!("{:.0} min", s as f64 / 60.0),
        Some(s) => format!("{s} s"),
        None => "—".into(),
    };
    let share = |v: Option<f64>| v.map_or("—".into(), |x| format!("{:.0}%", x * 100.0));
    let frame = Frame::of(&s, &projects, project, Area::Support);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let body = html! {
        h1 { (Area::Support.title()) }
        p.lede { (Area::Support.summary()) " " a href={"/status/" (project.slug)} { "Public status page" } }
        @if incidents.is_empty() && tickets.is_empty() && oncall.is_empty() {
            div.empty data-area="support" {
                p { strong { "No incidents, alerts or tickets are recorded for this project." } }
                p { "Incidents open from alerts (Alertmanager, Grafana or the generic webhook) and by hand; tickets come from people asking for help." }
            }
        }
        section {
            h2 { "Incidents" }
            @if incidents.is_empty() {
                p.empty { "No incidents." }
            } @else {
                table.incidents {
                    thead { tr { th { "#" } th { "Severity" } th { "State" } th { "Title" } th { "Opened (UTC)" } } }
                    tbody {
                        @for i in &incidents {
                            tr data-state=(i.state.as_str()) {
                                td { a href={"/p/" (project.slug) "/support/incidents/" (i.number)} { "#" (i.number) } }
                                td { (i.severity.as_str().to_uppercase()) }
                                td { (i.state.as_str()) }
                                td { (i.title) }
                                td { (format_ms(i.created_at)) }
                            }
                        }
                    }
                }
            }
            @if can_write {
                details {
                    summary { "Open an incident" }
                    form.stack method="post" action={"/p/" (project.slug) "/support/incidents"} {
                        input type="hidden" name="_csrf" value=(s.session.csrf_token);
                        label for="inc-title" { "Title" }
                        input #inc-title name="title" required maxlength="200";
                        label for="inc-sev" { "Severity" }
                        select #inc-sev name="severity" {
                            @for sev in Severity::ALL { option value=(sev.as_str()) selected[sev == Severity::Sev3] { (sev.as_str().to_uppercase()) } }
                        }
                        button type="submit" { "Open incident" }
                    }
                }
            }
        }
        section {
            h2 { "Errors" }
            p { a href={"/p/" (project.slug) "/support/errors"} { "Issues grouped from error events" } ", with the DSN the Sentry SDKs send to." }
        }
        section {
            h2 { "On call now" }
            @if oncall.is_empty() {
                p.empty { "No schedules or tiers are set up." }
            } @else {
                table { tbody { @for (on, who) in &oncall { tr { th { (on) } td { (who) } } } } }
            }
        }
        section.stats {
            h2 { "Response times, last 30 days" }
            table.stats {
                thead { tr { th { "Severity" } th { "Incidents" } th { "MTTA" } th { "MTTR" } th { "Median TTA" } th { "Median TTR" } } }
                tbody {
                    @for r in &stats.by_severity {
                        tr { td { (r.severity.to_uppercase()) } td { (r.incidents) } td { (secs(r.mtta_secs)) } td { (secs(r.mttr_secs)) } td { (secs(r.median_tta_secs)) } td { (secs(r.median_ttr_secs)) } }
                    }
                }
            }
            p { (stats.tickets) " tickets: first response on time " strong { (share(stats.first_response_attainment)) } ", resolved on time " strong { (share(stats.resolution_attainment)) }
                @if !stats.breached_tickets.is_empty() { " · breached: " (stats.breached_tickets.iter().map(|n| format!("#{n}")).collect::<Vec<_>>().join(", ")) }
            }
        }
        (maintenance_section(project, &maintenances, &components, &s.session.csrf_token, can_write))
        section {
            h2 { "Open tickets" }
            p { a href={"/p/" (project.slug) "/support/tickets"} { "All tickets" } " · " a href={"/p/" (project.slug) "/support/tickets#new"} { "Open a ticket" } }
            @if tickets.is_empty() {
                p.empty { "No open tickets." }
            } @else {
                table {
                    thead { tr { th { "#" } th { "Tier" } th { "Priority" } th { "Subject" } th { "Requester" } th { "First response due" } } }
                    tbody {
                        @for t in &tickets {
                            tr {
                                td { a href={"/p/" (project.slug) "/support/tickets/" (t.number)} { "#" (t.number) } }
                                td { (t.tier.as_str().to_uppercase()) }
                                td { (t.priority.as_str()) }
                                td { (t.subject) }
                                td { (t.requester) }
                                td { (format_ms(t.first_response_due)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&format!("Support · {}", project.name), Some(&frame), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct OpenForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    title: String,
    severity: String,
}

pub async fn open(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<OpenForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "open incidents"));
    let project = &projects[idx].0;
    let title = f.title.trim();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A title needs 1 to 200 printable characters.",
        );
    }
    let Ok(severity) = f.severity.parse::<Severity>() else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Pick a severity from SEV1 to SEV4.",
        );
    };
    let m = ManualIncident {
        title,
        severity,
        policy_id: None,
        assignee_id: None,
        commander_id: None,
        services: &[],
        components: &[],
        body: None,
    };
    match service::open_incident(&state, &s.actor(), &project.id, &m).await {
        Ok(i) => Redirect::to(&format!(
            "/p/{}/support/incidents/{}",
            project.slug, i.number
        ))
        .into_response(),
        Err(e) => db_error(e),
    }
}

fn timeline(events: &[liveops_store::support::incidents::EventRow]) -> Markup {
    html! {
        ol.timeline {
            @for e in events {
                li data-kind=(e.kind) {
                    time { (format_ms(e.at)) }
                    " " strong { (e.kind.replace('_', " ")) }
                    " · " (e.actor)
                    @if let Some(b) = &e.body { " — " (b) }
                    @if e.public { " " small { "(public)" } }
                }
            }
        }
    }
}

pub async fn incident(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, i64)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let i = match state.db.incident_by_number(&project.id, number).await {
        Ok(i) => i,
        Err(liveops_store::StoreError::NotFound) => {
            return error_page(
                StatusCode::NOT_FOUND,
                &format!("There is no incident #{number}."),
            );
        }
        Err(e) => return db_error(e),
    };
    let loaded = async {
        Ok::<_, liveops_store::StoreError>((
            state.db.incident_events(&i.id).await?,
            state.db.incident_alerts(&i.id).await?,
            state.db.deliveries_for_incident(&i.id).await?,
            state.db.incident_links(&i.id).await?,
            match state.db.postmortem(&project.id, i.number).await {
                Ok(p) => Some(p.state),
                Err(liveops_store::StoreError::NotFound) => None,
                Err(e) => return Err(e),
            },
        ))
    }
    .await;
    let (events, alerts, deliveries, links, postmortem) = match loaded {
        Ok(v) => v,
        Err(e) => return db_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Support);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let action = |name: &str, label: &str| {
        html! {
            form.inline method="post" action={"/p/" (project.slug) "/support/incidents/" (i.number) "/" (name)} {
                input type="hidden" name="_csrf" value=(s.session.csrf_token);
                button type="submit" { (label) }
            }
        }
    };
    let body = html! {
        p { a href={"/p/" (project.slug) "/support"} { "← Incidents" } }
        h1 { "#" (i.number) " " (i.title) }
        p.meta data-state=(i.state.as_str()) {
            strong { (i.severity.as_str().to_uppercase()) } " · " span.state { (i.state.as_str()) }
            " · public stage: " (i.stage.as_str()) " · opened " (format_ms(i.created_at))
        }
        @if can_write && i.state.is_open() {
            p.actions {
                @if i.state == liveops_core::support::incident::IncidentState::Triggered { (action("acknowledge", "Acknowledge")) " " }
                @if i.policy_id.is_some() { (action("escalate", "Escalate")) " " }
                (action("resolve", "Resolve"))
            }
            form.stack method="post" action={"/p/" (project.slug) "/support/incidents/" (i.number) "/note"} {
                input type="hidden" name="_csrf" value=(s.session.csrf_token);
                label for="note" { "Note or status update" }
                textarea #note name="body" required maxlength="5000" rows="3" {}
                label for="stage" { "Public stage (leave empty for an internal note)" }
                select #stage name="stage" {
                    option value="" { "internal note" }
                    @for st in StatusStage::ALL { option value=(st.as_str()) { (st.as_str()) } }
                }
                button type="submit" { "Add" }
            }
        }
        p.postmortem {
            @match postmortem {
                Some(st) => {
                    a href={"/p/" (project.slug) "/reviews/postmortems/" (i.number)} { "Postmortem" }
                    " (" (st.as_str().replace('_', " ")) ")"
                }
                None => {
                    @if can_write {
                        form.inline method="post" action={"/p/" (project.slug) "/reviews/postmortems/" (i.number) "/draft"} {
                            input type="hidden" name="_csrf" value=(s.session.csrf_token);
                            button type="submit" { "Draft the postmortem" }
                        }
                    }
                }
            }
        }
        h2 { "Timeline" }
        (timeline(&events))
        @if !alerts.is_empty() {
            h2 { "Alerts" }
            table { thead { tr { th { "Status" } th { "Summary" } th { "Labels" } th { "Last seen" } } }
                tbody { @for a in &alerts { tr { td { (a.status) } td { (a.summary) } td { code { (a.labels) } } td { (format_ms(a.last_seen)) } } } } }
        }
        @if !links.is_empty() {
            h2 { "Links" }
            ul { @for l in &links { li { (l.kind) ": " (l.target_id) } } }
        }
        h2 { "Notifications" }
        @if deliveries.is_empty() {
            p.empty { "No notifications have been sent for this incident." }
        } @else {
            table.deliveries { thead { tr { th { "Channel" } th { "To" } th { "State" } th { "Attempts" } th { "Error" } } }
                tbody { @for d in &deliveries { tr { td { (d.channel.as_str()) } td { (state.sealer.shown(&d.target)) } td { (d.state) } td { (d.attempts) } td { (d.last_error.as_deref().unwrap_or("")) } } } } }
        }
    };
    page(
        &format!("#{} · {}", i.number, project.name),
        Some(&frame),
        body,
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    body: Option<String>,
    stage: Option<String>,
}

pub async fn incident_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number, action)): Path<(String, i64, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "change incidents"));
    let project = &projects[idx].0;
    let Ok(i) = state.db.incident_by_number(&project.id, number).await else {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no incident #{number}."),
        );
    };
    let a = s.actor();
    let done: Result<(), ActionError> = match action.as_str() {
        "acknowledge" => {
            let timeout = match &i.policy_id {
                Some(p) => state
                    .db
                    .policy(&project.id, p)
                    .await
                    .ok()
                    .and_then(|p| p.ack_timeout_secs),
                None => None,
            };
            service::acknowledge(&state, &a, &i, timeout).await
        }
        "resolve" => service::resolve(&state, &a, &i, None).await,
        "escalate" => service::escalate(&state, &a, &i).await,
        "note" => {
            let body = f.body.as_deref().unwrap_or("").trim().to_owned();
            if body.is_empty() || body.chars().count() > 5000 {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "A note needs 1 to 5000 characters.",
                );
            }
            let stage = match f.stage.as_deref().filter(|s| !s.is_empty()) {
                Some(st) => match st.parse::<StatusStage>() {
                    Ok(v) => Some(v),
                    Err(e) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
                },
                None => None,
            };
            service::add_update(&state, &a, &i, &body, stage).await
        }
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    outcome(
        done,
        &format!("/p/{}/support/incidents/{}", project.slug, i.number),
    )
}

//! Ticket pages: the list, the form to open one, and one ticket with its
//! conversation, SLA standing and actions.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::support::escalation::Tier;
use liveops_core::support::sla::{Priority, Standing};
use liveops_core::{Area, Permission};
use liveops_store::support::tickets::Ticket;
use maud::{Markup, html};
use serde::Deserialize;

use super::{db_error, outcome};
use crate::state::{AppState, format_ms};
use crate::support::tickets::{self as svc, TicketFields, TicketOp, TicketRequest};
use crate::ui::prologue::{load, writable};
use crate::ui::{Frame, UiSession, error_page, page};

fn standing_badge(s: Standing) -> Markup {
    html! { span.sla data-sla=(s.as_str()) { (s.as_str().replace('_', " ")) } }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// `all` to include solved and closed tickets.
    show: Option<String>,
}

/// All tickets, or only unresolved ones, with the form to open one.
pub async fn tickets(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let all = q.show.as_deref() == Some("all");
    let list = match state.db.tickets(&project.id, !all, None, None, 200).await {
        Ok(v) => v,
        Err(e) => return db_error(e),
    };
    let now = state.now_ms();
    let frame = Frame::of(&s, &projects, project, Area::Support);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let base = format!("/p/{}/support/tickets", project.slug);
    let body = html! {
        p { a href={"/p/" (project.slug) "/support"} { "← Support" } }
        h1 { "Tickets" }
        p {
            @if all { a href=(base) { "Show unresolved only" } } @else { a href={(base) "?show=all"} { "Show all, with solved and closed" } }
        }
        @if list.is_empty() {
            p.empty { @if all { "No tickets yet." } @else { "No unresolved tickets." } }
        } @else {
            table.tickets {
                thead { tr { th { "#" } th { "Subject" } th { "Requester" } th { "Tier" } th { "Priority" } th { "Status" } th { "First response" } th { "Resolution" } } }
                tbody {
                    @for t in &list {
                        @let (fr, res) = svc::standings(t, now);
                        tr data-status=(t.status) {
                            td { a href={(base) "/" (t.number)} { "#" (t.number) } }
                            td { (t.subject) }
                            td { (t.requester) }
                            td { (t.tier.as_str().to_uppercase()) }
                            td { (t.priority.as_str()) }
                            td { (t.status) }
                            td { (standing_badge(fr)) }
                            td { (standing_badge(res)) }
                        }
                    }
                }
            }
        }
        @if can_write {
            section #new {
                h2 { "Open a ticket" }
                form.stack method="post" action=(base) {
                    input type="hidden" name="_csrf" value=(s.session.csrf_token);
                    label for="t-subject" { "Subject" }
                    input #t-subject name="subject" required maxlength="200";
                    label for="t-requester" { "Requester's e-mail" }
                    input #t-requester name="requester" type="email" required;
                    label for="t-body" { "Message" }
                    textarea #t-body name="body" required maxlength="20000" rows="4" {}
                    label for="t-priority" { "Priority" }
                    select #t-priority name="priority" {
                        @for p in Priority::ALL { option value=(p.as_str()) selected[p == Priority::Normal] { (p.as_str()) } }
                    }
                    label for="t-tier" { "Tier" }
                    select #t-tier name="tier" {
                        @for t in Tier::ALL { option value=(t.as_str()) { (t.as_str().to_uppercase()) } }
                    }
                    button type="submit" { "Open ticket" }
                }
            }
        }
    };
    page(&format!("Tickets · {}", project.name), Some(&frame), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct OpenTicketForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    subject: String,
    requester: String,
    body: String,
    priority: Option<String>,
    tier: Option<String>,
}

pub async fn open_ticket(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<OpenTicketForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "open tickets"));
    let project = &projects[idx].0;
    let req = match TicketRequest::parse(&TicketFields {
        subject: &f.subject,
        requester: &f.requester,
        body: &f.body,
        priority: f.priority.as_deref(),
        tier: f.tier.as_deref(),
        ..TicketFields::default()
    }) {
        Ok(r) => r,
        Err(why) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &why),
    };
    match svc::open(&state, &project.id, &s.actor(), &req, "web").await {
        Ok(t) => Redirect::to(&format!("/p/{}/support/tickets/{}", project.slug, t.number))
            .into_response(),
        Err(e) => db_error(e),
    }
}

async fn find(state: &AppState, project_id: &str, number: i64) -> Result<Ticket, Response> {
    match state.db.ticket_by_number(project_id, number).await {
        Ok(t) => Ok(t),
        Err(liveops_store::StoreError::NotFound) => Err(error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no ticket #{number}."),
        )),
        Err(e) => Err(db_error(e)),
    }
}

/// One ticket: its conversation, SLA standing, links and actions.
pub async fn ticket(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number)): Path<(String, i64)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let t = match find(&state, &project.id, number).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let loaded = async {
        let comments = state.db.ticket_comments(&t.id).await?;
        let links = state.db.ticket_links(&t.id).await?;
        let incident = match &t.incident_id {
            Some(id) => {
                let mut conn = state.db.pool().acquire().await?;
                Some(liveops_store::support::incidents::get(&mut conn, id).await?)
            }
            None => None,
        };
        Ok::<_, liveops_store::StoreError>((comments, links, incident))
    }
    .await;
    let (comments, links, incident) = match loaded {
        Ok(v) => v,
        Err(e) => return db_error(e),
    };
    let (fr, res) = svc::standings(&t, state.now_ms());
    let frame = Frame::of(&s, &projects, project, Area::Support);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let base = format!("/p/{}/support/tickets/{}", project.slug, t.number);
    let csrf = &s.session.csrf_token;
    let button = |name: &str, label: &str| {
        html! {
            form.inline method="post" action={(base) "/" (name)} {
                input type="hidden" name="_csrf" value=(csrf);
                button type="submit" { (label) }
            }
        }
    };
    let resolved = matches!(t.status.as_str(), "solved" | "closed");
    let body = html! {
        p { a href={"/p/" (project.slug) "/support/tickets"} { "← Tickets" } }
        h1 { "#" (t.number) " " (t.subject) }
        p.meta data-status=(t.status) {
            span.status { (t.status) } " · " strong { (t.tier.as_str().to_uppercase()) }
            " · " (t.priority.as_str()) " priority · from " (t.requester) " by " (t.source)
            " · opened " (format_ms(t.created_at))
        }
        table.sla {
            tbody {
                tr { th { "First response" } td { (standing_badge(fr)) } td { "due " (format_ms(t.first_response_due)) } td { (t.first_response_at.map(format_ms).unwrap_or_default()) } }
                tr { th { "Resolution" } td { (standing_badge(res)) } td { "due " (format_ms(t.resolution_due)) } td { (t.resolved_at.map(format_ms).unwrap_or_default()) } }
            }
        }
        @if let Some(i) = &incident {
            p { "Linked to incident " a href={"/p/" (project.slug) "/support/incidents/" (i.number)} { "#" (i.number) " " (i.title) } }
        }
        @let releases: Vec<&str> = links.iter().filter(|(k, _)| k == "release").map(|(_, v)| v.as_str()).collect();
        @if !releases.is_empty() {
            p.fixed { "Fixed in release " (releases.join(", ")) }
        }
        @let issues: Vec<&str> = links.iter().filter(|(k, _)| k == "issue").map(|(_, v)| v.as_str()).collect();
        @if !issues.is_empty() {
            p.issues { "Hit error issue"
                @for n in &issues { " " a href={"/p/" (project.slug) "/support/errors/" (n)} { "#" (n) } }
            }
        }
        h2 { "Conversation" }
        ol.conversation {
            @for c in &comments {
                li data-kind=(if c.public { "reply" } else { "note" }) {
                    p.meta { time { (format_ms(c.at)) } " · " strong { (c.author) } @if !c.public { " · " small { "internal note" } } }
                    p.body { (c.body) }
                }
            }
        }
        @if can_write {
            form.stack method="post" action={(base) "/comment"} {
                input type="hidden" name="_csrf" value=(csrf);
                label for="reply" { "Reply or note" }
                textarea #reply name="body" required maxlength="20000" rows="4" {}
                fieldset.choice {
                    legend { "Visible to" }
                    label { input type="radio" name="kind" value="reply" checked; " the requester (reply)" }
                    label { input type="radio" name="kind" value="note"; " the team only (internal note)" }
                }
                button type="submit" { "Send" }
            }
            p.actions {
                @if t.tier.next().is_some() && !resolved { (button("escalate", "Escalate to next tier")) " " }
                @if !resolved { (button("solve", "Solve")) " " }
                @if t.status != "closed" { (button("close", "Close")) " " }
                @if resolved { (button("reopen", "Reopen")) }
            }
            details {
                summary { "Link to an incident or a release" }
                form.stack method="post" action={(base) "/link"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label for="incident" { "Incident number" }
                    input #incident name="incident" type="number" min="1" required;
                    button type="submit" { "Link incident" }
                }
                form.stack method="post" action={(base) "/fixed_in"} {
                    input type="hidden" name="_csrf" value=(csrf);
                    label for="release" { "Fixed in release" }
                    input #release name="release" required maxlength="100" placeholder="1.4.2";
                    button type="submit" { "Record release" }
                }
            }
        }
    };
    page(
        &format!("Ticket #{} · {}", t.number, project.name),
        Some(&frame),
        body,
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct TicketActionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    body: Option<String>,
    /// reply or note, for `comment`.
    kind: Option<String>,
    incident: Option<String>,
    release: Option<String>,
}

pub async fn ticket_action(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, number, action)): Path<(String, i64, String)>,
    Form(f): Form<TicketActionForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "change tickets"));
    let project = &projects[idx].0;
    let t = match find(&state, &project.id, number).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let action = match action.as_str() {
        "comment" => f.kind.clone().unwrap_or_else(|| "reply".into()),
        other => other.to_owned(),
    };
    let incident = match f.incident.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => match n.trim_start_matches('#').parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "An incident is linked by its number.",
                );
            }
        },
        _ => None,
    };
    let op = match TicketOp::parse(&action, f.body.as_deref(), incident, f.release.as_deref()) {
        Ok(op) => op,
        Err(why) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &why),
    };
    outcome(
        svc::apply(&state, &s.actor(), &t, &op).await,
        &format!("/p/{}/support/tickets/{}", project.slug, t.number),
    )
}

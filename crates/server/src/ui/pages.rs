//! The home page, a project's overview and the ten area pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::{Area, Role};
use liveops_store::projects::Project;
use maud::{Markup, html};

use super::{Frame, UiSession, error_page, page};
use crate::state::AppState;

/// The projects a signed-in person can open, with their role in each.
pub(super) async fn projects_for(
    state: &AppState,
    s: &UiSession,
) -> Result<Vec<(Project, Role)>, Response> {
    let user = &s.session.user;
    let found = if user.is_admin {
        state
            .db
            .all_projects()
            .await
            .map(|ps| ps.into_iter().map(|p| (p, Role::Owner)).collect())
    } else {
        state.db.projects_of(&user.id).await
    };
    found.map_err(|e| error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))
}

/// The project `slug` if the person may open it; a 404 page otherwise.
pub(super) fn pick<'a>(
    projects: &'a [(Project, Role)],
    slug: &str,
) -> Result<&'a (Project, Role), Response> {
    projects
        .iter()
        .find(|(p, _)| p.slug == slug)
        .ok_or_else(|| {
            error_page(
                StatusCode::NOT_FOUND,
                &format!("There is no project `{slug}` that you can open."),
            )
        })
}

pub async fn home(State(state): State<AppState>, s: UiSession) -> Response {
    let projects = match projects_for(&state, &s).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some((p, _)) = projects.first() {
        return Redirect::to(&format!("/p/{}", p.slug)).into_response();
    }
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: None,
        section: "overview",
    };
    page(
        "Welcome",
        Some(&frame),
        html! {
            h1 { "Welcome to liveops" }
            div.empty {
                p { "You are not a member of any project yet." }
                @if s.session.user.is_admin {
                    (new_project_form(&s.session.csrf_token, None))
                    p { "Or from the command line on the server: " code { "liveops project create \"My product\"" } }
                } @else {
                    p { "Ask an administrator of your liveops instance to add you to a project." }
                }
            }
        },
    )
    .into_response()
}

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let projects = match projects_for(&state, &s).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (project, role) = match pick(&projects, &slug) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: "overview",
    };
    let g = match crate::overview::glance(&state, &project.id).await {
        Ok(g) => g,
        Err(e) => return super::unavailable(e),
    };
    page(
        &project.name,
        Some(&frame),
        html! {
            h1 { (project.name) }
            p.meta { "Your role: " strong { (role) } " · " a href={"/p/" (project.slug) "/start"} { "Getting started" } }
            (glance(&project.slug, &g))
            ul.cards {
                @for area in Area::ALL {
                    li.card {
                        h2 { a href={"/p/" (project.slug) "/" (area.slug())} { (area.title()) } }
                        p { (area.summary()) }
                    }
                }
            }
        },
    )
    .into_response()
}

fn percent(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// How the product is doing now, each part linking to its area.
fn glance(slug: &str, g: &crate::overview::Glance) -> maud::Markup {
    let link = |area: &str| format!("/p/{slug}/{area}");
    html! {
        section.glance aria-label="Now" {
            div.tile #glance-incidents {
                h2 { a href=(link("support")) { "Incidents" } }
                @if g.incidents.is_empty() {
                    p.ok { "None open." }
                } @else {
                    ul {
                        @for i in &g.incidents {
                            li { a href={"/p/" (slug) "/support/incidents/" (i.number)} { "#" (i.number) " " (i.title) } " · " (i.severity.to_uppercase()) " · " (i.state) }
                        }
                    }
                }
                p { "On call: "
                    @if g.on_call.is_empty() { "nobody" }
                    @for (i, c) in g.on_call.iter().enumerate() {
                        @if i > 0 { "; " }
                        (c.who) " (" (c.on) ")"
                    }
                }
            }
            div.tile #glance-users {
                h2 { a href=(link("analytics")) { "Active users today" } }
                p.figure { (g.active_today.map_or_else(|| "–".to_owned(), |n| n.to_string())) }
                p { "Same day last week: " (g.active_week_ago.map_or_else(|| "–".to_owned(), |n| n.to_string())) }
            }
            div.tile #glance-traffic {
                h2 { a href=(link("performance")) { "Requests, last 5 minutes" } }
                p.figure { (format!("{:.1}", g.traffic.per_minute)) " per minute" }
                p { "Errors: " (g.traffic.error_rate.map_or_else(|| "–".to_owned(), percent))
                    " · p95: " (g.traffic.p95_ms.map_or_else(|| "–".to_owned(), |p| format!("{p:.0} ms"))) }
            }
            div.tile #glance-slos {
                h2 { a href=(link("performance")) { "SLO budgets left" } }
                @if g.slos.is_empty() { p { "No SLOs yet." } }
                ul {
                    @for slo in &g.slos {
                        li { (slo.name) ": "
                            @match &slo.budget_remaining {
                                Some(l) if *l >= 0.0 => { (percent(*l)) }
                                Some(l) => { "overspent (" (percent(*l)) ")" }
                                None => { "spent" }
                            }
                        }
                    }
                }
            }
            div.tile #glance-security {
                h2 { a href=(link("security")) { "Security" } }
                p.figure { (g.findings_past_sla) }
                p { "findings past their patch SLA" }
            }
            div.tile #glance-release {
                h2 { a href=(link("releases")) { "Next release" } }
                @match &g.next_release {
                    Some(r) => {
                        p.figure { (r.version) }
                        p { (r.state)
                            @if let Some(d) = &r.planned_for { " · planned for " (d) }
                            @if let Some(f) = &r.freeze { " · freezes " (f) } }
                    }
                    None => { p { "None planned." } }
                }
            }
        }
    }
}

/// Every area has its own page, routed ahead of this one; what reaches
/// here names no page.
pub async fn area(_s: UiSession, Path((_slug, area)): Path<(String, String)>) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        &format!("There is no page `{area}`."),
    )
}

fn new_project_form(csrf: &str, error: Option<&str>) -> Markup {
    html! {
        form.stack #new-project method="post" action="/projects" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="project-name" { "Project name" }
            input #project-name name="name" required maxlength="100" placeholder="My product";
            @if let Some(e) = error { p.field-error role="alert" { (e) } }
            button type="submit" { "Create project" }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct NewProjectForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
}

/// Creates a project (instance admins), owned by whoever made it, and
/// opens its getting-started page.
pub async fn create_project(
    State(state): State<AppState>,
    s: UiSession,
    axum::Form(f): axum::Form<NewProjectForm>,
) -> Response {
    if let Err(page) = super::csrf_ok(&s, &f.csrf) {
        return page;
    }
    if !s.session.user.is_admin {
        return error_page(
            StatusCode::FORBIDDEN,
            "Only instance admins may create projects.",
        );
    }
    let made = match liveops_core::ProjectName::parse(&f.name) {
        Ok(name) => match liveops_core::Slug::from_name(&name) {
            Ok(slug) => crate::access::create_project(
                &state.db,
                &*state.clock,
                &s.actor(),
                &name,
                &slug,
                Some(&s.session.user),
            )
            .await
            .map_err(|e| match e {
                liveops_store::StoreError::Conflict(_) => {
                    Ok(format!("There is a project `{slug}` already."))
                }
                other => Err(other),
            }),
            Err(e) => Err(Ok(e.to_string())),
        },
        Err(e) => Err(Ok(e.to_string())),
    };
    match made {
        Ok(p) => Redirect::to(&format!("/p/{}/start", p.project.slug)).into_response(),
        Err(Ok(message)) => {
            let projects = projects_for(&state, &s).await.unwrap_or_default();
            let frame = Frame {
                session: &s.session,
                projects: &projects,
                current: None,
                section: "overview",
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                page(
                    "New project",
                    Some(&frame),
                    html! {
                        h1 { "New project" }
                        (new_project_form(&s.session.csrf_token, Some(&message)))
                    },
                ),
            )
                .into_response()
        }
        Err(Err(e)) => super::unavailable(e),
    }
}

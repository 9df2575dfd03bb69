//! The home page, a project's overview and the ten area pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::{Area, Role};
use liveops_store::projects::Project;
use maud::html;

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
                    p { "Create one from the command line on the server:" }
                    pre { code { "liveops project create \"My product\"" } }
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
    page(
        &project.name,
        Some(&frame),
        html! {
            h1 { (project.name) }
            p.meta { "Your role: " strong { (role) } }
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

/// What a page shows before its area holds any data: what will appear, and
/// where it comes from.
fn empty_state(area: Area) -> (&'static str, &'static str) {
    match area {
        Area::Support => (
            "No incidents, alerts or tickets are recorded for this project.",
            "Incidents open from alerts and by hand; tickets come from people asking for help.",
        ),
        Area::Analytics => (
            "No usage events are recorded for this project.",
            "Events arrive from product analytics SDKs sending with the project's ingest key.",
        ),
        Area::Feedback => (
            "No feedback or backlog items are recorded for this project.",
            "Feedback arrives from forms, tickets and imports and is linked to backlog items.",
        ),
        Area::Releases => (
            "No releases or deployments are recorded for this project.",
            "Releases gather scheduled backlog items; deployments record what went live.",
        ),
        Area::Performance => (
            "No traces or metrics are recorded for this project.",
            "Spans and metrics arrive from OpenTelemetry exporters sending with the ingest key.",
        ),
        Area::Security => (
            "No vulnerability findings or expiring credentials are recorded for this project.",
            "Findings come from dependency scans, certificate and secret audits, and imports.",
        ),
        Area::Scaling => (
            "No load history is recorded for this project, so there is nothing to forecast.",
            "Forecasts are drawn from request rates and load metrics once they arrive.",
        ),
        Area::Docs => (
            "No API specifications, release notes or decision records are recorded.",
            "Documentation changes are tracked against releases once they are recorded.",
        ),
        Area::Reviews => (
            "No postmortems or launch reviews are recorded for this project.",
            "Drafts are prepared from incidents, deployments and telemetry.",
        ),
        Area::Improvement => (
            "No deployments or incidents are recorded, so there are no trends to show.",
            "DORA metrics and SLO reports build up as deployments and incidents are recorded.",
        ),
    }
}

pub async fn area(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, area)): Path<(String, String)>,
) -> Response {
    let Some(area) = Area::parse(&area) else {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no page `{area}`."),
        );
    };
    let projects = match projects_for(&state, &s).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (project, _) = match pick(&projects, &slug) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let frame = Frame {
        session: &s.session,
        projects: &projects,
        current: Some(project),
        section: area.slug(),
    };
    let (headline, hint) = empty_state(area);
    page(
        &format!("{} · {}", area.title(), project.name),
        Some(&frame),
        html! {
            h1 { (area.title()) }
            p.lede { (area.summary()) }
            div.empty data-area=(area.slug()) {
                p { strong { (headline) } }
                p { (hint) }
            }
        },
    )
    .into_response()
}

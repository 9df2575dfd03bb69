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

/// Every area has its own page, routed ahead of this one; what reaches
/// here names no page.
pub async fn area(_s: UiSession, Path((_slug, area)): Path<(String, String)>) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        &format!("There is no page `{area}`."),
    )
}

//! The prologue every page and form shares: the signed-in person's
//! projects and the one the URL names, and for a posted form the CSRF
//! token and a role that may do what it asks. Each step's `Err` is the
//! finished page to hand back (see `or_page!`).

use axum::http::StatusCode;
use axum::response::Response;
use liveops_core::access::authorize;
use liveops_core::{Permission, Role};
use liveops_store::projects::Project;

use super::pages::{pick, projects_for};
use super::{UiSession, csrf_ok, error_page};
use crate::state::AppState;

/// The person's projects, and the index of the one `slug` names.
pub(crate) async fn load(
    state: &AppState,
    s: &UiSession,
    slug: &str,
) -> Result<(Vec<(Project, Role)>, usize), Response> {
    let projects = projects_for(state, s).await?;
    let idx = {
        let found = pick(&projects, slug)?;
        projects
            .iter()
            .position(|p| p.0.id == found.0.id)
            .unwrap_or(0)
    };
    Ok((projects, idx))
}

/// A posted form's project and the person's role in it, once its CSRF
/// token checks out.
pub(crate) async fn posted(
    state: &AppState,
    s: &UiSession,
    slug: &str,
    csrf: &str,
) -> Result<(Project, Role), Response> {
    csrf_ok(s, csrf)?;
    let projects = projects_for(state, s).await?;
    pick(&projects, slug).cloned()
}

/// Like [`posted`], for a role that has `permission`; `refusal` says why
/// not to one that lacks it.
pub(crate) async fn permitted(
    state: &AppState,
    s: &UiSession,
    slug: &str,
    csrf: &str,
    permission: Permission,
    refusal: &str,
) -> Result<(Project, Role), Response> {
    let (project, role) = posted(state, s, slug, csrf).await?;
    if authorize(role, None, permission).is_err() {
        return Err(error_page(StatusCode::FORBIDDEN, refusal));
    }
    Ok((project, role))
}

/// The prologue of a form that changes things: the CSRF token, the
/// project, and a role that may write (`what` says what, for the refusal).
pub(crate) async fn writable(
    state: &AppState,
    s: &UiSession,
    slug: &str,
    csrf: &str,
    what: &str,
) -> Result<(Vec<(Project, Role)>, usize), Response> {
    csrf_ok(s, csrf)?;
    let (projects, idx) = load(state, s, slug).await?;
    if authorize(projects[idx].1, None, Permission::Write).is_err() {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            &format!("Your role cannot {what}."),
        ));
    }
    Ok((projects, idx))
}

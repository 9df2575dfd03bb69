//! The documentation page: decision records, and the API changes each
//! release with an OpenAPI document brought.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use liveops_core::Area;
use maud::html;

use super::prologue::load;
use super::{Frame, UiSession, api_error, page};
use crate::docs as service;
use crate::state::AppState;

/// Documentation sync: decision records, and the API changes each release
/// with an OpenAPI document brought.
pub async fn docs(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let (adrs, changes) = match service::overview(&state, &project.id).await {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Docs);
    page(
        &format!("Documentation sync · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Docs.title()) }
            p.lede { (Area::Docs.summary()) }
            @if adrs.is_empty() && changes.is_empty() {
                div.empty data-area="docs" {
                    p { strong { "No decision records or API changes yet." } }
                    p { "Import decision records with " code { "liveops docs adr import" } ", store each release's OpenAPI document, and check docs pages with " code { "liveops docs stale" } "." }
                }
            }
            section {
                h2 { "Architecture decision records" }
                @if adrs.is_empty() { p { "Import them with " code { "liveops docs adr import --project " (project.slug) " docs/adr" } "." } }
                table.adrs {
                    thead { tr { th { "#" } th { "Decision" } th { "Status" } th { "Date" } th { "File" } } }
                    tbody { @for a in &adrs { tr { td { (a.number) } td { (a.title) @if let Some(d) = &a.decision { br; small { (d) } } } td { (a.status) } td { (a.decided_on.as_deref().unwrap_or("–")) } td { code { (a.path) } } } } }
                }
            }
            section {
                h2 { "API changes by release" }
                @if changes.is_empty() { p { "Store each release's OpenAPI document (" code { "PUT …/releases/VERSION/openapi" } ") to see what changed." } }
                @for (v, n) in &changes {
                    h3 { (v) " " small { "since " (n.base.as_deref().unwrap_or("")) } }
                    @if let Some(vp) = &n.problem { p.warning { (vp.to_string()) } }
                    ul { @for c in &n.changes { li data-level=(c.level.as_str()) { (c.level.as_str()) " " code { (c.id) } " " (c.method) " " (c.path) ": " (c.text) } } }
                }
            }
        },
    )
    .into_response()
}

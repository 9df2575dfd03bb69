//! The release-planning pages: trains and their calendar, releases with
//! their items, capacity and state buttons, notes previews and deployments.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::Area;
use liveops_core::releases::changelog::Section;
use maud::html;
use serde::Deserialize;

use super::prologue::{load, writable};
use super::{Frame, UiSession, api_error, csrf_field, page};
use crate::contract::releases::release_view;
use crate::error::ApiError;
use crate::releases::{self as service, ReleasePlan};
use crate::state::{AppState, format_ms};

pub async fn overview(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let loaded: Result<_, ApiError> = async {
        let trains = state.db.trains(&project.id).await?;
        let mut calendars = Vec::new();
        for t in &trains {
            calendars.push(service::train_of(t)?.calendar(crate::clock::today(state.now_ms()), 4));
        }
        let mut releases = Vec::new();
        for r in state.db.releases(&project.id).await? {
            releases.push(release_view(
                crate::releases::detail(&state, &project.id, r).await?,
            ));
        }
        let deployments = state.db.deployments(&project.id, None, None, 20).await?;
        Ok((trains, calendars, releases, deployments))
    }
    .await;
    let (trains, calendars, releases, deployments) = match loaded {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Releases);
    let p = &project.slug;
    page(
        &format!("Releases · {}", project.name),
        Some(&frame),
        html! {
            h1 { (Area::Releases.title()) }
            p.lede { (Area::Releases.summary()) }
            @if releases.is_empty() && trains.is_empty() && deployments.is_empty() {
                div.empty data-area="releases" {
                    p { strong { "No releases, trains or deployments yet." } }
                    p { "Plan a release below, start a release train, or record deployments with " code { "liveops deploy record" } "." }
                }
            }
            p { a href={"/changelog/" (p)} { "Public changelog" } " · " a href={"/changelog/" (p) "/feed.atom"} { "Atom feed" } }
            section {
                h2 { "Releases" }
                table.releases {
                    thead { tr { th { "Version" } th { "Type" } th { "State" } th { "Date" } th { "Items" } th { "Capacity" } } }
                    tbody {
                        @for r in &releases {
                            tr data-release=(r.version) data-state=(r.state) {
                                td { a href={"/p/" (p) "/releases/" (r.version)} { (r.version) } }
                                td { (r.kind) @if let Some(i) = r.incident { " for incident #" (i) } }
                                td { (r.state) }
                                td { (r.shipped_at.as_deref().or(r.planned_for.as_deref()).unwrap_or("–")) }
                                td { (r.items.len()) }
                                td {
                                    @if let Some(w) = &r.capacity_warning { span.warning { (w.message) } }
                                    @else if let Some(c) = r.capacity { (format!("{:.1} of {c:.1} person-weeks", r.planned_effort)) }
                                    @else { "–" }
                                }
                            }
                        }
                    }
                }
                @if releases.is_empty() { p { "No releases planned yet." } }
                details {
                    summary { "Plan a release" }
                    form.grid method="post" action={"/p/" (p) "/releases"} {
                        (csrf_field(&s))
                        label { "Type" select name="kind" { @for k in ["minor", "major", "patch", "hotfix"] { option value=(k) { (k) } } } }
                        label { "Version (the next one for the type when empty)" input name="version"; }
                        label { "Train" select name="train" { option value="" { "none" } @for t in &trains { option value=(t.name) { (t.name) } } } }
                        label { "Date (the train's next departure when empty)" input type="date" name="planned_for"; }
                        label { "Capacity (person-weeks)" input name="capacity" inputmode="decimal"; }
                        button type="submit" { "Plan release" }
                    }
                }
            }
            section {
                h2 { "Release trains" }
                @for (t, cal) in trains.iter().zip(&calendars) {
                    h3 { (t.name) " " small { (t.cadence) ", freeze " (t.freeze_days) " days before" } }
                    table.calendar {
                        thead { tr { th { "Code freeze" } th { "Release" } } }
                        tbody { @for d in cal { tr { td { (d.freeze.to_string()) } td { (d.release.to_string()) } } } }
                    }
                }
                @if trains.is_empty() { p { "No trains yet." } }
                details {
                    summary { "Start a train" }
                    form.grid method="post" action={"/p/" (p) "/releases/trains"} {
                        (csrf_field(&s))
                        label { "Name" input name="name" required; }
                        label { "Cadence" select name="cadence" { @for c in ["weekly", "biweekly", "monthly"] { option value=(c) { (c) } } } }
                        label { "First release" input type="date" name="first_release" required; }
                        label { "Freeze, days before release" input type="number" name="freeze_days" value="2" min="0"; }
                        button type="submit" { "Start train" }
                    }
                }
            }
            section {
                h2 { "Deployments" }
                table.deployments {
                    thead { tr { th { "When" } th { "Service" } th { "Version" } th { "Environment" } th { "Commits" } } }
                    tbody {
                        @for d in &deployments {
                            tr { td { (format_ms(d.deployed_at)) } td { (d.service) } td { (d.version) } td { (d.environment) } td { (d.commits) } }
                        }
                    }
                }
                @if deployments.is_empty() { p { "Record deployments with " code { "liveops deploy record" } "." } }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    version: Option<String>,
    train: Option<String>,
    planned_for: Option<String>,
    capacity: Option<String>,
}

pub async fn create_release(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<ReleaseForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "plan releases"));
    let project = &projects[idx].0;
    let capacity = match f
        .capacity
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(c) => match c.parse::<f64>() {
            Ok(v) => Some(v),
            Err(_) => {
                return api_error(ApiError::unprocessable(format!(
                    "capacity `{c}` is not a number"
                )));
            }
        },
    };
    let plan = ReleasePlan {
        version: f.version.filter(|v| !v.trim().is_empty()),
        kind: f.kind,
        train: f.train,
        planned_for: f.planned_for,
        capacity,
    };
    match service::create_release(&state, &s.actor(), &project.id, &plan).await {
        Ok(r) => {
            Redirect::to(&format!("/p/{}/releases/{}", project.slug, r.version)).into_response()
        }
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct TrainForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    cadence: String,
    first_release: String,
    freeze_days: Option<i64>,
}

pub async fn create_train(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<TrainForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "start trains"));
    let project = &projects[idx].0;
    match service::create_train(
        &state,
        &s.actor(),
        &project.id,
        &f.name,
        &f.cadence,
        &f.first_release,
        f.freeze_days.unwrap_or(2),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/p/{}/releases", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

pub async fn release(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, version)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let project = &projects[idx].0;
    let loaded: Result<_, ApiError> = async {
        let r = service::find_release(&state, &project.id, &version).await?;
        let notes = service::notes(&state, &project.id, &r).await?;
        let adrs =
            crate::docs::adrs_for(&state, &project.id, &r, state.db.adrs(&project.id).await?)
                .await?;
        Ok((
            release_view(crate::releases::detail(&state, &project.id, r).await?),
            notes,
            adrs,
        ))
    }
    .await;
    let (r, notes, adrs) = match loaded {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Releases);
    let p = &project.slug;
    let action = format!("/p/{p}/releases/{}/state", r.version);
    page(
        &format!("Release {} · {}", r.version, project.name),
        Some(&frame),
        html! {
            p { a href={"/p/" (p) "/releases"} { "← Releases" } }
            h1 { "Release " (r.version) }
            p.meta data-state=(r.state) {
                (r.kind) " · " strong.state { (r.state) }
                @if let Some(d) = &r.planned_for { " · planned for " (d) }
                @if let Some(t) = &r.train { " · train " (t) }
                @if let Some(sh) = &r.shipped_at { " · shipped " (sh) }
                @if let Some(i) = r.incident { " · hotfix for " a href={"/p/" (p) "/support/incidents/" (i)} { "incident #" (i) } }
            }
            @if let Some(w) = &r.capacity_warning { p.warning { "Over capacity: " (w.message) } }
            @if r.state != "shipped" {
                p {
                    @if r.state == "planned" {
                        form.inline method="post" action=(action) { (csrf_field(&s)) input type="hidden" name="state" value="frozen"; button type="submit" { "Freeze" } }
                        " "
                    }
                    @if r.state == "frozen" {
                        form.inline method="post" action=(action) { (csrf_field(&s)) input type="hidden" name="state" value="planned"; button type="submit" { "Thaw" } }
                        " "
                    }
                    form.inline method="post" action=(action) { (csrf_field(&s)) input type="hidden" name="state" value="shipped"; button type="submit" { "Ship" } }
                }
            }
            section {
                h2 { "Items" }
                table.items {
                    thead { tr { th { "#" } th { "Item" } th { "Kind" } th { "Status" } th { "Votes" } th { "Effort" } } }
                    tbody {
                        @for i in &r.items {
                            tr data-item=(i.number) {
                                td { (i.number) }
                                td { a href={"/p/" (p) "/feedback/backlog/" (i.number)} { (i.title) } }
                                td { (i.kind) } td { (i.status) } td { (i.votes) }
                                td { (i.score.as_ref().and_then(|s| s.effort).map(|e| format!("{e:.1}")).unwrap_or_else(|| "–".into())) }
                            }
                        }
                    }
                }
                @if r.items.is_empty() { p { "Schedule backlog items from their pages." } }
            }
            section.notes {
                h2 { "Release notes" }
                @if let Some(vp) = &notes.version_problem { p.warning { (vp.to_string()) } }
                @for section in Section::ALL {
                    @let lines: Vec<_> = notes.release.entries.iter().filter(|e| e.section == section).collect();
                    @if !lines.is_empty() {
                        h3 { (section.title()) }
                        ul { @for e in lines { li { @if e.breaking { strong { "Breaking: " } } (e.text) } } }
                    }
                }
                details { summary { "Markdown" } pre { (notes.markdown) } }
            }
            @if !notes.api_changes.is_empty() {
                section {
                    h2 { "API changes since " (notes.api_base.as_deref().unwrap_or("the last release")) }
                    table.api-changes {
                        thead { tr { th { "Level" } th { "Check" } th { "Operation" } th { "Change" } } }
                        tbody { @for c in &notes.api_changes { tr data-level=(c.level.as_str()) { td { (c.level.as_str()) } td { code { (c.id) } } td { (c.method) " " (c.path) } td { (c.text) } } } }
                    }
                }
            }
            section {
                h2 { "Decision records" }
                @if adrs.is_empty() { p { "No decision records dated within this release." } }
                ul { @for a in &adrs { li { "ADR " (a.number) ": " (a.title) " (" (a.status) ", " (a.decided_on.as_deref().unwrap_or("")) ")" } } }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct StateForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    state: String,
}

pub async fn move_release(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, version)): Path<(String, String)>,
    Form(f): Form<StateForm>,
) -> Response {
    let (projects, idx) = or_page!(writable(&state, &s, &slug, &f.csrf, "move releases"));
    let project = &projects[idx].0;
    let done: Result<(), ApiError> = async {
        let r = service::find_release(&state, &project.id, &version).await?;
        service::move_to(&state, &s.actor(), &project.id, &r, &f.state).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/p/{}/releases/{version}", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

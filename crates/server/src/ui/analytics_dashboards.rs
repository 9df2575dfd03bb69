//! The dashboard pages: the project's dashboards, with forms to make one
//! from saved insights and to make one from exported JSON; and a
//! dashboard's grid of tiles, each drawn by its kind with its headline,
//! goal and how old its answer is, under the range and filters that apply
//! to all of them.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::{Area, Permission};
use maud::html;
use serde::Deserialize;

use super::analytics_insights::drawn;
use super::prologue::{load, permitted};
use super::{Frame, UiSession, api_error, csrf_field, page, url_segment};
use crate::analytics::dashboards::{self as service, TileSpec};
use crate::contract::dashboards::{DashboardExport, DashboardView, answer, export};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn list_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let rows = match service::list(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let insights = match crate::analytics::insights::list(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let views: Vec<DashboardView> = rows
        .iter()
        .map(|d| DashboardView::new(d, &project.slug))
        .collect();
    let base = format!("/p/{}/analytics", project.slug);
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let body = html! {
        p { a href=(base) { "← Analytics" } " · " a href={(base) "/insights"} { "Saved insights" } }
        h1 { "Dashboards" }
        @if views.is_empty() {
            p.empty { "No dashboards yet. A dashboard arranges saved insights in a grid, under one range and filters." }
        } @else {
            table.dashboards {
                thead { tr { th { "Dashboard" } th { "Insights" } th { "Range" } } }
                tbody { @for v in &views { tr {
                    td { a href=(v.link) { (v.name) } }
                    td { (v.tiles) }
                    td { @if let Some(d) = v.days { "last " (d) " days" } @else if let Some(f) = &v.from { (f) " to " (v.to.clone().unwrap_or_else(|| "today".into())) } @else { "each insight's own" } }
                } } }
            }
        }
        @if can_write {
            h2 { "Make a dashboard" }
            @if insights.is_empty() {
                p { "Save some insights first (on the analytics page)." }
            } @else {
                form.stack #new-dashboard method="post" action={(base) "/dashboards"} {
                    (csrf_field(&s))
                    label for="d-name" { "Name" }
                    input #d-name name="name" required maxlength="120";
                    label for="d-days" { "The last how many days (empty: each insight's own range)" }
                    input #d-days name="days" type="number" min="1" max="3660" value="30";
                    fieldset {
                        legend { "Insights, and how wide each tile is" }
                        @for i in &insights {
                            label { select name={"tile_" (i.id)} aria-label={"Width of " (i.name)} {
                                option value="" { "not shown" }
                                option value="1" { "1 column" }
                                option value="2" { "2 columns" }
                                option value="3" { "3 columns" }
                            } " " (i.name) " (" (i.kind.as_str()) ")" }
                            br;
                        }
                    }
                    button type="submit" { "Make dashboard" }
                }
            }
            h2 { "Make one from exported JSON" }
            form.stack method="post" action={(base) "/dashboards/import"} {
                (csrf_field(&s))
                textarea name="json" rows="4" required placeholder="{\"name\": …, \"tiles\": […]}" {}
                button type="submit" { "Import dashboard" }
            }
        }
    };
    page(
        &format!("Dashboards · {}", project.name),
        Some(&frame),
        body,
    )
    .into_response()
}

fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map(|v| v.trim()).unwrap_or("")
}

pub async fn create(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        field(&f, "_csrf"),
        Permission::Write,
        "Only members who may write can make dashboards."
    ));
    let days = match field(&f, "days") {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return api_error(ApiError::unprocessable("days must be a whole number")),
        },
    };
    // Tiles in the order the insights were listed (by name).
    let insights = match crate::analytics::insights::list(&state, &project.id).await {
        Ok(r) => r,
        Err(e) => return api_error(e),
    };
    let mut tiles = Vec::new();
    for i in &insights {
        match field(&f, &format!("tile_{}", i.id)) {
            "" => {}
            w => match w.parse::<i64>() {
                Ok(width) => tiles.push(TileSpec {
                    insight: i.id.clone(),
                    width,
                }),
                Err(_) => return api_error(ApiError::unprocessable("a width is 1, 2 or 3")),
            },
        }
    }
    let frame = liveops_store::analytics::dashboards::Frame {
        days,
        ..Default::default()
    };
    match service::create(
        &state,
        &s.actor(),
        &project.id,
        field(&f, "name"),
        &frame,
        &tiles,
    )
    .await
    {
        Ok(d) => Redirect::to(&format!(
            "/p/{slug}/analytics/dashboards/{}",
            url_segment(&d.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    json: String,
}

pub async fn import(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<ImportForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can import dashboards."
    ));
    let doc: DashboardExport = match serde_json::from_str(&f.json) {
        Ok(d) => d,
        Err(e) => {
            return api_error(ApiError::unprocessable(format!(
                "the dashboard JSON does not read: {e}"
            )));
        }
    };
    let carried = match doc.carried(state.now_ms()) {
        Ok(c) => c,
        Err(e) => return api_error(e),
    };
    match service::import(
        &state,
        &s.actor(),
        &project.id,
        &doc.name,
        &doc.frame(),
        &carried,
    )
    .await
    {
        Ok(d) => Redirect::to(&format!(
            "/p/{slug}/analytics/dashboards/{}",
            url_segment(&d.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

pub async fn dashboard_view(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let d = match service::find(&state, &project.id, &which).await {
        Ok(d) => d,
        Err(e) => return api_error(e),
    };
    let answered = match answer(&state, &project.slug, &project.id, &d).await {
        Ok(a) => a,
        Err(e) => return api_error(e),
    };
    let cohorts = match crate::analytics::cohorts::list(&state, &project.id).await {
        Ok(c) => c,
        Err(e) => return api_error(e),
    };
    let mut tiles = Vec::with_capacity(answered.tiles.len());
    for t in answered.tiles {
        let chart = match (&t.result, t.insight.kind.parse()) {
            (Some(r), Ok(kind)) => match drawn(kind, r.clone()) {
                Ok(m) => Some(m),
                Err(e) => return api_error(e),
            },
            _ => None,
        };
        tiles.push((t, chart));
    }
    let base = format!("/p/{}/analytics", project.slug);
    let v = &answered.dashboard;
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let body = html! {
        p { a href={(base) "/dashboards"} { "← Dashboards" } }
        h1 { (v.name) }
        @if can_write {
            form.inline.dashboard-frame method="post" action={(base) "/dashboards/" (url_segment(&v.id)) "/frame"} {
                (csrf_field(&s))
                label { "Last " input name="days" type="number" min="1" max="3660" size="4" value=(v.days.map(|d| d.to_string()).unwrap_or_default()); " days" }
                " " label { "or from " input type="date" name="from" value=(v.from.clone().unwrap_or_default()); }
                " " label { "to " input type="date" name="to" value=(v.to.clone().unwrap_or_default()); }
                " " label { "Cohort " select name="in_cohort" {
                    option value="" { "everyone" }
                    @for c in &cohorts { option value=(c.name) selected[v.in_cohort.as_deref() == Some(c.name.as_str())] { (c.name) } }
                } }
                " " label title="Property filters for the trends, such as plan=pro" { "where " input name="where" size="16" value=(v.filter.clone().unwrap_or_default()); }
                " " button type="submit" { "Apply to all" }
            }
        }
        div.dashboard-grid {
            @for (t, chart) in &tiles {
                section class={"tile span-" (t.width.clamp(1, 3))} data-insight=(t.insight.name) {
                    h2 { a href=(t.insight.link) { (t.insight.name) } }
                    @if let Some(m) = chart { (m) }
                    @if let Some(err) = &t.error { p.error { (err) } }
                    @if let Some(h) = t.headline {
                        p.headline { "Now " strong.headline-value { (format!("{h:.2}")) }
                            @if let Some(g) = &t.goal {
                                " · goal " (g.op) " " (g.target)
                                @if let Some(a) = t.attainment { " · " span.attainment { (format!("{:.0}%", a * 100.0)) } " of goal" }
                                @if t.met == Some(true) { " · " span.goal-met { "met" } } @else { " · " span.goal-missed { "not met" } }
                            }
                        }
                    }
                    @if let Some(a) = &t.alert {
                        p.alert { "Alert " (a.rule) ": "
                            @if a.firing { strong.alert-firing { "firing" } } @else { span.alert-quiet { "quiet" } } }
                    }
                    @if let Some(age) = t.age_secs {
                        p.age { small { "Answered " (age) " s ago" @if t.stale { span.stale { " — new data has arrived since; it is answered again within a minute" } } } }
                    }
                }
            }
        }
        p { a href={(base) "/dashboards/" (url_segment(&v.id)) "/export"} download { "Export as JSON" } }
        @if can_write {
            form method="post" action={(base) "/dashboards/" (url_segment(&v.id)) "/delete"} {
                (csrf_field(&s))
                button.danger type="submit" { "Delete this dashboard" }
            }
        }
    };
    page(&format!("{} · Dashboards", v.name), Some(&frame), body).into_response()
}

pub async fn export_json(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, _) = &projects[idx];
    let d = match service::find(&state, &project.id, &which).await {
        Ok(d) => d,
        Err(e) => return api_error(e),
    };
    match export(&state, &project.id, &d).await {
        Ok(doc) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => api_error(e),
    }
}

pub async fn set_frame(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        field(&f, "_csrf"),
        Permission::Write,
        "Only members who may write can change dashboards."
    ));
    let d = match service::find(&state, &project.id, &which).await {
        Ok(d) => d,
        Err(e) => return api_error(e),
    };
    let days = match field(&f, "days") {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return api_error(ApiError::unprocessable("days must be a whole number")),
        },
    };
    let frame = liveops_store::analytics::dashboards::Frame {
        days,
        from_date: field(&f, "from").to_owned(),
        to_date: field(&f, "to").to_owned(),
        in_cohort: field(&f, "in_cohort").to_owned(),
        filter: field(&f, "where").to_owned(),
    };
    let tiles: Vec<TileSpec> = d
        .tiles
        .iter()
        .map(|t| TileSpec {
            insight: t.insight_id.clone(),
            width: t.width,
        })
        .collect();
    match service::update(&state, &s.actor(), &project.id, &d.id, &frame, &tiles).await {
        Ok(d) => Redirect::to(&format!(
            "/p/{slug}/analytics/dashboards/{}",
            url_segment(&d.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn delete(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can delete dashboards."
    ));
    match service::delete(&state, &s.actor(), &project.id, &which).await {
        Ok(()) => Redirect::to(&format!("/p/{slug}/analytics/dashboards")).into_response(),
        Err(e) => api_error(e),
    }
}

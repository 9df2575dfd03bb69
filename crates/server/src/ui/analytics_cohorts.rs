//! The cohorts pages: the project's cohorts with their sizes and a form to
//! define one (behavioural, by person properties, or a pasted CSV of
//! distinct ids); and a cohort's page with its size over time and some of
//! its persons. The numbers come from the same services the API answers
//! with.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::analytics::Interval;
use liveops_core::{Area, Permission};
use maud::html;
use serde::Deserialize;

use super::charts::lines;
use super::prologue::{load, permitted};
use super::{Frame, UiSession, api_error, csrf_field, page, url_segment};
use crate::analytics::cohorts as service;
use crate::contract::cohorts::{CohortBody, CohortView};
use crate::state::{AppState, format_ms};
use crate::timerange::query_range;

const DAY_MS: i64 = 86_400_000;

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn list_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let sized = match service::list_sized(&state, &project.id).await {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let views: Vec<CohortView> = sized
        .iter()
        .map(|(row, n)| CohortView::new(row, *n))
        .collect();
    let base = format!("/p/{}/analytics", project.slug);
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let body = html! {
        p { a href=(base) { "← Analytics" } }
        h1 { "Cohorts" }
        p.lede { "A cohort is a named group of persons. Every insight on the analytics page can keep to one, and trends and funnels can break down by several." }
        @if views.is_empty() {
            p.empty { "No cohorts yet." }
        } @else {
            table.cohorts {
                thead { tr { th { "Cohort" } th { "Kind" } th { "Who" } th { "Persons now" } } }
                tbody { @for c in &views { tr {
                    td { a href={(base) "/cohorts/" (url_segment(&c.id))} { (c.name) } }
                    td { (c.kind) }
                    td { (c.rule) }
                    td.size { (c.size) }
                } } }
            }
        }
        @if can_write {
            h2 { "Define a cohort" }
            form.stack #new-cohort method="post" action={(base) "/cohorts"} {
                (csrf_field(&s))
                label for="c-name" { "Name" }
                input #c-name name="name" required maxlength="120";
                label for="c-kind" { "Kind" }
                select #c-kind name="kind" {
                    option value="behavioural" { "behavioural: did (or did not do) an event" }
                    option value="property" { "by person properties" }
                    option value="static" { "static: a list of distinct ids" }
                }
                fieldset {
                    legend { "Behavioural" }
                    label { select name="did" { option value="true" { "did" } option value="false" { "did not do" } } }
                    " " label { "event " input name="event" size="16"; }
                    " " label { "at least " input name="min_count" type="number" min="1" value="1" size="4"; " times" }
                    " " label { "in the last " input name="days" type="number" min="1" value="30" size="4"; " days" }
                }
                fieldset {
                    legend { "By person properties" }
                    label title="key=value, key!=value, key~text, key>n, key? (set); several joined by ;" {
                        "where " input name="where" size="30" placeholder="plan=pro; seats>=5";
                    }
                }
                fieldset {
                    legend { "Static" }
                    label for="c-csv" { "Distinct ids, one per line (CSV: the first column)" }
                    textarea #c-csv name="csv" rows="4" {}
                }
                button type="submit" { "Save cohort" }
            }
        }
    };
    page(&format!("Cohorts · {}", project.name), Some(&frame), body).into_response()
}

/// The cohort form as the page posts it.
#[derive(Debug, Deserialize)]
pub struct CohortForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    kind: String,
    event: Option<String>,
    min_count: Option<String>,
    days: Option<String>,
    did: Option<String>,
    #[serde(rename = "where")]
    filter: Option<String>,
    csv: Option<String>,
}

impl CohortForm {
    /// As the API's body; a number that does not parse is refused there.
    fn body(&self) -> Result<CohortBody, String> {
        let number = |v: &Option<String>, what: &str| -> Result<Option<u32>, String> {
            blank(v)
                .map(|n| {
                    n.parse::<u32>()
                        .map_err(|_| format!("{what} must be a whole number, not `{n}`"))
                })
                .transpose()
        };
        let behavioural = self.kind == "behavioural";
        Ok(CohortBody {
            name: self.name.clone(),
            kind: self.kind.clone(),
            event: blank(&self.event)
                .filter(|_| behavioural)
                .map(str::to_owned),
            min_count: if behavioural {
                number(&self.min_count, "the count")?
            } else {
                None
            },
            days: if behavioural {
                number(&self.days, "the days")?
            } else {
                None
            },
            did: behavioural.then(|| blank(&self.did) != Some("false")),
            filter: blank(&self.filter)
                .filter(|_| self.kind == "property")
                .map(str::to_owned),
            distinct_ids: Vec::new(),
            csv: blank(&self.csv)
                .filter(|_| self.kind == "static")
                .map(str::to_owned),
        })
    }
}

pub async fn create(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<CohortForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Only members who may write can define cohorts."
    ));
    let new = match f.body() {
        Ok(b) => match b.parse() {
            Ok(n) => n,
            Err(e) => return api_error(e),
        },
        Err(m) => return api_error(crate::error::ApiError::unprocessable(m)),
    };
    match service::create(&state, &s.actor(), &project.id, new).await {
        Ok(row) => Redirect::to(&format!(
            "/p/{slug}/analytics/cohorts/{}",
            url_segment(&row.id)
        ))
        .into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RangeForm {
    from: Option<String>,
    to: Option<String>,
}

pub async fn detail_view(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, which)): Path<(String, String)>,
    Query(f): Query<RangeForm>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let (from, to) = match query_range(
        blank(&f.from),
        blank(&f.to),
        30,
        service::MAX_DAYS as i64,
        Some(Interval::Day),
        state.now_ms(),
    ) {
        Ok(r) => (r.from_ms(), r.to_ms()),
        Err(e) => return api_error(e),
    };
    let (row, members, persons) = match service::detail(&state, &project.id, &which, 100).await {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let first = from.div_euclid(DAY_MS);
    let days = ((to - 1).div_euclid(DAY_MS) - first + 1) as usize;
    let sizes = match service::sizes(&state, &project.id, &row, first, days).await {
        Ok(v) => v,
        Err(e) => return api_error(e),
    };
    let view = CohortView::new(&row, members.len());
    let base = format!("/p/{}/analytics", project.slug);
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let labels: Vec<String> = sizes
        .iter()
        .map(|(d, _)| format_ms(d * DAY_MS)[5..10].to_owned())
        .collect();
    let line = vec![(
        "persons".to_owned(),
        sizes
            .iter()
            .map(|(_, n)| n.map_or(f64::NAN, |n| n as f64))
            .collect::<Vec<f64>>(),
    )];
    let measured = view.kind != "behavioural";
    let body = html! {
        p { a href={(base) "/cohorts"} { "← Cohorts" } }
        h1 { (view.name) }
        p.lede { (view.kind) ": " (view.rule) "." }
        p { strong #cohort-size { (view.size) } " persons belong to it now. "
            a href={(base) "?cohort=" (url_segment(&view.name))} { "Analytics for this cohort" } }
        h2 { "Size over time" }
        form.inline method="get" {
            label { "From " input type="date" name="from" value=(format_ms(from)[..10]); }
            " " label { "to " input type="date" name="to" value=(format_ms(to)[..10]); }
            " " button type="submit" { "Show" }
        }
        @if measured {
            p.note { "Person properties and lists change without events, so this size is measured once a day; days before the first measurement are blank." }
        } @else {
            p.note { "Each day's size is who qualified at the end of that day, from the events." }
        }
        (lines(&labels, &line))
        table.sizes {
            thead { tr { th { "Day" } th { "Persons" } } }
            tbody { @for (d, n) in sizes.iter().rev().take(14) { tr {
                td { (format_ms(d * DAY_MS)[..10]) }
                td { (n.map_or("—".to_owned(), |n| n.to_string())) }
            } } }
        }
        h2 { "Persons" }
        @if persons.is_empty() {
            p.empty { "Nobody belongs to it now." }
        } @else {
            ul.persons { @for p in &persons {
                li { @for (i, d) in p.distinct_ids.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href={(base) "/persons/" (url_segment(d))} { (d) }
                } }
            } }
            @if members.len() > persons.len() { p { "and " ((members.len() - persons.len())) " more." } }
        }
        @if can_write {
            form method="post" action={(base) "/cohorts/" (url_segment(&view.id)) "/delete"} {
                (csrf_field(&s))
                button.danger type="submit" { "Delete this cohort" }
            }
        }
    };
    page(&format!("{} · Cohorts", view.name), Some(&frame), body).into_response()
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
        "Only members who may write can delete cohorts."
    ));
    match service::delete(&state, &s.actor(), &project.id, &which).await {
        Ok(()) => Redirect::to(&format!("/p/{slug}/analytics/cohorts")).into_response(),
        Err(e) => api_error(e),
    }
}

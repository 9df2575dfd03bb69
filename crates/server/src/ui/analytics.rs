//! The usage-analytics pages: active users, trends, a funnel, retention and
//! features on one page driven by plain GET forms; persons and their
//! deletion on their own pages.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::analytics::Interval;
use liveops_core::analytics::insight::InsightKind;
use liveops_core::analytics::math::Aggregate;
use liveops_core::{Area, Permission};
use liveops_store::audit::{Actor, ActorKind};
use liveops_telemetry::analytics as q;
use maud::html;
use serde::Deserialize;

use super::analytics_insights::save_form;
use super::charts::{heat, lines};

use super::prologue::{load, permitted};
use super::{Frame, UiSession, error_page, page, url_segment};
use crate::analytics::trends::TrendsAnswer;
use crate::contract::analytics::{
    FunnelBody, RetentionBody, SeriesBody, TrendsBody, feature_usage_view, funnel_cohorts,
    funnel_query, funnel_view, retention_query, trends_request,
};
use crate::error::ApiError;
use crate::state::{AppState, format_ms};
use crate::timerange::query_range;
use crate::work::{Audit, Work};

const DAY_MS: i64 = 86_400_000;

fn api_error(e: impl Into<ApiError>) -> Response {
    let e: ApiError = e.into();
    error_page(e.status(), e.detail().unwrap_or("The query failed."))
}

async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn liveops_telemetry::Analytics) -> Result<T, liveops_telemetry::TelemetryError>
    + Send
    + 'static,
) -> Result<T, Response> {
    let t = state.telemetry.clone();
    match tokio::task::spawn_blocking(move || f(t.analytics())).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(liveops_telemetry::TelemetryError::Query(m))) => {
            Err(error_page(StatusCode::UNPROCESSABLE_ENTITY, &m))
        }
        Ok(Err(e)) => Err(error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())),
        Err(e) => Err(error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        )),
    }
}

/// The page's forms, all optional.
#[derive(Debug, Default, Deserialize)]
pub struct AnalyticsForm {
    event: Option<String>,
    /// Series A's math: events, persons, or an aggregate of `property`.
    math: Option<String>,
    property: Option<String>,
    per_person: Option<String>,
    /// An optional series B, for formulas.
    event_b: Option<String>,
    math_b: Option<String>,
    property_b: Option<String>,
    formula: Option<String>,
    interval: Option<String>,
    breakdown: Option<String>,
    /// Trends' property filters, as the API's `where`.
    #[serde(rename = "where")]
    filter: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// One funnel step per line.
    steps: Option<String>,
    window: Option<String>,
    order: Option<String>,
    funnel_breakdown: Option<String>,
    breakdown_type: Option<String>,
    dropoff_after: Option<String>,
    /// `on`: the revenue of the persons who converted.
    funnel_revenue: Option<String>,
    start_event: Option<String>,
    return_event: Option<String>,
    retention_interval: Option<String>,
    /// A cohort (id or name) every insight on the page keeps to.
    cohort: Option<String>,
    /// Cohorts the trend breaks down by, separated by commas.
    trend_cohorts: Option<String>,
}

/// A line's name in the chart's legend and the table.
fn line_label(series: &str, value: &Option<String>, broken_down: bool) -> String {
    match value {
        Some(v) => format!("{series} {v}"),
        None if broken_down => format!("{series} (none)"),
        None => series.to_owned(),
    }
}

/// A point's value for the table, or a dash where it has none.
fn shown(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.2}"))
}

/// The lines the trends chart draws: the formula's when there is one,
/// else each series' (six at most per series); a missing value is a gap.
fn drawn_lines(
    answer: &TrendsAnswer,
    req: &crate::analytics::trends::TrendsRequest,
    broken_down: bool,
) -> Vec<(String, Vec<f64>)> {
    let gap = |v: Option<f64>| v.unwrap_or(f64::NAN);
    match (&answer.formula, &req.formula) {
        (Some(formula), Some(text)) => formula
            .iter()
            .take(6)
            .map(|l| {
                let label = line_label(text.as_str(), &l.value, broken_down);
                (label, l.points.iter().map(|p| gap(p.1)).collect())
            })
            .collect(),
        _ => answer
            .series
            .iter()
            .zip(["A", "B"])
            .flat_map(|(lines, name)| {
                lines.iter().take(6).map(move |l| {
                    let label = line_label(name, &l.value, broken_down);
                    (label, l.points.iter().map(|p| gap(p.value)).collect())
                })
            })
            .collect(),
    }
}

/// The math of one series from the form: `events`, `persons`, or an
/// aggregate with the property it applies to.
fn form_math(math: &Option<String>, property: &Option<String>) -> Option<String> {
    match blank(math).as_deref() {
        None | Some("events") => None,
        Some("persons") => Some("persons".into()),
        Some(agg) => Some(format!("{agg}:{}", blank(property).unwrap_or_default())),
    }
}

/// The trends part of the form as the API's request: series A, and B
/// when it names an event or math.
fn trends_body(f: &AnalyticsForm, interval: Interval, from: i64, to: i64) -> TrendsBody {
    let mut series = vec![SeriesBody {
        event: blank(&f.event),
        math: form_math(&f.math, &f.property),
        per_person: blank(&f.per_person),
        filter: None,
    }];
    if blank(&f.event_b).is_some() || blank(&f.math_b).is_some() || blank(&f.formula).is_some() {
        series.push(SeriesBody {
            event: blank(&f.event_b),
            math: form_math(&f.math_b, &f.property_b),
            per_person: None,
            filter: None,
        });
    }
    TrendsBody {
        series,
        formula: blank(&f.formula),
        interval: Some(interval.as_str().into()),
        from: Some(format_ms(from)),
        to: Some(format_ms(to)),
        filter: blank(&f.filter),
        breakdown: blank(&f.trend_cohorts).or_else(|| blank(&f.breakdown)),
        breakdown_type: blank(&f.trend_cohorts).map(|_| "cohort".to_owned()),
        breakdown_limit: None,
        in_cohort: blank(&f.cohort),
    }
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub async fn page_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(f): Query<AnalyticsForm>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let id = project.id.clone();
    // The trend's interval, then the range: the form's, else the last 30
    // days, checked by the same rule as the API's.
    let interval = match blank(&f.interval).map(|i| i.parse::<Interval>()) {
        Some(Ok(i)) => i,
        Some(Err(e)) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
        None => Interval::Day,
    };
    let (from, to) = match query_range(
        blank(&f.from).as_deref(),
        blank(&f.to).as_deref(),
        30,
        400,
        Some(interval),
        state.now_ms(),
    ) {
        Ok(r) => (r.from_ms(), r.to_ms()),
        Err(e) => return api_error(e),
    };
    let from_day = from.div_euclid(DAY_MS);
    let days = ((to - 1).div_euclid(DAY_MS) - from_day + 1) as usize;
    let events = {
        let id = id.clone();
        match run(&state, move |a| a.event_names(&id)).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
    let cohort_list = match crate::analytics::cohorts::list(&state, &id).await {
        Ok(c) => c,
        Err(e) => return api_error(e),
    };
    let persons =
        match crate::analytics::cohorts::filter(&state, &id, blank(&f.cohort).as_deref()).await {
            Ok(p) => p,
            Err(e) => return api_error(e),
        };
    let active = {
        let id = id.clone();
        let query = q::ActiveQuery {
            persons: persons.clone(),
            events: Vec::new(),
            from_day,
            days,
        };
        match run(&state, move |a| a.active_users(&id, &query)).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
    let sticky = {
        let id = id.clone();
        let query = q::ActiveQuery {
            persons: persons.clone(),
            events: Vec::new(),
            from_day,
            days,
        };
        match run(&state, move |a| a.stickiness(&id, &query)).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
    let life = {
        let id = id.clone();
        let query = q::LifecycleQuery {
            persons: persons.clone(),
            events: Vec::new(),
            interval: Interval::Week,
            from_ms: Interval::Week.bucket_start(Interval::Week.bucket(to - 1) - 7),
            periods: 8,
        };
        match run(&state, move |a| a.lifecycle(&id, &query)).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
    let trend = match trends_request(&trends_body(&f, interval, from, to), state.now_ms()) {
        Ok(req) => req,
        Err(e) => return api_error(e),
    };
    let answer = match crate::analytics::trends::run(&state, &id, trend.clone()).await {
        Ok(a) => a,
        Err(e) => return api_error(e),
    };
    // What the page asked, for saving as insights: without a range the
    // form did not set, so a saved insight stays relative to its day.
    let relative = blank(&f.from).is_none() && blank(&f.to).is_none();
    let saved = |v: serde_json::Value| {
        let mut v = v;
        if relative && let Some(o) = v.as_object_mut() {
            o.remove("from");
            o.remove("to");
        }
        v
    };
    let trends_json =
        saved(serde_json::to_value(trends_body(&f, interval, from, to)).unwrap_or_default());
    let mut funnel_json = None;
    let mut retention_json = None;
    let funnel = match blank(&f.steps) {
        Some(steps) => {
            let steps: Vec<String> = steps
                .lines()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect();
            let dropoff_after = match blank(&f.dropoff_after).map(|d| d.parse::<usize>()) {
                None => (steps.len() > 1).then_some(1),
                Some(Ok(d)) => Some(d),
                Some(Err(_)) => {
                    return error_page(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "the drop-off step must be a step number",
                    );
                }
            };
            let body = FunnelBody {
                steps,
                window: blank(&f.window),
                order: blank(&f.order),
                exclusions: Vec::new(),
                from: Some(format_ms(from)),
                to: Some(format_ms(to)),
                breakdown: blank(&f.funnel_breakdown),
                breakdown_type: blank(&f.breakdown_type),
                in_cohort: blank(&f.cohort),
                dropoff_after,
                revenue: f.funnel_revenue.as_deref() == Some("on"),
            };
            funnel_json = serde_json::to_value(&body).ok().map(&saved);
            let (query, chosen) = match funnel_query(&body, state.now_ms())
                .and_then(|q| Ok((q, funnel_cohorts(&body)?)))
            {
                Ok(q) => q,
                Err(e) => return api_error(e),
            };
            match crate::analytics::funnels::run(&state, &id, query, &chosen).await {
                Ok((a, revenue)) => Some(funnel_view(a, revenue)),
                Err(e) => return api_error(e),
            }
        }
        None => None,
    };
    let retention = match blank(&f.start_event) {
        Some(start) => {
            let body = RetentionBody {
                start_event: start,
                return_event: blank(&f.return_event),
                interval: blank(&f.retention_interval),
                from: None,
                periods: Some(8),
                cohort: None,
                mode: None,
                in_cohort: blank(&f.cohort),
                breakdown_type: None,
                breakdown: None,
            };
            retention_json = serde_json::to_value(&body).ok();
            let query = match retention_query(&body, state.now_ms()) {
                Ok(mut q) => {
                    q.persons = persons.clone();
                    q
                }
                Err(e) => return api_error(e),
            };
            let id = id.clone();
            match run(&state, move |a| a.retention(&id, &query)).await {
                Ok(c) => Some(c),
                Err(r) => return r,
            }
        }
        None => None,
    };
    let usage = match crate::analytics::feature_usage(&state, &project.id, from, to).await {
        Ok(u) => feature_usage_view(from, to, u),
        Err(e) => return api_error(e),
    };
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let chosen_cohort = blank(&f.cohort);
    let labels: Vec<String> = active
        .days
        .iter()
        .map(|d| format_ms(*d)[5..10].to_owned())
        .collect();
    let base = format!("/p/{}/analytics", project.slug);
    let math_options = |selected: Option<&str>| {
        html! {
            option value="events" selected[selected.is_none_or(|m| m == "events")] { "events" }
            option value="persons" selected[selected == Some("persons")] { "unique persons" }
            @for a in Aggregate::ALL { option value=(a.as_str()) selected[selected == Some(a.as_str())] { (a.as_str()) } }
        }
    };
    let event_options = |selected: Option<&str>| {
        html! {
            @for (name, count) in &events {
                option value=(name) selected[selected == Some(name.as_str())] { (name) " (" (count) ")" }
            }
        }
    };
    let body = html! {
        h1 { (Area::Analytics.title()) }
        p.lede { (Area::Analytics.summary()) " " a href={(base) "/persons"} { "Persons" } " · " a href={(base) "/cohorts"} { "Cohorts" } " · " a href={(base) "/insights"} { "Saved insights" } " · " a href={(base) "/dashboards"} { "Dashboards" } " · " a href={(base) "/web"} { "Web analytics" } " · " a href={(base) "/revenue"} { "Revenue" } }
        @if events.is_empty() {
            div.empty data-area="analytics" {
                p { strong { "No events have arrived for this project yet." } }
                p { "Point the PostHog or Segment SDK at this server with the project's ingest key (Settings). PostHog: host = this address; Segment: host = this address, write key = the ingest key." }
            }
        }
        form.range method="get" action=(base) {
            label { "From " input type="date" name="from" value=(format_ms(from)[..10]); }
            " " label { "To " input type="date" name="to" value=(format_ms(to)[..10]); }
            " " label { "Cohort " select name="cohort" {
                option value="" { "everyone" }
                @for c in &cohort_list { option value=(c.name) selected[chosen_cohort.as_deref() == Some(c.name.as_str())] { (c.name) } }
            } }
            " " button type="submit" { "Show" }
        }
        @if let (Some(name), Some(m)) = (&chosen_cohort, &persons) {
            p #cohort-note { "Every insight below counts only the " strong { (m.len()) } " persons of the cohort " strong { (name) } "." }
        }
        datalist #cohort-names { @for c in &cohort_list { option value=(c.name) {} } }
        section #active {
            h2 { "Active users" }
            (lines(&labels, &[
                ("DAU".to_owned(), active.dau.iter().map(|v| *v as f64).collect()),
                ("WAU".to_owned(), active.wau.iter().map(|v| *v as f64).collect()),
                ("MAU".to_owned(), active.mau.iter().map(|v| *v as f64).collect()),
            ]))
            p { "Latest day: DAU " strong { (active.dau.last().copied().unwrap_or(0)) } ", WAU " strong { (active.wau.last().copied().unwrap_or(0)) } ", MAU " strong { (active.mau.last().copied().unwrap_or(0)) } }
        }
        section #stickiness {
            h2 { "Stickiness" }
            p { "People by the number of days they were active in the range." }
            (super::charts::bars(&sticky.iter().enumerate().filter(|(_, n)| **n > 0).map(|(k, n)| (format!("{} day{}", k + 1, if k == 0 { "" } else { "s" }), *n as f64)).collect::<Vec<_>>(), "people"))
        }
        section #lifecycle {
            h2 { "Lifecycle, by week" }
            table.lifecycle {
                thead { tr { th { "Week of" } th { "New" } th { "Returning" } th { "Resurrecting" } th { "Dormant" } } }
                tbody { @for (start, l) in &life { tr { td { (format_ms(*start)[..10]) } td { (l.new) } td { (l.returning) } td { (l.resurrecting) } td { "−" (l.dormant) } } } }
            }
        }
        section #trends {
            h2 { "Trends" }
            form.inline method="get" action=(base) {
                input type="hidden" name="from" value=(format_ms(from)[..10]);
                input type="hidden" name="to" value=(format_ms(to)[..10]);
                @if let Some(c) = &chosen_cohort { input type="hidden" name="cohort" value=(c); }
                label { "Event " select name="event" { option value="" { "all events" } (event_options(f.event.as_deref())) } }
                " " label { "per " select name="interval" {
                    @for i in [Interval::Hour, Interval::Day, Interval::Week, Interval::Month] { option value=(i.as_str()) selected[i == interval] { (i.as_str()) } }
                } }
                " " label { "breakdown by property " input name="breakdown" value=(f.breakdown.clone().unwrap_or_default()) size="12"; }
                " " label title="Cohort names separated by commas; a line for each" { "or by cohorts " input name="trend_cohorts" list="cohort-names" value=(f.trend_cohorts.clone().unwrap_or_default()) size="16"; }
                " " label title="key=value, key!=value, key~text, key=~regex, key>n, key<n, key? (set), key!? (not set); several joined by ;" {
                    "where " input name="where" value=(f.filter.clone().unwrap_or_default()) size="24" placeholder="plan=pro; amount>10";
                }
                br;
                label { "A: " select name="math" aria-label="Series A math" { (math_options(f.math.as_deref())) } }
                " " label { "of property " input name="property" value=(f.property.clone().unwrap_or_default()) size="10" placeholder="amount"; }
                " " label { "per person " select name="per_person" {
                    option value="" { "no" }
                    @for a in Aggregate::ALL { option value=(a.as_str()) selected[f.per_person.as_deref() == Some(a.as_str())] { (a.as_str()) " of each person's" } }
                } }
                br;
                label { "B: event " select name="event_b" { option value="" { "all events" } (event_options(f.event_b.as_deref())) } }
                " " label { "math " select name="math_b" aria-label="Series B math" { (math_options(f.math_b.as_deref())) } }
                " " label { "of property " input name="property_b" value=(f.property_b.clone().unwrap_or_default()) size="10"; }
                " " label title="Series A and B combined point by point: A / B, (A - B) / A * 100. A division by zero shows as a gap." {
                    "formula " input name="formula" value=(f.formula.clone().unwrap_or_default()) size="16" placeholder="A / B * 100";
                }
                " " button type="submit" { "Chart" }
            }
            @let tl: Vec<String> = answer.series.first().and_then(|s| s.first()).map(|s| s.points.iter().map(|p| format_ms(p.start_ms)[5..if interval == Interval::Hour { 16 } else { 10 }].to_owned()).collect()).unwrap_or_default();
            @let broken_down = f.breakdown.is_some() || blank(&f.trend_cohorts).is_some();
            @let drawn = drawn_lines(&answer, &trend, broken_down);
            (lines(&tl, &drawn))
            @if can_write { (save_form(&s, &base, InsightKind::Trends, &trends_json)) }
            table.trends {
                thead { tr { th { "Series" } th { "Math" } th { "Events" } th { "Unique persons (max per interval)" } th { "Latest value" } } }
                tbody {
                    @for ((lines, spec), name) in answer.series.iter().zip(&trend.series).zip(["A", "B"]) {
                        @for s in lines {
                            tr {
                                td { (line_label(name, &s.value, broken_down)) }
                                td { (spec.math.to_string()) }
                                td { (s.points.iter().map(|p| p.events).sum::<u64>()) }
                                td { (s.points.iter().map(|p| p.persons).max().unwrap_or(0)) }
                                td { (shown(s.points.last().and_then(|p| p.value))) }
                            }
                        }
                    }
                    @if let (Some(formula), Some(text)) = (&answer.formula, &trend.formula) {
                        @for l in formula {
                            tr.formula {
                                td { (line_label(text.as_str(), &l.value, broken_down)) }
                                td { "formula" }
                                td {}
                                td {}
                                td { (shown(l.points.last().and_then(|p| p.1))) }
                            }
                        }
                    }
                }
            }
        }
        section #funnel {
            h2 { "Funnel" }
            form.stack method="get" action=(base) {
                input type="hidden" name="from" value=(format_ms(from)[..10]);
                input type="hidden" name="to" value=(format_ms(to)[..10]);
                @if let Some(c) = &chosen_cohort { input type="hidden" name="cohort" value=(c); }
                label for="steps" { "Steps, one event per line (several events for one step: a|b)" }
                textarea #steps name="steps" rows="4" { (f.steps.clone().unwrap_or_default()) }
                label for="window" { "Conversion window" }
                input #window name="window" value=(f.window.clone().unwrap_or_else(|| "14d".into())) size="6";
                label for="order" { "Order" }
                select #order name="order" {
                    @for o in ["ordered", "strict", "unordered"] { option value=(o) selected[f.order.as_deref() == Some(o)] { (o) } }
                }
                label for="funnel_breakdown" { "Breakdown by property" }
                input #funnel_breakdown name="funnel_breakdown" value=(f.funnel_breakdown.clone().unwrap_or_default()) size="16";
                label for="breakdown_type" { "Property of" }
                select #breakdown_type name="breakdown_type" {
                    option value="event" selected[f.breakdown_type.as_deref() != Some("person")] { "the step-1 event" }
                    option value="person" selected[f.breakdown_type.as_deref() == Some("person")] { "the person" }
                    option value="cohort" selected[f.breakdown_type.as_deref() == Some("cohort")] { "cohorts (names, separated by commas)" }
                }
                label for="dropoff_after" { "Show who dropped off after step" }
                input #dropoff_after name="dropoff_after" type="number" min="1" value=(f.dropoff_after.clone().unwrap_or_else(|| "1".into())) size="3";
                label { input type="checkbox" name="funnel_revenue" checked[f.funnel_revenue.as_deref() == Some("on")]; " Revenue of the persons who converted" }
                button type="submit" { "Run funnel" }
            }
            @if let (true, Some(j)) = (can_write, &funnel_json) { (save_form(&s, &base, InsightKind::Funnel, j)) }
            @if let Some(fv) = &funnel {
                table.funnel {
                    thead { tr { th { "Step" } th { "Persons" } th { "Conversion" } th { "From previous" } th { "Drop-off" } th { "Median time" } } }
                    tbody {
                        @for st in &fv.steps {
                            tr {
                                td { (st.step) ". " (st.event) }
                                td { (st.persons) }
                                td { (format!("{:.1}%", st.conversion * 100.0)) }
                                td { (format!("{:.1}%", st.from_previous * 100.0)) }
                                td { (format!("{:.1}%", st.dropoff * 100.0)) }
                                td { (st.median_secs.map(|m| format!("{m:.0} s")).unwrap_or_default()) }
                            }
                        }
                    }
                }
                (super::charts::bars(&fv.steps.iter().map(|s| (format!("{}. {}", s.step, s.event), s.persons as f64)).collect::<Vec<_>>(), "persons"))
                @if let Some(r) = &fv.revenue {
                    p.funnel-revenue {
                        "The " (r.converted) " persons who converted paid " strong { (format!("{:.2} {}", r.revenue, r.currency)) }
                        " in the range"
                        @if let Some(per) = r.per_converted { ", " (format!("{per:.2}")) " per converted person" }
                        "."
                        @if r.unconverted_payments > 0 { " " (r.unconverted_payments) " of their payments have no rate and are left out." }
                    }
                }
                @if !fv.breakdown.is_empty() {
                    table.breakdown {
                        thead { tr { th { "Breakdown" } @for st in &fv.steps { th { (st.step) ". " (st.event) } } } }
                        tbody { @for b in fv.breakdown.iter().take(20) { tr {
                            td { (b.value) }
                            @for st in &b.steps { td { (st.persons) " (" (format!("{:.0}%", st.conversion * 100.0)) ")" } }
                        } } }
                    }
                }
                @if let Some(d) = &fv.dropoff {
                    h3 { (d.persons) " dropped off after step " (d.after_step) }
                    @if !d.paths.is_empty() {
                        table.paths {
                            thead { tr { th { "What they did next" } th { "Persons" } } }
                            tbody { @for path in &d.paths { tr {
                                td { @if path.events.is_empty() { "(nothing more)" } @else { (path.events.join(" → ")) } }
                                td { (path.persons) }
                            } } }
                        }
                    }
                    @if !d.sample.is_empty() {
                        p { "Some of them: "
                            @for (i, who) in d.sample.iter().take(10).enumerate() {
                                @if i > 0 { ", " }
                                a href={(base) "/persons/" (url_segment(who))} { (who) }
                            }
                        }
                    }
                }
            }
        }
        section #retention {
            h2 { "Retention" }
            form.inline method="get" action=(base) {
                @if let Some(c) = &chosen_cohort { input type="hidden" name="cohort" value=(c); }
                label { "Start event " select name="start_event" { (event_options(f.start_event.as_deref())) } }
                " " label { "Return event " select name="return_event" { option value="" { "same" } (event_options(f.return_event.as_deref())) } }
                " " label { "per " select name="retention_interval" {
                    @for i in ["day", "week", "month"] { option value=(i) selected[f.retention_interval.as_deref().unwrap_or("week") == i] { (i) } }
                } }
                " " button type="submit" { "Show retention" }
            }
            @if let (true, Some(j)) = (can_write, &retention_json) { (save_form(&s, &base, InsightKind::Retention, j)) }
            @if let Some(cohorts) = &retention {
                table.retention {
                    thead { tr { th { "Cohort" } th { "People" } @for k in 0..cohorts.len() { th { (k) } } } }
                    tbody {
                        @for c in cohorts {
                            @let size = c.counts.first().copied().unwrap_or(0);
                            tr {
                                td { (format_ms(c.start_ms)[..10]) }
                                td { (size) }
                                @for n in &c.counts {
                                    @let share = if size == 0 { 0.0 } else { *n as f64 / size as f64 };
                                    td class=(heat(share)) title={(n) " people"} { (format!("{:.0}%", share * 100.0)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #features {
            h2 { "Features" }
            @if usage.features.is_empty() {
                p.empty { "No features are defined. A feature is a name for one or more events." }
            } @else {
                table.features {
                    thead { tr { th { "Feature" } th { "Users" } th { "Adoption" } th { "Uses" } th { "Uses per user" } } }
                    tbody { @for u in &usage.features { tr { td { (u.name) } td { (u.users) } td { (format!("{:.1}%", u.adoption * 100.0)) } td { (u.events) } td { (format!("{:.1}", u.per_user)) } } } }
                }
                p { (usage.active_users) " active people in the range." }
            }
            @if can_write {
                details {
                    summary { "Define a feature" }
                    form.stack method="post" action={(base) "/features"} {
                        input type="hidden" name="_csrf" value=(s.session.csrf_token);
                        label for="f-name" { "Name" }
                        input #f-name name="name" required maxlength="100";
                        label for="f-events" { "Events, one per line" }
                        textarea #f-events name="events" rows="3" required {}
                        button type="submit" { "Save feature" }
                    }
                }
            }
        }
    };
    page(&format!("Analytics · {}", project.name), Some(&frame), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct FeatureForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    events: String,
}

pub async fn create_feature(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Form(f): Form<FeatureForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Your role cannot define features."
    ));
    let name = f.name.trim();
    let events: Vec<String> = f
        .events
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    if name.is_empty() || name.chars().count() > 100 || events.is_empty() || events.len() > 20 {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A feature needs a name (1 to 100 characters) and 1 to 20 events.",
        );
    }
    if events
        .iter()
        .any(|e| e.chars().count() > 200 || e.chars().any(char::is_control))
    {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "An event name has 1 to 200 printable characters.",
        );
    }
    let now = state.now_ms();
    let actor = Actor {
        kind: ActorKind::Session,
        name: s.session.user.email.clone(),
        ip: s.ip.clone(),
    };
    let done = async {
        let mut w = Work::begin(&state.db, &*state.clock, &actor, Some(&project.id)).await?;
        let tx = w.conn();
        liveops_store::analytics::insert_feature(&mut *tx, &project.id, name, &events, now).await?;
        w.commit(Audit::new("analytics.feature.create", name))
            .await?;
        Ok::<_, liveops_store::StoreError>(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/p/{}/analytics#features", project.slug)).into_response(),
        Err(liveops_store::StoreError::Conflict(what)) => {
            error_page(StatusCode::CONFLICT, &format!("{what} already exists."))
        }
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct PersonSearch {
    search: Option<String>,
}

pub async fn persons(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(f): Query<PersonSearch>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, _) = &projects[idx];
    let id = project.id.clone();
    let search = blank(&f.search);
    let needle = search.clone();
    let list = match run(&state, move |a| a.persons(&id, needle.as_deref(), 100)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let base = format!("/p/{}/analytics", project.slug);
    let body = html! {
        p { a href=(base) { "← Analytics" } }
        h1 { "Persons" }
        form.inline method="get" {
            label { "Distinct id contains " input name="search" value=(search.clone().unwrap_or_default()); }
            " " button type="submit" { "Search" }
        }
        @if list.is_empty() {
            p.empty { "No persons found." }
        } @else {
            table.persons {
                thead { tr { th { "Distinct ids" } th { "Properties" } th { "First seen" } } }
                tbody {
                    @for p in &list {
                        tr {
                            td { @for (i, d) in p.distinct_ids.iter().enumerate() { @if i > 0 { ", " } a href={(base) "/persons/" (url_segment(d))} { (d) } } }
                            td { code { (p.properties) } }
                            td { (format_ms(p.created_at)) }
                        }
                    }
                }
            }
        }
    };
    page(&format!("Persons · {}", project.name), Some(&frame), body).into_response()
}

pub async fn person(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, distinct_id)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let id = project.id.clone();
    let did = distinct_id.clone();
    let found = match run(&state, move |a| {
        let Some(p) = a.person(&id, &did)? else {
            return Ok(None);
        };
        let events = a.person_events(&id, &p.distinct_ids, 100)?;
        Ok(Some((p, events)))
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((person, events)) = found else {
        return error_page(StatusCode::NOT_FOUND, "No person has this distinct id.");
    };
    let frame = Frame::of(&s, &projects, project, Area::Analytics);
    let can_delete = authorize(*role, None, Permission::Administer).is_ok();
    let base = format!("/p/{}/analytics", project.slug);
    let body = html! {
        p { a href={(base) "/persons"} { "← Persons" } }
        h1 { "Person " (person.distinct_ids.first().map_or("", |d| d.as_str())) }
        p.meta { "Distinct ids: " (person.distinct_ids.join(", ")) " · first seen " (format_ms(person.created_at)) }
        h2 { "Properties" }
        pre { (person.properties) }
        h2 { "Latest events" }
        table.events {
            thead { tr { th { "Time (UTC)" } th { "Event" } th { "Distinct id" } } }
            tbody { @for e in &events { tr { td { (format_ms(e.at_ms)) } td { (e.event) } td { (e.distinct_id) } } } }
        }
        @if can_delete {
            form.stack method="post" action={(base) "/persons/" (url_segment(&distinct_id)) "/delete"} {
                input type="hidden" name="_csrf" value=(s.session.csrf_token);
                p { "Deleting removes this person, all their distinct ids and every event they sent. It cannot be undone." }
                label { input type="checkbox" name="confirm" value="yes" required; " I understand" }
                button.danger type="submit" { "Delete person and events" }
            }
        }
    };
    page(&format!("Person · {}", project.name), Some(&frame), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    confirm: Option<String>,
}

pub async fn delete_person(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, distinct_id)): Path<(String, String)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Administer,
        "Only admins can delete persons."
    ));
    if f.confirm.as_deref() != Some("yes") {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Tick the box to confirm the deletion.",
        );
    }
    match crate::analytics::delete_person(&state, &s.actor(), &project.id, &distinct_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "No person has this distinct id."),
        Err(e) => return api_error(e),
    }
    Redirect::to(&format!("/p/{}/analytics/persons", project.slug)).into_response()
}

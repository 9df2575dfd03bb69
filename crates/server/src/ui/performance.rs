//! The performance pages: requests and latency over time, the route table,
//! query fingerprints, findings with their status, the tuning report's
//! patterns, and a trace's spans drawn as a waterfall.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use liveops_core::access::authorize;
use liveops_core::{Area, Permission};
use liveops_store::performance::FindingStatus;
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::lines;

use super::prologue::{load, permitted};
use super::{Frame, UiSession, error_page, page};
use crate::contract::performance::{
    RangeParams, SpanView, finding_views, range_ns, report_view, route_view, span_views,
};
use crate::error::ApiError;
use crate::performance::{queries, rules};
use crate::state::{AppState, format_ms};

const NS_PER_MS: i64 = 1_000_000;

fn api_error(e: impl Into<ApiError>) -> Response {
    let e: ApiError = e.into();
    error_page(e.status(), e.detail().unwrap_or("The query failed."))
}

#[derive(Debug, Default, Deserialize)]
pub struct PerfForm {
    last: Option<String>,
    service: Option<String>,
    route: Option<String>,
}

fn ms(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1}")).unwrap_or_else(|| "–".into())
}

pub async fn page_view(
    State(state): State<AppState>,
    s: UiSession,
    Path(slug): Path<String>,
    Query(f): Query<PerfForm>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, role) = &projects[idx];
    let last = f
        .last
        .clone()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "24h".into());
    let params = RangeParams {
        last: Some(last.clone()),
        service: f.service.clone(),
        route: f.route.clone(),
        ..RangeParams::default()
    };
    let q = match range_ns(&params, state.now_ms()) {
        Ok(q) => q,
        Err(e) => return api_error(e),
    };
    let id = project.id.clone();
    let t = state.telemetry.clone();
    let (routes_q, chart_q) = (
        liveops_telemetry::performance::RouteQuery {
            route: None,
            ..q.clone()
        },
        q.clone(),
    );
    let step = ((q.to_ns - q.from_ns) / 48).max(60_000 * NS_PER_MS);
    let metric_q = q.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let p = t.performance();
        // System load: the first few metrics, a line per service and host.
        let load: Vec<(
            String,
            String,
            Vec<liveops_telemetry::performance::MetricLine>,
        )> = p
            .metric_names(&id)
            .unwrap_or_default()
            .into_iter()
            .take(6)
            .map(|m| {
                let lines = p
                    .metric_series(
                        &id,
                        &m.name,
                        metric_q.service.as_deref(),
                        metric_q.from_ns,
                        metric_q.to_ns,
                        step,
                    )
                    .unwrap_or_default();
                let unit = if m.cumulative {
                    format!("{}/s", m.unit)
                } else {
                    m.unit
                };
                (m.name, unit, lines)
            })
            .collect();
        Ok::<_, liveops_telemetry::TelemetryError>((
            p.routes(&id, &routes_q)?,
            p.series(&id, &chart_q, step)?,
            p.services(&id)?,
            load,
        ))
    })
    .await;
    let (routes, series, services, load) = match loaded {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let report = match queries::report(&state, &project.id, q.clone()).await {
        Ok(r) => report_view(r),
        Err(e) => return api_error(e),
    };
    let findings = match queries::findings(&state, &project.id, Some(FindingStatus::Open)).await {
        Ok(rows) => finding_views(rows),
        Err(e) => return api_error(e),
    };
    let rules = match state.db.rules(Some(&project.id)).await {
        Ok(r) => r,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let slos = match state.db.slos(Some(&project.id)).await {
        Ok(rows) => {
            let st = state.clone();
            match tokio::task::spawn_blocking(move || {
                let now = state.now_ms();
                rows.into_iter()
                    .map(|r| {
                        let status = crate::performance::alerts::slo_status(&st, &r, now);
                        (r, status)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            {
                Ok(v) => v,
                Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let frame = Frame::of(&s, &projects, project, Area::Performance);
    let can_write = authorize(*role, None, Permission::Write).is_ok();
    let base = format!("/p/{}/performance", project.slug);
    let labels: Vec<String> = series
        .iter()
        .map(|(at, _)| format_ms(at / NS_PER_MS)[11..16].to_owned())
        .collect();
    let p95: Vec<f64> = series
        .iter()
        .map(|(_, s)| s.p95_ms.unwrap_or(0.0))
        .collect();
    let p50: Vec<f64> = series
        .iter()
        .map(|(_, s)| s.p50_ms.unwrap_or(0.0))
        .collect();
    let rpm: Vec<f64> = series.iter().map(|(_, s)| s.per_minute).collect();
    let errors: Vec<f64> = series.iter().map(|(_, s)| s.error_rate * 100.0).collect();
    let link = |route: &str, service: &str| {
        format!(
            "{base}?last={}&service={}&route={}",
            enc(&last),
            enc(service),
            enc(route)
        )
    };
    let body = html! {
        h1 { (Area::Performance.title()) }
        p.lede { (Area::Performance.summary()) }
        @if routes.is_empty() {
            div.empty data-area="performance" {
                p { strong { "No request spans have arrived in this range." } }
                p { "Point an OpenTelemetry exporter (OTLP/HTTP, protobuf or JSON) at " code { "/v1/traces" } " on this server, with the project's ingest key as " code { "Authorization: Bearer <key>" } "." }
            }
        }
        form.inline method="get" action=(base) {
            label { "Last " select name="last" {
                @for l in ["1h", "6h", "24h", "7d", "30d"] { option value=(l) selected[l == last] { (l) } }
            } }
            " " label { "Service " select name="service" {
                option value="" { "all" }
                @for svc in &services { option value=(svc) selected[f.service.as_deref() == Some(svc.as_str())] { (svc) } }
            } }
            @if let Some(r) = &q.route { input type="hidden" name="route" value=(r); }
            " " button type="submit" { "Show" }
        }
        section #latency {
            h2 { "Latency" @if let Some(r) = &q.route { " of " code { (r) } " " a href={(base) "?last=" (enc(&last))} { "(all routes)" } } }
            (lines(&labels, &[("p50 ms".into(), p50), ("p95 ms".into(), p95)]))
            h2 { "Throughput and errors" }
            (lines(&labels, &[("requests/min".into(), rpm), ("errors %".into(), errors)]))
        }
        @if !load.is_empty() {
            section #load {
                h2 { "System load" }
                @for (name, unit, lines_of) in &load {
                    h3 { (name) @if !unit.is_empty() { " (" (unit) ")" } }
                    @let buckets: Vec<i64> = series.iter().map(|(at, _)| *at).collect();
                    (lines(&labels, &lines_of.iter().take(6).map(|l| {
                        let label = format!("{}{}", l.service, l.host.as_deref().map(|h| format!(" on {h}")).unwrap_or_default());
                        let values = buckets.iter().map(|b| l.points.iter().find(|p| p.0 >= *b && p.0 < b + step).map_or(0.0, |p| p.1)).collect();
                        (label, values)
                    }).collect::<Vec<_>>()))
                }
            }
        }
        section #routes {
            h2 { "Routes" }
            table.routes {
                thead { tr { th { "Route" } th { "Service" } th { "Requests" } th { "Errors" } th { "p50" } th { "p90" } th { "p95" } th { "p99" } th { "Apdex" } th { "Total time" } } }
                tbody { @for r in routes.iter().map(|r| route_view(r.clone())) { tr {
                    td { a href=(link(&r.route, &r.service)) { (r.route) } }
                    td { (r.service) }
                    td { (r.requests) }
                    td { (format!("{:.2}%", r.error_rate * 100.0)) }
                    td { (ms(r.p50_ms)) } td { (ms(r.p90_ms)) } td { (ms(r.p95_ms)) } td { (ms(r.p99_ms)) }
                    td { (r.apdex.map(|a| format!("{a:.2}")).unwrap_or_default()) }
                    td { (format!("{:.1} s", r.total_ms / 1000.0)) }
                } } }
            }
        }
        section #queries {
            h2 { "Database queries" }
            table.queries {
                thead { tr { th { "Query" } th { "Calls" } th { "Total" } th { "Mean" } th { "p95" } th { "Share of request time" } th { "Example" } } }
                tbody { @for qv in &report.queries { tr {
                    td { code { (qv.query) } }
                    td { (qv.calls) }
                    td { (format!("{:.1} ms", qv.total_ms)) }
                    td { (format!("{:.1} ms", qv.mean_ms)) }
                    td { (format!("{:.1} ms", qv.p95_ms)) }
                    td { (format!("{:.1}%", qv.share_of_request_time * 100.0)) }
                    td { a href={(base) "/traces/" (qv.example_trace)} { "trace" } }
                } } }
            }
        }
        section #findings {
            h2 { "Open findings" }
            @if findings.is_empty() { p { "Nothing open. The detectors scan new spans every minute." } }
            table.findings {
                thead { tr { th { "Finding" } th { "Where" } th { "Detail" } th { "Seen" } th { "Last seen" } th { "" } } }
                tbody { @for fv in &findings { tr {
                    td { (fv.title) @if let Some(qt) = &fv.query { br; code { (qt) } } }
                    td { (fv.service) " " (fv.route) }
                    td { (fv.detail) @if let Some(t) = &fv.example_trace { " " a href={(base) "/traces/" (t)} { "example trace" } } }
                    td { (fv.occurrences) }
                    td { (fv.last_seen) }
                    td { @if can_write {
                        @for (to, label) in [("resolved", "Resolve"), ("ignored", "Ignore")] {
                            form.inline method="post" action={(base) "/findings/" (fv.id)} {
                                input type="hidden" name="_csrf" value=(s.session.csrf_token);
                                input type="hidden" name="status" value=(to);
                                button type="submit" { (label) }
                            }
                        }
                    } }
                } } }
            }
        }
        section #alerting {
            h2 { "SLOs" }
            @if slos.is_empty() { p { "No SLOs yet: create them with " code { "liveops slo create" } " or the API." } }
            @else {
                table.slos {
                    thead { tr { th { "SLO" } th { "Objective" } th { "Where" } th { "Attained" } th { "Budget left" } th { "Burn (1 h)" } th { "State" } } }
                    tbody { @for (slo, st) in &slos { tr {
                        td { (slo.name) }
                        td { (slo.kind) " " (format!("{:.2}%", slo.objective * 100.0)) @if let Some(ms) = slo.latency_ms { " under " (ms) " ms" } " over " (slo.period_days) " d" }
                        td { (if slo.route.is_empty() { if slo.service.is_empty() { "every route".to_owned() } else { slo.service.clone() } } else { slo.route.clone() }) }
                        td { (st.attainment.map(|a| format!("{:.3}%", a * 100.0)).unwrap_or_else(|| "–".into())) }
                        td { (format!("{:.1}%", st.budget_remaining * 100.0)) }
                        td { (st.burn_rates.iter().find(|r| r.0 == 3600).map(|r| format!("{:.1}×", r.1)).unwrap_or_default()) }
                        td { (slo.state) }
                    } } }
                }
            }
            h2 { "Alert rules" }
            @if rules.is_empty() { p { "No alert rules yet: create them with " code { "liveops perf rule create" } " or the API." } }
            @else {
                table.rules {
                    thead { tr { th { "Rule" } th { "Condition" } th { "Where" } th { "Value" } th { "State" } } }
                    tbody { @for r in &rules { tr {
                        td { (r.name) }
                        td { (r.metric) " " (r.comparator) " " (r.threshold) " over " (r.window_secs / 60) " min" @if r.for_secs > 0 { " for " (r.for_secs / 60) " min" } }
                        td { (if r.route.is_empty() { if r.service.is_empty() { "every route".to_owned() } else { r.service.clone() } } else { r.route.clone() }) }
                        td { (ms(r.value)) }
                        td { (r.state) }
                    } } }
                }
            }
        }
        section #report {
            h2 { "Tuning report" }
            @for (title, list) in [("N+1 queries", &report.n_plus_one), ("Slow queries", &report.slow_queries), ("Large payloads", &report.large_payloads), ("Cache candidates", &report.cache_candidates)] {
                h3 { (title) " (" (list.len()) ")" }
                @if !list.is_empty() {
                    table.patterns {
                        thead { tr { th { "Route" } th { "Traces" } th { "Worst" } th { "Query" } th { "" } } }
                        tbody { @for p in list { tr {
                            td { (p.route) }
                            td { (p.occurrences) }
                            td { (format!("{:.0} ms", p.worst_ms)) @if let Some(b) = p.bytes { ", " (b) " bytes" } @if p.repeats > 1 { ", " (p.repeats) " calls" } }
                            td { code { (p.query.clone().unwrap_or_default()) } }
                            td { a href={(base) "/traces/" (p.example_trace)} { "trace" } }
                        } } }
                    }
                }
            }
            h3 { "Release regressions (" (report.regressions.len()) ")" }
            @for r in &report.regressions { p.regression { strong { (r.service) " " (r.route) } ": " (r.test) } }
        }
    };
    page(Area::Performance.title(), Some(&frame), body).into_response()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The spans of a trace, drawn as a waterfall.
fn waterfall(spans: &[SpanView]) -> Markup {
    let total = spans
        .iter()
        .map(|s| s.offset_ms + s.duration_ms)
        .fold(0.0_f64, f64::max)
        .max(1e-3);
    let (label_w, bar_w, row) = (260.0, 520.0, 18.0);
    let height = spans.len() as f64 * row + 24.0;
    html! {
        svg.waterfall viewBox=(format!("0 0 {} {height}", label_w + bar_w + 80.0)) role="img" aria-label="Spans of the trace over time" {
            @for (i, s) in spans.iter().enumerate() {
                @let y = i as f64 * row + 4.0;
                @let x = label_w + s.offset_ms / total * bar_w;
                @let w = (s.duration_ms / total * bar_w).max(1.0);
                text x="4" y=(y + 12.0) font-size="11" { (truncate(&s.name, 40)) }
                rect x=(format!("{x:.1}")) y=(y) width=(format!("{w:.1}")) height=(row - 4.0)
                    fill=(if s.error { "#c0392b" } else if s.statement.is_some() { "#8e44ad" } else { "#1f5fbf" }) {
                    title { (s.name) ": " (format!("{:.2} ms", s.duration_ms)) }
                }
                text x=(format!("{:.1}", x + w + 4.0)) y=(y + 12.0) font-size="10" { (format!("{:.1} ms", s.duration_ms)) }
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

pub async fn trace(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, trace_id)): Path<(String, String)>,
) -> Response {
    let (projects, idx) = or_page!(load(&state, &s, &slug));
    let (project, _) = &projects[idx];
    let trace_id = trace_id.to_ascii_lowercase();
    if trace_id.len() != 32 || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A trace id is 32 hex digits.",
        );
    }
    let (t, id, tid) = (
        state.telemetry.clone(),
        project.id.clone(),
        trace_id.clone(),
    );
    let spans = match tokio::task::spawn_blocking(move || t.performance().trace(&id, &tid)).await {
        Ok(Ok(s)) => span_views(s),
        Ok(Err(e)) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if spans.is_empty() {
        return error_page(StatusCode::NOT_FOUND, "No spans are stored for this trace.");
    }
    let frame = Frame::of(&s, &projects, project, Area::Performance);
    let body = html! {
        h1 { "Trace " code { (trace_id) } }
        p { a href={"/p/" (project.slug) "/performance"} { "← Performance" } }
        (waterfall(&spans))
        table.spans {
            thead { tr { th { "At" } th { "Took" } th { "Kind" } th { "Service" } th { "Name" } th { "Statement" } } }
            tbody { @for sp in &spans { tr.error[sp.error] {
                td { (format!("{:.1} ms", sp.offset_ms)) }
                td { (format!("{:.1} ms", sp.duration_ms)) }
                td { (sp.kind) }
                td { (sp.service) }
                td { (sp.name) }
                td { code { (sp.statement.clone().unwrap_or_default()) } }
            } } }
        }
    };
    page("Trace", Some(&frame), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    status: String,
}

pub async fn set_finding(
    State(state): State<AppState>,
    s: UiSession,
    Path((slug, id)): Path<(String, String)>,
    Form(f): Form<StatusForm>,
) -> Response {
    let (project, _) = or_page!(permitted(
        &state,
        &s,
        &slug,
        &f.csrf,
        Permission::Write,
        "Your role cannot change findings."
    ));
    let Some(status) = FindingStatus::parse(&f.status) else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A finding is open, resolved or ignored.",
        );
    };
    match rules::set_finding_status(&state, &s.actor(), &project.id, &id, status).await {
        Ok(_) => Redirect::to(&format!("/p/{}/performance#findings", project.slug)).into_response(),
        Err(e) => api_error(e),
    }
}

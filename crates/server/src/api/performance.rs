//! The performance API: route latency, errors and throughput from the
//! rollups, query fingerprints, findings with their evidence traces, release
//! regressions, and the tuning report that ranks where time goes.

use axum::Json;
use axum::extract::State;
use liveops_core::TimeSpan;

use crate::auth::{Access, need};
use crate::contract::performance::*;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::performance::queries::{self, on_spans as telemetry};
use crate::performance::rules;
use crate::state::{AppState, format_ms};

const NS_PER_MS: i64 = 1_000_000;

/// Every route's throughput, errors, latency percentiles, Apdex and
/// payload sizes over the range, most total time first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/routes", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), RangeParams),
    responses((status = 200, description = "Routes", body = Vec<RouteView>)))]
pub async fn routes(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Json<Vec<RouteView>>> {
    let q = range_ns(&p, state.now_ms())?;
    let id = access.project.id.clone();
    let rows = telemetry(&state, move |t| t.routes(&id, &q)).await?;
    Ok(Json(rows.into_iter().map(route_view).collect()))
}

/// Requests per bucket over the range (for one route, service or release
/// when asked), for charts.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/series", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), RangeParams, SeriesParams),
    responses((status = 200, description = "Buckets", body = Vec<SeriesPointView>)))]
pub async fn series(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(range): ApiQuery<RangeParams>,
    ApiQuery(p): ApiQuery<SeriesParams>,
) -> ApiResult<Json<Vec<SeriesPointView>>> {
    let q = range_ns(&range, state.now_ms())?;
    let step_ns = match &p.step {
        Some(s) => {
            let span: TimeSpan = s.parse().map_err(|e: liveops_core::span::TimeSpanError| {
                ApiError::unprocessable(e.to_string())
            })?;
            span.millis().saturating_mul(NS_PER_MS)
        }
        None => ((q.to_ns - q.from_ns) / 60).max(60_000 * NS_PER_MS),
    };
    let id = access.project.id.clone();
    let points = telemetry(&state, move |t| t.series(&id, &q, step_ns)).await?;
    Ok(Json(
        points
            .into_iter()
            .map(|(at, s)| SeriesPointView {
                start: format_ms(at / NS_PER_MS),
                stats: route_view(s),
            })
            .collect(),
    ))
}

/// Database queries grouped by fingerprint, most total time first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/queries", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), RangeParams, QueriesParams),
    responses((status = 200, description = "Query fingerprints", body = Vec<QueryView>)))]
pub async fn queries(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(range): ApiQuery<RangeParams>,
    ApiQuery(p): ApiQuery<QueriesParams>,
) -> ApiResult<Json<Vec<QueryView>>> {
    let q = range_ns(&range, state.now_ms())?;
    let limit = p.limit.unwrap_or(50).clamp(1, 1000);
    let id = access.project.id.clone();
    let rows = telemetry(&state, move |t| t.queries(&id, &q, limit)).await?;
    Ok(Json(rows.into_iter().map(query_view).collect()))
}

/// The detectors' findings: N+1 queries, slow queries, large payloads,
/// cache candidates and release regressions, newest sighting first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/findings", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), FindingsParams),
    responses((status = 200, description = "Findings", body = Vec<FindingView>)))]
pub async fn findings(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<FindingsParams>,
) -> ApiResult<Json<Vec<FindingView>>> {
    let status = status_filter(p.status.as_deref())?;
    let rows = queries::findings(&state, &access.project.id, status).await?;
    Ok(Json(finding_views(rows)))
}

/// Resolves, ignores or reopens a finding.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/performance/findings/{id}", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), ("id" = String, Path, description = "Finding id")),
    request_body = FindingUpdate,
    responses((status = 200, description = "The finding", body = FindingView)))]
pub async fn update_finding(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<FindingUpdate>,
) -> ApiResult<Json<FindingView>> {
    let status = finding_status(&body.status)?;
    let row =
        rules::set_finding_status(&state, &access.actor(), &access.project.id, &id, status).await?;
    let mut views =
        finding_views(queries::with_queries(&state, &access.project.id, vec![row]).await?);
    views
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::internal("the finding vanished"))
}

/// Every span of a trace: the evidence behind a finding.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/traces/{trace}", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), ("trace" = String, Path, description = "Trace id, 32 hex digits")),
    responses((status = 200, description = "Spans", body = Vec<SpanView>)))]
pub async fn trace(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiPath((_project, trace)): ApiPath<(String, String)>,
) -> ApiResult<Json<Vec<SpanView>>> {
    let trace = trace.to_ascii_lowercase();
    if trace.len() != 32 || !trace.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::unprocessable("a trace id is 32 hex digits"));
    }
    let id = access.project.id.clone();
    let spans = telemetry(&state, move |t| t.trace(&id, &trace)).await?;
    if spans.is_empty() {
        return Err(ApiError::not_found("no spans for this trace"));
    }
    Ok(Json(span_views(spans)))
}

/// Where time goes over the range: slowest routes, worst queries, N+1
/// patterns, slow queries, payload outliers, cache candidates and release
/// regressions, each with an example trace.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/report", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), RangeParams),
    responses((status = 200, description = "The tuning report", body = ReportView)))]
pub async fn report(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Json<ReportView>> {
    let q = range_ns(&p, state.now_ms())?;
    Ok(Json(report_view(
        queries::report(&state, &access.project.id, q).await?,
    )))
}

// ---------------------------------------------------------------- alert rules and SLOs

/// The project's alert rules and where each stands.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/rules", tag = "performance",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Rules", body = Vec<RuleView>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<RuleView>>> {
    let rows = state.db.rules(Some(&access.project.id)).await?;
    Ok(Json(rows.into_iter().map(rule_view).collect()))
}

/// A threshold on a request metric, evaluated every minute; firing opens an
/// incident (one per rule) and recovery resolves it.
#[utoipa::path(post, path = "/api/v1/projects/{project}/performance/rules", tag = "performance",
    params(("project" = String, Path, description = "Project slug")),
    request_body = RuleBody,
    responses((status = 201, description = "The rule", body = RuleView)))]
pub async fn create_rule(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(axum::http::StatusCode, Json<RuleView>)> {
    let rule = body.parse()?;
    let row = rules::create_rule(&state, &access.actor(), &access.project.id, &rule).await?;
    Ok((axum::http::StatusCode::CREATED, Json(rule_view(row))))
}

/// Deletes a rule (an incident it opened stays as it is).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/performance/rules/{id}", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), ("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_rule(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, id)): ApiPath<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    rules::delete_rule(&state, &access.actor(), &access.project.id, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The project's SLOs with their error budgets and burn rates.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/slos", tag = "performance",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "SLOs", body = Vec<SloView>)))]
pub async fn list_slos(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<SloView>>> {
    let rows = state.db.slos(Some(&access.project.id)).await?;
    let st = state.clone();
    let views = tokio::task::spawn_blocking(move || {
        let now = state.now_ms();
        rows.into_iter()
            .map(|s| {
                let status = crate::performance::alerts::slo_status(&st, &s, now);
                slo_view(s, status)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(views))
}

/// An availability or latency SLO with multi-window, multi-burn-rate alerts
/// (the SRE Workbook's table) that page or open a ticket-level incident.
#[utoipa::path(post, path = "/api/v1/projects/{project}/performance/slos", tag = "performance",
    params(("project" = String, Path, description = "Project slug")),
    request_body = SloBody,
    responses((status = 201, description = "The SLO", body = SloView)))]
pub async fn create_slo(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiJson(body): ApiJson<SloBody>,
) -> ApiResult<(axum::http::StatusCode, Json<SloView>)> {
    let slo = body.parse()?;
    let row = rules::create_slo(&state, &access.actor(), &access.project.id, &slo).await?;
    let st = state.clone();
    let view = tokio::task::spawn_blocking(move || {
        let status = crate::performance::alerts::slo_status(&st, &row, state.now_ms());
        slo_view(row, status)
    })
    .await
    .map_err(ApiError::internal)?;
    Ok((axum::http::StatusCode::CREATED, Json(view)))
}

/// Deletes an SLO.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/performance/slos/{id}", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), ("id" = String, Path, description = "SLO id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_slo(
    State(state): State<AppState>,
    Access(access, _): Access<need::Write>,
    ApiPath((_project, id)): ApiPath<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    rules::delete_slo(&state, &access.actor(), &access.project.id, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- system load (OTLP metrics)

/// The metrics OpenTelemetry SDKs have sent for the project.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/metrics", tag = "performance",
    params(("project" = String, Path, description = "Project slug")),
    responses((status = 200, description = "Metric names", body = Vec<MetricNameView>)))]
pub async fn metric_names(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
) -> ApiResult<Json<Vec<MetricNameView>>> {
    let id = access.project.id.clone();
    let names = telemetry(&state, move |t| t.metric_names(&id)).await?;
    Ok(Json(
        names
            .into_iter()
            .map(|m| MetricNameView {
                name: m.name,
                unit: m.unit,
                kind: m.kind,
                cumulative: m.cumulative,
                points: m.points,
            })
            .collect(),
    ))
}

/// One metric per service and host over the range: the mean per bucket, or
/// a counter's rate per second.
#[utoipa::path(get, path = "/api/v1/projects/{project}/performance/metrics/series", tag = "performance",
    params(("project" = String, Path, description = "Project slug"), MetricSeriesParams, RangeParams, SeriesParams),
    responses((status = 200, description = "Lines", body = Vec<MetricLineView>)))]
pub async fn metric_series(
    State(state): State<AppState>,
    Access(access, _): Access<need::Read>,
    ApiQuery(m): ApiQuery<MetricSeriesParams>,
    ApiQuery(range): ApiQuery<RangeParams>,
    ApiQuery(p): ApiQuery<SeriesParams>,
) -> ApiResult<Json<Vec<MetricLineView>>> {
    let q = range_ns(&range, state.now_ms())?;
    let step_ns = match &p.step {
        Some(s) => s
            .parse::<TimeSpan>()
            .map_err(|e| ApiError::unprocessable(e.to_string()))?
            .millis()
            .saturating_mul(NS_PER_MS),
        None => ((q.to_ns - q.from_ns) / 60).max(60_000 * NS_PER_MS),
    };
    let id = access.project.id.clone();
    let lines = telemetry(&state, move |t| {
        t.metric_series(
            &id,
            &m.name,
            q.service.as_deref(),
            q.from_ns,
            q.to_ns,
            step_ns,
        )
    })
    .await?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| MetricLineView {
                service: l.service,
                host: l.host,
                points: l
                    .points
                    .into_iter()
                    .map(|(at, value)| MetricPointView {
                        start: format_ms(at / NS_PER_MS),
                        value,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

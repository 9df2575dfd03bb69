//! The performance API: route latency, errors and throughput from the
//! rollups, query fingerprints, findings with their evidence traces, release
//! regressions, and the tuning report that ranks where time goes.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use liveops_core::TimeSpan;
use liveops_core::performance::detect::FindingKind;
use liveops_store::StoreError;
use liveops_store::performance::{FindingRow, FindingStatus};
use liveops_telemetry::performance::{self as perf, RouteQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, need};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::{AppState, format_ms};
use crate::timerange::parse_when;

const NS_PER_MS: i64 = 1_000_000;

async fn telemetry<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&liveops_telemetry::Performance) -> Result<T, liveops_telemetry::TelemetryError>
    + Send
    + 'static,
) -> ApiResult<T> {
    let t = state.telemetry.clone();
    tokio::task::spawn_blocking(move || f(t.performance()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            liveops_telemetry::TelemetryError::Query(m) => ApiError::unprocessable(m),
            other => ApiError::internal(other),
        })
}

/// Which requests a question covers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// The last stretch of time, like `1h`, `24h` (default) or `7d`.
    pub last: Option<String>,
    /// Start (date or RFC 3339); overrides `last`.
    pub from: Option<String>,
    /// End, exclusive; now by default.
    pub to: Option<String>,
    /// One service only.
    pub service: Option<String>,
    /// One release (`service.version`) only.
    pub version: Option<String>,
    /// One route only, like `GET /users/{id}`.
    pub route: Option<String>,
}

/// The range in nanoseconds, at most 31 days.
pub fn range_ns(p: &RangeParams, now: i64) -> ApiResult<RouteQuery> {
    let to_ms = match &p.to {
        Some(t) => parse_when("to", t)?,
        None => now,
    };
    let from_ms = match (&p.from, &p.last) {
        (Some(f), _) => parse_when("from", f)?,
        (None, Some(l)) => {
            let span: TimeSpan = l.parse().map_err(|e: liveops_core::span::TimeSpanError| {
                ApiError::unprocessable(e.to_string())
            })?;
            to_ms - span.millis()
        }
        (None, None) => to_ms - 86_400_000,
    };
    if from_ms >= to_ms {
        return Err(ApiError::unprocessable("`from` must be before `to`"));
    }
    if to_ms - from_ms > 31 * 86_400_000 {
        return Err(ApiError::unprocessable("a range may cover at most 31 days"));
    }
    let blank = |s: &Option<String>| {
        s.as_ref()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Ok(RouteQuery {
        from_ns: from_ms.saturating_mul(NS_PER_MS),
        to_ns: to_ms.saturating_mul(NS_PER_MS),
        service: blank(&p.service),
        version: blank(&p.version),
        route: blank(&p.route),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    pub service: String,
    pub route: String,
    pub requests: u64,
    pub errors: u64,
    /// 0 to 1.
    pub error_rate: f64,
    pub per_minute: f64,
    /// Latency percentiles in milliseconds, within 1 % (the sketch's stated error).
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub total_ms: f64,
    /// Apdex with T = 500 ms.
    pub apdex: Option<f64>,
    pub mean_request_bytes: Option<f64>,
    pub mean_response_bytes: Option<f64>,
    pub max_response_bytes: u64,
}

pub fn route_view(r: perf::RouteStats) -> RouteView {
    RouteView {
        service: r.service,
        route: r.route,
        requests: r.requests,
        errors: r.errors,
        error_rate: r.error_rate,
        per_minute: r.per_minute,
        p50_ms: r.p50_ms,
        p90_ms: r.p90_ms,
        p95_ms: r.p95_ms,
        p99_ms: r.p99_ms,
        mean_ms: r.mean_ms,
        total_ms: r.total_ms,
        apdex: r.apdex,
        mean_request_bytes: r.mean_request_bytes,
        mean_response_bytes: r.mean_response_bytes,
        max_response_bytes: r.max_response_bytes,
    }
}

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
    let rows = telemetry(&state, move |t| Ok(t.routes(&id, &q))).await?;
    Ok(Json(rows.into_iter().map(route_view).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Bucket width, like `5m` or `1h`; about 60 buckets by default.
    pub step: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPointView {
    pub start: String,
    #[serde(flatten)]
    pub stats: RouteView,
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
    let points = telemetry(&state, move |t| Ok(t.series(&id, &q, step_ns))).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueriesParams {
    /// At most this many (default 50).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryView {
    pub fingerprint: String,
    pub system: String,
    /// The statement with literals replaced by `?`.
    pub query: String,
    pub calls: u64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub p95_ms: f64,
    /// Share of all request time in the range, 0 to 1.
    pub share_of_request_time: f64,
    pub example_trace: String,
}

pub fn query_view(q: perf::QueryStats) -> QueryView {
    QueryView {
        fingerprint: q.fingerprint,
        system: q.system,
        query: q.query,
        calls: q.calls,
        total_ms: q.total_ms,
        mean_ms: q.mean_ms,
        p95_ms: q.p95_ms,
        share_of_request_time: q.share,
        example_trace: q.example_trace,
    }
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

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    pub id: String,
    /// n_plus_one, slow_query, large_payload, cache_candidate or regression.
    pub kind: String,
    pub title: String,
    pub service: String,
    pub route: String,
    /// The query fingerprint, or the release for a regression.
    pub subject: String,
    /// The normalised query, for query findings.
    pub query: Option<String>,
    pub detail: String,
    pub example_trace: Option<String>,
    pub occurrences: i64,
    pub first_seen: String,
    pub last_seen: String,
    /// open, resolved or ignored.
    pub status: String,
}

pub fn finding_view(f: FindingRow, query: Option<String>) -> FindingView {
    FindingView {
        title: FindingKind::parse(&f.kind)
            .map_or("Finding", FindingKind::title)
            .to_owned(),
        id: f.id,
        kind: f.kind,
        service: f.service,
        route: f.route,
        subject: f.subject,
        query,
        detail: f.detail,
        example_trace: f.example_trace,
        occurrences: f.occurrences,
        first_seen: format_ms(f.first_seen),
        last_seen: format_ms(f.last_seen),
        status: f.status.as_str().to_owned(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingsParams {
    /// open (default), resolved, ignored or all.
    pub status: Option<String>,
}

fn status_filter(s: Option<&str>) -> ApiResult<Option<FindingStatus>> {
    match s.unwrap_or("open") {
        "all" => Ok(None),
        other => FindingStatus::parse(other).map(Some).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "status `{other}` is not one of: open, resolved, ignored, all"
            ))
        }),
    }
}

/// Looks up the normalised text of each query finding.
pub async fn with_queries(
    state: &AppState,
    project_id: &str,
    rows: Vec<FindingRow>,
) -> ApiResult<Vec<FindingView>> {
    let id = project_id.to_owned();
    let subjects: Vec<(bool, String)> = rows
        .iter()
        .map(|f| {
            (
                f.kind != FindingKind::Regression.as_str() && !f.subject.is_empty(),
                f.subject.clone(),
            )
        })
        .collect();
    let texts = telemetry(state, move |t| {
        subjects
            .iter()
            .map(|(is_query, s)| {
                if *is_query {
                    t.query_text(&id, s)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(rows
        .into_iter()
        .zip(texts)
        .map(|(f, q)| finding_view(f, q))
        .collect())
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
    let rows = state.db.findings(&access.project.id, status).await?;
    Ok(Json(with_queries(&state, &access.project.id, rows).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingUpdate {
    /// open, resolved or ignored.
    pub status: String,
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
    let status = FindingStatus::parse(&body.status)
        .ok_or_else(|| ApiError::unprocessable("status must be one of: open, resolved, ignored"))?;
    let row = match state
        .db
        .set_finding_status(&access.project.id, &id, status)
        .await
    {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(ApiError::not_found("no such finding")),
        Err(e) => return Err(e.into()),
    };
    let mut views = with_queries(&state, &access.project.id, vec![row]).await?;
    views
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::internal("the finding vanished"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpanView {
    pub span_id: String,
    pub parent_id: Option<String>,
    pub service: String,
    pub name: String,
    pub kind: String,
    pub start: String,
    /// Since the trace's first span.
    pub offset_ms: f64,
    pub duration_ms: f64,
    pub error: bool,
    pub statement: Option<String>,
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

pub fn span_views(spans: Vec<perf::SpanRow>) -> Vec<SpanView> {
    let first = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    spans
        .into_iter()
        .map(|s| SpanView {
            start: Timestamp::from_nanosecond(i128::from(s.start_ns))
                .map(|t| t.to_string())
                .unwrap_or_default(),
            offset_ms: (s.start_ns - first) as f64 / 1e6,
            duration_ms: s.duration_ns as f64 / 1e6,
            span_id: s.span_id,
            parent_id: s.parent_id,
            service: s.service,
            name: s.name,
            kind: s.kind,
            error: s.error,
            statement: s.statement,
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatternView {
    pub kind: String,
    pub title: String,
    pub service: String,
    pub route: String,
    pub fingerprint: Option<String>,
    pub query: Option<String>,
    /// Traces that showed it in the range.
    pub occurrences: u64,
    pub total_ms: f64,
    /// The worst one: its trace, time and size.
    pub example_trace: String,
    pub worst_ms: f64,
    pub repeats: u64,
    pub bytes: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegressionView {
    pub service: String,
    pub route: String,
    pub version: String,
    pub previous_version: String,
    pub p95_before_ms: f64,
    pub p95_after_ms: f64,
    pub p_value: f64,
    pub requests_before: usize,
    pub requests_after: usize,
    pub test: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub from: String,
    pub to: String,
    /// Slowest routes by total time.
    pub routes: Vec<RouteView>,
    /// Worst query fingerprints by total time.
    pub queries: Vec<QueryView>,
    pub n_plus_one: Vec<PatternView>,
    pub slow_queries: Vec<PatternView>,
    pub large_payloads: Vec<PatternView>,
    pub cache_candidates: Vec<PatternView>,
    pub regressions: Vec<RegressionView>,
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
    Ok(Json(build_report(&state, &access.project.id, q).await?))
}

pub async fn build_report(
    state: &AppState,
    project_id: &str,
    q: RouteQuery,
) -> ApiResult<ReportView> {
    let id = project_id.to_owned();
    let (from, to) = (q.from_ns, q.to_ns);
    let (routes, queries, detections, regressions, texts) = telemetry(state, move |t| {
        let mut routes = t.routes(&id, &q);
        routes.truncate(10);
        let queries = t.queries(&id, &q, 10)?;
        let detections = perf::patterns(t.detect(&id, q.from_ns, q.to_ns)?);
        let regressions = crate::performance::regressions(t, &id, q.to_ns, None)?;
        let texts = detections
            .iter()
            .map(|p| match &p.fingerprint {
                Some(f) => t.query_text(&id, f),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((routes, queries, detections, regressions, texts))
    })
    .await?;
    let mut report = ReportView {
        from: format_ms(from / NS_PER_MS),
        to: format_ms(to / NS_PER_MS),
        routes: routes.into_iter().map(route_view).collect(),
        queries: queries.into_iter().map(query_view).collect(),
        n_plus_one: Vec::new(),
        slow_queries: Vec::new(),
        large_payloads: Vec::new(),
        cache_candidates: Vec::new(),
        regressions: regressions
            .into_iter()
            .map(|r| RegressionView {
                test: r.describe(),
                service: r.key.service,
                route: r.key.route,
                version: r.key.version,
                previous_version: r.previous,
                p95_before_ms: r.p95_before_ms,
                p95_after_ms: r.p95_after_ms,
                p_value: r.p_value,
                requests_before: r.before,
                requests_after: r.after,
            })
            .collect(),
    };
    for (p, query) in detections.into_iter().zip(texts) {
        let view = PatternView {
            kind: p.kind.as_str().to_owned(),
            title: p.kind.title().to_owned(),
            service: p.service,
            route: p.route,
            fingerprint: p.fingerprint,
            query,
            occurrences: p.occurrences,
            total_ms: p.total_ms,
            example_trace: p.worst.trace_id,
            worst_ms: p.worst.duration_ms,
            repeats: p.worst.count,
            bytes: p.worst.bytes,
        };
        let list = match p.kind {
            FindingKind::NPlusOne => &mut report.n_plus_one,
            FindingKind::SlowQuery => &mut report.slow_queries,
            FindingKind::LargePayload => &mut report.large_payloads,
            FindingKind::CacheCandidate => &mut report.cache_candidates,
            FindingKind::Regression => continue,
        };
        if list.len() < 20 {
            list.push(view);
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------- alert rules and SLOs

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: String,
    /// p50_ms, p90_ms, p95_ms, p99_ms, error_rate, requests_per_min, apdex,
    /// or `otel:NAME` for a metric from OpenTelemetry (its mean over the
    /// window; a cumulative counter's rate per second).
    pub metric: String,
    /// `>` (above, default) or `<` (below).
    pub comparator: Option<String>,
    pub threshold: f64,
    /// How long the condition must hold before the rule fires, like `5m`; at once by default.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// The window the metric is computed over, like `5m` (default).
    pub window: Option<String>,
    pub service: Option<String>,
    pub route: Option<String>,
    /// The incident's severity: sev1 to sev4 (default sev3).
    pub severity: Option<String>,
    /// The integration whose policy pages; a default one is made when absent.
    pub integration: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    pub name: String,
    pub metric: String,
    pub comparator: String,
    pub threshold: f64,
    pub for_secs: i64,
    pub window_secs: i64,
    pub service: Option<String>,
    pub route: Option<String>,
    pub severity: String,
    /// ok, pending or firing.
    pub state: String,
    pub value: Option<f64>,
    pub evaluated_at: Option<String>,
}

fn rule_view(r: liveops_store::performance::RuleRow) -> RuleView {
    RuleView {
        service: (!r.service.is_empty()).then_some(r.service),
        route: (!r.route.is_empty()).then_some(r.route),
        id: r.id,
        name: r.name,
        metric: r.metric,
        comparator: r.comparator,
        threshold: r.threshold,
        for_secs: r.for_secs,
        window_secs: r.window_secs,
        severity: r.severity,
        state: r.state,
        value: r.value,
        evaluated_at: r.evaluated_at.map(format_ms),
    }
}

fn span_secs(field: &str, s: Option<&str>, default: i64) -> ApiResult<i64> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some("0") | Some("0s") => Ok(0),
        Some(v) => v
            .parse::<TimeSpan>()
            .map(TimeSpan::seconds)
            .map_err(|e| ApiError::unprocessable(format!("`{field}`: {e}"))),
    }
}

fn name_of(s: &str) -> ApiResult<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "a name needs 1 to 100 printable characters",
        ));
    }
    Ok(t.to_owned())
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
        StoreError::NotFound => ApiError::not_found("not found"),
        other => other.into(),
    }
}

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
    use liveops_core::performance::rule::{Comparator, Watched};
    use liveops_core::support::incident::Severity;
    let name = name_of(&body.name)?;
    let metric: Watched =
        body.metric
            .parse()
            .map_err(|e: liveops_core::support::incident::UnknownValue| {
                ApiError::unprocessable(e.to_string())
            })?;
    let comparator: Comparator = body.comparator.as_deref().unwrap_or(">").parse().map_err(
        |e: liveops_core::support::incident::UnknownValue| ApiError::unprocessable(e.to_string()),
    )?;
    if !body.threshold.is_finite() {
        return Err(ApiError::unprocessable("`threshold` must be a number"));
    }
    let severity: Severity = body.severity.as_deref().unwrap_or("sev3").parse().map_err(
        |e: liveops_core::support::incident::UnknownValue| ApiError::unprocessable(e.to_string()),
    )?;
    let for_secs = span_secs("for", body.for_.as_deref(), 0)?;
    let window_secs = span_secs("window", body.window.as_deref(), 300)?;
    if !(60..=31 * 86_400).contains(&window_secs) {
        return Err(ApiError::unprocessable(
            "`window` must be 1 minute to 31 days",
        ));
    }
    let integration = crate::performance::alerts::integration_for(
        &state,
        &access.project.id,
        body.integration.as_deref(),
    )
    .await?;
    let row = state
        .db
        .insert_rule(
            &access.project.id,
            &liveops_store::performance::NewRule {
                name: &name,
                metric: &metric.as_string(),
                comparator: comparator.as_str(),
                threshold: body.threshold,
                for_secs,
                window_secs,
                service: body.service.as_deref().map(str::trim).unwrap_or(""),
                route: body.route.as_deref().map(str::trim).unwrap_or(""),
                severity: severity.as_str(),
                integration_id: &integration.id,
            },
            state.now_ms(),
        )
        .await
        .map_err(store_error)?;
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
    if state.db.delete_rule(&access.project.id, &id).await? {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such rule"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloBody {
    pub name: String,
    /// availability (requests without a server error) or latency (requests faster than `latency_ms`).
    pub kind: String,
    /// The share of good requests promised, like 0.999.
    pub objective: f64,
    pub latency_ms: Option<f64>,
    /// The SLO period in days (default 30).
    pub period_days: Option<i64>,
    pub service: Option<String>,
    pub route: Option<String>,
    /// The integration whose policy pages; a default one is made when absent.
    pub integration: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BurnRateView {
    pub window_secs: i64,
    pub burn_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SloView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub objective: f64,
    pub latency_ms: Option<f64>,
    pub period_days: i64,
    pub service: Option<String>,
    pub route: Option<String>,
    /// ok, ticket or page, as of the last evaluation.
    pub state: String,
    pub good: u64,
    pub total: u64,
    pub attainment: Option<f64>,
    /// The share of the period's error budget left; below 0 when overspent.
    pub budget_remaining: f64,
    pub burn_rates: Vec<BurnRateView>,
}

fn slo_view(
    s: liveops_store::performance::SloRow,
    st: crate::performance::alerts::SloStatus,
) -> SloView {
    SloView {
        service: (!s.service.is_empty()).then_some(s.service),
        route: (!s.route.is_empty()).then_some(s.route),
        id: s.id,
        name: s.name,
        kind: s.kind,
        objective: s.objective,
        latency_ms: s.latency_ms,
        period_days: s.period_days,
        state: s.state,
        good: st.good,
        total: st.total,
        attainment: st.attainment,
        budget_remaining: st.budget_remaining,
        burn_rates: st
            .burn_rates
            .into_iter()
            .map(|(window_secs, burn_rate)| BurnRateView {
                window_secs,
                burn_rate,
            })
            .collect(),
    }
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
    let name = name_of(&body.name)?;
    if !(body.objective > 0.0 && body.objective < 1.0) {
        return Err(ApiError::unprocessable(
            "`objective` is a share between 0 and 1, like 0.999",
        ));
    }
    let latency_ms = match (body.kind.as_str(), body.latency_ms) {
        ("availability", _) => None,
        ("latency", Some(ms)) if ms.is_finite() && ms > 0.0 => Some(ms),
        ("latency", _) => {
            return Err(ApiError::unprocessable(
                "a latency SLO needs `latency_ms` above 0",
            ));
        }
        (other, _) => {
            return Err(ApiError::unprocessable(format!(
                "kind `{other}` is not one of: availability, latency"
            )));
        }
    };
    let period_days = body.period_days.unwrap_or(30);
    if !(1..=90).contains(&period_days) {
        return Err(ApiError::unprocessable("`period_days` must be 1 to 90"));
    }
    let integration = crate::performance::alerts::integration_for(
        &state,
        &access.project.id,
        body.integration.as_deref(),
    )
    .await?;
    let row = state
        .db
        .insert_slo(
            &access.project.id,
            &liveops_store::performance::NewSlo {
                name: &name,
                kind: &body.kind,
                objective: body.objective,
                latency_ms,
                period_days,
                service: body.service.as_deref().map(str::trim).unwrap_or(""),
                route: body.route.as_deref().map(str::trim).unwrap_or(""),
                integration_id: &integration.id,
            },
            state.now_ms(),
        )
        .await
        .map_err(store_error)?;
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
    if state.db.delete_slo(&access.project.id, &id).await? {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such SLO"))
    }
}

// ---------------------------------------------------------------- system load (OTLP metrics)

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricNameView {
    pub name: String,
    pub unit: String,
    /// gauge, sum or histogram.
    pub kind: String,
    /// A counter reporting totals: charts show its rate per second.
    pub cumulative: bool,
    pub points: u64,
}

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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricSeriesParams {
    /// The metric's name.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricPointView {
    pub start: String,
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricLineView {
    pub service: String,
    pub host: Option<String>,
    pub points: Vec<MetricPointView>,
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

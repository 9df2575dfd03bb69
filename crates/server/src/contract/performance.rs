//! The performance area's API contract: routes, queries, findings,
//! traces, the tuning report, alert rules, SLOs and OTLP metric series.

use jiff::Timestamp;
use liveops_core::TimeSpan;
use liveops_core::performance::detect::FindingKind;
use liveops_store::performance::{FindingRow, FindingStatus};
use liveops_telemetry::performance::{self as perf, RouteQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::performance::queries::Report;
use crate::performance::rules::{NewRule, NewSlo};
use crate::state::format_ms;
use crate::timerange::parse_when;

const NS_PER_MS: i64 = 1_000_000;
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueriesParams {
    /// At most this many (default 50).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

pub fn status_filter(s: Option<&str>) -> ApiResult<Option<FindingStatus>> {
    match s.unwrap_or("open") {
        "all" => Ok(None),
        other => FindingStatus::parse(other).map(Some).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "status `{other}` is not one of: open, resolved, ignored, all"
            ))
        }),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingUpdate {
    /// open, resolved or ignored.
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

pub fn rule_view(r: liveops_store::performance::RuleRow) -> RuleView {
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BurnRateView {
    pub window_secs: i64,
    pub burn_rate: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

pub fn slo_view(
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

/// The finding views of findings with their query text.
pub fn finding_views(rows: Vec<(FindingRow, Option<String>)>) -> Vec<FindingView> {
    rows.into_iter().map(|(f, q)| finding_view(f, q)).collect()
}

/// A finding status as the API names it.
pub fn finding_status(s: &str) -> ApiResult<FindingStatus> {
    FindingStatus::parse(s)
        .ok_or_else(|| ApiError::unprocessable("status must be one of: open, resolved, ignored"))
}

fn parsed<T: std::str::FromStr>(s: &str) -> ApiResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e: T::Err| ApiError::unprocessable(e.to_string()))
}

impl RuleBody {
    /// The rule this body describes, checked.
    pub fn parse(&self) -> ApiResult<NewRule> {
        if !self.threshold.is_finite() {
            return Err(ApiError::unprocessable("`threshold` must be a number"));
        }
        let window_secs = span_secs("window", self.window.as_deref(), 300)?;
        if !(60..=31 * 86_400).contains(&window_secs) {
            return Err(ApiError::unprocessable(
                "`window` must be 1 minute to 31 days",
            ));
        }
        Ok(NewRule {
            name: name_of(&self.name)?,
            metric: parsed(&self.metric)?,
            comparator: parsed(self.comparator.as_deref().unwrap_or(">"))?,
            threshold: self.threshold,
            for_secs: span_secs("for", self.for_.as_deref(), 0)?,
            window_secs,
            service: self
                .service
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .to_owned(),
            route: self
                .route
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .to_owned(),
            severity: parsed(self.severity.as_deref().unwrap_or("sev3"))?,
            integration: self.integration.clone(),
        })
    }
}

impl SloBody {
    /// The SLO this body describes, checked.
    pub fn parse(&self) -> ApiResult<NewSlo> {
        let name = name_of(&self.name)?;
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(ApiError::unprocessable(
                "`objective` is a share between 0 and 1, like 0.999",
            ));
        }
        let latency_ms = match (self.kind.as_str(), self.latency_ms) {
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
        let period_days = self.period_days.unwrap_or(30);
        if !(1..=90).contains(&period_days) {
            return Err(ApiError::unprocessable("`period_days` must be 1 to 90"));
        }
        Ok(NewSlo {
            name,
            kind: self.kind.clone(),
            objective: self.objective,
            latency_ms,
            period_days,
            service: self
                .service
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .to_owned(),
            route: self
                .route
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .to_owned(),
            integration: self.integration.clone(),
        })
    }
}

/// The tuning report as the API shows it.
pub fn report_view(r: Report) -> ReportView {
    let mut report = ReportView {
        from: format_ms(r.from_ns / NS_PER_MS),
        to: format_ms(r.to_ns / NS_PER_MS),
        routes: r.routes.into_iter().map(route_view).collect(),
        queries: r.queries.into_iter().map(query_view).collect(),
        n_plus_one: Vec::new(),
        slow_queries: Vec::new(),
        large_payloads: Vec::new(),
        cache_candidates: Vec::new(),
        regressions: r
            .regressions
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
    for (p, query) in r.patterns {
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
    report
}

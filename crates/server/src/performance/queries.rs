//! The questions asked of spans: routes, queries, traces, metric series,
//! findings with their query text, and the tuning report. Each runs on a
//! blocking thread against the telemetry store.

use liveops_core::performance::detect::FindingKind;
use liveops_store::performance::{FindingRow, FindingStatus};
use liveops_telemetry::performance::{self as perf, RouteQuery};

use super::{PerformanceError, Result};
use crate::state::AppState;

/// Runs `f` on the performance store on a blocking thread.
pub async fn on_spans<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(
        &dyn liveops_telemetry::Performance,
    ) -> std::result::Result<T, liveops_telemetry::TelemetryError>
    + Send
    + 'static,
) -> Result<T> {
    let t = state.telemetry.clone();
    Ok(tokio::task::spawn_blocking(move || f(t.performance())).await??)
}

/// A project's findings (one status, or all), each with the normalised
/// text of its query when it is about one.
pub async fn findings(
    state: &AppState,
    project_id: &str,
    status: Option<FindingStatus>,
) -> Result<Vec<(FindingRow, Option<String>)>> {
    let rows = state.db.findings(project_id, status).await?;
    with_queries(state, project_id, rows).await
}

/// The normalised text of each query finding, beside it.
pub async fn with_queries(
    state: &AppState,
    project_id: &str,
    rows: Vec<FindingRow>,
) -> Result<Vec<(FindingRow, Option<String>)>> {
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
    let texts = on_spans(state, move |t| {
        subjects
            .iter()
            .map(|(is_query, s)| {
                if *is_query {
                    t.query_text(&id, s)
                } else {
                    Ok(None)
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()
    })
    .await?;
    Ok(rows.into_iter().zip(texts).collect())
}

/// What the tuning report is made of: the slowest routes and queries, the
/// detectors' patterns (each with its query's text), and regressions.
#[derive(Debug)]
pub struct Report {
    pub from_ns: i64,
    pub to_ns: i64,
    pub routes: Vec<perf::RouteStats>,
    pub queries: Vec<perf::QueryStats>,
    pub patterns: Vec<(perf::Pattern, Option<String>)>,
    pub regressions: Vec<super::scan::Regression>,
}

/// The tuning report over `q`.
pub async fn report(state: &AppState, project_id: &str, q: RouteQuery) -> Result<Report> {
    let id = project_id.to_owned();
    let (from_ns, to_ns) = (q.from_ns, q.to_ns);
    on_spans(state, move |t| {
        let mut routes = t.routes(&id, &q)?;
        routes.truncate(10);
        let queries = t.queries(&id, &q, 10)?;
        let detections = perf::patterns(t.detect(&id, q.from_ns, q.to_ns)?);
        let regressions = super::scan::regressions(t, &id, q.to_ns, None)?;
        let patterns = detections
            .into_iter()
            .map(|p| {
                let text = match &p.fingerprint {
                    Some(f) => t.query_text(&id, f)?,
                    None => None,
                };
                Ok((p, text))
            })
            .collect::<std::result::Result<Vec<_>, liveops_telemetry::TelemetryError>>()?;
        Ok(Report {
            from_ns,
            to_ns,
            routes,
            queries,
            patterns,
            regressions,
        })
    })
    .await
}

/// Says a finding is missing the way the API does for any other thing.
pub fn no_finding() -> PerformanceError {
    PerformanceError::not_found("no such finding")
}

//! Performance: the scan that turns spans into findings and release
//! regressions (`scan`), alert rules and SLOs and their evaluation
//! (`rules`, `alerts`), and the questions asked of spans (`queries`).

pub mod alerts;
pub mod queries;
pub mod rules;
pub mod scan;

crate::area_error!(
    /// What went wrong in the performance area.
    PerformanceError
);

pub type Result<T, E = PerformanceError> = std::result::Result<T, E>;

crate::area_error_from!(crate::support::SupportError => PerformanceError);

/// Stores spans from any intake (OTLP, Sentry transactions) durably, then
/// folds their requests into the rollups.
pub async fn ingest_spans(
    state: &crate::state::AppState,
    project_id: &str,
    spans: Vec<liveops_core::performance::Span>,
) -> Result<liveops_telemetry::performance::Stored> {
    let t = state.telemetry.clone();
    let project = project_id.to_owned();
    tokio::task::spawn_blocking(move || t.performance().ingest(&project, &spans))
        .await?
        .map_err(|e| {
            tracing::error!(error = %e, "spans could not be stored");
            PerformanceError::Unavailable(
                "spans could not be stored just now; send them again".into(),
            )
        })
}

//! Product analytics in the server: the PostHog and Segment ingest
//! endpoints, ingest-key lookup and per-key rate limits, and the retention
//! job.

pub mod alerts;
pub mod cache;
pub mod cohorts;
pub mod dashboards;
pub mod funnels;
pub mod geoip;
pub mod insights;
pub mod keys;
pub mod revenue;
pub mod trends;
pub mod web;

use std::time::Instant;

use liveops_store::StoreError;
use liveops_store::projects::KeyPurpose;

use crate::state::AppState;

crate::area_error!(
    /// What went wrong in usage analytics.
    AnalyticsError
);

pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;

/// The project a key of `purpose` belongs to. A key of another purpose
/// is refused like an unknown one, but says which key to use.
pub async fn project_for_key(state: &AppState, key: &str, purpose: KeyPurpose) -> Result<String> {
    let key = key.trim();
    if key.is_empty() {
        return Err(AnalyticsError::unauthorized(match purpose {
            KeyPurpose::Browser => {
                "send the project's ingest key (api_key, token, writeKey or basic auth)"
            }
            KeyPurpose::Server => {
                "send the project's server key (Authorization: Bearer, basic auth, x-liveops-key)"
            }
            KeyPurpose::Mail => "send the project's inbound mail secret",
        }));
    }
    let hash = crate::auth::keys::hash(key);
    let now = Instant::now();
    if let Some(project) = state.ingest_keys.recall(purpose, &hash, now) {
        return Ok(project);
    }
    let project = match state.db.project_by_key(purpose, &hash).await {
        Ok(p) => p.id,
        Err(StoreError::NotFound) => {
            return Err(AnalyticsError::unauthorized(match purpose {
                KeyPurpose::Browser => "unknown ingest key",
                KeyPurpose::Server => {
                    "unknown server key: OTLP takes the project's server key, not its public \
                     browser key (Settings, or POST /api/v1/projects/{slug}/keys/server)"
                }
                KeyPurpose::Mail => "unknown inbound mail secret",
            }));
        }
        Err(e) => return Err(e.into()),
    };
    state.ingest_keys.remember(purpose, hash, &project, now);
    Ok(project)
}

/// Runs a question on the telemetry store in the blocking pool.
pub(crate) async fn telemetry<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn liveops_telemetry::Analytics) -> Result<T, liveops_telemetry::TelemetryError>
    + Send
    + 'static,
) -> Result<T> {
    let t = state.telemetry.clone();
    tokio::task::spawn_blocking(move || f(t.analytics()))
        .await
        .map_err(AnalyticsError::internal)?
        .map_err(|e| match e {
            liveops_telemetry::TelemetryError::Query(m) => AnalyticsError::invalid(m),
            other => AnalyticsError::internal(other),
        })
}

/// Feature usage of a project over `[from, to)`: each feature's adoption
/// among the active users, and how often they use it.
pub async fn feature_usage(
    state: &AppState,
    project_id: &str,
    from: i64,
    to: i64,
) -> Result<liveops_telemetry::analytics::FeatureReport> {
    let features: Vec<liveops_telemetry::analytics::Feature> = state
        .db
        .features(project_id)
        .await?
        .into_iter()
        .map(|f| liveops_telemetry::analytics::Feature {
            name: f.name,
            events: f.events,
        })
        .collect();
    let id = project_id.to_owned();
    telemetry(state, move |a| a.features(&id, &features, from, to)).await
}

/// Deletes a person and all their events (a data subject's request), with
/// the audit entry; `None` when no person has this distinct id. The events
/// live in the telemetry store, so the entry follows their deletion.
pub async fn delete_person(
    state: &AppState,
    actor: &liveops_store::audit::Actor,
    project_id: &str,
    distinct_id: &str,
) -> Result<Option<u64>> {
    let (id, did) = (project_id.to_owned(), distinct_id.to_owned());
    let Some(deleted) = telemetry(state, move |a| a.delete_person(&id, &did)).await? else {
        return Ok(None);
    };
    let w = crate::work::Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    w.commit(
        crate::work::Audit::new("analytics.person.delete", distinct_id)
            .detail(serde_json::json!({ "events_deleted": deleted })),
    )
    .await?;
    Ok(Some(deleted))
}

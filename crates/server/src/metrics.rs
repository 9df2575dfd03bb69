//! Prometheus metrics about liveops itself, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub store: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Items accepted by the ingest endpoints, by kind (event, span, metric, alert).
    pub ingested: Family<KindLabels, Counter>,
    /// Items refused by the ingest endpoints, by kind.
    pub ingest_rejected: Family<KindLabels, Counter>,
    pub storage_bytes: Family<StoreLabels, Gauge>,
    /// Bytes acknowledged into a spool and not yet filed, by stream.
    pub spool_backlog: Family<KindLabels, Gauge>,
    /// Background jobs started again after a panic, by job.
    pub job_restarts: Family<KindLabels, Counter>,
    /// Rounds each background job has finished.
    pub job_ticks: Family<KindLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("liveops");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        let ingested = Family::<KindLabels, Counter>::default();
        let ingest_rejected = Family::<KindLabels, Counter>::default();
        let storage_bytes = Family::<StoreLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            http_duration.clone(),
        );
        registry.register("ingest_items", "Items accepted by ingest", ingested.clone());
        registry.register(
            "ingest_rejected_items",
            "Items refused by ingest",
            ingest_rejected.clone(),
        );
        registry.register(
            "storage_bytes",
            "Bytes on disk per store",
            storage_bytes.clone(),
        );
        let spool_backlog = Family::<KindLabels, Gauge>::default();
        registry.register(
            "spool_backlog_bytes",
            "Bytes acknowledged into a spool and not yet filed, by stream",
            spool_backlog.clone(),
        );
        let job_restarts = Family::<KindLabels, Counter>::default();
        registry.register(
            "job_restarts",
            "Background jobs started again after a panic",
            job_restarts.clone(),
        );
        let job_ticks = Family::<KindLabels, Counter>::default();
        registry.register(
            "job_ticks",
            "Rounds each background job has finished",
            job_ticks.clone(),
        );
        Metrics {
            registry,
            job_ticks,
            http_requests,
            http_duration,
            ingested,
            ingest_rejected,
            storage_bytes,
            spool_backlog,
            job_restarts,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        out
    }

    pub fn set_storage(&self, store: &str, bytes: i64) {
        self.storage_bytes
            .get_or_create(&StoreLabels {
                store: store.into(),
            })
            .set(bytes);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

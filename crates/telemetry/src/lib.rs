//! Telemetry store: events, spans and metrics behind a trait, DuckDB by default.
//!
//! State (users, incidents, …) lives in the state store; high-volume telemetry
//! lives here. [`TelemetryStore`] is the boundary a ClickHouse backend will
//! implement; [`DuckDbStore`] is the embedded default, a single file in the data
//! directory that only one process may hold open.

pub mod analytics;
pub mod clickhouse;
mod duck;
pub mod performance;
mod readpool;

pub use analytics::Analytics;
pub use duck::DuckDbStore;
pub use performance::Performance;

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry database error: {0}")]
    Duck(#[from] duckdb::Error),
    #[error("telemetry file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the telemetry store is closed")]
    Closed,
    #[error("events could not be stored: {0}")]
    Ingest(String),
    #[error("{0}")]
    Query(String),
    #[error("{0}")]
    ClickHouse(String),
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = TelemetryError> = std::result::Result<T, E>;

/// How the store runs queries.
#[derive(Debug, Clone)]
pub struct Options {
    /// The longest a query may run before it is interrupted.
    pub query_timeout: std::time::Duration,
    /// Queries that may run side by side.
    pub read_connections: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            query_timeout: std::time::Duration::from_secs(30),
            read_connections: 4,
        }
    }
}

/// What every telemetry backend provides. Methods block; async callers run
/// them on a blocking thread.
pub trait TelemetryStore: Send + Sync + std::fmt::Debug + 'static {
    /// Succeeds when the store answers a query.
    fn ping(&self) -> Result<()>;
    /// Bytes the store takes on disk.
    fn size_bytes(&self) -> Result<u64>;
    /// Writes a consistent copy to `dest`, which must not exist, while the
    /// store stays open.
    fn snapshot(&self, dest: &Path) -> Result<()>;
    /// Product analytics: ingest, persons and queries. Today a concrete
    /// type over DuckDB; a ClickHouse backend will make it a trait of its own.
    fn analytics(&self) -> &Analytics;
    /// Spans, route rollups and detectors. Concrete over DuckDB today, like
    /// [`TelemetryStore::analytics`].
    fn performance(&self) -> &Performance;
    /// Flushes everything and releases the store; later calls fail with `Closed`.
    fn close(&self) -> Result<()>;
}

//! Telemetry store: events, spans, metrics and error events behind a trait, DuckDB by default.
//!
//! State (users, incidents, …) lives in the state store; high-volume telemetry
//! lives here. [`TelemetryStore`] is the boundary the server sees, opened by
//! [`open`]: [`DuckDbStore`] is the embedded default, a single file in the
//! data directory that only one process may hold open; with a
//! [`ClickHouseConfig`], all telemetry lives in ClickHouse instead, shared
//! by every node.

pub mod analytics;
pub mod clickhouse;
mod duck;
pub mod errors;
pub mod performance;
mod readpool;
pub mod spool;

pub use analytics::Analytics;
pub use duck::{DuckDbStore, forget_layouts, layouts_dir};
pub use errors::Errors;
pub use performance::Performance;

use std::path::{Path, PathBuf};

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
    /// Product analytics: ingest, persons and queries.
    fn analytics(&self) -> &dyn Analytics;
    /// Spans, route rollups, detectors and metrics.
    fn performance(&self) -> &dyn Performance;
    /// Error events: the raw events behind error issues.
    fn errors(&self) -> &dyn Errors;
    /// Flushes everything and releases the store; later calls fail with `Closed`.
    fn close(&self) -> Result<()>;
}

/// Where ClickHouse is, as the configuration gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// The server queries and inserts go to (`http://…:8123/database`).
    pub url: String,
    /// The cluster whose shards store the rows, if any.
    pub cluster: Option<String>,
    /// One server of each shard, in cluster mode.
    pub shards: Vec<String>,
}

/// How long a request to ClickHouse may take.
const CLICKHOUSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl ClickHouseConfig {
    /// Checks the URLs and the cluster name without connecting.
    pub fn check(&self) -> Result<()> {
        clickhouse::ClickHouse::plan(&self.url, self.cluster.as_deref(), &self.shards).map(drop)
    }

    fn connect(&self, options: &Options) -> Result<clickhouse::ClickHouse> {
        clickhouse::ClickHouse::connect(
            &self.url,
            self.cluster.as_deref(),
            &self.shards,
            CLICKHOUSE_TIMEOUT,
            options.query_timeout,
        )
    }
}

/// What [`open`] opens.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The embedded store's file (unused with ClickHouse).
    pub duckdb_path: PathBuf,
    pub options: Options,
    pub clickhouse: Option<ClickHouseConfig>,
}

/// Opens the telemetry store the configuration names; on ClickHouse,
/// makes or migrates its schema first.
pub fn open(config: &StoreConfig, now_ms: i64) -> Result<Box<dyn TelemetryStore>> {
    Ok(match &config.clickhouse {
        None => Box::new(DuckDbStore::open_with(
            &config.duckdb_path,
            &config.options,
        )?),
        Some(ch) => Box::new(clickhouse::store::ClickHouseStore::open(
            ch.connect(&config.options)?,
            now_ms,
        )?),
    })
}

/// Copies the node's own telemetry file at `path` to `dest` while no server
/// holds it (for backups of a stopped server).
pub fn snapshot_file(path: &Path, dest: &Path) -> Result<()> {
    let store = DuckDbStore::open(path)?;
    store.snapshot(dest)?;
    store.close()
}

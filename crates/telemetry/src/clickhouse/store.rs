//! The telemetry store with ClickHouse behind it: product analytics
//! (events, persons), performance telemetry (spans, rollups, metrics,
//! detections) and error events live in ClickHouse and are shared by every node that points
//! at it. A node keeps no telemetry file of its own.

use std::path::Path;
use std::sync::Arc;

use super::ClickHouse;
use super::analytics::ClickHouseAnalytics;
use super::errors::ClickHouseErrors;
use super::performance::ClickHousePerformance;
use crate::analytics::Analytics;
use crate::errors::Errors;
use crate::performance::Performance;
use crate::{Result, TelemetryError, TelemetryStore};

#[derive(Debug)]
pub struct ClickHouseStore {
    ch: Arc<ClickHouse>,
    analytics: ClickHouseAnalytics,
    performance: ClickHousePerformance,
    errors: ClickHouseErrors,
}

impl ClickHouseStore {
    /// Connects and makes or migrates the schema.
    pub fn open(ch: ClickHouse, now_ms: i64) -> Result<ClickHouseStore> {
        ch.migrate(now_ms)?;
        let ch = Arc::new(ch);
        let analytics = ClickHouseAnalytics::open(ch.clone())?;
        let performance = ClickHousePerformance::open(ch.clone());
        let errors = ClickHouseErrors::open(ch.clone());
        Ok(ClickHouseStore {
            ch,
            analytics,
            performance,
            errors,
        })
    }
}

impl TelemetryStore for ClickHouseStore {
    fn ping(&self) -> Result<()> {
        self.ch.client().execute("SELECT 1")
    }

    fn size_bytes(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct Bytes {
            bytes: u64,
        }
        let database = self.ch.client().endpoint().database().to_owned();
        let mut total = 0;
        for shard in &self.ch.shards {
            let rows: Vec<Bytes> = shard.rows(&format!(
                "SELECT toUInt64(sum(bytes)) AS bytes FROM system.parts \
                 WHERE active AND database = {}",
                super::client::quote(&database)
            ))?;
            total += rows.first().map_or(0, |b| b.bytes);
        }
        Ok(total)
    }

    /// ClickHouse is backed up with its own tools (`BACKUP`,
    /// `clickhouse-backup`, or copies of its shards), not by liveops.
    fn snapshot(&self, _dest: &Path) -> Result<()> {
        Err(TelemetryError::Config(
            "telemetry lives in ClickHouse; back it up with ClickHouse's own tools \
             (BACKUP, clickhouse-backup or copies of each shard)"
                .into(),
        ))
    }

    fn analytics(&self) -> &dyn Analytics {
        &self.analytics
    }

    fn performance(&self) -> &dyn Performance {
        &self.performance
    }

    fn errors(&self) -> &dyn Errors {
        &self.errors
    }

    fn close(&self) -> Result<()> {
        self.analytics.close();
        Ok(())
    }
}

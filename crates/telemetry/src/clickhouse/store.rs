//! The telemetry store with ClickHouse behind it: product analytics
//! (events, persons) live in ClickHouse and are shared by every node that
//! points at it. Spans and metrics still live in the node's own DuckDB file
//! (with no analytics of its own) until their queries move over too.

use std::path::Path;
use std::sync::Arc;

use super::ClickHouse;
use super::analytics::ClickHouseAnalytics;
use crate::analytics::Analytics;
use crate::duck::DuckFile;
use crate::performance::Performance;
use crate::{Result, TelemetryStore};

#[derive(Debug)]
pub struct ClickHouseStore {
    ch: Arc<ClickHouse>,
    analytics: ClickHouseAnalytics,
    local: DuckFile,
}

impl ClickHouseStore {
    /// Connects, makes or migrates the schema, and opens the node's own
    /// file for what stays local.
    pub fn open(ch: ClickHouse, local: &Path, now_ms: i64) -> Result<ClickHouseStore> {
        ch.migrate(now_ms)?;
        let ch = Arc::new(ch);
        let analytics = ClickHouseAnalytics::open(ch.clone())?;
        let local = DuckFile::open(local)?;
        Ok(ClickHouseStore {
            ch,
            analytics,
            local,
        })
    }
}

impl TelemetryStore for ClickHouseStore {
    fn ping(&self) -> Result<()> {
        self.ch.client().execute("SELECT 1")?;
        self.local.ping()
    }

    fn size_bytes(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct Bytes {
            bytes: u64,
        }
        let database = self.ch.client().endpoint().database().to_owned();
        let mut total = self.local.size_bytes();
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

    /// Copies the node's own file; ClickHouse is backed up with its own
    /// tools (`BACKUP`, `clickhouse-backup`, or copies of its shards).
    fn snapshot(&self, dest: &Path) -> Result<()> {
        self.local.snapshot(dest)
    }

    fn analytics(&self) -> &dyn Analytics {
        &self.analytics
    }

    fn performance(&self) -> &dyn Performance {
        self.local.performance()
    }

    fn close(&self) -> Result<()> {
        self.analytics.close();
        self.local.close()
    }
}

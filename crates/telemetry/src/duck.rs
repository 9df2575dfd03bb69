//! The embedded DuckDB backend.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::Connection;

use crate::analytics::Analytics;
use crate::analytics::duck::DuckAnalytics;
use crate::performance::{DuckPerformance, Performance};
use crate::{Result, TelemetryError, TelemetryStore};

/// Telemetry in one DuckDB file. All access goes through one connection behind
/// a mutex: DuckDB parallelises each query itself, and a single writer keeps
/// snapshots simple (checkpoint, then copy the file while nobody writes).
#[derive(Debug)]
pub struct DuckDbStore {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
    analytics: DuckAnalytics,
    performance: DuckPerformance,
}

/// The schema version of the telemetry file; bumped by later migrations.
const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS telemetry_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO telemetry_meta VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;";

impl DuckDbStore {
    /// Opens or creates the store at `path` with the default options.
    /// Fails if another process holds it.
    pub fn open(path: &Path) -> Result<DuckDbStore> {
        DuckDbStore::open_with(path, &crate::Options::default())
    }

    /// Opens or creates the store at `path`.
    pub fn open_with(path: &Path, options: &crate::Options) -> Result<DuckDbStore> {
        let conn = Connection::open(path)?;
        // DuckDB would take most of the machine's memory for its buffers;
        // liveops keeps its own analytics layout in memory beside it.
        conn.execute_batch("SET memory_limit = '384MB'")?;
        // Checkpoints compress what the log holds and stall the writer while
        // they run; fewer, larger ones keep ingest steady. The log replays
        // on start after a crash, so this also bounds recovery work.
        conn.execute_batch("SET checkpoint_threshold = '256MB'")?;
        conn.execute_batch(SCHEMA)?;
        let analytics = DuckAnalytics::open(&conn, options)?;
        let performance = DuckPerformance::open(&conn)?;
        Ok(DuckDbStore {
            path: path.to_owned(),
            conn: Mutex::new(Some(conn)),
            analytics,
            performance,
        })
    }

    /// Runs `f` with the connection, or fails when the store is closed.
    pub fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // A panic while holding the lock leaves the connection itself intact,
        // so a poisoned lock is still usable.
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = guard.as_ref().ok_or(TelemetryError::Closed)?;
        f(conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TelemetryStore for DuckDbStore {
    fn ping(&self) -> Result<()> {
        self.with_conn(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn size_bytes(&self) -> Result<u64> {
        let wal = self.path.with_extension("duckdb.wal");
        let main = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let wal = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
        Ok(main + wal)
    }

    fn snapshot(&self, dest: &Path) -> Result<()> {
        // The analytics writer pauses, and the connection lock keeps every
        // other writer out, while the file is checkpointed and copied.
        self.analytics.paused(|| {
            self.performance.paused(|| {
                self.with_conn(|c| {
                    c.execute_batch("CHECKPOINT")?;
                    std::fs::copy(&self.path, dest)?;
                    Ok(())
                })
            })
        })
    }

    fn analytics(&self) -> &dyn Analytics {
        &self.analytics
    }

    fn performance(&self) -> &dyn Performance {
        &self.performance
    }

    fn close(&self) -> Result<()> {
        self.analytics.close();
        self.performance.close();
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = guard.take() {
            conn.execute_batch("CHECKPOINT")?;
            conn.close().map_err(|(_, e)| TelemetryError::Duck(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_is_a_working_copy() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = DuckDbStore::open(&dir.path().join("t.duckdb"))?;
        store.with_conn(|c| {
            c.execute_batch("CREATE TABLE x (v INTEGER); INSERT INTO x VALUES (1), (2), (3);")?;
            Ok(())
        })?;
        let copy = dir.path().join("copy.duckdb");
        store.snapshot(&copy)?;
        store.close()?;
        assert!(matches!(store.ping(), Err(TelemetryError::Closed)));

        let restored = DuckDbStore::open(&copy)?;
        let n: i64 =
            restored.with_conn(|c| Ok(c.query_row("SELECT sum(v) FROM x", [], |r| r.get(0))?))?;
        assert_eq!(n, 6);
        Ok(())
    }
}

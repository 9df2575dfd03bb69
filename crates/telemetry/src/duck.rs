//! The embedded DuckDB backend: [`DuckFile`] is one DuckDB file with the
//! node's spans, metrics and error events, which both stores keep; [`DuckDbStore`] adds
//! product analytics to it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::Connection;

use crate::analytics::Analytics;
use crate::analytics::duck::DuckAnalytics;
use crate::errors::Errors;
use crate::performance::{DuckPerformance, Performance};
use crate::{Result, TelemetryError, TelemetryStore};

/// One DuckDB file and the spans and metrics in it. All access goes through
/// one connection behind a mutex: DuckDB parallelises each query itself,
/// and a single writer keeps snapshots simple (checkpoint, then copy the
/// file while nobody writes).
#[derive(Debug)]
pub(crate) struct DuckFile {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
    performance: DuckPerformance,
}

/// How much memory DuckDB may use for its buffers.
const MEMORY_LIMIT: &str = "384MB";

/// Has DuckDB let go of the table blocks it holds in its buffers, by
/// lowering its memory limit for a moment: a start's scans leave about
/// 20 MB of blocks there (with 10 M events and 10 M spans stored), which
/// an idle server has no use for; later queries read what they need
/// again. A block still in use stays, and then so does the limit's old
/// value: nothing fails.
fn drop_cached_blocks(conn: &Connection) {
    if let Err(e) = conn.execute_batch("SET memory_limit = '1MB'") {
        tracing::debug!(error = %e, "DuckDB kept some of its blocks");
    }
    if let Err(e) = conn.execute_batch(&format!("SET memory_limit = '{MEMORY_LIMIT}'")) {
        tracing::warn!(error = %e, "DuckDB's memory limit was not restored");
    }
}

/// The schema version of the telemetry file; bumped by later migrations.
const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS telemetry_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO telemetry_meta VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;";

impl DuckFile {
    /// Opens or creates the file at `path`. Fails if another process holds it.
    pub(crate) fn open(path: &Path) -> Result<DuckFile> {
        let conn = Connection::open(path)?;
        // DuckDB would take most of the machine's memory for its buffers;
        // liveops keeps its own analytics layout in memory beside it.
        conn.execute_batch(&format!("SET memory_limit = '{MEMORY_LIMIT}'"))?;
        // Checkpoints compress what the log holds and stall the writer while
        // they run; fewer, larger ones keep ingest steady. The log replays
        // on start after a crash, so this also bounds recovery work.
        conn.execute_batch("SET checkpoint_threshold = '256MB'")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::errors::duck::SCHEMA)?;
        crate::errors::duck::fold_tags(&conn)?;
        let performance = DuckPerformance::open(&conn)?;
        Ok(DuckFile {
            path: path.to_owned(),
            conn: Mutex::new(Some(conn)),
            performance,
        })
    }

    /// Runs `f` with the connection, or fails when the file is closed.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // A panic while holding the lock leaves the connection itself intact,
        // so a poisoned lock is still usable.
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = guard.as_ref().ok_or(TelemetryError::Closed)?;
        f(conn)
    }

    pub(crate) fn ping(&self) -> Result<()> {
        self.with_conn(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    pub(crate) fn size_bytes(&self) -> u64 {
        let wal = self.path.with_extension("duckdb.wal");
        let main = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let wal = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
        main + wal
    }

    /// Checkpoints and copies the file to `dest` while the connection lock
    /// keeps every writer on it out.
    pub(crate) fn snapshot(&self, dest: &Path) -> Result<()> {
        self.performance.paused(|| {
            self.with_conn(|c| {
                c.execute_batch("CHECKPOINT")?;
                std::fs::copy(&self.path, dest)?;
                Ok(())
            })
        })
    }

    pub(crate) fn performance(&self) -> &dyn Performance {
        &self.performance
    }

    pub(crate) fn close(&self) -> Result<()> {
        let flushed = self.performance.close();
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = guard.take() {
            conn.execute_batch("CHECKPOINT")?;
            conn.close().map_err(|(_, e)| TelemetryError::Duck(e))?;
        }
        flushed
    }
}

/// Runs `f` as one transaction on `c`: committed when it succeeds, rolled
/// back when it fails.
pub(crate) fn in_transaction<T>(c: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    c.execute_batch("BEGIN")?;
    match f() {
        Ok(v) => {
            c.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// All telemetry in one DuckDB file, which only one process may hold open.
#[derive(Debug)]
pub struct DuckDbStore {
    file: DuckFile,
    analytics: DuckAnalytics,
    /// Digests of the error events per fingerprint, changed only under the
    /// file's connection lock.
    pub(crate) error_digests: Mutex<crate::errors::digest::Digests>,
}

impl DuckDbStore {
    /// Opens or creates the store at `path` with the default options.
    /// Fails if another process holds it.
    pub fn open(path: &Path) -> Result<DuckDbStore> {
        DuckDbStore::open_with(path, &crate::Options::default())
    }

    /// Opens or creates the store at `path`; the analytics layouts are
    /// saved in the folder beside it ([`layouts_dir`]).
    pub fn open_with(path: &Path, options: &crate::Options) -> Result<DuckDbStore> {
        let file = DuckFile::open(path)?;
        let layouts = layouts_dir(path);
        let analytics = file.with_conn(|c| {
            let analytics = DuckAnalytics::open(c, options, Some(&layouts))?;
            drop_cached_blocks(c);
            Ok(analytics)
        })?;
        Ok(DuckDbStore {
            file,
            analytics,
            error_digests: Mutex::default(),
        })
    }
}

/// Where the store at `path` saves its analytics layouts: a folder beside
/// it (`telemetry.duckdb` → `telemetry.layout`). They are derived data: a
/// restore of the file must remove them ([`forget_layouts`]).
pub fn layouts_dir(path: &Path) -> std::path::PathBuf {
    path.with_extension("layout")
}

/// Removes the saved analytics layouts of the store at `path`, so the next
/// start rebuilds them from the file (after the file is replaced).
pub fn forget_layouts(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(layouts_dir(path)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

impl DuckDbStore {
    /// Runs a write on the file's connection.
    pub(crate) fn writing<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.file.with_conn(f)
    }

    /// Runs a query on one of the read connections, under the time limit.
    pub(crate) fn reading<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.analytics.with_read_conn(f)
    }
}

impl TelemetryStore for DuckDbStore {
    fn ping(&self) -> Result<()> {
        self.file.ping()
    }

    fn size_bytes(&self) -> Result<u64> {
        Ok(self.file.size_bytes())
    }

    /// The analytics writer pauses too while the file is copied.
    fn snapshot(&self, dest: &Path) -> Result<()> {
        self.analytics.paused(|| self.file.snapshot(dest))
    }

    fn analytics(&self) -> &dyn Analytics {
        &self.analytics
    }

    fn performance(&self) -> &dyn Performance {
        self.file.performance()
    }

    fn errors(&self) -> &dyn Errors {
        self
    }

    fn close(&self) -> Result<()> {
        self.analytics.close();
        self.file.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table's blocks a scan left in DuckDB's buffers go, and the memory
    /// limit is what it was.
    #[test]
    fn cached_blocks_are_dropped_and_the_limit_restored() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.duckdb");
        {
            let c = Connection::open(&path)?;
            c.execute_batch(
                "CREATE TABLE x AS SELECT range AS v, range::VARCHAR AS t FROM range(2000000)",
            )?;
        }
        let c = Connection::open(&path)?;
        c.execute_batch(&format!("SET memory_limit = '{MEMORY_LIMIT}'"))?;
        let limit = |c: &Connection| -> Result<String> {
            Ok(c.query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0))?)
        };
        let cached = |c: &Connection| -> Result<i64> {
            Ok(c.query_row(
                "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory() \
                 WHERE tag = 'BASE_TABLE'",
                [],
                |r| r.get(0),
            )?)
        };
        let before = limit(&c)?;
        let n: i64 = c.query_row("SELECT count(DISTINCT t) FROM x", [], |r| r.get(0))?;
        assert_eq!(n, 2_000_000);
        let held = cached(&c)?;
        assert!(held > 8 << 20, "the scan's blocks are held: {held}");
        drop_cached_blocks(&c);
        // A few blocks of the table's metadata stay.
        let left = cached(&c)?;
        assert!(left <= 1 << 20, "{left} of {held} bytes left");
        assert_eq!(limit(&c)?, before);
        let n: i64 = c.query_row("SELECT count(*) FROM x WHERE v % 2 = 0", [], |r| r.get(0))?;
        assert_eq!(n, 1_000_000, "read again when asked");
        Ok(())
    }

    #[test]
    fn snapshot_is_a_working_copy() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = DuckDbStore::open(&dir.path().join("t.duckdb"))?;
        store.file.with_conn(|c| {
            c.execute_batch("CREATE TABLE x (v INTEGER); INSERT INTO x VALUES (1), (2), (3);")?;
            Ok(())
        })?;
        let copy = dir.path().join("copy.duckdb");
        store.snapshot(&copy)?;
        store.close()?;
        assert!(matches!(store.ping(), Err(TelemetryError::Closed)));

        let restored = DuckDbStore::open(&copy)?;
        let n: i64 = restored
            .file
            .with_conn(|c| Ok(c.query_row("SELECT sum(v) FROM x", [], |r| r.get(0))?))?;
        assert_eq!(n, 6);
        Ok(())
    }
}

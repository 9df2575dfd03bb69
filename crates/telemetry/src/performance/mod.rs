//! Performance telemetry: spans from OpenTelemetry stored in DuckDB, and
//! per-minute and per-hour request rollups (counts, errors, Apdex, payloads
//! and a latency sketch) per service, route and release, stored beside
//! them ([`rollups`]), so that route percentiles over any range merge a
//! few hundred sketches instead of reading raw spans.
//!
//! Spans are durable before `ingest` returns: exports that arrive together
//! share one DuckDB transaction (group commit). Their requests join the
//! waiting rollups in the same critical section, and are written as
//! rollups every few seconds; a start reads only the spans committed
//! since the last write.

mod cache;
pub(crate) mod query;
pub(crate) mod rollups;

pub use query::*;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use duckdb::Connection;
use liveops_core::performance::detect::{self, Call, FindingKind};
use liveops_core::performance::metric::MetricPoint;
use liveops_core::performance::sql::{self, Fingerprint};
use liveops_core::performance::{Rollup, Span};

use crate::duck::in_transaction;
use crate::{Result, TelemetryError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS perf_spans (
    project_id VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL,
    parent_id VARCHAR, service VARCHAR NOT NULL, version VARCHAR, host VARCHAR,
    name VARCHAR NOT NULL, kind VARCHAR NOT NULL, route VARCHAR,
    start_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, error BOOLEAN NOT NULL,
    status_code INTEGER, request_bytes BIGINT, response_bytes BIGINT,
    db_system VARCHAR, db_operation VARCHAR, db_statement VARCHAR, db_fingerprint BIGINT,
    attributes VARCHAR NOT NULL, inserted_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS perf_detections (
    project_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, service VARCHAR NOT NULL,
    route VARCHAR, fingerprint BIGINT, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL,
    at_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, count BIGINT NOT NULL, bytes BIGINT);
CREATE TABLE IF NOT EXISTS perf_metrics (
    project_id VARCHAR NOT NULL, service VARCHAR NOT NULL, host VARCHAR, name VARCHAR NOT NULL,
    unit VARCHAR NOT NULL, kind VARCHAR NOT NULL, cumulative BOOLEAN NOT NULL, ts_ns BIGINT NOT NULL,
    value DOUBLE NOT NULL, count BIGINT, sum DOUBLE, attributes VARCHAR NOT NULL,
    inserted_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS perf_queries (
    project_id VARCHAR NOT NULL, fingerprint BIGINT NOT NULL, db_system VARCHAR NOT NULL,
    query VARCHAR NOT NULL);
";

pub(crate) const MINUTE_NS: i64 = 60_000_000_000;
pub(crate) const HOUR_NS: i64 = 60 * MINUTE_NS;

/// The series a request belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub service: String,
    pub route: String,
    /// The release (`service.version`); empty when the service sent none.
    pub version: String,
}

#[derive(Debug, Default)]
pub(crate) struct ProjectPerf {
    fingerprints: HashSet<i64>,
    /// Where its minute rollups begin (a minute number on an hour).
    minutes_from: i64,
}

/// What one ingest call stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub spans: usize,
    pub requests: usize,
}

/// Performance telemetry, whichever store holds it. Methods block.
pub trait Performance: Send + Sync + std::fmt::Debug {
    /// Stores spans durably (one transaction), then folds the requests among
    /// them into the rollups.
    fn ingest(&self, project: &str, spans: &[Span]) -> Result<Stored>;
    /// Stores metric data points durably (one transaction).
    fn ingest_metrics(&self, project: &str, points: &[MetricPoint]) -> Result<usize>;
    /// The projects the performance scan has something to read in: on
    /// DuckDB every project that sent spans or metrics; on ClickHouse those
    /// with rollups, findings or metrics.
    fn project_ids(&self) -> Result<Vec<String>>;
    /// Drops spans that started before `cutoff_ns` and the detections found
    /// in them. Their rollups stay.
    fn drop_spans_before(&self, project: &str, cutoff_ns: i64) -> Result<u64>;
    /// Drops request rollups of both lengths before `cutoff_ns` (an hour
    /// that straddles it stays whole).
    fn drop_rollups_before(&self, project: &str, cutoff_ns: i64) -> Result<u64>;
    /// Keeps minute rollups only from the hour holding `from_ns` on; older
    /// ranges then read whole hours.
    fn keep_minutes_from(&self, project: &str, from_ns: i64) -> Result<u64>;
    /// Drops metric points taken before `cutoff_ns`.
    fn drop_metrics_before(&self, project: &str, cutoff_ns: i64) -> Result<u64>;
    /// Every request the query covers, merged into one rollup.
    fn merged(&self, project: &str, q: &RouteQuery) -> Result<Rollup>;
    /// Every route in the range, merged over releases unless one is asked
    /// for, most total time first.
    fn routes(&self, project: &str, q: &RouteQuery) -> Result<Vec<RouteStats>>;
    /// One bucket per `step_ns` across the range (the route filter applies),
    /// for charts: each bucket's start and its merged stats.
    fn series(&self, project: &str, q: &RouteQuery, step_ns: i64)
    -> Result<Vec<(i64, RouteStats)>>;
    /// Every (service, route, release) with the time its first request
    /// started, oldest release first.
    fn releases(&self, project: &str) -> Result<Vec<(SeriesKey, i64)>>;
    /// The services that sent requests.
    fn services(&self, project: &str) -> Result<Vec<String>> {
        let mut out: Vec<String> = self
            .releases(project)?
            .into_iter()
            .map(|(k, _)| k.service)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
    /// Latencies (ms) of one route's requests in a release within a range,
    /// at most `limit`, for statistical comparison.
    fn samples(
        &self,
        project: &str,
        key: &SeriesKey,
        from_ns: i64,
        to_ns: i64,
        limit: usize,
    ) -> Result<Vec<f64>>;
    /// Query fingerprints by total time in the range.
    fn queries(&self, project: &str, q: &RouteQuery, limit: usize) -> Result<Vec<QueryStats>>;
    /// The normalised text of a fingerprint.
    fn query_text(&self, project: &str, fingerprint: &str) -> Result<Option<String>>;
    /// What the detectors found in spans that started in the range. Each
    /// detection whose request span came in another export than its calls
    /// gets its route from the stored request span here.
    fn detect(&self, project: &str, from_ns: i64, to_ns: i64) -> Result<Vec<Detection>>;
    /// Every span of a trace, in start order.
    fn trace(&self, project: &str, trace_id: &str) -> Result<Vec<SpanRow>>;
    /// The metrics a project has sent, with their units and kinds.
    fn metric_names(&self, project: &str) -> Result<Vec<MetricName>>;
    /// A metric per service and host in buckets of `step_ns` over the range.
    fn metric_series(
        &self,
        project: &str,
        name: &str,
        service: Option<&str>,
        from_ns: i64,
        to_ns: i64,
        step_ns: i64,
    ) -> Result<Vec<MetricLine>>;
    /// A metric's value over a range: its mean, or a cumulative sum's rate
    /// per second; `None` without points.
    fn metric_value(
        &self,
        project: &str,
        name: &str,
        service: Option<&str>,
        from_ns: i64,
        to_ns: i64,
    ) -> Result<Option<f64>> {
        let lines = self.metric_series(project, name, service, from_ns, to_ns, to_ns - from_ns)?;
        Ok(query::mean_of(&lines))
    }
}

/// Performance telemetry over a DuckDB database.
pub struct DuckPerformance {
    conn: Mutex<Option<Connection>>,
    /// Requests committed but not yet written as rollups, and the last
    /// commit stamp. Locked only while `conn` is held.
    open: Mutex<Writer>,
    /// How long requests may wait before they are written as rollups.
    flush_every: std::time::Duration,
    projects: RwLock<HashMap<String, Arc<RwLock<ProjectPerf>>>>,
    prints: Prints,
    /// Exports waiting for the next commit.
    pending: Mutex<Vec<Job>>,
}

/// The most statements [`Prints`] keeps before starting over.
const PRINT_CACHE: usize = 20_000;

/// Statements seen lately and their fingerprints: parsing SQL costs far
/// more than the rest of a span, and most statements repeat.
#[derive(Debug, Default)]
pub(crate) struct Prints(Mutex<HashMap<String, Fingerprint>>);

impl Prints {
    pub(crate) fn of(&self, statement: &str) -> Fingerprint {
        if let Some(f) = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(statement)
        {
            return f.clone();
        }
        let f = sql::fingerprint(statement);
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= PRINT_CACHE {
            cache.clear();
        }
        cache.insert(statement.to_owned(), f.clone());
        f
    }

    /// Each span's statement fingerprint, and each request's route.
    pub(crate) fn read(&self, spans: &[Span]) -> (Vec<Option<Fingerprint>>, Vec<Option<String>>) {
        let prints = spans
            .iter()
            .map(|s| {
                s.db.as_ref()
                    .and_then(|d| d.statement.as_deref())
                    .map(|stmt| self.of(stmt))
            })
            .collect();
        let routes = spans
            .iter()
            .map(|s| s.is_request().then(|| s.route()))
            .collect();
        (prints, routes)
    }
}

impl std::fmt::Debug for DuckPerformance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckPerformance").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A span's statement fingerprint as DuckDB stores it (the bits of the
/// unsigned hash in a signed column).
pub(crate) fn stored_fingerprint(f: &Fingerprint) -> i64 {
    i64::from_ne_bytes(f.hash.to_ne_bytes())
}

/// The rollup writer's state.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) open: rollups::Open,
    /// Stored buckets read lately.
    pub(crate) cache: cache::Cache,
    /// The newest commit stamp given to spans.
    pub(crate) stamp: i64,
}

impl DuckPerformance {
    /// Opens performance telemetry on its own connection to the database
    /// `conn` belongs to. Only the request spans committed since rollups
    /// were last written are read (all of them, once, in a store made
    /// before rollups were stored).
    pub fn open(conn: &Connection) -> Result<DuckPerformance> {
        Self::open_with(conn, rollups::FLUSH_EVERY)
    }

    /// As [`DuckPerformance::open`], writing waiting rollups after
    /// `flush_every` (zero: at every commit).
    pub(crate) fn open_with(
        conn: &Connection,
        flush_every: std::time::Duration,
    ) -> Result<DuckPerformance> {
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(rollups::SCHEMA)?;
        let own = conn.try_clone()?;
        if !rollups::ever_written(&own)? {
            rollups::register_existing(&own)?;
        }
        let mut writer = Writer::default();
        writer.stamp = rollups::fold_tail(&own, &mut writer.open)?;
        // A store that had to catch up writes it now, so the next start
        // need not.
        rollups::flush(&own, &mut writer.open, &mut writer.cache)?;
        let projects = load(&own)?;
        Ok(DuckPerformance {
            conn: Mutex::new(Some(own)),
            open: Mutex::new(writer),
            flush_every,
            projects: RwLock::new(projects),
            prints: Prints::default(),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on the connection and the rollup writer together.
    pub(crate) fn with_writer<T>(
        &self,
        f: impl FnOnce(&Connection, &mut Writer) -> Result<T>,
    ) -> Result<T> {
        self.with_conn(|c| {
            let mut w = self.open.lock().unwrap_or_else(|p| p.into_inner());
            f(c, &mut w)
        })
    }

    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(guard.as_ref().ok_or(TelemetryError::Closed)?)
    }

    /// Keeps writes out while `f` runs (a consistent snapshot).
    pub fn paused<T>(&self, f: impl FnOnce() -> T) -> T {
        let _g = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f()
    }

    /// Writes the waiting rollups and lets the connection go.
    pub fn close(&self) -> Result<()> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let written = match guard.as_ref() {
            Some(c) => {
                let mut w = self.open.lock().unwrap_or_else(|p| p.into_inner());
                let w = &mut *w;
                rollups::flush(c, &mut w.open, &mut w.cache)
            }
            None => Ok(()),
        };
        guard.take();
        written
    }

    /// A project's state, recorded in the store the first time it is seen.
    fn project(&self, id: &str) -> Result<Arc<RwLock<ProjectPerf>>> {
        if let Some(p) = self
            .projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(p.clone());
        }
        self.with_conn(|c| rollups::register(c, id))?;
        Ok(self
            .projects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone())
    }

    pub(crate) fn read<T>(&self, project: &str, f: impl FnOnce(&ProjectPerf) -> T) -> Option<T> {
        let p = self
            .projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(project)
            .cloned()?;
        let guard = p.read().unwrap_or_else(|e| e.into_inner());
        Some(f(&guard))
    }
}

/// An export ready to write.
struct Job {
    project: String,
    /// Stamped with the commit's stamp when written.
    spans: duckdb::arrow::record_batch::RecordBatch,
    /// Its requests per series and minute.
    requests: Vec<(SeriesKey, i64, rollups::Cell)>,
    detections: Vec<DetectionRow>,
    queries: Vec<(i64, String, String)>,
    /// Set once the transaction holding the job ends.
    done: Arc<OnceLock<std::result::Result<(), String>>>,
}

struct DetectionRow {
    kind: &'static str,
    service: String,
    route: Option<String>,
    fingerprint: Option<i64>,
    trace_id: String,
    span_id: String,
    at_ns: i64,
    duration_ns: i64,
    count: i64,
    bytes: Option<i64>,
}

/// The spans of a batch with `stamp` as their commit stamp (the last
/// column).
fn stamped(
    b: &duckdb::arrow::record_batch::RecordBatch,
    stamp: i64,
) -> Result<duckdb::arrow::record_batch::RecordBatch> {
    use duckdb::arrow::array::{ArrayRef, Int64Array};
    let mut columns = b.columns().to_vec();
    if let Some(last) = columns.last_mut() {
        *last = Arc::new(Int64Array::from(vec![stamp; b.num_rows()])) as ArrayRef;
    }
    duckdb::arrow::record_batch::RecordBatch::try_new(b.schema(), columns)
        .map_err(|e| TelemetryError::Ingest(e.to_string()))
}

/// Writes exports in one transaction, their spans stamped `stamp`.
fn write_jobs(c: &Connection, jobs: &[Job], stamp: i64) -> Result<()> {
    in_transaction(c, || -> Result<()> {
        let mut app = c.appender("perf_spans")?;
        for j in jobs {
            app.append_record_batch(stamped(&j.spans, stamp)?)?;
        }
        app.flush()?;
        let mut app = c.appender("perf_detections")?;
        for j in jobs {
            for f in &j.detections {
                app.append_row(duckdb::params![
                    j.project,
                    f.kind,
                    f.service,
                    f.route,
                    f.fingerprint,
                    f.trace_id,
                    f.span_id,
                    f.at_ns,
                    f.duration_ns,
                    f.count,
                    f.bytes
                ])?;
            }
        }
        app.flush()?;
        let mut app = c.appender("perf_queries")?;
        for j in jobs {
            for (key, system, text) in &j.queries {
                app.append_row(duckdb::params![j.project, key, system, text])?;
            }
        }
        app.flush()?;
        Ok(())
    })
}

/// One detection as stored.
pub(crate) struct Found<'a> {
    pub(crate) kind: FindingKind,
    pub(crate) service: &'a str,
    pub(crate) route: Option<&'a str>,
    pub(crate) fingerprint: Option<i64>,
    pub(crate) trace_id: &'a str,
    pub(crate) span_id: &'a str,
    pub(crate) at_ns: i64,
    pub(crate) duration_ns: i64,
    pub(crate) count: i64,
    pub(crate) bytes: Option<i64>,
}

/// Runs the core's detectors over one export: N+1 under each parent,
/// repeated reads within each trace, slow reads and large payloads. A
/// pattern whose calls straddle two exports is not seen; exporters send a
/// request's spans together far more often than not.
pub(crate) fn detect_batch<'a>(
    spans: &'a [Span],
    prints: &[Option<Fingerprint>],
    routes: &'a [Option<String>],
) -> Vec<Found<'a>> {
    let mut out = Vec::new();
    // Each trace's request route, when its request span came in this export.
    let mut route_of: HashMap<&str, &str> = HashMap::new();
    for (s, r) in spans.iter().zip(routes) {
        if let Some(r) = r {
            route_of.entry(s.trace_id.as_str()).or_insert(r);
        }
    }
    let calls: Vec<(usize, Call<'a>)> = spans
        .iter()
        .zip(prints)
        .enumerate()
        .filter_map(|(i, (s, f))| {
            let db = s.db.as_ref()?;
            Some((
                i,
                Call {
                    span_id: &s.span_id,
                    start_ns: s.start_ns,
                    duration_ns: s.duration_ns,
                    fingerprint: f.as_ref()?.hash,
                    statement: db.statement.as_deref().unwrap_or(""),
                    operation: None,
                },
            ))
        })
        .collect();
    let ops: Vec<Option<String>> = calls
        .iter()
        .map(|(i, _)| {
            spans[*i]
                .db
                .as_ref()
                .and_then(|d| sql::operation(d.operation.as_deref(), d.statement.as_deref()))
        })
        .collect();
    let calls: Vec<(usize, Call<'_>)> = calls
        .into_iter()
        .zip(&ops)
        .map(|((i, c), op)| {
            (
                i,
                Call {
                    operation: op.as_deref(),
                    ..c
                },
            )
        })
        .collect();
    let found = |kind, i: usize, fp: Option<u64>, duration_ns: i64, count: usize| {
        let s = &spans[i];
        Found {
            kind,
            service: &s.service,
            route: route_of.get(s.trace_id.as_str()).copied(),
            fingerprint: fp.map(|h| i64::from_ne_bytes(h.to_ne_bytes())),
            trace_id: &s.trace_id,
            span_id: &s.span_id,
            at_ns: s.start_ns,
            duration_ns,
            count: i64::try_from(count).unwrap_or(i64::MAX),
            bytes: None,
        }
    };
    // Group the calls by trace and parent, each group in start order.
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (&spans[calls[a].0], &spans[calls[b].0]);
        (&sa.trace_id, &sa.parent_id, sa.start_ns).cmp(&(&sb.trace_id, &sb.parent_id, sb.start_ns))
    });
    let mut t = 0;
    while t < order.len() {
        let trace = &spans[calls[order[t]].0].trace_id;
        let mut t_end = t;
        while t_end < order.len() && &spans[calls[order[t_end]].0].trace_id == trace {
            t_end += 1;
        }
        let mut g = t;
        while g < t_end {
            let parent = &spans[calls[order[g]].0].parent_id;
            let mut g_end = g;
            while g_end < t_end && &spans[calls[order[g_end]].0].parent_id == parent {
                g_end += 1;
            }
            let group: Vec<Call> = order[g..g_end]
                .iter()
                .map(|&k| calls[k].1.clone())
                .collect();
            for n in detect::n_plus_one(&group) {
                let first = calls[order[g + n.repeats.start]].0;
                out.push(found(
                    FindingKind::NPlusOne,
                    first,
                    Some(n.fingerprint),
                    n.total_ns,
                    n.repeats.len(),
                ));
            }
            g = g_end;
        }
        let in_trace: Vec<Call> = order[t..t_end]
            .iter()
            .map(|&k| calls[k].1.clone())
            .collect();
        for (fp, count) in detect::repeated_reads(&in_trace) {
            let ks: Vec<usize> = order[t..t_end]
                .iter()
                .copied()
                .filter(|&k| calls[k].1.fingerprint == fp)
                .collect();
            if let Some(&first) = ks.first() {
                let total: i64 = ks.iter().map(|&k| calls[k].1.duration_ns).sum();
                out.push(found(
                    FindingKind::CacheCandidate,
                    calls[first].0,
                    Some(fp),
                    total,
                    count,
                ));
            }
        }
        t = t_end;
    }
    for (i, c) in &calls {
        if detect::slow_query(c) {
            out.push(found(
                FindingKind::SlowQuery,
                *i,
                Some(c.fingerprint),
                c.duration_ns,
                1,
            ));
        }
    }
    for (i, s) in spans.iter().enumerate() {
        let Some(h) = &s.http else { continue };
        if detect::large_payload(h.request_bytes, h.response_bytes) {
            let mut f = found(FindingKind::LargePayload, i, None, s.duration_ns, 1);
            f.route = routes[i].as_deref().or(f.route);
            f.bytes = i64::try_from(
                h.request_bytes
                    .unwrap_or(0)
                    .max(h.response_bytes.unwrap_or(0)),
            )
            .ok();
            out.push(f);
        }
    }
    out
}

fn batch(
    project: &str,
    spans: &[Span],
    prints: &[Option<Fingerprint>],
    routes: &[Option<String>],
) -> Result<duckdb::arrow::record_batch::RecordBatch> {
    use duckdb::arrow::array::{ArrayRef, BooleanArray, Int32Array, Int64Array, StringArray};
    use duckdb::arrow::datatypes::{DataType, Field, Schema};
    let text = |name: &str, null: bool| Field::new(name, DataType::Utf8, null);
    let int = |name: &str, null: bool| Field::new(name, DataType::Int64, null);
    let schema = Schema::new(vec![
        text("project_id", false),
        text("trace_id", false),
        text("span_id", false),
        text("parent_id", true),
        text("service", false),
        text("version", true),
        text("host", true),
        text("name", false),
        text("kind", false),
        text("route", true),
        int("start_ns", false),
        int("duration_ns", false),
        Field::new("error", DataType::Boolean, false),
        Field::new("status_code", DataType::Int32, true),
        int("request_bytes", true),
        int("response_bytes", true),
        text("db_system", true),
        text("db_operation", true),
        text("db_statement", true),
        int("db_fingerprint", true),
        text("attributes", false),
        int("inserted_at", false),
    ]);
    let strs = |f: &dyn Fn(&Span) -> Option<&str>| -> ArrayRef {
        Arc::new(spans.iter().map(f).collect::<StringArray>())
    };
    fn http(s: &Span) -> Option<&liveops_core::performance::HttpCall> {
        s.http.as_ref()
    }
    fn db(s: &Span) -> Option<&liveops_core::performance::DbCall> {
        s.db.as_ref()
    }
    let bytes = |v: Option<u64>| v.and_then(|b| i64::try_from(b).ok());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![project; spans.len()])),
        strs(&|s| Some(&s.trace_id)),
        strs(&|s| Some(&s.span_id)),
        strs(&|s| s.parent_id.as_deref()),
        strs(&|s| Some(&s.service)),
        strs(&|s| s.version.as_deref()),
        strs(&|s| s.host.as_deref()),
        strs(&|s| Some(&s.name)),
        strs(&|s| Some(s.kind.as_str())),
        Arc::new(routes.iter().map(Option::as_deref).collect::<StringArray>()),
        Arc::new(spans.iter().map(|s| s.start_ns).collect::<Int64Array>()),
        Arc::new(spans.iter().map(|s| s.duration_ns).collect::<Int64Array>()),
        Arc::new(
            spans
                .iter()
                .map(|s| Some(s.is_error()))
                .collect::<BooleanArray>(),
        ),
        Arc::new(
            spans
                .iter()
                .map(|s| http(s).and_then(|h| h.status).map(i32::from))
                .collect::<Int32Array>(),
        ),
        Arc::new(
            spans
                .iter()
                .map(|s| http(s).and_then(|h| bytes(h.request_bytes)))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            spans
                .iter()
                .map(|s| http(s).and_then(|h| bytes(h.response_bytes)))
                .collect::<Int64Array>(),
        ),
        strs(&|s| db(s).map(|d| d.system.as_str())),
        Arc::new(
            spans
                .iter()
                .map(|s| {
                    db(s).and_then(|d| {
                        sql::operation(d.operation.as_deref(), d.statement.as_deref())
                    })
                })
                .collect::<StringArray>(),
        ),
        strs(&|s| db(s).and_then(|d| d.statement.as_deref())),
        Arc::new(
            prints
                .iter()
                .map(|f| f.as_ref().map(stored_fingerprint))
                .collect::<Int64Array>(),
        ),
        strs(&|s| Some(&s.attributes)),
        // The commit stamp, set when the batch is written.
        Arc::new(Int64Array::from(vec![0; spans.len()])),
    ];
    duckdb::arrow::record_batch::RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|e| TelemetryError::Ingest(e.to_string()))
}

/// Every known project with the fingerprints its statements have.
fn load(conn: &Connection) -> Result<HashMap<String, Arc<RwLock<ProjectPerf>>>> {
    let mut out: HashMap<String, ProjectPerf> = HashMap::new();
    for (project, minutes_from) in rollups::projects(conn)? {
        out.entry(project).or_default().minutes_from = minutes_from;
    }
    let mut stmt = conn.prepare("SELECT project_id, fingerprint FROM perf_queries")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let project: String = r.get(0)?;
        out.entry(project)
            .or_default()
            .fingerprints
            .insert(r.get(1)?);
    }
    Ok(out
        .into_iter()
        .map(|(k, v)| (k, Arc::new(RwLock::new(v))))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use liveops_core::performance::SpanKind;

    use super::*;

    const BASE: i64 = 1_800_000_000 * 1_000_000_000 - (1_800_000_000 * 1_000_000_000) % HOUR_NS;

    /// `n` requests to `route`, one every 30 s from `from_ns`, taking 1 to
    /// 97 ms.
    fn requests(route: &str, from_ns: i64, n: i64, seed: i64) -> Vec<Span> {
        (0..n)
            .map(|i| Span {
                trace_id: format!("{:032x}", seed * 1_000_000 + i),
                span_id: format!("{:016x}", seed * 1_000_000 + i),
                parent_id: None,
                service: "api".into(),
                version: Some("1.0".into()),
                host: None,
                name: route.into(),
                kind: SpanKind::Server,
                start_ns: from_ns + i * 30_000_000_000,
                duration_ns: (1 + (i * 37 + seed) % 97) * 1_000_000,
                status_error: i % 50 == 0,
                http: None,
                db: None,
                attributes: "{}".into(),
            })
            .collect()
    }

    fn open(path: &std::path::Path, every: Duration) -> (Connection, DuckPerformance) {
        let conn = Connection::open(path).expect("open");
        let perf = DuckPerformance::open_with(&conn, every).expect("performance");
        (conn, perf)
    }

    fn all(from_ns: i64, to_ns: i64) -> RouteQuery {
        RouteQuery {
            from_ns,
            to_ns,
            ..RouteQuery::default()
        }
    }

    /// What the stored rollups answer, for comparing two stores.
    fn answers(p: &DuckPerformance) -> Vec<String> {
        let mut out = Vec::new();
        for (from, to) in [
            (BASE, BASE + 5 * HOUR_NS),
            (BASE + 7 * MINUTE_NS, BASE + 3 * HOUR_NS + 11 * MINUTE_NS),
            (BASE + 61 * MINUTE_NS, BASE + 62 * MINUTE_NS),
        ] {
            out.push(format!(
                "{:?}",
                p.routes("shop", &all(from, to)).expect("routes")
            ));
        }
        out.push(format!("{:?}", p.releases("shop").expect("releases")));
        out.push(format!(
            "{:?}",
            p.series("shop", &all(BASE, BASE + 5 * HOUR_NS), 25 * MINUTE_NS)
                .expect("series")
        ));
        out
    }

    /// Ranges count exactly the requests that started inside them (to the
    /// minute), whether the rollups wait in memory or are stored.
    #[test]
    fn ranges_count_what_they_cover() {
        let dir = tempfile::tempdir().expect("dir");
        for (i, every) in [Duration::ZERO, Duration::from_secs(3600)]
            .into_iter()
            .enumerate()
        {
            let (_c, p) = open(&dir.path().join(format!("{i}.duckdb")), every);
            let spans = requests("GET /a", BASE, 600, 1);
            for chunk in spans.chunks(70) {
                p.ingest("shop", chunk).expect("ingest");
            }
            for (from, to) in [
                (BASE, BASE + 5 * HOUR_NS),
                (BASE + 7 * MINUTE_NS, BASE + 3 * HOUR_NS + 11 * MINUTE_NS),
                (BASE + 61 * MINUTE_NS, BASE + 62 * MINUTE_NS),
                (BASE + 30 * MINUTE_NS, BASE + 30 * MINUTE_NS),
                (BASE - HOUR_NS, BASE + 90 * MINUTE_NS),
            ] {
                let want = spans
                    .iter()
                    .filter(|s| s.start_ns >= from && s.start_ns < to)
                    .count() as u64;
                let got = p.merged("shop", &all(from, to)).expect("merged").requests;
                assert_eq!(got, want, "{from} {to} flushing every {every:?}");
            }
            // A bucket read (and cached) before gets more requests: the next
            // read counts them.
            let whole = all(BASE, BASE + 5 * HOUR_NS);
            let before = p.merged("shop", &whole).expect("merged").requests;
            p.ingest("shop", &requests("GET /a", BASE + 10, 2, 9))
                .expect("ingest");
            let after = p.merged("shop", &whole).expect("merged").requests;
            assert_eq!(after, before + 2, "flushing every {every:?}");
        }
    }

    /// A crash loses the rollups waiting in memory, not the spans: the next
    /// start folds the spans committed after the last write, and counts
    /// nothing twice. A clean stop writes everything.
    #[test]
    fn rollups_come_back_after_a_crash_without_counting_twice() {
        let dir = tempfile::tempdir().expect("dir");
        let (crashed, whole) = (dir.path().join("a.duckdb"), dir.path().join("b.duckdb"));
        let first = requests("GET /a", BASE, 400, 1);
        let second = requests("GET /b", BASE + 20 * MINUTE_NS, 300, 2);
        let third = requests("GET /a", BASE + 2 * HOUR_NS, 200, 3);
        // The reference: everything in one store, closed cleanly.
        {
            let (_c, p) = open(&whole, Duration::from_secs(3600));
            for s in [&first, &second, &third] {
                p.ingest("shop", s).expect("ingest");
            }
            p.close().expect("close");
        }
        {
            // Written at every commit.
            let (_c, p) = open(&crashed, Duration::ZERO);
            p.ingest("shop", &first).expect("ingest");
        }
        {
            // Never written: lost with the process.
            let (_c, p) = open(&crashed, Duration::from_secs(3600));
            p.ingest("shop", &second).expect("ingest");
            p.ingest("shop", &third).expect("ingest");
        }
        let (_c, back) = open(&crashed, Duration::from_secs(3600));
        let (_w, reference) = open(&whole, Duration::from_secs(3600));
        assert_eq!(answers(&back), answers(&reference));
        let total = back
            .merged("shop", &all(BASE, BASE + 10 * HOUR_NS))
            .expect("merged");
        assert_eq!(total.requests, 900);
        assert_eq!(back.project_ids().expect("ids"), vec!["shop".to_owned()]);
        // A clean stop leaves nothing for the next start to fold.
        back.close().expect("close");
        let (c, again) = open(&crashed, Duration::from_secs(3600));
        assert!(again.open.lock().expect("lock").open.is_empty());
        assert_eq!(answers(&again), answers(&reference));
        drop(c);
    }

    /// Spans can go while their rollups stay; rollups go by their own
    /// retention; minutes past their window leave ranges reading hours.
    #[test]
    fn rollups_outlive_spans_and_go_by_their_own_retention() {
        let dir = tempfile::tempdir().expect("dir");
        let (_c, p) = open(&dir.path().join("r.duckdb"), Duration::from_secs(3600));
        let spans = requests("GET /a", BASE, 600, 1);
        p.ingest("shop", &spans).expect("ingest");
        let whole = all(BASE, BASE + 5 * HOUR_NS);
        let before = p.merged("shop", &whole).expect("merged");
        // Dropped an hour at a time, to the span.
        let cut = BASE + 2 * HOUR_NS + 30 * MINUTE_NS + 1;
        let early = spans.iter().filter(|s| s.start_ns < cut).count() as u64;
        assert_eq!(p.drop_spans_before("shop", cut).expect("drop"), early);
        assert_eq!(
            p.drop_spans_before("shop", BASE + 10 * HOUR_NS)
                .expect("drop"),
            600 - early
        );
        assert_eq!(p.merged("shop", &whole).expect("merged").requests, 600);
        // Minutes before the third hour go: a range from 7 past the first
        // hour now counts that whole hour, and no minute twice.
        assert!(
            p.keep_minutes_from("shop", BASE + 2 * HOUR_NS + 5)
                .expect("keep")
                > 0
        );
        let ragged = p
            .merged(
                "shop",
                &all(BASE + 7 * MINUTE_NS, BASE + 3 * HOUR_NS + 11 * MINUTE_NS),
            )
            .expect("merged");
        let want = spans
            .iter()
            .filter(|s| s.start_ns < BASE + 3 * HOUR_NS + 11 * MINUTE_NS)
            .count() as u64;
        assert_eq!(ragged.requests, want);
        assert_eq!(
            p.merged("shop", &whole).expect("merged").requests,
            before.requests
        );
        // A project that never sent anything is left alone.
        assert_eq!(p.keep_minutes_from("other", BASE).expect("keep"), 0);
        assert_eq!(p.project_ids().expect("ids"), vec!["shop".to_owned()]);
        // The first two hours' rollups go; the rest stay.
        p.drop_rollups_before("shop", BASE + 2 * HOUR_NS + 1)
            .expect("drop");
        let left = p.merged("shop", &whole).expect("merged").requests;
        let want = spans
            .iter()
            .filter(|s| s.start_ns >= BASE + 2 * HOUR_NS)
            .count() as u64;
        assert_eq!(left, want);
    }
}

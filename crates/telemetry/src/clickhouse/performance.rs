//! Performance telemetry on ClickHouse: spans, detections, metrics and
//! query texts in shared tables, so every node that points at the same
//! ClickHouse answers the same.
//!
//! Request rollups are ClickHouse's own work: materialized views add each
//! inserted request span to a minute and an hour row of its series
//! (`AggregatingMergeTree`), counting latencies per DDSketch bin. A query
//! merges the rows of its range and rebuilds the sketch from the bins
//! ([`LatencySketch::from_bins`]), so percentiles equal the embedded
//! store's. Nothing is rebuilt at start and no node keeps rollups of its
//! own.
//!
//! Kept per node, and bounded: the statement fingerprint cache, and which
//! fingerprints this node has already noted (a fingerprint's text may be
//! stored once per node; reads take any copy).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use liveops_core::performance::detect::FindingKind;
use liveops_core::performance::metric::MetricPoint;
use liveops_core::performance::{LatencySketch, Rollup, Span};
use serde::{Deserialize, Serialize};

use super::client::quote;
use super::rowbinary::Columns;
use super::schema::{PERF_LINES, PERF_MINUTES};
use super::{ClickHouse, Kind, retention};
use crate::performance::query::{
    MetricLine, MetricName, QueryStats, RouteQuery, RouteStats, SpanRow, by_series, hex64,
    merge_rows, metric_lines, parse_hex64, route_table, series_from, steps_of,
};
use crate::performance::rollups::{self, Cell, Grain, Row};
use crate::performance::{
    Detection, HOUR_NS, MINUTE_NS, Performance, Prints, SeriesKey, Stored, detect_batch, now_ms,
    stored_fingerprint,
};
use crate::{Result, TelemetryError};

/// The bin of zero in the rollups' `bins` (see the schema).
const ZERO_BIN: i32 = -32768;

/// The most fingerprints a node remembers having noted, per project,
/// before it starts over (and notes them again).
const NOTED_PER_PROJECT: usize = 50_000;

/// Performance telemetry over a ClickHouse installation.
pub struct ClickHousePerformance {
    ch: Arc<ClickHouse>,
    prints: Prints,
    noted: Mutex<HashMap<String, HashSet<i64>>>,
    /// Exports waiting for the next insert.
    pending: Mutex<Vec<Job>>,
    /// Held by the caller that inserts everything waiting.
    writing: Mutex<()>,
}

impl std::fmt::Debug for ClickHousePerformance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHousePerformance")
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct SpanRecord {
    project_id: String,
    trace_id: String,
    span_id: String,
    parent_id: Option<String>,
    service: String,
    version: Option<String>,
    host: Option<String>,
    name: String,
    kind: &'static str,
    route: Option<String>,
    start_ns: i64,
    duration_ns: i64,
    error: u8,
    status_code: Option<i32>,
    request_bytes: Option<i64>,
    response_bytes: Option<i64>,
    db_system: Option<String>,
    db_operation: Option<String>,
    db_statement: Option<String>,
    db_fingerprint: Option<i64>,
    attributes: String,
    inserted_at: i64,
}

/// A detection as stored, and as read back.
#[derive(Serialize, Deserialize)]
struct DetectionRecord {
    #[serde(default)]
    project_id: String,
    kind: String,
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

#[derive(Serialize)]
struct QueryRecord {
    project_id: String,
    fingerprint: i64,
    db_system: String,
    query: String,
    seen_at: i64,
}

#[derive(Serialize)]
struct MetricRecord<'a> {
    project_id: &'a str,
    service: &'a str,
    host: Option<&'a str>,
    name: &'a str,
    unit: &'a str,
    kind: &'static str,
    cumulative: u8,
    ts_ns: i64,
    value: f64,
    count: Option<i64>,
    sum: Option<f64>,
    attributes: &'a str,
    inserted_at: i64,
}

#[derive(Serialize)]
struct LineRecord<'a> {
    project_id: &'a str,
    minutes_from_ns: i64,
    at: i64,
}

/// The spans table's columns, which [`SpanRecord`] follows in order.
fn span_columns() -> &'static Columns {
    static COLUMNS: OnceLock<Columns> = OnceLock::new();
    COLUMNS.get_or_init(|| Columns::parse(super::schema::SPANS.columns))
}

/// An export ready to insert.
struct Job {
    spans: Vec<SpanRecord>,
    detections: Vec<DetectionRecord>,
    queries: Vec<QueryRecord>,
    done: Arc<OnceLock<std::result::Result<(), String>>>,
}

/// One series' merged rollup states in one bucket, as a query reads them.
#[derive(Deserialize)]
struct RollupRecord {
    service: String,
    route_key: String,
    release: String,
    /// The bucket's start, or 0 when buckets were merged.
    bucket: i64,
    requests: u64,
    errors: u64,
    total_ms: f64,
    satisfied: u64,
    tolerating: u64,
    in_bytes: u64,
    out_bytes: u64,
    max_out_bytes: u64,
    first_ns: i64,
    min_ms: f64,
    max_ms: f64,
    bins: (Vec<i32>, Vec<u64>),
}

impl RollupRecord {
    fn into_row(self, grain: Grain) -> Row {
        let bins: Vec<(Option<i32>, u64)> = self
            .bins
            .0
            .iter()
            .zip(&self.bins.1)
            .map(|(&k, &n)| ((k != ZERO_BIN).then_some(k), n))
            .collect();
        let grain_ns = grain.minutes() * MINUTE_NS;
        Row {
            key: SeriesKey {
                service: self.service,
                route: self.route_key,
                version: self.release,
            },
            grain,
            bucket: self.bucket.div_euclid(grain_ns),
            cell: Cell {
                rollup: Rollup {
                    requests: self.requests,
                    errors: self.errors,
                    latency: LatencySketch::from_bins(&bins, self.min_ms, self.max_ms),
                    total_ms: self.total_ms,
                    satisfied: self.satisfied,
                    tolerating: self.tolerating,
                    request_bytes: self.in_bytes,
                    response_bytes: self.out_bytes,
                    max_response_bytes: self.max_out_bytes,
                },
                first_ns: self.first_ns,
            },
        }
    }
}

/// The merged states of each series (and bucket) of a rollup table.
const ROLLUP_STATES: &str = "sumMerge(requests) AS requests, sumMerge(errors) AS errors, sumMerge(total_ms) AS total_ms, \
    sumMerge(satisfied) AS satisfied, sumMerge(tolerating) AS tolerating, \
    sumMerge(in_bytes) AS in_bytes, sumMerge(out_bytes) AS out_bytes, \
    maxMerge(max_out_bytes) AS max_out_bytes, minMerge(first_ns) AS first_ns, \
    minMerge(min_ms) AS min_ms, maxMerge(max_ms) AS max_ms, sumMapMerge(bins) AS bins";

fn table_of(grain: Grain) -> &'static str {
    match grain {
        Grain::Minute => "perf_minutes",
        Grain::Hour => "perf_hours",
    }
}

impl ClickHousePerformance {
    pub fn open(ch: Arc<ClickHouse>) -> ClickHousePerformance {
        ClickHousePerformance {
            ch,
            prints: Prints::default(),
            noted: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
            writing: Mutex::new(()),
        }
    }

    /// Where `project`'s minute rollups begin, as a minute number (0: from
    /// the start).
    fn minutes_from(&self, project: &str) -> Result<i64> {
        #[derive(Deserialize)]
        struct Line {
            line: i64,
        }
        let rows: Vec<Line> = self.ch.reader().rows(&format!(
            "SELECT max(minutes_from_ns) AS line FROM {} WHERE project_id = {}",
            PERF_LINES.name,
            quote(project)
        ))?;
        Ok(rows.first().map_or(0, |l| l.line).div_euclid(MINUTE_NS))
    }

    /// The rollup rows that cover each of `ranges`, for the query's series,
    /// with the minute line they were read by: one per series and bucket,
    /// or with `per_bucket` false, one per series and grain (ClickHouse
    /// merges the buckets, and far fewer sketches are rebuilt here).
    fn rows(
        &self,
        project: &str,
        q: &RouteQuery,
        ranges: &[(i64, i64)],
        per_bucket: bool,
    ) -> Result<(Vec<Row>, i64)> {
        let minutes_from = self.minutes_from(project)?;
        let all = rollups::coalesce(
            ranges
                .iter()
                .flat_map(|&(from, to)| rollups::pieces(from, to, minutes_from))
                .collect(),
        );
        let mut filter = format!("project_id = {}", quote(project));
        for (column, value) in [
            ("service", &q.service),
            ("release", &q.version),
            ("route_key", &q.route),
        ] {
            if let Some(v) = value {
                filter.push_str(&format!(" AND {column} = {}", quote(v)));
            }
        }
        let mut out = Vec::new();
        for grain in [Grain::Minute, Grain::Hour] {
            let grain_ns = grain.minutes() * MINUTE_NS;
            let spans: Vec<String> = all
                .iter()
                .filter(|p| p.grain == grain)
                .map(|p| {
                    format!(
                        "(bucket_ns >= {} AND bucket_ns < {})",
                        p.from.saturating_mul(grain_ns),
                        p.to.saturating_mul(grain_ns)
                    )
                })
                .collect();
            if spans.is_empty() {
                continue;
            }
            let (bucket, by) = if per_bucket {
                ("bucket_ns", ", bucket_ns")
            } else {
                ("0", "")
            };
            let sql = format!(
                "SELECT service, route_key, release, {bucket} AS bucket, {ROLLUP_STATES} \
                 FROM {} WHERE {filter} AND ({}) GROUP BY service, route_key, release{by}",
                table_of(grain),
                spans.join(" OR ")
            );
            self.ch.reader().each_row(&sql, |r: RollupRecord| {
                out.push(r.into_row(grain));
                Ok(())
            })?;
        }
        Ok((out, minutes_from))
    }

    /// Inserts every waiting export: query texts and detections first, the
    /// spans last, so stored spans always have their findings.
    fn write(&self, jobs: &[Job]) -> Result<()> {
        let client = self.ch.client();
        let queries: Vec<&QueryRecord> = jobs.iter().flat_map(|j| &j.queries).collect();
        client.insert("perf_queries", &queries)?;
        let detections: Vec<&DetectionRecord> = jobs.iter().flat_map(|j| &j.detections).collect();
        client.insert("detections", &detections)?;
        let spans: Vec<&SpanRecord> = jobs.iter().flat_map(|j| &j.spans).collect();
        client.insert_binary("spans", span_columns(), &spans)
    }

    /// The fingerprints among `keys` this node has not noted for `project`.
    fn unnoted(&self, project: &str, keys: impl Iterator<Item = i64>) -> HashSet<i64> {
        let noted = self.noted.lock().unwrap_or_else(|p| p.into_inner());
        let known = noted.get(project);
        keys.filter(|k| known.is_none_or(|n| !n.contains(k)))
            .collect()
    }

    fn note(&self, project: &str, keys: impl Iterator<Item = i64>) {
        let mut noted = self.noted.lock().unwrap_or_else(|p| p.into_inner());
        let set = noted.entry(project.to_owned()).or_default();
        if set.len() >= NOTED_PER_PROJECT {
            set.clear();
        }
        set.extend(keys);
    }
}

fn bytes(v: Option<u64>) -> Option<i64> {
    v.and_then(|b| i64::try_from(b).ok())
}

impl Performance for ClickHousePerformance {
    fn ingest(&self, project: &str, spans: &[Span]) -> Result<Stored> {
        if spans.is_empty() {
            return Ok(Stored::default());
        }
        let (prints, routes) = self.prints.read(spans);
        let now = now_ms();
        let mut new = self.unnoted(project, prints.iter().flatten().map(stored_fingerprint));
        let mut queries = Vec::new();
        for (s, f) in spans.iter().zip(&prints) {
            let Some(f) = f else { continue };
            let key = stored_fingerprint(f);
            if new.remove(&key) {
                queries.push(QueryRecord {
                    project_id: project.to_owned(),
                    fingerprint: key,
                    db_system: s.db.as_ref().map(|d| d.system.clone()).unwrap_or_default(),
                    query: f.text.clone(),
                    seen_at: now,
                });
            }
        }
        let detections = detect_batch(spans, &prints, &routes)
            .into_iter()
            .map(|f| DetectionRecord {
                project_id: project.to_owned(),
                kind: f.kind.as_str().to_owned(),
                service: f.service.to_owned(),
                route: f.route.map(str::to_owned),
                fingerprint: f.fingerprint,
                trace_id: f.trace_id.to_owned(),
                span_id: f.span_id.to_owned(),
                at_ns: f.at_ns,
                duration_ns: f.duration_ns,
                count: f.count,
                bytes: f.bytes,
            })
            .collect();
        let requests = routes.iter().filter(|r| r.is_some()).count();
        let records = spans
            .iter()
            .zip(prints.iter().zip(routes))
            .map(|(s, (f, route))| {
                let http = s.http.as_ref();
                let db = s.db.as_ref();
                SpanRecord {
                    project_id: project.to_owned(),
                    trace_id: s.trace_id.clone(),
                    span_id: s.span_id.clone(),
                    parent_id: s.parent_id.clone(),
                    service: s.service.clone(),
                    version: s.version.clone(),
                    host: s.host.clone(),
                    name: s.name.clone(),
                    kind: s.kind.as_str(),
                    route,
                    start_ns: s.start_ns,
                    duration_ns: s.duration_ns,
                    error: u8::from(s.is_error()),
                    status_code: http.and_then(|h| h.status).map(i32::from),
                    request_bytes: http.and_then(|h| bytes(h.request_bytes)),
                    response_bytes: http.and_then(|h| bytes(h.response_bytes)),
                    db_system: db.map(|d| d.system.clone()),
                    db_operation: db.and_then(|d| {
                        liveops_core::performance::sql::operation(
                            d.operation.as_deref(),
                            d.statement.as_deref(),
                        )
                    }),
                    db_statement: db.and_then(|d| d.statement.clone()),
                    db_fingerprint: f.as_ref().map(stored_fingerprint),
                    attributes: s.attributes.clone(),
                    inserted_at: now,
                }
            })
            .collect();
        let noted: Vec<i64> = queries.iter().map(|q| q.fingerprint).collect();
        let done = Arc::new(OnceLock::new());
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Job {
                spans: records,
                detections,
                queries,
                done: done.clone(),
            });
        // Exports that arrive while another insert runs go together in the
        // next one.
        {
            let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
            if done.get().is_none() {
                let jobs: Vec<Job> =
                    std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
                let outcome = self.write(&jobs).map_err(|e| e.to_string());
                for j in &jobs {
                    let _ = j.done.set(outcome.clone());
                }
            }
        }
        match done.get() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(TelemetryError::Ingest(e.clone())),
            None => return Err(TelemetryError::Ingest("the spans were not written".into())),
        }
        self.note(project, noted.into_iter());
        Ok(Stored {
            spans: spans.len(),
            requests,
        })
    }

    fn ingest_metrics(&self, project: &str, points: &[MetricPoint]) -> Result<usize> {
        let now = now_ms();
        let rows: Vec<MetricRecord> = points
            .iter()
            .map(|p| MetricRecord {
                project_id: project,
                service: &p.service,
                host: p.host.as_deref(),
                name: &p.name,
                unit: &p.unit,
                kind: p.kind.as_str(),
                cumulative: u8::from(p.cumulative),
                ts_ns: p.at_ns,
                value: p.value,
                count: p.count.and_then(|n| i64::try_from(n).ok()),
                sum: p.sum,
                attributes: &p.attributes,
                inserted_at: now,
            })
            .collect();
        self.ch.client().insert("metrics", &rows)?;
        Ok(points.len())
    }

    fn project_ids(&self) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Id {
            project_id: String,
        }
        // Projects whose spans left rollups or findings, or that sent
        // metrics: all the scan can use, read from the small tables rather
        // than from every span (a project that sent only plain calls is
        // left out).
        let rows: Vec<Id> = self.ch.reader().rows(
            "SELECT DISTINCT project_id FROM (SELECT project_id FROM perf_hours \
             UNION ALL SELECT project_id FROM detections \
             UNION ALL SELECT project_id FROM metrics) ORDER BY project_id",
        )?;
        Ok(rows.into_iter().map(|r| r.project_id).collect())
    }

    /// Drops the days of spans and detections wholly before the cutoff;
    /// returns how many partitions went.
    fn drop_spans_before(&self, project: &str, cutoff_ns: i64) -> Result<u64> {
        self.ch
            .drop_before(Kind::Spans, project, cutoff_ns.div_euclid(1_000_000))
    }

    fn drop_rollups_before(&self, project: &str, cutoff_ns: i64) -> Result<u64> {
        self.ch
            .drop_before(Kind::Rollups, project, cutoff_ns.div_euclid(1_000_000))
    }

    /// Moves the minute line to the hour holding `from_ns` (never back),
    /// then drops the days of minutes wholly behind it. The line moves
    /// first, so no read asks for the minutes being dropped.
    fn keep_minutes_from(&self, project: &str, from_ns: i64) -> Result<u64> {
        let line_ns = from_ns.div_euclid(HOUR_NS) * HOUR_NS;
        if line_ns > self.minutes_from(project)? * MINUTE_NS {
            self.ch.client().insert(
                PERF_LINES.name,
                &[LineRecord {
                    project_id: project,
                    minutes_from_ns: line_ns,
                    at: now_ms(),
                }],
            )?;
        }
        retention::drop_before(
            &self.ch.shards,
            &self.ch.layout,
            &PERF_MINUTES,
            project,
            line_ns.div_euclid(1_000_000),
        )
    }

    fn drop_metrics_before(&self, project: &str, cutoff_ns: i64) -> Result<u64> {
        self.ch
            .drop_before(Kind::Metrics, project, cutoff_ns.div_euclid(1_000_000))
    }

    fn merged(&self, project: &str, q: &RouteQuery) -> Result<Rollup> {
        Ok(merge_rows(
            self.rows(project, q, &[(q.from_ns, q.to_ns)], false)?.0,
        ))
    }

    fn routes(&self, project: &str, q: &RouteQuery) -> Result<Vec<RouteStats>> {
        Ok(route_table(
            self.rows(project, q, &[(q.from_ns, q.to_ns)], false)?.0,
            q,
        ))
    }

    fn series(
        &self,
        project: &str,
        q: &RouteQuery,
        step_ns: i64,
    ) -> Result<Vec<(i64, RouteStats)>> {
        let steps = steps_of(q, step_ns);
        let (rows, minutes_from) = self.rows(project, q, &steps, true)?;
        Ok(series_from(&rows, steps, minutes_from, q))
    }

    fn releases(&self, project: &str) -> Result<Vec<(SeriesKey, i64)>> {
        #[derive(Deserialize)]
        struct First {
            service: String,
            route_key: String,
            release: String,
            first_ns: i64,
        }
        let rows: Vec<First> = self.ch.reader().rows(&format!(
            "SELECT service, route_key, release, minMerge(first_ns) AS first_ns FROM perf_hours \
             WHERE project_id = {} GROUP BY service, route_key, release",
            quote(project)
        ))?;
        let out: Vec<(SeriesKey, i64)> = rows
            .into_iter()
            .map(|r| {
                (
                    SeriesKey {
                        service: r.service,
                        route: r.route_key,
                        version: r.release,
                    },
                    r.first_ns,
                )
            })
            .collect();
        Ok(by_series(out))
    }

    fn samples(
        &self,
        project: &str,
        key: &SeriesKey,
        from_ns: i64,
        to_ns: i64,
        limit: usize,
    ) -> Result<Vec<f64>> {
        #[derive(Deserialize)]
        struct Sample {
            duration_ns: i64,
        }
        let rows: Vec<Sample> = self.ch.reader().rows(&format!(
            "SELECT duration_ns FROM spans WHERE project_id = {} AND service = {} \
             AND route = {} AND ifNull(version, '') = {} AND start_ns >= {from_ns} \
             AND start_ns < {to_ns} ORDER BY start_ns LIMIT {limit}",
            quote(project),
            quote(&key.service),
            quote(&key.route),
            quote(&key.version),
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| r.duration_ns as f64 / 1e6)
            .collect())
    }

    /// Query fingerprints by total time in the range. The p95 is the
    /// nearest-rank value (`quantileExact`), where DuckDB interpolates
    /// between the two ranks around it.
    fn queries(&self, project: &str, q: &RouteQuery, limit: usize) -> Result<Vec<QueryStats>> {
        #[derive(Deserialize)]
        struct Calls {
            fp: i64,
            calls: u64,
            total: f64,
            p95: f64,
            example: String,
            db: String,
        }
        #[derive(Deserialize)]
        struct Text {
            fingerprint: i64,
            text: String,
        }
        let request_ms: f64 = self.routes(project, q)?.iter().map(|r| r.total_ms).sum();
        let service = q
            .service
            .as_ref()
            .map(|s| format!(" AND service = {}", quote(s)))
            .unwrap_or_default();
        let calls: Vec<Calls> = self.ch.reader().rows(&format!(
            "SELECT assumeNotNull(db_fingerprint) AS fp, count() AS calls, \
             toFloat64(sum(duration_ns)) AS total, \
             toFloat64(quantileExact(0.95)(duration_ns)) AS p95, \
             argMax(trace_id, duration_ns) AS example, any(ifNull(db_system, '')) AS db \
             FROM spans WHERE project_id = {} AND start_ns >= {} AND start_ns < {} \
             AND isNotNull(db_fingerprint){service} GROUP BY fp ORDER BY total DESC LIMIT {limit}",
            quote(project),
            q.from_ns,
            q.to_ns,
        ))?;
        let mut texts: HashMap<i64, String> = HashMap::new();
        if !calls.is_empty() {
            let list: Vec<String> = calls.iter().map(|c| c.fp.to_string()).collect();
            let rows: Vec<Text> = self.ch.reader().rows(&format!(
                "SELECT fingerprint, any(query) AS text FROM perf_queries \
                 WHERE project_id = {} AND fingerprint IN ({}) GROUP BY fingerprint",
                quote(project),
                list.join(", ")
            ))?;
            texts.extend(rows.into_iter().map(|t| (t.fingerprint, t.text)));
        }
        Ok(calls
            .into_iter()
            .map(|c| {
                let total_ms = c.total / 1e6;
                QueryStats {
                    fingerprint: hex64(c.fp),
                    system: c.db,
                    query: texts.remove(&c.fp).unwrap_or_default(),
                    calls: c.calls,
                    total_ms,
                    mean_ms: if c.calls > 0 {
                        total_ms / c.calls as f64
                    } else {
                        0.0
                    },
                    p95_ms: c.p95 / 1e6,
                    share: if request_ms > 0.0 {
                        total_ms / request_ms
                    } else {
                        0.0
                    },
                    example_trace: c.example,
                }
            })
            .collect())
    }

    fn query_text(&self, project: &str, fingerprint: &str) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct Text {
            query: String,
        }
        let Some(fp) = parse_hex64(fingerprint) else {
            return Ok(None);
        };
        let rows: Vec<Text> = self.ch.reader().rows(&format!(
            "SELECT query FROM perf_queries WHERE project_id = {} AND fingerprint = {fp} LIMIT 1",
            quote(project)
        ))?;
        Ok(rows.into_iter().next().map(|t| t.query))
    }

    fn detect(&self, project: &str, from_ns: i64, to_ns: i64) -> Result<Vec<Detection>> {
        #[derive(Deserialize)]
        struct RouteOf {
            trace_id: String,
            first_route: String,
        }
        let found: Vec<DetectionRecord> = self.ch.reader().rows(&format!(
            "SELECT kind, service, route, fingerprint, trace_id, span_id, at_ns, duration_ns, \
             count, bytes FROM detections WHERE project_id = {} AND at_ns >= {from_ns} \
             AND at_ns < {to_ns} ORDER BY at_ns",
            quote(project)
        ))?;
        // Findings whose request span came in another export: its route,
        // from the stored request (which starts before its calls; an hour
        // covers any sane one).
        let mut traces: Vec<String> = found
            .iter()
            .filter(|f| f.route.is_none())
            .map(|f| quote(&f.trace_id))
            .collect();
        traces.sort_unstable();
        traces.dedup();
        let mut route_of: HashMap<String, String> = HashMap::new();
        if !traces.is_empty() {
            let rows: Vec<RouteOf> = self.ch.reader().rows(&format!(
                "SELECT trace_id, argMin(assumeNotNull(route), start_ns) AS first_route \
                 FROM spans WHERE project_id = {} AND start_ns >= {} AND start_ns < {to_ns} \
                 AND isNotNull(route) AND trace_id IN ({}) GROUP BY trace_id",
                quote(project),
                from_ns.saturating_sub(HOUR_NS),
                traces.join(", ")
            ))?;
            route_of.extend(rows.into_iter().map(|r| (r.trace_id, r.first_route)));
        }
        Ok(found
            .into_iter()
            .filter_map(|f| {
                let route = f
                    .route
                    .or_else(|| route_of.get(&f.trace_id).cloned())
                    .unwrap_or_else(|| f.service.clone());
                Some(Detection {
                    kind: FindingKind::parse(&f.kind)?,
                    service: f.service,
                    route,
                    fingerprint: f.fingerprint.map(hex64),
                    trace_id: f.trace_id,
                    span_id: f.span_id,
                    at_ns: f.at_ns,
                    duration_ms: f.duration_ns as f64 / 1e6,
                    count: f.count.max(0) as u64,
                    bytes: f.bytes.and_then(|b| u64::try_from(b).ok()),
                })
            })
            .collect())
    }

    fn trace(&self, project: &str, trace_id: &str) -> Result<Vec<SpanRow>> {
        #[derive(Deserialize)]
        struct Stored {
            span_id: String,
            parent_id: Option<String>,
            service: String,
            name: String,
            kind: String,
            start_ns: i64,
            duration_ns: i64,
            error: u8,
            db_statement: Option<String>,
        }
        let rows: Vec<Stored> = self.ch.reader().rows(&format!(
            "SELECT span_id, parent_id, service, name, kind, start_ns, duration_ns, error, \
             db_statement FROM spans WHERE project_id = {} AND trace_id = {} \
             ORDER BY start_ns, span_id LIMIT 5000",
            quote(project),
            quote(trace_id)
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| SpanRow {
                span_id: r.span_id,
                parent_id: r.parent_id,
                service: r.service,
                name: r.name,
                kind: r.kind,
                start_ns: r.start_ns,
                duration_ns: r.duration_ns,
                error: r.error != 0,
                statement: r.db_statement,
            })
            .collect())
    }

    fn metric_names(&self, project: &str) -> Result<Vec<MetricName>> {
        #[derive(Deserialize)]
        struct Name {
            name: String,
            unit: String,
            kind: String,
            cumulative: u8,
            points: u64,
        }
        let rows: Vec<Name> = self.ch.reader().rows(&format!(
            "SELECT name, any(unit) AS unit, any(kind) AS kind, max(cumulative) AS cumulative, \
             count() AS points FROM metrics WHERE project_id = {} GROUP BY name \
             ORDER BY name LIMIT 500",
            quote(project)
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| MetricName {
                name: r.name,
                unit: r.unit,
                kind: r.kind,
                cumulative: r.cumulative != 0,
                points: r.points,
            })
            .collect())
    }

    fn metric_series(
        &self,
        project: &str,
        name: &str,
        service: Option<&str>,
        from_ns: i64,
        to_ns: i64,
        step_ns: i64,
    ) -> Result<Vec<MetricLine>> {
        #[derive(Deserialize)]
        struct Point {
            service: String,
            host: Option<String>,
            b: i64,
            v: Option<f64>,
        }
        let step = step_ns.max(1_000_000_000);
        let service = service
            .map(|s| format!(" AND service = {}", quote(s)))
            .unwrap_or_default();
        let mut rows: Vec<Point> = self.ch.reader().rows(&format!(
            "SELECT service, host, intDiv(ts_ns - {from_ns}, {step}) AS b, \
             if(max(cumulative) = 1, \
                if(max(ts_ns) > min(ts_ns), \
                   (argMax(value, ts_ns) - argMin(value, ts_ns)) / ((max(ts_ns) - min(ts_ns)) / 1e9), \
                   NULL), \
                avg(value)) AS v \
             FROM metrics WHERE project_id = {} AND name = {} AND ts_ns >= {from_ns} \
             AND ts_ns < {to_ns}{service} GROUP BY service, host, b",
            quote(project),
            quote(name)
        ))?;
        rows.sort_by(|a, b| (&a.service, &a.host, a.b).cmp(&(&b.service, &b.host, b.b)));
        Ok(metric_lines(
            rows.into_iter()
                .map(|p| (p.service, p.host, p.b, p.v))
                .collect(),
            from_ns,
            step,
        ))
    }
}

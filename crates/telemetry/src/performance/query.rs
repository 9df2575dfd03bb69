//! Performance queries: route tables and series from the stored rollups;
//! query fingerprints, detector runs, trace evidence and latency samples
//! from the stored spans in DuckDB.

use std::collections::{BTreeMap, HashMap};

use duckdb::types::Value as DuckValue;
use liveops_core::performance::Rollup;
use liveops_core::performance::detect::FindingKind;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use liveops_core::performance::Span;
use liveops_core::performance::metric::MetricPoint;

use super::rollups::{self, Cell, Filter, Row};
use super::{
    DetectionRow, DuckPerformance, HOUR_NS, Job, MINUTE_NS, Performance, SeriesKey, Stored, batch,
    detect_batch, now_ms, stored_fingerprint, write_jobs,
};
use crate::Result;
use crate::TelemetryError;
use crate::duck::in_transaction;

/// Which requests a route query covers.
#[derive(Debug, Clone, Default)]
pub struct RouteQuery {
    pub from_ns: i64,
    pub to_ns: i64,
    pub service: Option<String>,
    /// One release only.
    pub version: Option<String>,
    /// One route only.
    pub route: Option<String>,
}

/// A route's requests over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteStats {
    pub service: String,
    pub route: String,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    /// Requests per minute over the range.
    pub per_minute: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub total_ms: f64,
    pub apdex: Option<f64>,
    pub mean_request_bytes: Option<f64>,
    pub mean_response_bytes: Option<f64>,
    pub max_response_bytes: u64,
}

impl RouteStats {
    pub fn from_rollup(service: &str, route: &str, r: &Rollup, minutes: f64) -> RouteStats {
        let q = |x| r.latency.quantile(x);
        let per = |total: u64| (r.requests > 0).then(|| total as f64 / r.requests as f64);
        RouteStats {
            service: service.to_owned(),
            route: route.to_owned(),
            requests: r.requests,
            errors: r.errors,
            error_rate: r.error_rate(),
            per_minute: if minutes > 0.0 {
                r.requests as f64 / minutes
            } else {
                0.0
            },
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            mean_ms: r.mean_ms(),
            total_ms: r.total_ms,
            apdex: r.apdex(),
            mean_request_bytes: per(r.request_bytes),
            mean_response_bytes: per(r.response_bytes),
            max_response_bytes: r.max_response_bytes,
        }
    }
}

/// A query fingerprint's calls over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryStats {
    /// 16 hex digits.
    pub fingerprint: String,
    pub system: String,
    pub query: String,
    pub calls: u64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub p95_ms: f64,
    /// Its time as a share of all request time in the range.
    pub share: f64,
    /// The trace of its slowest call.
    pub example_trace: String,
}

/// One thing a detector found in one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub kind: FindingKind,
    pub service: String,
    /// The route of the request it happened in (or the span's name).
    pub route: String,
    /// The query's fingerprint (16 hex digits) for query findings.
    pub fingerprint: Option<String>,
    pub trace_id: String,
    pub span_id: String,
    pub at_ns: i64,
    /// Time the pattern took, in milliseconds.
    pub duration_ms: f64,
    /// Repeated calls (N+1, cache candidates), or 1.
    pub count: u64,
    /// Payload size for large payloads.
    pub bytes: Option<u64>,
}

/// A span of a trace, for the evidence view.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    pub span_id: String,
    pub parent_id: Option<String>,
    pub service: String,
    pub name: String,
    pub kind: String,
    pub start_ns: i64,
    pub duration_ns: i64,
    pub error: bool,
    pub statement: Option<String>,
}

pub(crate) fn hex64(n: i64) -> String {
    format!("{:016x}", u64::from_ne_bytes(n.to_ne_bytes()))
}

pub(crate) fn parse_hex64(s: &str) -> Option<i64> {
    u64::from_str_radix(s, 16)
        .ok()
        .map(|n| i64::from_ne_bytes(n.to_ne_bytes()))
}

impl DuckPerformance {
    fn minutes_from(&self, project: &str) -> i64 {
        self.read(project, |p| p.minutes_from).unwrap_or(0)
    }

    /// The rollup rows that cover each of `ranges` (the query's own range
    /// is ignored), stored and waiting, for the query's series, with the
    /// minute line they were read by. The line is read under the writer,
    /// which moves it, so the rows match it.
    fn rows(
        &self,
        project: &str,
        q: &RouteQuery,
        ranges: &[(i64, i64)],
    ) -> Result<(Vec<Row>, i64)> {
        let filter = Filter {
            service: q.service.as_deref(),
            version: q.version.as_deref(),
            route: q.route.as_deref(),
        };
        self.with_writer(|c, w| {
            let minutes_from = self.minutes_from(project);
            let all = rollups::coalesce(
                ranges
                    .iter()
                    .flat_map(|&(from, to)| rollups::pieces(from, to, minutes_from))
                    .collect(),
            );
            let rows = rollups::read(c, &w.open, &mut w.cache, project, &all, &filter)?;
            Ok((rows, minutes_from))
        })
    }
}

impl Performance for DuckPerformance {
    /// Stores spans durably (one transaction), then folds the requests among
    /// them into the rollups.
    fn ingest(&self, project: &str, spans: &[Span]) -> Result<Stored> {
        if spans.is_empty() {
            return Ok(Stored::default());
        }
        let (prints, routes) = self.prints.read(spans);
        let p = self.project(project)?;
        let new_queries: Vec<(i64, String, String)> = {
            let known = p.read().unwrap_or_else(|e| e.into_inner());
            let mut seen = HashSet::new();
            spans
                .iter()
                .zip(&prints)
                .filter_map(|(s, f)| {
                    let f = f.as_ref()?;
                    let key = stored_fingerprint(f);
                    (!known.fingerprints.contains(&key) && seen.insert(key)).then(|| {
                        let system = s.db.as_ref().map(|d| d.system.clone()).unwrap_or_default();
                        (key, system, f.text.clone())
                    })
                })
                .collect()
        };
        // The export's requests per series and minute.
        let mut cells: HashMap<(SeriesKey, i64), Cell> = HashMap::new();
        let mut requests = 0;
        for (s, route) in spans.iter().zip(&routes) {
            let Some(route) = route else { continue };
            let mut one = Rollup::default();
            one.add(s);
            cells
                .entry((
                    SeriesKey {
                        service: s.service.clone(),
                        route: route.clone(),
                        version: s.version.clone().unwrap_or_default(),
                    },
                    s.start_ns.div_euclid(MINUTE_NS),
                ))
                .or_default()
                .add(s.start_ns, &one);
            requests += 1;
        }
        // Everything to write is made ready outside the lock; then one
        // caller writes every export that is waiting in one transaction
        // (group commit), so concurrent exports share a commit.
        let job = Job {
            project: project.to_owned(),
            spans: batch(project, spans, &prints, &routes)?,
            requests: cells.into_iter().map(|((k, m), c)| (k, m, c)).collect(),
            detections: detect_batch(spans, &prints, &routes)
                .into_iter()
                .map(|f| DetectionRow {
                    kind: f.kind.as_str(),
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
                .collect(),
            queries: new_queries.clone(),
            done: Arc::new(OnceLock::new()),
        };
        let done = job.done.clone();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job);
        self.with_writer(|c, w| {
            if done.get().is_none() {
                let jobs: Vec<Job> =
                    std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
                // Stamps only grow, whatever the wall clock does.
                let stamp = now_ms().max(w.stamp + 1);
                let outcome = write_jobs(c, &jobs, stamp).map_err(|e| e.to_string());
                if outcome.is_ok() {
                    w.stamp = stamp;
                    for j in &jobs {
                        for (key, minute, cell) in &j.requests {
                            w.open.add(&j.project, key, *minute, cell);
                        }
                    }
                    w.open.stamped(stamp);
                }
                for j in &jobs {
                    let _ = j.done.set(outcome.clone());
                }
                if outcome.is_ok() && w.open.due(self.flush_every) {
                    // The spans are committed; rollups not yet written are
                    // rebuilt from them at the next start.
                    if let Err(e) = rollups::flush(c, &mut w.open, &mut w.cache) {
                        tracing::warn!(error = %e, "request rollups could not be written yet");
                    }
                }
            }
            Ok(())
        })?;
        match done.get() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(TelemetryError::Ingest(e.clone())),
            None => return Err(TelemetryError::Ingest("the spans were not written".into())),
        }
        p.write()
            .unwrap_or_else(|e| e.into_inner())
            .fingerprints
            .extend(new_queries.iter().map(|q| q.0));
        Ok(Stored {
            spans: spans.len(),
            requests,
        })
    }

    /// Stores metric data points durably (one transaction).
    fn ingest_metrics(&self, project: &str, points: &[MetricPoint]) -> Result<usize> {
        if points.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        self.with_conn(|c| {
            in_transaction(c, || -> Result<()> {
                let mut app = c.appender("perf_metrics")?;
                for p in points {
                    app.append_row(duckdb::params![
                        project,
                        p.service,
                        p.host,
                        p.name,
                        p.unit,
                        p.kind.as_str(),
                        p.cumulative,
                        p.at_ns,
                        p.value,
                        p.count.and_then(|n| i64::try_from(n).ok()),
                        p.sum,
                        p.attributes,
                        now
                    ])?;
                }
                app.flush()?;
                Ok(())
            })
        })?;
        // Metrics alone make a project known, for its pages.
        self.project(project)?;
        Ok(points.len())
    }

    /// The projects that have sent spans or metrics.
    fn project_ids(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self
            .projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Drops spans that started before `cutoff_ns` and the detections found
    /// in them. Their rollups stay.
    fn drop_spans_before(&self, project: &str, cutoff_ns: i64) -> Result<u64> {
        // An hour of spans at a time (from the oldest left), letting go of
        // the connection between slices, so exports wait for one slice at
        // most rather than the whole purge.
        let mut n = 0u64;
        loop {
            let step = self.with_conn(|c| {
                let oldest: Option<i64> = c.query_row(
                    "SELECT min(start_ns) FROM perf_spans WHERE project_id = ? AND start_ns < ?",
                    duckdb::params![project, cutoff_ns],
                    |r| r.get(0),
                )?;
                let upto = oldest.map_or(cutoff_ns, |t| t.saturating_add(HOUR_NS).min(cutoff_ns));
                c.execute(
                    "DELETE FROM perf_detections WHERE project_id = ? AND at_ns < ?",
                    duckdb::params![project, upto],
                )?;
                let gone = c.execute(
                    "DELETE FROM perf_spans WHERE project_id = ? AND start_ns < ?",
                    duckdb::params![project, upto],
                )? as u64;
                Ok((gone, upto >= cutoff_ns))
            })?;
            n += step.0;
            if step.1 {
                return Ok(n);
            }
        }
    }

    fn drop_rollups_before(&self, project: &str, cutoff_ns: i64) -> Result<u64> {
        self.with_writer(|c, w| {
            w.cache.clear();
            rollups::drop_before(c, &mut w.open, project, cutoff_ns)
        })
    }

    fn keep_minutes_from(&self, project: &str, from_ns: i64) -> Result<u64> {
        let Some(known) = self
            .projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(project)
            .cloned()
        else {
            return Ok(0);
        };
        // Waiting minutes are written first, so none lands behind the line.
        // The line moves before the writer lets go, so no read asks for
        // the minutes just dropped; the cache stays, since reads never ask
        // for minutes behind the line again.
        self.with_writer(|c, w| {
            rollups::flush(c, &mut w.open, &mut w.cache)?;
            let (boundary, n) = rollups::keep_minutes_from(c, project, from_ns)?;
            known
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .minutes_from = boundary;
            Ok(n)
        })
    }

    /// Drops metric points taken before `cutoff_ns`.
    fn drop_metrics_before(&self, project: &str, cutoff_ns: i64) -> Result<u64> {
        let n = self.with_conn(|c| {
            Ok(c.execute(
                "DELETE FROM perf_metrics WHERE project_id = ? AND ts_ns < ?",
                duckdb::params![project, cutoff_ns],
            )?)
        })?;
        Ok(n as u64)
    }

    /// Every request the query covers, merged into one rollup.
    fn merged(&self, project: &str, q: &RouteQuery) -> Result<Rollup> {
        Ok(merge_rows(
            self.rows(project, q, &[(q.from_ns, q.to_ns)])?.0,
        ))
    }

    /// Every route in the range, merged over releases unless one is asked
    /// for, most total time first.
    fn routes(&self, project: &str, q: &RouteQuery) -> Result<Vec<RouteStats>> {
        Ok(route_table(
            self.rows(project, q, &[(q.from_ns, q.to_ns)])?.0,
            q,
        ))
    }

    /// One bucket per `step_ns` across the range (the route filter applies),
    /// for charts: each bucket's start and its merged stats.
    fn series(
        &self,
        project: &str,
        q: &RouteQuery,
        step_ns: i64,
    ) -> Result<Vec<(i64, RouteStats)>> {
        let steps = steps_of(q, step_ns);
        let (rows, minutes_from) = self.rows(project, q, &steps)?;
        Ok(series_from(&rows, steps, minutes_from, q))
    }

    /// Every (service, route, release) with the time its first request
    /// started, oldest release first.
    fn releases(&self, project: &str) -> Result<Vec<(SeriesKey, i64)>> {
        let out: Vec<(SeriesKey, i64)> = self
            .with_writer(|c, w| rollups::series(c, &w.open, project))?
            .into_iter()
            .collect();
        Ok(by_series(out))
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
    ) -> Result<Vec<f64>> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT duration_ns FROM perf_spans WHERE project_id = ? AND service = ? \
                 AND route = ? AND coalesce(version, '') = ? AND start_ns >= ? AND start_ns < ? \
                 ORDER BY start_ns LIMIT ?",
            )?;
            let rows = stmt
                .query_map(
                    duckdb::params![
                        project,
                        key.service,
                        key.route,
                        key.version,
                        from_ns,
                        to_ns,
                        limit as i64
                    ],
                    |r| r.get::<_, i64>(0),
                )?
                .map(|d| d.map(|d| d as f64 / 1e6))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Query fingerprints by total time in the range.
    fn queries(&self, project: &str, q: &RouteQuery, limit: usize) -> Result<Vec<QueryStats>> {
        let request_ms: f64 = self.routes(project, q)?.iter().map(|r| r.total_ms).sum();
        let mut args: Vec<DuckValue> = vec![
            DuckValue::Text(project.to_owned()),
            DuckValue::BigInt(q.from_ns),
            DuckValue::BigInt(q.to_ns),
        ];
        let mut filter = String::new();
        if let Some(s) = &q.service {
            filter.push_str(" AND service = ?");
            args.push(DuckValue::Text(s.clone()));
        }
        args.push(DuckValue::Text(project.to_owned()));
        args.push(DuckValue::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "WITH q AS (SELECT db_fingerprint AS fp, count(*) AS calls, sum(duration_ns)::DOUBLE AS total, \
             quantile_cont(duration_ns, 0.95) AS p95, arg_max(trace_id, duration_ns) AS example, \
             any_value(db_system) AS system FROM perf_spans WHERE project_id = ? AND start_ns >= ? \
             AND start_ns < ? AND db_fingerprint IS NOT NULL{filter} GROUP BY db_fingerprint) \
             SELECT q.fp, q.calls, q.total, q.p95, q.example, coalesce(q.system, ''), \
             coalesce(pq.query, '') FROM q LEFT JOIN (SELECT fingerprint, any_value(query) AS query \
             FROM perf_queries WHERE project_id = ? GROUP BY fingerprint) pq ON pq.fingerprint = q.fp \
             ORDER BY q.total DESC LIMIT ?"
        );
        self.with_conn(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| {
                    let calls: i64 = r.get(1)?;
                    let total_ms = r.get::<_, f64>(2)? / 1e6;
                    Ok(QueryStats {
                        fingerprint: hex64(r.get(0)?),
                        calls: calls as u64,
                        total_ms,
                        mean_ms: if calls > 0 {
                            total_ms / calls as f64
                        } else {
                            0.0
                        },
                        p95_ms: r.get::<_, f64>(3)? / 1e6,
                        example_trace: r.get(4)?,
                        system: r.get(5)?,
                        query: r.get(6)?,
                        share: if request_ms > 0.0 {
                            total_ms / request_ms
                        } else {
                            0.0
                        },
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The normalised text of a fingerprint.
    fn query_text(&self, project: &str, fingerprint: &str) -> Result<Option<String>> {
        let Some(fp) = parse_hex64(fingerprint) else {
            return Ok(None);
        };
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT query FROM perf_queries WHERE project_id = ? AND fingerprint = ? LIMIT 1",
            )?;
            let mut rows = stmt.query(duckdb::params![project, fp])?;
            Ok(match rows.next()? {
                Some(r) => Some(r.get(0)?),
                None => None,
            })
        })
    }

    /// What the detectors found in spans that started in the range. Each
    /// detection whose request span came in another export than its calls
    /// gets its route from the stored request span here.
    fn detect(&self, project: &str, from_ns: i64, to_ns: i64) -> Result<Vec<Detection>> {
        // Requests start before their calls; an hour covers any sane one.
        let req_from = from_ns.saturating_sub(3_600_000_000_000);
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "WITH d AS (SELECT * FROM perf_detections WHERE project_id = ? AND at_ns >= ? AND at_ns < ?), \
                 r AS (SELECT trace_id, arg_min(route, start_ns) AS route FROM perf_spans \
                 WHERE project_id = ? AND start_ns >= ? AND start_ns < ? AND route IS NOT NULL \
                 AND trace_id IN (SELECT trace_id FROM d WHERE route IS NULL) GROUP BY trace_id) \
                 SELECT d.kind, d.service, coalesce(d.route, r.route, d.service), d.fingerprint, \
                 d.trace_id, d.span_id, d.at_ns, d.duration_ns, d.count, d.bytes \
                 FROM d LEFT JOIN r USING (trace_id) ORDER BY d.at_ns",
            )?;
            let rows = stmt
                .query_map(
                    duckdb::params![project, from_ns, to_ns, project, req_from, to_ns],
                    |r| {
                        let kind: String = r.get(0)?;
                        Ok((kind, Detection {
                            kind: FindingKind::NPlusOne,
                            service: r.get(1)?,
                            route: r.get(2)?,
                            fingerprint: r.get::<_, Option<i64>>(3)?.map(hex64),
                            trace_id: r.get(4)?,
                            span_id: r.get(5)?,
                            at_ns: r.get(6)?,
                            duration_ms: r.get::<_, i64>(7)? as f64 / 1e6,
                            count: r.get::<_, i64>(8)?.max(0) as u64,
                            bytes: r.get::<_, Option<i64>>(9)?.and_then(|b| u64::try_from(b).ok()),
                        }))
                    },
                )?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(kind, d)| {
                    Some(Detection {
                        kind: FindingKind::parse(&kind)?,
                        ..d
                    })
                })
                .collect())
        })
    }

    /// Every span of a trace, in start order.
    fn trace(&self, project: &str, trace_id: &str) -> Result<Vec<SpanRow>> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT span_id, parent_id, service, name, kind, start_ns, duration_ns, error, \
                 db_statement FROM perf_spans WHERE project_id = ? AND trace_id = ? \
                 ORDER BY start_ns, span_id LIMIT 5000",
            )?;
            let rows = stmt
                .query_map(duckdb::params![project, trace_id], |r| {
                    Ok(SpanRow {
                        span_id: r.get(0)?,
                        parent_id: r.get(1)?,
                        service: r.get(2)?,
                        name: r.get(3)?,
                        kind: r.get(4)?,
                        start_ns: r.get(5)?,
                        duration_ns: r.get(6)?,
                        error: r.get(7)?,
                        statement: r.get(8)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn metric_names(&self, project: &str) -> Result<Vec<MetricName>> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT name, any_value(unit), any_value(kind), bool_or(cumulative), count(*) \
                 FROM perf_metrics WHERE project_id = ? GROUP BY name ORDER BY name LIMIT 500",
            )?;
            let rows = stmt
                .query_map(duckdb::params![project], |r| {
                    Ok(MetricName {
                        name: r.get(0)?,
                        unit: r.get(1)?,
                        kind: r.get(2)?,
                        cumulative: r.get(3)?,
                        points: r.get::<_, i64>(4)?.max(0) as u64,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// A metric per service and host in buckets of `step_ns` over the range.
    fn metric_series(
        &self,
        project: &str,
        name: &str,
        service: Option<&str>,
        from_ns: i64,
        to_ns: i64,
        step_ns: i64,
    ) -> Result<Vec<MetricLine>> {
        let step = step_ns.max(1_000_000_000);
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT service, host, (ts_ns - ?) // ? AS b, \
                 CASE WHEN bool_or(cumulative) THEN \
                   CASE WHEN max(ts_ns) > min(ts_ns) \
                   THEN (arg_max(value, ts_ns) - arg_min(value, ts_ns)) / ((max(ts_ns) - min(ts_ns)) / 1e9) \
                   ELSE NULL END \
                 ELSE avg(value) END \
                 FROM perf_metrics WHERE project_id = ? AND name = ? AND ts_ns >= ? AND ts_ns < ? \
                 AND (? = '' OR service = ?) GROUP BY ALL ORDER BY service, host NULLS FIRST, b",
            )?;
            let svc = service.unwrap_or("");
            let rows = stmt
                .query_map(
                    duckdb::params![from_ns, step, project, name, from_ns, to_ns, svc, svc],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<f64>>(3)?,
                        ))
                    },
                )?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(metric_lines(rows, from_ns, step))
        })
    }
}

/// Releases by service, route and first request.
pub(crate) fn by_series(mut out: Vec<(SeriesKey, i64)>) -> Vec<(SeriesKey, i64)> {
    out.sort_by(|a, b| (&a.0.service, &a.0.route, a.1).cmp(&(&b.0.service, &b.0.route, b.1)));
    out
}

/// Every row merged into one rollup.
pub(crate) fn merge_rows(rows: Vec<Row>) -> Rollup {
    let mut r = Rollup::default();
    for row in rows {
        r.merge(&row.cell.rollup);
    }
    r
}

/// The route table of rows covering `q`'s range: merged over releases,
/// most total time first.
pub(crate) fn route_table(rows: Vec<Row>, q: &RouteQuery) -> Vec<RouteStats> {
    let minutes = (q.to_ns - q.from_ns) as f64 / MINUTE_NS as f64;
    let mut merged: BTreeMap<(String, String), Rollup> = BTreeMap::new();
    for row in rows {
        merged
            .entry((row.key.service, row.key.route))
            .or_default()
            .merge(&row.cell.rollup);
    }
    let mut out: Vec<RouteStats> = merged
        .into_iter()
        .filter(|(_, r)| r.requests > 0)
        .map(|((svc, route), r)| RouteStats::from_rollup(&svc, &route, &r, minutes))
        .collect();
    out.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    out
}

/// A chart's buckets across `q`'s range: at least a minute each, at most
/// 2,000 of them.
pub(crate) fn steps_of(q: &RouteQuery, step_ns: i64) -> Vec<(i64, i64)> {
    let step = step_ns.max(MINUTE_NS);
    let mut steps = Vec::new();
    let mut at = q.from_ns;
    while at < q.to_ns && steps.len() < 2000 {
        let end = at.saturating_add(step).min(q.to_ns);
        steps.push((at, end));
        at = end;
    }
    steps
}

/// Each step's stats, from the rows read for all of them by the same
/// minute line.
pub(crate) fn series_from(
    rows: &[Row],
    steps: Vec<(i64, i64)>,
    minutes_from: i64,
    q: &RouteQuery,
) -> Vec<(i64, RouteStats)> {
    let mut by_bucket: HashMap<(rollups::Grain, i64), Vec<&Row>> = HashMap::new();
    for r in rows {
        by_bucket.entry((r.grain, r.bucket)).or_default().push(r);
    }
    let label = q.route.clone().unwrap_or_default();
    let svc = q.service.clone().unwrap_or_default();
    steps
        .into_iter()
        .map(|(at, end)| {
            let mut r = Rollup::default();
            for p in rollups::pieces(at, end, minutes_from) {
                for b in p.from..p.to {
                    for row in by_bucket.get(&(p.grain, b)).into_iter().flatten() {
                        r.merge(&row.cell.rollup);
                    }
                }
            }
            (
                at,
                RouteStats::from_rollup(&svc, &label, &r, (end - at) as f64 / MINUTE_NS as f64),
            )
        })
        .collect()
}

/// Metric rows (service, host, bucket number, value), sorted by service,
/// host (none first) and bucket, as chart lines.
pub(crate) fn metric_lines(
    rows: Vec<(String, Option<String>, i64, Option<f64>)>,
    from_ns: i64,
    step: i64,
) -> Vec<MetricLine> {
    let mut out: Vec<MetricLine> = Vec::new();
    for (service, host, b, v) in rows {
        if out
            .last()
            .is_none_or(|l| l.service != service || l.host != host)
        {
            out.push(MetricLine {
                service,
                host,
                points: Vec::new(),
            });
        }
        if let (Some(v), Some(line)) = (v, out.last_mut()) {
            line.points.push((from_ns + b * step, v));
        }
    }
    out
}

/// The mean of every point of the lines, `None` without points.
pub(crate) fn mean_of(lines: &[MetricLine]) -> Option<f64> {
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Detections grouped into patterns: one per kind, service, route and
/// query (or route alone), with how many traces showed it and the slowest.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub kind: FindingKind,
    pub service: String,
    pub route: String,
    pub fingerprint: Option<String>,
    pub occurrences: u64,
    pub total_ms: f64,
    pub worst: Detection,
}

pub fn patterns(detections: Vec<Detection>) -> Vec<Pattern> {
    let mut by: HashMap<(FindingKind, String, String, Option<String>), Pattern> = HashMap::new();
    for d in detections {
        let key = (
            d.kind,
            d.service.clone(),
            d.route.clone(),
            d.fingerprint.clone(),
        );
        match by.get_mut(&key) {
            Some(p) => {
                p.occurrences += 1;
                p.total_ms += d.duration_ms;
                if d.duration_ms > p.worst.duration_ms {
                    p.worst = d;
                }
            }
            None => {
                by.insert(
                    key,
                    Pattern {
                        kind: d.kind,
                        service: d.service.clone(),
                        route: d.route.clone(),
                        fingerprint: d.fingerprint.clone(),
                        occurrences: 1,
                        total_ms: d.duration_ms,
                        worst: d,
                    },
                );
            }
        }
    }
    let mut out: Vec<Pattern> = by.into_values().collect();
    out.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.total_ms.total_cmp(&a.total_ms)));
    out
}

/// A metric a project reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricName {
    pub name: String,
    pub unit: String,
    pub kind: String,
    pub cumulative: bool,
    pub points: u64,
}

/// One line of a metric chart: a service on a host.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    pub service: String,
    pub host: Option<String>,
    /// (bucket start, value): the mean in the bucket, or for a cumulative
    /// sum its rate per second.
    pub points: Vec<(i64, f64)>,
}

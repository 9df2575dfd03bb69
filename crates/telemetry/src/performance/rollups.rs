//! Stored request rollups: one row per series (service, route, release)
//! per minute and per hour, with the counts and the latency sketch of the
//! requests in it. Route percentiles over any range read a few hundred of
//! these rows instead of raw spans, and nothing is rebuilt at start.
//!
//! Requests committed since the last write wait in [`Open`] (folded in
//! the same critical section as their spans' commit) and are written
//! every few seconds, each bucket merged with the row already stored. The
//! spans carry a strictly increasing commit stamp (`inserted_at`), and
//! the stamp of the last write is stored with the rows; a start after a
//! crash folds only the spans stamped after it, so the rollups lose
//! nothing the spans kept and count nothing twice.
//!
//! Minute rows are kept for a recent window; before it a range reads whole
//! hours. The boundary is stored per project and always falls on an hour.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use duckdb::Connection;
use liveops_core::performance::{LatencySketch, Rollup};

use super::cache::Cache;
use super::{HOUR_NS, MINUTE_NS, SeriesKey};
use crate::duck::in_transaction;
use crate::{Result, TelemetryError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS perf_rollups (
    project_id VARCHAR NOT NULL, service VARCHAR NOT NULL, route VARCHAR NOT NULL,
    version VARCHAR NOT NULL, grain SMALLINT NOT NULL, bucket BIGINT NOT NULL,
    first_ns BIGINT NOT NULL, requests BIGINT NOT NULL, errors BIGINT NOT NULL,
    total_ms DOUBLE NOT NULL, satisfied BIGINT NOT NULL, tolerating BIGINT NOT NULL,
    request_bytes BIGINT NOT NULL, response_bytes BIGINT NOT NULL,
    max_response_bytes BIGINT NOT NULL, latency BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS perf_projects (
    project_id VARCHAR PRIMARY KEY, minutes_from BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS perf_marks (name VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
";

/// The mark holding the commit stamp of the last spans written as rollups.
const THROUGH: &str = "rollups_through";

/// How long requests wait in memory before they are written as rollups,
/// and how many buckets may wait.
pub(crate) const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
const FLUSH_CELLS: usize = 20_000;

/// A rollup's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Grain {
    Minute,
    Hour,
}

impl Grain {
    /// Its length in minutes, which is also how it is stored.
    pub(crate) fn minutes(self) -> i64 {
        match self {
            Grain::Minute => 1,
            Grain::Hour => 60,
        }
    }

    fn code(self) -> i16 {
        match self {
            Grain::Minute => 1,
            Grain::Hour => 60,
        }
    }
}

/// The requests of one series in one bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cell {
    pub(crate) rollup: Rollup,
    /// When its first request started.
    pub(crate) first_ns: i64,
}

impl Cell {
    pub(crate) fn add(&mut self, start_ns: i64, r: &Rollup) {
        self.rollup.merge(r);
        if self.first_ns == 0 || start_ns < self.first_ns {
            self.first_ns = start_ns;
        }
    }

    pub(crate) fn merge(&mut self, o: &Cell) {
        self.add(o.first_ns, &o.rollup);
    }
}

/// One stored or waiting bucket.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) key: SeriesKey,
    pub(crate) grain: Grain,
    pub(crate) bucket: i64,
    pub(crate) cell: Cell,
}

type Key = (String, SeriesKey, Grain, i64);

/// Requests committed but not yet written as rollups.
#[derive(Debug, Default)]
pub(crate) struct Open {
    cells: HashMap<Key, Cell>,
    /// When the oldest of them was committed.
    since: Option<Instant>,
    /// The commit stamp of the newest of them.
    through: i64,
}

impl Open {
    /// Folds one minute of one series into its minute and its hour.
    pub(crate) fn add(&mut self, project: &str, key: &SeriesKey, minute: i64, cell: &Cell) {
        for (grain, bucket) in [
            (Grain::Minute, minute),
            (Grain::Hour, minute.div_euclid(60)),
        ] {
            self.cells
                .entry((project.to_owned(), key.clone(), grain, bucket))
                .or_default()
                .merge(cell);
        }
        self.since.get_or_insert_with(Instant::now);
    }

    /// Whether nothing waits.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Marks everything committed up to `stamp` as folded in.
    pub(crate) fn stamped(&mut self, stamp: i64) {
        self.through = self.through.max(stamp);
    }

    /// Whether it is time to write.
    pub(crate) fn due(&self, every: std::time::Duration) -> bool {
        self.cells.len() >= FLUSH_CELLS || self.since.is_some_and(|t| t.elapsed() >= every)
    }

    /// The waiting buckets of a project within `pieces`.
    fn rows(&self, project: &str, pieces: &[Piece], filter: &Filter<'_>) -> Vec<Row> {
        self.cells
            .iter()
            .filter(|((p, k, g, b), _)| {
                p == project
                    && filter.admits(k)
                    && pieces
                        .iter()
                        .any(|x| x.grain == *g && (x.from..x.to).contains(b))
            })
            .map(|((_, k, g, b), c)| Row {
                key: k.clone(),
                grain: *g,
                bucket: *b,
                cell: c.clone(),
            })
            .collect()
    }
}

/// Which series a read covers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Filter<'a> {
    pub(crate) service: Option<&'a str>,
    pub(crate) version: Option<&'a str>,
    pub(crate) route: Option<&'a str>,
}

impl Filter<'_> {
    pub(crate) fn admits(&self, k: &SeriesKey) -> bool {
        self.service.is_none_or(|s| s == k.service)
            && self.version.is_none_or(|v| v == k.version)
            && self.route.is_none_or(|r| r == k.route)
    }
}

/// A run of buckets of one grain, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) grain: Grain,
    pub(crate) from: i64,
    pub(crate) to: i64,
}

/// The buckets that count exactly the requests in `[from_ns, to_ns)` to
/// the minute (a minute the range only partly covers counts whole): whole
/// hours from hourly rows, the ragged ends from minutes. Minutes before
/// `minutes_from` (a minute number on an hour) are no longer stored, so
/// there the range reads whole hours.
pub(crate) fn pieces(from_ns: i64, to_ns: i64, minutes_from: i64) -> Vec<Piece> {
    let first_min = from_ns.div_euclid(MINUTE_NS);
    let end_min = to_ns.div_euclid(MINUTE_NS) + i64::from(to_ns.rem_euclid(MINUTE_NS) != 0);
    if end_min <= first_min {
        return Vec::new();
    }
    let first_hour = first_min.div_euclid(60) + i64::from(first_min.rem_euclid(60) != 0);
    let end_hour = end_min.div_euclid(60);
    let runs = if end_hour > first_hour {
        vec![
            (Grain::Minute, first_min, first_hour * 60),
            (Grain::Hour, first_hour, end_hour),
            (Grain::Minute, end_hour * 60, end_min),
        ]
    } else {
        vec![(Grain::Minute, first_min, end_min)]
    };
    let mut out = Vec::new();
    for (grain, from, to) in runs {
        if from >= to {
            continue;
        }
        if grain == Grain::Minute && from < minutes_from {
            let cut = to.min(minutes_from);
            out.push(Piece {
                grain: Grain::Hour,
                from: from.div_euclid(60),
                to: cut.div_euclid(60) + i64::from(cut.rem_euclid(60) != 0),
            });
            if cut < to {
                out.push(Piece {
                    grain,
                    from: cut,
                    to,
                });
            }
        } else {
            out.push(Piece { grain, from, to });
        }
    }
    out
}

/// Joins touching or overlapping runs of the same grain.
pub(crate) fn coalesce(mut pieces: Vec<Piece>) -> Vec<Piece> {
    pieces.sort_by_key(|p| (p.grain, p.from));
    let mut out: Vec<Piece> = Vec::new();
    for p in pieces {
        match out.last_mut() {
            Some(last) if last.grain == p.grain && p.from <= last.to => {
                last.to = last.to.max(p.to);
            }
            _ => out.push(p),
        }
    }
    out
}

/// For each grain, one run from the first bucket to the last of `pieces`.
pub(crate) fn hulls(pieces: &[Piece]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for p in pieces {
        match out.iter_mut().find(|h| h.grain == p.grain) {
            Some(h) => {
                h.from = h.from.min(p.from);
                h.to = h.to.max(p.to);
            }
            None => out.push(*p),
        }
    }
    out
}

/// Every series of a project with the time its first request started.
pub(crate) fn series(
    c: &Connection,
    open: &Open,
    project: &str,
) -> Result<HashMap<SeriesKey, i64>> {
    let mut stmt = c.prepare(
        "SELECT service, route, version, min(first_ns) FROM perf_rollups \
         WHERE project_id = ? AND grain = 60 GROUP BY service, route, version",
    )?;
    let mut rows = stmt.query([project])?;
    let mut out: HashMap<SeriesKey, i64> = HashMap::new();
    while let Some(r) = rows.next()? {
        let key = SeriesKey {
            service: r.get(0)?,
            route: r.get(1)?,
            version: r.get(2)?,
        };
        out.insert(key, r.get(3)?);
    }
    for ((p, k, g, _), cell) in &open.cells {
        if p == project && *g == Grain::Hour {
            let first = out.entry(k.clone()).or_insert(cell.first_ns);
            *first = (*first).min(cell.first_ns);
        }
    }
    Ok(out)
}

/// Every row of `project` in `pieces`, stored or waiting, one per
/// (series, grain, bucket). Stored buckets come from `cache` when it has
/// them; the others are read (every series of them) and kept there.
pub(crate) fn read(
    c: &Connection,
    open: &Open,
    cache: &mut Cache,
    project: &str,
    pieces: &[Piece],
    filter: &Filter<'_>,
) -> Result<Vec<Row>> {
    let mut missing: Vec<Piece> = Vec::new();
    for p in pieces {
        let mut run: Option<Piece> = None;
        for b in p.from..p.to {
            if cache.has(project, p.grain, b) {
                missing.extend(run.take());
            } else {
                let r = run.get_or_insert(Piece {
                    grain: p.grain,
                    from: b,
                    to: b,
                });
                r.to = b + 1;
            }
        }
        missing.extend(run);
    }
    let mut missing = coalesce(missing);
    if missing.len() > 64 {
        // Many scattered runs: read the hull of each grain rather than a
        // statement with thousands of terms.
        missing = hulls(&missing);
    }
    if !missing.is_empty() {
        let mut sql = format!("SELECT {COLUMNS} FROM perf_rollups WHERE project_id = ? AND (");
        let mut args: Vec<duckdb::types::Value> = vec![project.to_owned().into()];
        for (i, p) in missing.iter().enumerate() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str("(grain = ? AND bucket >= ? AND bucket < ?)");
            args.push(p.grain.code().into());
            args.push(p.from.into());
            args.push(p.to.into());
        }
        sql.push(')');
        cache.fill(project, &missing, stored(c, &sql, &args)?);
    }
    let mut rows = Vec::new();
    for p in pieces {
        for b in p.from..p.to {
            for packed in cache.get(project, p.grain, b).iter() {
                if filter.admits(&packed.key) {
                    rows.push(packed.unpack()?);
                }
            }
        }
    }
    let mut at: HashMap<(SeriesKey, Grain, i64), usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.key.clone(), r.grain, r.bucket), i))
        .collect();
    for w in open.rows(project, pieces, filter) {
        match at.get(&(w.key.clone(), w.grain, w.bucket)) {
            Some(&i) => rows[i].cell.merge(&w.cell),
            None => {
                at.insert((w.key.clone(), w.grain, w.bucket), rows.len());
                rows.push(w);
            }
        }
    }
    Ok(rows)
}

fn grain_of(code: i16) -> Result<Grain> {
    match code {
        1 => Ok(Grain::Minute),
        60 => Ok(Grain::Hour),
        other => Err(TelemetryError::Ingest(format!(
            "a stored rollup has grain {other}, which this liveops does not know"
        ))),
    }
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A stored row as read, its sketch still encoded: what the cache keeps.
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    pub(crate) key: SeriesKey,
    pub(crate) grain: Grain,
    pub(crate) bucket: i64,
    first_ns: i64,
    counts: [u64; 7],
    total_ms: f64,
    latency: Box<[u8]>,
}

impl Packed {
    /// Roughly what it takes in memory.
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<Packed>()
            + self.key.service.len()
            + self.key.route.len()
            + self.key.version.len()
            + self.latency.len()
    }

    pub(crate) fn unpack(&self) -> Result<Row> {
        let [
            requests,
            errors,
            satisfied,
            tolerating,
            request_bytes,
            response_bytes,
            max_response_bytes,
        ] = self.counts;
        Ok(Row {
            key: self.key.clone(),
            grain: self.grain,
            bucket: self.bucket,
            cell: Cell {
                first_ns: self.first_ns,
                rollup: Rollup {
                    requests,
                    errors,
                    total_ms: self.total_ms,
                    satisfied,
                    tolerating,
                    request_bytes,
                    response_bytes,
                    max_response_bytes,
                    latency: LatencySketch::from_bytes(&self.latency)
                        .map_err(|e| TelemetryError::Ingest(e.to_string()))?,
                },
            },
        })
    }
}

const COLUMNS: &str = "service, route, version, grain, bucket, first_ns, requests, errors, \
    total_ms, satisfied, tolerating, request_bytes, response_bytes, max_response_bytes, latency";

fn stored(c: &Connection, sql: &str, args: &[duckdb::types::Value]) -> Result<Vec<Packed>> {
    let mut stmt = c.prepare(sql)?;
    let mut q = stmt.query(duckdb::params_from_iter(args.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = q.next()? {
        let latency: Vec<u8> = r.get(14)?;
        out.push(Packed {
            key: SeriesKey {
                service: r.get(0)?,
                route: r.get(1)?,
                version: r.get(2)?,
            },
            grain: grain_of(r.get(3)?)?,
            bucket: r.get(4)?,
            first_ns: r.get(5)?,
            counts: [
                count(r.get(6)?),
                count(r.get(7)?),
                count(r.get(9)?),
                count(r.get(10)?),
                count(r.get(11)?),
                count(r.get(12)?),
                count(r.get(13)?),
            ],
            total_ms: r.get(8)?,
            latency: latency.into_boxed_slice(),
        });
    }
    Ok(out)
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Writes every waiting bucket, merged with its stored row, and the
/// stamp they reach, in one transaction; empties `open` once committed.
pub(crate) fn flush(c: &Connection, open: &mut Open, cache: &mut Cache) -> Result<()> {
    if open.cells.is_empty() {
        return Ok(());
    }
    // Per project and grain, the buckets to rewrite and what waits in them.
    type Waiting = BTreeMap<i64, Vec<(SeriesKey, Cell)>>;
    let mut groups: BTreeMap<(String, Grain), Waiting> = BTreeMap::new();
    for ((p, k, g, b), cell) in &open.cells {
        groups
            .entry((p.clone(), *g))
            .or_default()
            .entry(*b)
            .or_default()
            .push((k.clone(), cell.clone()));
    }
    in_transaction(c, || -> Result<()> {
        let mut app_rows: Vec<(String, Row)> = Vec::new();
        for ((project, grain), waiting) in groups {
            // Each whole bucket is read, merged and written back: two
            // statements per grain, however many buckets and series.
            let list = waiting
                .keys()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let filter = format!(
                "WHERE project_id = ? AND grain = {} AND bucket IN ({list})",
                grain.code()
            );
            let args: Vec<duckdb::types::Value> = vec![project.clone().into()];
            let mut rows: HashMap<(SeriesKey, i64), Row> = HashMap::new();
            for packed in stored(
                c,
                &format!("SELECT {COLUMNS} FROM perf_rollups {filter}"),
                &args,
            )? {
                let r = packed.unpack()?;
                rows.insert((r.key.clone(), r.bucket), r);
            }
            let waiting_buckets: Vec<i64> = waiting.keys().copied().collect();
            for (bucket, cells) in waiting {
                for (key, cell) in cells {
                    rows.entry((key.clone(), bucket))
                        .or_insert_with(|| Row {
                            key,
                            grain,
                            bucket,
                            cell: Cell::default(),
                        })
                        .cell
                        .merge(&cell);
                }
            }
            c.execute(&format!("DELETE FROM perf_rollups {filter}"), [&project])?;
            // Whatever happens to the transaction, these buckets are read
            // afresh next time.
            for b in waiting_buckets {
                cache.forget(&project, grain, b);
            }
            app_rows.extend(rows.into_values().map(|r| (project.clone(), r)));
        }
        let mut app = c.appender("perf_rollups")?;
        for (project, row) in &app_rows {
            let r = &row.cell.rollup;
            app.append_row(duckdb::params![
                project,
                row.key.service,
                row.key.route,
                row.key.version,
                row.grain.code(),
                row.bucket,
                row.cell.first_ns,
                int(r.requests),
                int(r.errors),
                r.total_ms,
                int(r.satisfied),
                int(r.tolerating),
                int(r.request_bytes),
                int(r.response_bytes),
                int(r.max_response_bytes),
                r.latency.to_bytes()
            ])?;
        }
        app.flush()?;
        c.execute(
            "INSERT INTO perf_marks VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            duckdb::params![THROUGH, open.through],
        )?;
        Ok(())
    })?;
    open.cells.clear();
    open.since = None;
    Ok(())
}

/// Folds the request spans committed after the last write into `open`,
/// and returns the newest commit stamp stored: the next one must be
/// larger.
pub(crate) fn fold_tail(c: &Connection, open: &mut Open) -> Result<i64> {
    let through: i64 = c
        .query_row(
            "SELECT coalesce(max(value), 0) FROM perf_marks WHERE name = ?",
            [THROUGH],
            |r| r.get(0),
        )
        .unwrap_or(0);
    let newest: i64 = c.query_row(
        "SELECT coalesce(max(inserted_at), ?) FROM perf_spans WHERE inserted_at > ?",
        [through, through],
        |r| r.get(0),
    )?;
    let mut stmt = c.prepare(
        "SELECT project_id, service, route, coalesce(version, ''), start_ns, duration_ns, error, \
         request_bytes, response_bytes FROM perf_spans \
         WHERE route IS NOT NULL AND inserted_at > ?",
    )?;
    let mut rows = stmt.query([through])?;
    while let Some(r) = rows.next()? {
        let project: String = r.get(0)?;
        let key = SeriesKey {
            service: r.get(1)?,
            route: r.get(2)?,
            version: r.get(3)?,
        };
        let start_ns: i64 = r.get(4)?;
        let mut cell = Cell::default();
        let mut one = Rollup::default();
        one.add_request(
            r.get::<_, i64>(5)? as f64 / 1e6,
            r.get(6)?,
            r.get::<_, Option<i64>>(7)?
                .and_then(|b| u64::try_from(b).ok()),
            r.get::<_, Option<i64>>(8)?
                .and_then(|b| u64::try_from(b).ok()),
        );
        cell.add(start_ns, &one);
        open.add(&project, &key, start_ns.div_euclid(MINUTE_NS), &cell);
    }
    open.stamped(newest);
    Ok(newest)
}

/// The projects known to performance telemetry, with where their minute
/// rollups begin (a minute number).
pub(crate) fn projects(c: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = c.prepare("SELECT project_id, minutes_from FROM perf_projects")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Records a project the first time it sends anything.
pub(crate) fn register(c: &Connection, project: &str) -> Result<()> {
    c.execute(
        "INSERT INTO perf_projects VALUES (?, 0) ON CONFLICT (project_id) DO NOTHING",
        [project],
    )?;
    Ok(())
}

/// A store made before rollups were stored names its projects only in its
/// spans and metrics: registers those once.
pub(crate) fn register_existing(c: &Connection) -> Result<()> {
    c.execute_batch(
        "INSERT INTO perf_projects SELECT DISTINCT project_id, 0 FROM \
         (SELECT project_id FROM perf_spans UNION SELECT project_id FROM perf_metrics) \
         ON CONFLICT (project_id) DO NOTHING",
    )?;
    Ok(())
}

/// Whether rollups have ever been written here.
pub(crate) fn ever_written(c: &Connection) -> Result<bool> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM perf_marks WHERE name = ?",
        [THROUGH],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Drops a project's rollups of both grains for buckets that start before
/// `cutoff_ns` (an hour that straddles it stays whole); returns the rows.
pub(crate) fn drop_before(
    c: &Connection,
    open: &mut Open,
    project: &str,
    cutoff_ns: i64,
) -> Result<u64> {
    let hour = cutoff_ns.div_euclid(HOUR_NS);
    open.cells
        .retain(|(p, _, g, b), _| p != project || b.saturating_mul(g.minutes()) >= hour * 60);
    let n = c.execute(
        "DELETE FROM perf_rollups WHERE project_id = ? AND bucket * grain < ?",
        duckdb::params![project, hour * 60],
    )?;
    Ok(n as u64)
}

/// Drops a project's minute rollups before the hour holding `from_ns`,
/// and records that ranges before it read whole hours; returns the new
/// boundary (a minute number) and the rows dropped.
pub(crate) fn keep_minutes_from(c: &Connection, project: &str, from_ns: i64) -> Result<(i64, u64)> {
    let boundary = from_ns.div_euclid(HOUR_NS) * 60;
    in_transaction(c, || -> Result<(i64, u64)> {
        c.execute(
            "INSERT INTO perf_projects VALUES (?, ?) ON CONFLICT (project_id) \
             DO UPDATE SET minutes_from = greatest(perf_projects.minutes_from, excluded.minutes_from)",
            duckdb::params![project, boundary],
        )?;
        let n = c.execute(
            "DELETE FROM perf_rollups WHERE project_id = ? AND grain = 1 AND bucket < ?",
            duckdb::params![project, boundary],
        )?;
        let now: i64 = c.query_row(
            "SELECT minutes_from FROM perf_projects WHERE project_id = ?",
            [project],
            |r| r.get(0),
        )?;
        Ok((now, n as u64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(pieces: &[Piece]) -> Vec<(i64, i64)> {
        // Each piece as a minute range.
        pieces
            .iter()
            .map(|p| (p.from * p.grain.minutes(), p.to * p.grain.minutes()))
            .collect()
    }

    /// Ranges take whole hours in the middle and minutes at the ends, and
    /// never cover a minute twice; before the minute boundary they widen
    /// to whole hours.
    #[test]
    fn pieces_cover_each_minute_once() {
        let h = 1_000_000_i64; // an hour number far from zero
        let at = |min: i64| min * MINUTE_NS;
        let p = pieces(at(h * 60 + 7), at(h * 60 + 3 * 60 + 11), 0);
        assert_eq!(
            covered(&p),
            vec![
                (h * 60 + 7, h * 60 + 60),
                (h * 60 + 60, h * 60 + 180),
                (h * 60 + 180, h * 60 + 191)
            ]
        );
        // Within an hour: minutes only; empty ranges read nothing.
        assert_eq!(pieces(at(h * 60 + 5), at(h * 60 + 9), 0).len(), 1);
        assert!(pieces(at(h * 60 + 5), at(h * 60 + 5), 0).is_empty());
        // A partly covered minute counts whole.
        let p = pieces(at(h * 60 + 5) + 1, at(h * 60 + 9) + 1, 0);
        assert_eq!(covered(&p), vec![(h * 60 + 5, h * 60 + 10)]);
        // Minutes stored from hour h+2 on: the head widens to its hour.
        let p = pieces(at(h * 60 + 7), at(h * 60 + 3 * 60 + 11), (h + 2) * 60);
        assert_eq!(
            covered(&p),
            vec![
                (h * 60, h * 60 + 60),
                (h * 60 + 60, h * 60 + 180),
                (h * 60 + 180, h * 60 + 191)
            ]
        );
        // A range inside an hour before the boundary reads that hour.
        let p = pieces(at(h * 60 + 7), at(h * 60 + 9), (h + 5) * 60);
        assert_eq!(covered(&p), vec![(h * 60, h * 60 + 60)]);
        // Split at the boundary inside one run.
        let p = pieces(at(h * 60 + 7), at(h * 60 + 75), (h + 1) * 60);
        assert_eq!(
            covered(&p),
            vec![(h * 60, h * 60 + 60), (h * 60 + 60, h * 60 + 75)]
        );
    }

    #[test]
    fn runs_coalesce() {
        let m = |from, to| Piece {
            grain: Grain::Minute,
            from,
            to,
        };
        let hr = |from, to| Piece {
            grain: Grain::Hour,
            from,
            to,
        };
        assert_eq!(
            coalesce(vec![m(5, 9), hr(1, 2), m(0, 5), m(20, 30), hr(2, 4)]),
            vec![m(0, 9), m(20, 30), hr(1, 4)]
        );
    }
}

//! The ClickHouse schema, made and moved forward by versioned migrations
//! like the state database's: each applied migration is a row in
//! `liveops_migrations`, and a start applies only the ones after the last.
//!
//! Every table with telemetry is a `MergeTree` partitioned by project and
//! day (in UTC, whatever the server's time zone), so retention drops whole
//! partitions. In cluster mode each table is
//! a local `MergeTree` (`<name>_local`) on every shard, with a
//! `Distributed` table of the plain name over them.
//!
//! The SQL keeps to what ClickHouse 18.16 (Debian's package) and current
//! releases both accept: no `TTL`, no `JSONExtract*`, no `IF NOT EXISTS`
//! on columns.

use super::client::{Client, quote};
use crate::{Result, TelemetryError};

/// A telemetry table: its columns, its partition key and its sort order.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    /// A day number (`YYYYMMDD`) made from the row's time column.
    pub day: &'static str,
    pub order_by: &'static str,
    /// The time column, and how many of its units make a millisecond
    /// divided into it: (`ts`, 1) for milliseconds, (`start_ns`, 1_000_000).
    pub time: (&'static str, i64),
    /// The table engine: `MergeTree`, or `AggregatingMergeTree` for rollups
    /// whose rows merge their aggregate states.
    pub engine: &'static str,
}

/// What one migration does.
#[derive(Debug)]
pub enum Step {
    /// Makes a telemetry table (local and distributed in cluster mode).
    Table(&'static Table),
    /// Makes a materialized view that fills a table from every insert
    /// into another (on each shard, between the local tables).
    View(&'static View),
}

/// A materialized view: on every block inserted into `from`, runs
/// `select` over it and appends the result to `to`.
#[derive(Debug)]
pub struct View {
    pub name: &'static str,
    pub from: &'static Table,
    pub to: &'static Table,
    /// The query, with `{from}` where the source table goes.
    pub select: &'static str,
}

impl View {
    pub fn create(&self, layout: &Layout) -> String {
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {} TO {} AS {}",
            match layout {
                Layout::Single => self.name.to_owned(),
                Layout::Cluster(_) => format!("{}_local", self.name),
            },
            self.to.storage_name(layout),
            self.select
                .replace("{from}", &self.from.storage_name(layout))
        )
    }
}

#[derive(Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub steps: &'static [Step],
}

pub const EVENTS: Table = Table {
    name: "events",
    columns: "project_id String, uuid String, event String, distinct_id String, \
              ts Int64, properties String, inserted_at Int64",
    day: "toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))",
    order_by: "project_id, event, ts",
    time: ("ts", 1),
    engine: "MergeTree",
};

pub const PERSONS: Table = Table {
    name: "persons",
    columns: "project_id String, person_id String, properties String, \
              created_at Int64, version Int64, deleted UInt8",
    day: "toYYYYMMDD(toDateTime(intDiv(created_at, 1000), 'UTC'))",
    order_by: "project_id, person_id, version",
    time: ("created_at", 1),
    engine: "MergeTree",
};

pub const PERSON_IDS: Table = Table {
    name: "person_ids",
    columns: "project_id String, distinct_id String, person_id String, version Int64",
    day: "toYYYYMMDD(toDateTime(intDiv(version, 1000), 'UTC'))",
    order_by: "project_id, distinct_id, version",
    time: ("version", 1),
    engine: "MergeTree",
};

pub const SPANS: Table = Table {
    name: "spans",
    columns: "project_id String, trace_id String, span_id String, parent_id Nullable(String), \
              service String, version Nullable(String), host Nullable(String), name String, \
              kind String, route Nullable(String), start_ns Int64, duration_ns Int64, \
              error UInt8, status_code Nullable(Int32), request_bytes Nullable(Int64), \
              response_bytes Nullable(Int64), db_system Nullable(String), \
              db_operation Nullable(String), db_statement Nullable(String), \
              db_fingerprint Nullable(Int64), attributes String, inserted_at Int64",
    day: "toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000), 'UTC'))",
    order_by: "project_id, service, start_ns",
    time: ("start_ns", 1_000_000),
    engine: "MergeTree",
};

pub const METRICS: Table = Table {
    name: "metrics",
    columns: "project_id String, service String, host Nullable(String), name String, \
              unit String, kind String, cumulative UInt8, ts_ns Int64, value Float64, \
              count Nullable(Int64), sum Nullable(Float64), attributes String, inserted_at Int64",
    day: "toYYYYMMDD(toDateTime(intDiv(ts_ns, 1000000000), 'UTC'))",
    order_by: "project_id, name, ts_ns",
    time: ("ts_ns", 1_000_000),
    engine: "MergeTree",
};

pub const DETECTIONS: Table = Table {
    name: "detections",
    columns: "project_id String, kind String, service String, route Nullable(String), \
              fingerprint Nullable(Int64), trace_id String, span_id String, at_ns Int64, \
              duration_ns Int64, count Int64, bytes Nullable(Int64)",
    day: "toYYYYMMDD(toDateTime(intDiv(at_ns, 1000000000), 'UTC'))",
    order_by: "project_id, kind, at_ns",
    time: ("at_ns", 1_000_000),
    engine: "MergeTree",
};

/// Each stored event's id, sorted by time: ingest looks a batch's ids up
/// here within the batch's time range to drop resent copies, which reads a
/// few recent granules rather than every event of the project.
pub const EVENT_IDS: Table = Table {
    name: "event_ids",
    columns: "project_id String, ts Int64, uuid String",
    day: "toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))",
    order_by: "project_id, ts, uuid",
    time: ("ts", 1),
    engine: "MergeTree",
};

/// The columns of the request rollups, per minute and per hour: a series
/// (service, route, release), the bucket's start, and aggregate states that
/// merge as rows of one bucket meet. `bins` counts latencies per DDSketch
/// bin (`-32768`: the bin of zero), from which the sketch is rebuilt.
const ROLLUP_COLUMNS: &str = "project_id String, service String, route_key String, \
    release String, bucket_ns Int64, \
    requests AggregateFunction(sum, UInt64), errors AggregateFunction(sum, UInt64), \
    total_ms AggregateFunction(sum, Float64), satisfied AggregateFunction(sum, UInt64), \
    tolerating AggregateFunction(sum, UInt64), in_bytes AggregateFunction(sum, UInt64), \
    out_bytes AggregateFunction(sum, UInt64), max_out_bytes AggregateFunction(max, UInt64), \
    first_ns AggregateFunction(min, Int64), min_ms AggregateFunction(min, Float64), \
    max_ms AggregateFunction(max, Float64), \
    bins AggregateFunction(sumMap, Array(Int32), Array(UInt64))";

/// Request rollups per minute, kept for a recent window.
pub const PERF_MINUTES: Table = Table {
    name: "perf_minutes",
    columns: ROLLUP_COLUMNS,
    day: "toYYYYMMDD(toDateTime(intDiv(bucket_ns, 1000000000), 'UTC'))",
    order_by: "project_id, service, route_key, release, bucket_ns",
    time: ("bucket_ns", 1_000_000),
    engine: "AggregatingMergeTree",
};

/// Request rollups per hour, kept longer than the spans.
pub const PERF_HOURS: Table = Table {
    name: "perf_hours",
    columns: ROLLUP_COLUMNS,
    day: "toYYYYMMDD(toDateTime(intDiv(bucket_ns, 1000000000), 'UTC'))",
    order_by: "project_id, service, route_key, release, bucket_ns",
    time: ("bucket_ns", 1_000_000),
    engine: "AggregatingMergeTree",
};

/// The bucket's start is filled in per grain; the rest is the same. The
/// figures follow `liveops_core::performance::Rollup::add_request` (a test
/// checks the constants against the core's).
macro_rules! rollup_select {
    ($grain_ns:literal) => {
        concat!(
            "SELECT project_id, service, assumeNotNull(route) AS route_key, \
             ifNull(version, '') AS release, \
             toInt64(intDiv(start_ns, ",
            $grain_ns,
            ") * ",
            $grain_ns,
            ") AS bucket_ns, \
             sumState(toUInt64(1)) AS requests, sumState(toUInt64(error)) AS errors, \
             sumState(duration_ns / 1000000) AS total_ms, \
             sumState(toUInt64(error = 0 AND duration_ns / 1000000 <= 500)) AS satisfied, \
             sumState(toUInt64(error = 0 AND duration_ns / 1000000 > 500 \
                 AND duration_ns / 1000000 <= 2000)) AS tolerating, \
             sumState(toUInt64(ifNull(request_bytes, 0))) AS in_bytes, \
             sumState(toUInt64(ifNull(response_bytes, 0))) AS out_bytes, \
             maxState(toUInt64(ifNull(response_bytes, 0))) AS max_out_bytes, \
             minState(start_ns) AS first_ns, \
             minState(greatest(duration_ns / 1000000, 0.0)) AS min_ms, \
             maxState(greatest(duration_ns / 1000000, 0.0)) AS max_ms, \
             sumMapState([toInt32(if(duration_ns / 1000000 > 1e-9, \
                 floor(log(duration_ns / 1000000) / 0.020000666706669435), -32768))], \
                 [toUInt64(1)]) AS bins \
             FROM {from} WHERE route IS NOT NULL \
             GROUP BY project_id, service, route_key, release, bucket_ns"
        )
    };
}

/// Fills the minute rollups from every request span stored.
pub const MINUTES_VIEW: View = View {
    name: "perf_minutes_view",
    from: &SPANS,
    to: &PERF_MINUTES,
    select: rollup_select!("60000000000"),
};

/// Fills the hourly rollups from every request span stored.
pub const HOURS_VIEW: View = View {
    name: "perf_hours_view",
    from: &SPANS,
    to: &PERF_HOURS,
    select: rollup_select!("3600000000000"),
};

/// Fills `event_ids` from every event stored, in the same insert: an
/// event's id is there as soon as the event is, and a round of ingest is
/// one insert fewer.
pub const EVENT_IDS_VIEW: View = View {
    name: "event_ids_view",
    from: &EVENTS,
    to: &EVENT_IDS,
    select: "SELECT project_id, ts, uuid FROM {from}",
};

/// The normalised text of each query fingerprint, noted by the node that
/// first saw it (a fingerprint may appear once per node).
pub const PERF_QUERIES: Table = Table {
    name: "perf_queries",
    columns: "project_id String, fingerprint Int64, db_system String, query String, seen_at Int64",
    day: "toYYYYMMDD(toDateTime(intDiv(seen_at, 1000), 'UTC'))",
    order_by: "project_id, fingerprint",
    time: ("seen_at", 1),
    engine: "MergeTree",
};

/// Where each project's minute rollups begin: the latest line wins.
pub const PERF_LINES: Table = Table {
    name: "perf_lines",
    columns: "project_id String, minutes_from_ns Int64, at Int64",
    day: "toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))",
    order_by: "project_id, at",
    time: ("at", 1),
    engine: "MergeTree",
};

/// Error events as the SDKs sent them, with their group's fingerprint.
pub const ERROR_EVENTS: Table = Table {
    name: "error_events",
    columns: "project_id String, event_id String, fingerprint String, ts Int64, level String, \
              release String, environment String, user_key String, distinct_id String, \
              payload String",
    day: "toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))",
    order_by: "project_id, fingerprint, ts",
    time: ("ts", 1),
    engine: "MergeTree",
};
/// One row per tag of each error event, for breakdowns and tag searches.
pub const ERROR_TAGS: Table = Table {
    name: "error_tags",
    columns: "project_id String, fingerprint String, event_id String, ts Int64, key String, \
              value String",
    day: "toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))",
    order_by: "project_id, key, value, fingerprint",
    time: ("ts", 1),
    engine: "MergeTree",
};
/// Every migration, oldest first. Append only: a released migration is
/// never changed, a change is a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "telemetry",
        steps: &[
            Step::Table(&EVENTS),
            Step::Table(&PERSONS),
            Step::Table(&PERSON_IDS),
            Step::Table(&SPANS),
            Step::Table(&METRICS),
            Step::Table(&DETECTIONS),
        ],
    },
    Migration {
        version: 2,
        name: "event ids",
        steps: &[Step::Table(&EVENT_IDS)],
    },
    // Spans were kept in each node's DuckDB file before this migration,
    // so the views start from an empty spans table and miss nothing.
    Migration {
        version: 3,
        name: "performance",
        steps: &[
            Step::Table(&PERF_MINUTES),
            Step::Table(&PERF_HOURS),
            Step::View(&MINUTES_VIEW),
            Step::View(&HOURS_VIEW),
            Step::Table(&PERF_QUERIES),
            Step::Table(&PERF_LINES),
        ],
    },
    // Before this migration each writer inserted the ids itself; a node
    // not yet upgraded still does, and an id stored twice does no harm.
    Migration {
        version: 4,
        name: "event ids from events",
        steps: &[Step::View(&EVENT_IDS_VIEW)],
    },
    Migration {
        version: 5,
        name: "error events",
        steps: &[Step::Table(&ERROR_EVENTS), Step::Table(&ERROR_TAGS)],
    },
];

/// Every telemetry table the migrations make.
pub fn tables() -> impl Iterator<Item = &'static Table> {
    MIGRATIONS.iter().flat_map(|m| {
        m.steps.iter().filter_map(|s| match s {
            Step::Table(t) => Some(*t),
            Step::View(_) => None,
        })
    })
}

/// How the tables are laid out: on one server, or over a cluster's shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    Single,
    /// `Distributed` tables over local ones on each shard of the cluster
    /// named in the servers' `remote_servers`.
    Cluster(String),
}

impl Table {
    /// The table rows are stored in: the table itself on one server, the
    /// local one on each shard of a cluster.
    pub fn storage_name(&self, layout: &Layout) -> String {
        match layout {
            Layout::Single => self.name.to_owned(),
            Layout::Cluster(_) => format!("{}_local", self.name),
        }
    }

    /// The statement that makes the stored table.
    pub fn create_storage(&self, layout: &Layout) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({}) ENGINE = {} \
             PARTITION BY (project_id, {}) ORDER BY ({})",
            self.storage_name(layout),
            self.columns,
            self.engine,
            self.day,
            self.order_by
        )
    }

    /// In cluster mode, the statement that makes the `Distributed` table
    /// over the shards' local tables; rows spread by a hash of the project
    /// and the row's time.
    pub fn create_distributed(&self, database: &str, layout: &Layout) -> Option<String> {
        match layout {
            Layout::Single => None,
            Layout::Cluster(cluster) => Some(format!(
                "CREATE TABLE IF NOT EXISTS {} AS {} ENGINE = Distributed({}, {}, {}, cityHash64(project_id, {}))",
                self.name,
                self.storage_name(layout),
                cluster,
                database,
                self.storage_name(layout),
                self.time.0
            )),
        }
    }
}

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS liveops_migrations \
                      (version UInt32, name String, applied_at Int64) ENGINE = TinyLog";

/// Makes the database and applies every migration it lacks, on `shards`
/// in turn (one client per shard in cluster mode, the one server
/// otherwise). Each shard keeps its own ledger. Returns the versions
/// applied on the first shard.
pub fn migrate(shards: &[Client], layout: &Layout, now_ms: i64) -> Result<Vec<u32>> {
    let mut applied_first = None;
    for shard in shards {
        let database = shard.endpoint().database().to_owned();
        shard.execute_global(&format!("CREATE DATABASE IF NOT EXISTS {database}"))?;
        shard.execute(LEDGER)?;
        #[derive(serde::Deserialize)]
        struct Applied {
            version: u32,
        }
        let done: Vec<u32> = shard
            .rows::<Applied>("SELECT version FROM liveops_migrations")?
            .into_iter()
            .map(|a| a.version)
            .collect();
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            for step in m.steps {
                match step {
                    Step::Table(t) => {
                        shard.execute(&t.create_storage(layout))?;
                        if let Some(sql) = t.create_distributed(&database, layout) {
                            shard.execute(&sql)?;
                        }
                    }
                    Step::View(v) => shard.execute(&v.create(layout))?,
                }
            }
            shard.execute(&format!(
                "INSERT INTO liveops_migrations (version, name, applied_at) VALUES ({}, {}, {now_ms})",
                m.version,
                quote(m.name)
            ))?;
            applied.push(m.version);
        }
        applied_first.get_or_insert(applied);
    }
    applied_first.ok_or_else(|| TelemetryError::Config("no ClickHouse server to migrate".into()))
}

/// Every statement a migration runs, in order, for checking them on
/// another engine.
pub fn statements(database: &str, layout: &Layout) -> Vec<String> {
    let mut out = vec![LEDGER.to_owned()];
    for step in MIGRATIONS.iter().flat_map(|m| m.steps) {
        match step {
            Step::Table(t) => {
                out.push(t.create_storage(layout));
                out.extend(t.create_distributed(database, layout));
            }
            Step::View(v) => out.push(v.create(layout)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_rise_and_table_names_are_unique() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        let mut names: Vec<&str> = tables().map(|t| t.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    /// The rollup views count requests as the core does: the same Apdex
    /// thresholds and the same sketch bins.
    #[test]
    fn the_rollup_views_share_the_cores_constants() {
        use liveops_core::performance::{APDEX_T_MS, LatencySketch};
        for v in [&MINUTES_VIEW, &HOURS_VIEW] {
            assert!(
                v.select
                    .contains(&format!("/ {:?})", LatencySketch::bin_scale()))
            );
            assert!(
                v.select
                    .contains(&format!("{:?}", LatencySketch::zero_below()))
            );
            assert!(v.select.contains(&format!("<= {APDEX_T_MS})")));
            assert!(v.select.contains(&format!("<= {})", 4.0 * APDEX_T_MS)));
        }
        let sql = MINUTES_VIEW.create(&Layout::Cluster("two".into()));
        assert!(
            sql.starts_with(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS perf_minutes_view_local TO perf_minutes_local AS SELECT"
            ),
            "{sql}"
        );
        assert!(sql.contains("FROM spans_local WHERE"), "{sql}");
    }

    #[test]
    fn a_cluster_stores_rows_locally_and_reads_them_through_a_distributed_table() {
        let layout = Layout::Cluster("two".into());
        let sql = statements("liveops", &layout).join("\n");
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS events_local ("));
        assert!(sql.contains(
            "CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = Distributed(two, liveops, events_local, cityHash64(project_id, ts))"
        ));
        let single = statements("liveops", &Layout::Single).join("\n");
        assert!(!single.contains("Distributed"));
        assert!(!single.contains("TTL"), "18.16 has no TTL");
    }
}

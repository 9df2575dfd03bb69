//! The embedded analytics backend: DuckDB keeps every event, person and
//! distinct-id link (append-only, the latest version wins). A writer thread
//! turns concurrent ingest requests into one DuckDB transaction each round
//! and answers each request only after that transaction commits, so an
//! acknowledged event survives a crash. The in-memory [`Project`] mirrors
//! the events per person for the behavioural queries. The writer saves it
//! beside the database now and then and when the store closes
//! ([`layout`]); a start reads it back and folds in only the events
//! committed after it, or rebuilds it from DuckDB when it has none.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use duckdb::{Connection, params};
use liveops_core::analytics::event::Event;
use liveops_core::analytics::web::PageView;

use super::index::{Columns, Names};
use super::layout;
use super::persons::{PersonChanges, Persons};
use super::query::{Need, Source};
use super::writer::{Commit, Queue};
use super::{
    Analytics, Ingested, Job, Project, ProjectStats, PropertyRow, RowsQuery, StoredEvent,
    TrendSeries, TrendsQuery, new_id, uuid_hash,
};
use crate::duck::in_transaction;
use crate::{Result, TelemetryError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS analytics_events (
    project_id VARCHAR NOT NULL, uuid VARCHAR NOT NULL, event VARCHAR NOT NULL,
    distinct_id VARCHAR NOT NULL, ts BIGINT NOT NULL, properties VARCHAR NOT NULL,
    inserted_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS analytics_persons (
    project_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL, properties VARCHAR NOT NULL,
    created_at BIGINT NOT NULL, version BIGINT NOT NULL, deleted BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS analytics_person_ids (
    project_id VARCHAR NOT NULL, distinct_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL,
    version BIGINT NOT NULL);
";

type ProjectMap = HashMap<String, Arc<RwLock<Project>>>;
type Projects = RwLock<ProjectMap>;

/// Product analytics over a DuckDB database.
pub struct DuckAnalytics {
    projects: Arc<Projects>,
    /// For queries, each under the time limit; the writer has its own.
    read: crate::readpool::ReadPool,
    /// For exports, deletions and retention, which must run to the end.
    maint: Mutex<Option<Connection>>,
    /// Held (shared) by each commit and (exclusively) by a snapshot.
    gate: Arc<RwLock<()>>,
    queue: Queue,
    /// Projects whose events were deleted, for the writer to save anew.
    changed: Changed,
}

/// Projects whose layouts differ from the saved ones other than by new
/// events (deletions, a rebuild).
type Changed = Arc<Mutex<std::collections::HashSet<String>>>;

impl std::fmt::Debug for DuckAnalytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckAnalytics").finish_non_exhaustive()
    }
}

impl DuckAnalytics {
    /// Loads analytics from the database `conn` belongs to and starts the
    /// writer on a connection of its own.
    pub fn open(
        conn: &Connection,
        options: &crate::Options,
        layouts: Option<&Path>,
    ) -> Result<DuckAnalytics> {
        conn.execute_batch(SCHEMA)?;
        let (projects, rebuilt) = load(conn, layouts)?;
        let projects = Arc::new(RwLock::new(projects));
        let changed: Changed = Arc::new(Mutex::new(rebuilt.into_iter().collect()));
        let stamp: Option<i64> =
            conn.query_row("SELECT max(inserted_at) FROM analytics_events", [], |r| {
                r.get(0)
            })?;
        let write = conn.try_clone()?;
        let read =
            crate::readpool::ReadPool::new(conn, options.read_connections, options.query_timeout)?;
        let maint = conn.try_clone()?;
        let gate = Arc::new(RwLock::new(()));
        let version = next_version(conn)?;
        let queue = Queue::start(Writer {
            conn: write,
            projects: projects.clone(),
            gate: gate.clone(),
            version,
            stamp: stamp.unwrap_or(0),
            saves: Saves {
                dir: layouts.map(Path::to_path_buf),
                pending: HashMap::new(),
                changed: changed.clone(),
                last: std::time::Instant::now(),
            },
        })?;
        Ok(DuckAnalytics {
            projects,
            read,
            maint: Mutex::new(Some(maint)),
            gate,
            queue,
            changed,
        })
    }

    /// Stops the writer after it has stored everything queued, and lets go
    /// of the database.
    pub fn close(&self) {
        self.queue.close();
        self.read.close();
        self.maint.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Keeps commits out while `f` runs (a consistent snapshot).
    pub fn paused<T>(&self, f: impl FnOnce() -> T) -> T {
        let _g = self.gate.write().unwrap_or_else(|p| p.into_inner());
        f()
    }

    fn project(&self, id: &str) -> Option<Arc<RwLock<Project>>> {
        self.projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Runs `f` over a project's events, folded in and read-locked; `None`
    /// when the project has no analytics yet.
    fn in_memory<T>(&self, project: &str, f: impl FnOnce(&Project) -> T) -> Option<T> {
        let p = self.project(project)?;
        if p.read()
            .unwrap_or_else(|e| e.into_inner())
            .needs_compaction()
        {
            p.write().unwrap_or_else(|e| e.into_inner()).ready();
        }
        let guard = p.read().unwrap_or_else(|e| e.into_inner());
        Some(f(&guard))
    }

    /// A trend of `event`'s numeric property from its column in memory,
    /// filled first if the project has none yet; `None` when the name has
    /// too many events to keep (the SQL answers it then).
    fn column_trend(
        &self,
        project: &str,
        event: &str,
        math: &liveops_core::analytics::math::PropertyMath,
        q: &TrendsQuery,
    ) -> Result<Option<Vec<TrendSeries>>> {
        let Some(p) = self.project(project) else {
            return Ok(None);
        };
        let answer = |guard: &Project| {
            let name = guard.names.get(event)?;
            let col = guard.props.get(name, &math.property)?;
            Some(super::props::trend(guard, col, math, q))
        };
        if let Some(lines) = answer(&p.read().unwrap_or_else(|e| e.into_inner())) {
            return Ok(Some(lines));
        }
        {
            // Commits wait while the column is read from the database, so
            // it holds every stored event of the name and the writer
            // appends exactly the later ones.
            let _g = self.gate.write().unwrap_or_else(|e| e.into_inner());
            let name = {
                let guard = p.read().unwrap_or_else(|e| e.into_inner());
                match guard.names.get(event) {
                    // No such event: the SQL's empty answer.
                    None => return Ok(None),
                    Some(n) if guard.props.get(n, &math.property).is_some() => None,
                    Some(n) => Some(n),
                }
            };
            if let Some(name) = name {
                // A column that cannot be read (the time limit) leaves the
                // question to the SQL.
                let Ok(rows) = self.column_rows(project, event, &math.property) else {
                    return Ok(None);
                };
                let mut guard = p.write().unwrap_or_else(|e| e.into_inner());
                let Some(col) = rows.map(|rows| {
                    let mut col = super::props::PropColumn::default();
                    for (did, ts, text) in rows {
                        if let Some(d) = guard.persons.did(&did) {
                            col.push(
                                d,
                                ts,
                                text.as_deref()
                                    .and_then(liveops_core::analytics::math::number),
                            );
                        }
                    }
                    col
                }) else {
                    return Ok(None);
                };
                guard.props.insert(name, &math.property, col);
            }
        }
        Ok(answer(&p.read().unwrap_or_else(|e| e.into_inner())))
    }

    /// Every stored event of `event` with its distinct id, time and the
    /// property's text; `None` past the column cap.
    #[allow(clippy::type_complexity)]
    fn column_rows(
        &self,
        project: &str,
        event: &str,
        property: &str,
    ) -> Result<Option<Vec<(String, i64, Option<String>)>>> {
        let path = super::duck_sql::json_path(property);
        self.with_read_conn(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM analytics_events WHERE project_id = ? AND event = ?",
                params![project, event],
                |r| r.get(0),
            )?;
            if n as u64 > super::props::MAX_ROWS as u64 {
                return Ok(None);
            }
            let mut stmt = c.prepare(
                "SELECT distinct_id, ts, json_extract_string(properties, ?) \
                 FROM analytics_events WHERE project_id = ? AND event = ?",
            )?;
            let rows = stmt
                .query_map(params![path, project, event], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Some(rows))
        })
    }

    /// Notes that `project`'s saved layout no longer matches, for the
    /// writer to save it anew.
    fn changed_now(&self, project: &str) {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(project.to_owned());
    }

    /// Runs a query on one of the read connections, under the time limit.
    pub(crate) fn with_read_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read.with(f)
    }

    /// Runs maintenance (deletion, retention, export) on its own
    /// connection, without a time limit: it must finish.
    fn with_maint_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.maint.lock().unwrap_or_else(|p| p.into_inner());
        f(conn.as_ref().ok_or(TelemetryError::Closed)?)
    }
}

impl Source for DuckAnalytics {
    /// Everything is in memory already, whatever the query needs.
    fn read<T>(
        &self,
        project: &str,
        _need: &Need,
        f: impl FnOnce(&Project) -> T,
    ) -> Result<Option<T>> {
        Ok(self.in_memory(project, f))
    }

    fn property_values(
        &self,
        project: &str,
        names: &[String],
        from: i64,
        to: i64,
        key: &str,
    ) -> Result<Vec<(String, i64, Option<String>)>> {
        super::duck_sql::property_values(self, project, names, from, to, key)
    }
}

impl Analytics for DuckAnalytics {
    fn ingest(
        &self,
        project: &str,
        events: Vec<Event>,
    ) -> futures::channel::oneshot::Receiver<Result<Ingested>> {
        self.queue.send(project, events)
    }

    /// Events, persons and bytes the index holds for a project.
    fn stats(&self, project: &str) -> Result<ProjectStats> {
        Ok(self
            .in_memory(project, |p| ProjectStats {
                events: p.cols.len(),
                persons: p.persons.person_count(),
                distinct_ids: p.persons.live_did_count(),
                event_names: p.names.len(),
                index_bytes: p.cols.heap_bytes() + p.props.heap_bytes(),
            })
            .unwrap_or_default())
    }

    /// Deletes a person, every distinct id they have and all their events.
    /// Returns how many events went, or `None` for an unknown distinct id.
    fn delete_person(&self, project: &str, distinct_id: &str) -> Result<Option<u64>> {
        let Some(p) = self.project(project) else {
            return Ok(None);
        };
        // Commits pause meanwhile, so none of the person's events can land
        // in the database after their deletion.
        let _g = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let mut guard = p.write().unwrap_or_else(|e| e.into_inner());
        let Some(d) = guard.persons.did(distinct_id) else {
            return Ok(None);
        };
        let person = guard.persons.person_of(d);
        let Some((person_id, dids, _, _)) = guard.persons.person(person) else {
            return Ok(None);
        };
        let person_id = person_id.to_string();
        let names: Vec<String> = dids
            .iter()
            .map(|d| guard.persons.did_name(*d).to_owned())
            .collect();
        let deleted = self.with_maint_conn(|c| {
            in_transaction(c, || -> Result<u64> {
                let mut n = 0u64;
                for name in &names {
                    n += c.execute(
                        "DELETE FROM analytics_events WHERE project_id = ? AND distinct_id = ?",
                        params![project, name],
                    )? as u64;
                    c.execute(
                        "DELETE FROM analytics_person_ids WHERE project_id = ? AND distinct_id = ?",
                        params![project, name],
                    )?;
                }
                c.execute(
                    "DELETE FROM analytics_persons WHERE project_id = ? AND person_id = ?",
                    params![project, person_id],
                )?;
                Ok(n)
            })
        })?;
        let gone = guard.persons.delete(person);
        guard.cols.forget(&gone);
        guard.props.clear();
        self.changed_now(project);
        Ok(Some(deleted))
    }

    /// Deletes a project's events older than `cutoff_ms`; ingest goes on
    /// meanwhile on the writer's own connection.
    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64> {
        let n = self.with_maint_conn(|c| {
            Ok(c.execute(
                "DELETE FROM analytics_events WHERE project_id = ? AND ts < ?",
                params![project, cutoff_ms],
            )? as u64)
        })?;
        if n > 0
            && let Some(p) = self.project(project)
        {
            let mut guard = p.write().unwrap_or_else(|e| e.into_inner());
            guard.cols.drop_before(cutoff_ms);
            guard.props.clear();
            drop(guard);
            self.changed_now(project);
        }
        Ok(n)
    }

    /// Writes a project's events, with the person each belongs to, as Parquet.
    fn export_parquet(&self, project: &str, dest: &Path) -> Result<u64> {
        self.with_maint_conn(|c| export(c, project, dest))
    }

    /// Property math over one event name comes from the column kept in
    /// memory (filled on first use); everything else is SQL.
    fn trends(&self, project: &str, q: &TrendsQuery) -> Result<Vec<TrendSeries>> {
        if let Some((event, math)) = super::props::answerable(q)
            && let Some(lines) = self.column_trend(project, event, math, q)?
        {
            return Ok(lines);
        }
        super::duck_sql::trends(self, project, q)
    }

    fn page_views(&self, project: &str, from_ms: i64, to_ms: i64) -> Result<Vec<PageView>> {
        super::duck_sql::page_views(self, project, from_ms, to_ms)
    }

    fn property_rows(&self, project: &str, q: &RowsQuery) -> Result<Vec<PropertyRow>> {
        super::duck_sql::property_rows(self, project, q)
    }

    fn person_events(
        &self,
        project: &str,
        distinct_ids: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        super::duck_sql::person_events(self, project, distinct_ids, limit)
    }

    fn event_names(&self, project: &str) -> Result<Vec<(String, u64)>> {
        super::event_names(self, project)
    }

    fn active_users(&self, project: &str, q: &super::ActiveQuery) -> Result<super::ActiveSeries> {
        super::active_users(self, project, q)
    }

    super::shared_queries!();
}

/// Writes `project`'s events in `conn`, with the person each belongs to,
/// to `dest` as Parquet; returns how many.
pub(crate) fn export(c: &Connection, project: &str, dest: &Path) -> Result<u64> {
    let dest = dest.display().to_string().replace('\'', "''");
    let project = project.replace('\'', "''");
    let sql = format!(
        "COPY (WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
         FROM analytics_person_ids WHERE project_id = '{project}' GROUP BY distinct_id) \
         SELECT e.uuid, e.event, e.distinct_id, ids.person_id, e.ts AS timestamp_ms, \
         make_timestamp(e.ts * 1000) AS timestamp, e.properties \
         FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
         WHERE e.project_id = '{project}' ORDER BY e.ts) TO '{dest}' (FORMAT PARQUET)"
    );
    Ok(c.execute(&sql, [])? as u64)
}

fn next_version(conn: &Connection) -> Result<i64> {
    let v: Option<i64> = conn.query_row(
        "SELECT max(v) FROM (SELECT max(version) AS v FROM analytics_persons \
         UNION ALL SELECT max(version) FROM analytics_person_ids)",
        [],
        |r| r.get(0),
    )?;
    Ok(v.unwrap_or(0) + 1)
}

/// Rebuilds every project's memory: from its saved layout (in `layouts`)
/// and the events committed after it, or, without a usable layout, from
/// every stored event.
/// Also returns the projects rebuilt from their events, whose layouts are
/// to be saved anew.
fn load(conn: &Connection, layouts: Option<&Path>) -> Result<(ProjectMap, Vec<String>)> {
    let started = std::time::Instant::now();
    let mut ids: Vec<String> = Vec::new();
    let mut stmt = conn.prepare("SELECT DISTINCT project_id FROM analytics_persons")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        ids.push(r.get(0)?);
    }
    let mut out: HashMap<String, Project> = HashMap::new();
    // Each project's events after its layout's stamp (all of them without
    // one) are folded in below.
    let mut after: HashMap<String, i64> = HashMap::new();
    let mut rebuilt = Vec::new();
    for project in ids {
        let mut p = Project::default();
        let saved = layouts.and_then(|dir| saved_layout(conn, dir, &project));
        let stamp = match saved.map(|s| restore(&mut p, s)) {
            Some(covers) => {
                apply_person_rows(conn, &project, covers.version, &mut p.persons)?;
                covers.stamp
            }
            None => {
                p = Project::default();
                load_persons(conn, &project, &mut p.persons)?;
                rebuilt.push(project.clone());
                i64::MIN
            }
        };
        after.insert(project.clone(), stamp);
        out.insert(project, p);
    }
    let layouts_at = started.elapsed();
    // A project rebuilt from all its events finds each one's distinct id
    // number by a join in DuckDB, many times faster than a hash lookup per
    // event here; the few events after a saved layout are looked up.
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE load_dids \
         (project_id VARCHAR NOT NULL, distinct_id VARCHAR NOT NULL, d UINTEGER NOT NULL)",
    )?;
    let loaded = (|| -> Result<()> {
        {
            let mut app = conn.appender_to_catalog_and_db("load_dids", "temp", "main")?;
            for project in &rebuilt {
                if let Some(p) = out.get(project) {
                    for (d, name) in p.persons.live_dids() {
                        app.append_row(params![project, name, d])?;
                    }
                }
            }
            app.flush()?;
        }
        let mut all = conn.prepare(
            "SELECT e.uuid, e.event, l.d, e.ts FROM analytics_events e \
             JOIN load_dids l ON l.project_id = e.project_id AND l.distinct_id = e.distinct_id \
             WHERE e.project_id = ?",
        )?;
        let mut tail = conn.prepare(
            "SELECT uuid, event, distinct_id, ts FROM analytics_events \
             WHERE project_id = ? AND inserted_at > ?",
        )?;
        let unreadable =
            |e: duckdb::types::FromSqlError| TelemetryError::Ingest(format!("a stored event: {e}"));
        for (project, p) in out.iter_mut() {
            let stamp = after.get(project).copied().unwrap_or(i64::MIN);
            let mut rows = if stamp == i64::MIN {
                all.query(params![project])?
            } else {
                tail.query(params![project, stamp])?
            };
            while let Some(r) = rows.next()? {
                // Read in place: no text is copied per event.
                let uuid = r.get_ref(0)?.as_str().map_err(unreadable)?;
                let name = r.get_ref(1)?.as_str().map_err(unreadable)?;
                let d = if stamp == i64::MIN {
                    r.get(2)?
                } else {
                    let who = r.get_ref(2)?.as_str().map_err(unreadable)?;
                    // Links commit with their events; one missing belongs
                    // to a deleted person.
                    match p.persons.did(who) {
                        Some(d) => d,
                        None => continue,
                    }
                };
                p.first_sight(uuid_hash(uuid));
                let n = p.names.intern(name);
                p.cols.push(d, r.get(3)?, n);
            }
        }
        Ok(())
    })();
    conn.execute_batch("DROP TABLE IF EXISTS temp.load_dids")?;
    loaded?;
    let events_at = started.elapsed();
    let mut in_place = 0;
    let projects = out
        .into_iter()
        .map(|(k, mut v)| {
            v.ready();
            v.settle_seen();
            in_place += usize::from(v.cols.is_mapped());
            (k, Arc::new(RwLock::new(v)))
        })
        .collect();
    tracing::info!(
        in_place,
        persons_ms = layouts_at.as_millis() as u64,
        events_ms = (events_at - layouts_at).as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        rebuilt = rebuilt.len(),
        "analytics loaded"
    );
    Ok((projects, rebuilt))
}

/// Puts a saved layout in `p`; returns what it covers.
fn restore(p: &mut Project, s: layout::Saved) -> layout::Covers {
    p.persons = s.persons;
    p.names = Names::from_list(s.names);
    let (offsets, ts, events) = s.cols.cols;
    p.cols = Columns::from_parts(offsets, ts, events);
    p.seen_saved = s.cols.seen;
    s.covers
}

/// Loads a project's persons and distinct ids from every stored row (the
/// latest version of each wins).
fn load_persons(conn: &Connection, project: &str, persons: &mut Persons) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT person_id, arg_max(properties, version), arg_max(deleted, version), \
         min(created_at) AS created FROM analytics_persons WHERE project_id = ? \
         GROUP BY person_id ORDER BY created, person_id",
    )?;
    let mut rows = stmt.query([project])?;
    while let Some(r) = rows.next()? {
        let deleted: bool = r.get(2)?;
        if !deleted {
            persons.load_person(r.get(0)?, r.get(1)?, r.get(3)?);
        }
    }
    let mut stmt = conn.prepare(
        "SELECT distinct_id, arg_max(person_id, version) FROM analytics_person_ids \
         WHERE project_id = ? GROUP BY distinct_id",
    )?;
    let mut rows = stmt.query([project])?;
    while let Some(r) = rows.next()? {
        let did: String = r.get(0)?;
        let person: String = r.get(1)?;
        persons.load_link(&did, &person);
    }
    Ok(())
}

/// Applies the person and link rows written after a saved layout, in the
/// order they were written.
fn apply_person_rows(
    conn: &Connection,
    project: &str,
    version: i64,
    persons: &mut Persons,
) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT version, person_id, properties, deleted, created_at, NULL AS distinct_id \
         FROM analytics_persons WHERE project_id = ? AND version > ? \
         UNION ALL SELECT version, person_id, NULL, NULL, NULL, distinct_id \
         FROM analytics_person_ids WHERE project_id = ? AND version > ? ORDER BY version",
    )?;
    let mut rows = stmt.query(params![project, version, project, version])?;
    while let Some(r) = rows.next()? {
        let person: String = r.get(1)?;
        match r.get::<_, Option<String>>(5)? {
            Some(did) => {
                persons.load_link(&did, &person);
            }
            None => persons.load_row(
                &person,
                r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                r.get::<_, Option<bool>>(3)?.unwrap_or(false),
            ),
        }
    }
    Ok(())
}

/// How many person and link rows of `project` have a version up to
/// `version`.
fn person_rows(conn: &Connection, project: &str, version: i64) -> Result<(u64, u64)> {
    let count = |table: &str| -> Result<u64> {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE project_id = ? AND version <= ?"),
            params![project, version],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    };
    Ok((count("analytics_persons")?, count("analytics_person_ids")?))
}

/// `project`'s saved layout, when there is one and the database still
/// holds exactly the events it covers; otherwise `None` (with the reason
/// logged), and the project is rebuilt from its events.
fn saved_layout(conn: &Connection, dir: &Path, project: &str) -> Option<layout::Saved> {
    let saved = match layout::read(&layout::path_of(dir, project)) {
        Ok(s) => s?,
        Err(e) => {
            tracing::warn!(project, error = %e, "rebuilding analytics from the stored events");
            return None;
        }
    };
    let c = saved.covers;
    let stored = conn
        .query_row(
            "SELECT count(*) FROM analytics_events WHERE project_id = ? AND inserted_at <= ?",
            params![project, c.stamp],
            |r| r.get::<_, i64>(0),
        )
        .map_err(TelemetryError::from)
        .and_then(|events| Ok((events, person_rows(conn, project, c.version)?)));
    match stored {
        Ok((events, rows))
            if u64::try_from(events).ok() == Some(saved.cols.cols.1.len() as u64)
                && rows == (c.person_rows, c.link_rows) =>
        {
            Some(saved)
        }
        Ok(_) => {
            tracing::info!(
                project,
                "the saved analytics layout is out of date; rebuilding from the stored events"
            );
            None
        }
        Err(e) => {
            tracing::warn!(project, error = %e, "rebuilding analytics from the stored events");
            None
        }
    }
}

/// Events gathered for one commit, column by column.
#[derive(Default)]
struct Rows<'a> {
    project: Vec<&'a str>,
    uuid: Vec<&'a str>,
    name: Vec<&'a str>,
    distinct_id: Vec<&'a str>,
    ts: Vec<i64>,
    properties: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    fn push(&mut self, project: &'a str, e: &'a Event) {
        self.project.push(project);
        self.uuid.push(&e.uuid);
        self.name.push(&e.name);
        self.distinct_id.push(&e.distinct_id);
        self.ts.push(e.at_ms);
        self.properties.push(&e.properties);
    }

    fn batch(&self, now: i64) -> Result<duckdb::arrow::record_batch::RecordBatch> {
        use duckdb::arrow::array::{ArrayRef, Int64Array, StringArray};
        use duckdb::arrow::datatypes::{DataType, Field, Schema};
        let text = |name: &str| Field::new(name, DataType::Utf8, false);
        let int = |name: &str| Field::new(name, DataType::Int64, false);
        let schema = Schema::new(vec![
            text("project_id"),
            text("uuid"),
            text("event"),
            text("distinct_id"),
            int("ts"),
            text("properties"),
            int("inserted_at"),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.project.clone())),
            Arc::new(StringArray::from(self.uuid.clone())),
            Arc::new(StringArray::from(self.name.clone())),
            Arc::new(StringArray::from(self.distinct_id.clone())),
            Arc::new(Int64Array::from(self.ts.clone())),
            Arc::new(StringArray::from(self.properties.clone())),
            Arc::new(Int64Array::from(vec![now; self.ts.len()])),
        ];
        duckdb::arrow::record_batch::RecordBatch::try_new(Arc::new(schema), columns)
            .map_err(|e| TelemetryError::Ingest(e.to_string()))
    }
}

struct Writer {
    conn: Connection,
    projects: Arc<Projects>,
    gate: Arc<RwLock<()>>,
    version: i64,
    /// The last commit's stamp (`inserted_at`): milliseconds, kept rising.
    stamp: i64,
    saves: Saves,
}

/// When the writer saves each project's layout.
struct Saves {
    /// Where layouts go; none, none are saved.
    dir: Option<PathBuf>,
    /// Events each project took since its layout was last saved.
    pending: HashMap<String, usize>,
    /// Projects changed otherwise, shared with deletion and retention.
    changed: Changed,
    last: std::time::Instant,
}

/// A project's layout is saved once this many events wait, or a tenth of
/// what it holds, whichever is more…
const SAVE_AFTER_EVENTS: usize = 1_000_000;
/// …or once any wait and this long has passed; and when the store closes.
const SAVE_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

impl Commit for Writer {
    /// Stores every job's events in one transaction. Memory is updated first
    /// (queries may see events a moment before they are durable); if the
    /// commit fails, memory is rebuilt from the database and every job hears
    /// of the failure.
    fn commit(&mut self, jobs: &mut [Job]) -> Vec<Result<Ingested>> {
        let gate = self.gate.clone();
        let _g = gate.read().unwrap_or_else(|e| e.into_inner());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        // Stamps only rise, whatever the wall clock does, so a saved layout
        // knows exactly which commits it holds.
        let stamp = now.max(self.stamp + 1);
        let mut counts = vec![Ingested::default(); jobs.len()];
        let done = self.write(jobs, &mut counts, stamp);
        drop(_g);
        match done {
            Ok(()) => {
                self.stamp = stamp;
                for (job, c) in jobs.iter().zip(&counts) {
                    *self.saves.pending.entry(job.project.clone()).or_default() += c.stored;
                }
                self.save_due(false);
                counts.into_iter().map(Ok).collect()
            }
            Err(e) => {
                tracing::error!(error = %e, "analytics commit failed and was rolled back");
                let _ = self.conn.execute_batch("ROLLBACK");
                if let Ok((fresh, _)) = load(&self.conn, self.saves.dir.as_deref()) {
                    *self.projects.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                }
                let msg = e.to_string();
                jobs.iter()
                    .map(|_| Err(TelemetryError::Ingest(msg.clone())))
                    .collect()
            }
        }
    }

    fn finish(&mut self) {
        self.save_due(true);
    }
}

impl Writer {
    /// Saves the layouts that are due (every one with new events, when
    /// `all`). Runs between commits, so each holds exactly the commits up
    /// to the last stamp. A layout that cannot be saved is only logged: the
    /// events are in DuckDB, and the next start folds them in.
    fn save_due(&mut self, all: bool) {
        let Some(dir) = self.saves.dir.clone() else {
            return;
        };
        for id in std::mem::take(&mut *self.saves.changed.lock().unwrap_or_else(|e| e.into_inner()))
        {
            *self.saves.pending.entry(id).or_default() += 1;
        }
        let late = self.saves.last.elapsed() >= SAVE_AFTER;
        let due: Vec<String> = self
            .saves
            .pending
            .iter()
            .filter(|&(id, &n)| {
                n > 0
                    && (all || late || {
                        let held = self
                            .projects
                            .read()
                            .unwrap_or_else(|e| e.into_inner())
                            .get(id.as_str())
                            .map_or(0, |p| {
                                p.read().unwrap_or_else(|e| e.into_inner()).cols.len()
                            });
                        n >= SAVE_AFTER_EVENTS.max(held / 10)
                    })
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let project = self
                .projects
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
                .cloned();
            let Some(project) = project else { continue };
            let saved = std::fs::create_dir_all(&dir)
                .map_err(TelemetryError::from)
                .and_then(|()| {
                    let generation = {
                        let mut p = project.write().unwrap_or_else(|e| e.into_inner());
                        p.ready();
                        p.settle_seen();
                        p.cols.generation()
                    };
                    let (person_rows, link_rows) = person_rows(&self.conn, &id, self.version)?;
                    let covers = layout::Covers {
                        stamp: self.stamp,
                        version: self.version,
                        person_rows,
                        link_rows,
                    };
                    let in_place = {
                        let p = project.read().unwrap_or_else(|e| e.into_inner());
                        layout::write(&layout::path_of(&dir, &id), &p, covers)?
                    };
                    // The arrays just written are read from the file from
                    // now on, and their copies in memory go.
                    if let Some(in_place) = in_place {
                        let mut p = project.write().unwrap_or_else(|e| e.into_inner());
                        p.use_in_place(generation, in_place);
                    }
                    Ok(())
                });
            match saved {
                Ok(()) => {
                    self.saves.pending.remove(&id);
                }
                Err(e) => {
                    tracing::warn!(project = %id, error = %e, "the analytics layout was not saved")
                }
            }
        }
        if late || all {
            self.saves.last = std::time::Instant::now();
        }
    }

    fn project(&self, id: &str) -> Arc<RwLock<Project>> {
        if let Some(p) = self
            .projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return p.clone();
        }
        self.projects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    fn write(&mut self, jobs: &[Job], counts: &mut [Ingested], now: i64) -> Result<()> {
        self.conn.execute_batch("BEGIN")?;
        let mut links: Vec<(String, String, String)> = Vec::new();
        let mut persons_out: Vec<(String, String, String, i64, bool)> = Vec::new();
        // The events go in as one columnar batch: far cheaper than binding
        // every value of every row.
        let mut rows = Rows::default();
        for (job, count) in jobs.iter().zip(counts.iter_mut()) {
            let project = self.project(&job.project);
            let mut p = project.write().unwrap_or_else(|e| e.into_inner());
            let mut changes = PersonChanges::default();
            for e in &job.events {
                if !p.first_sight(uuid_hash(&e.uuid)) {
                    count.duplicates += 1;
                    continue;
                }
                let Project {
                    names,
                    persons,
                    cols,
                    props,
                    ..
                } = &mut *p;
                let d = persons.resolve(&e.distinct_id, now, &mut new_id, &mut changes);
                if let Some(other) = &e.merge_with {
                    persons.merge(d, other, &mut changes);
                }
                let person = persons.person_of(d);
                if let Some(set) = &e.set {
                    persons.set_props(person, set, false, &mut changes);
                }
                if let Some(set) = &e.set_once {
                    persons.set_props(person, set, true, &mut changes);
                }
                let n = names.intern(&e.name);
                cols.push(d, e.at_ms, n);
                props.push_event(n, d, e.at_ms, &e.properties);
                rows.push(&job.project, e);
                count.stored += 1;
            }
            let mut touched = changes.touched;
            touched.sort_unstable();
            touched.dedup();
            for t in touched {
                if let Some((id, _, props, created)) = p.persons.person(t) {
                    persons_out.push((
                        job.project.clone(),
                        id.to_string(),
                        props.to_owned(),
                        created,
                        false,
                    ));
                }
            }
            for gone in changes.merged_away {
                persons_out.push((job.project.clone(), gone, "{}".into(), now, true));
            }
            for (did, person) in changes.links {
                links.push((job.project.clone(), did, person));
            }
        }
        if !rows.uuid.is_empty() {
            let mut app = self.conn.appender("analytics_events")?;
            app.append_record_batch(rows.batch(now)?)?;
            app.flush()?;
        }
        if !persons_out.is_empty() {
            let mut app = self.conn.appender("analytics_persons")?;
            for (project, id, props, created, deleted) in persons_out {
                self.version += 1;
                app.append_row(params![project, id, props, created, self.version, deleted])?;
            }
            app.flush()?;
        }
        if !links.is_empty() {
            let mut app = self.conn.appender("analytics_person_ids")?;
            for (project, did, person) in links {
                self.version += 1;
                app.append_row(params![project, did, person, self.version])?;
            }
            app.flush()?;
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use liveops_core::analytics::funnel::FunnelOrder;

    use super::*;
    use crate::{DuckDbStore, TelemetryStore};

    const P: &str = "shop";
    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_800_000_000_000;

    fn event(uuid: &str, name: &str, who: &str, at: i64) -> Event {
        Event {
            uuid: uuid.into(),
            name: name.into(),
            distinct_id: who.into(),
            at_ms: T0 + at,
            properties: "{}".into(),
            set: None,
            set_once: None,
            merge_with: None,
        }
    }

    fn ingest(a: &dyn Analytics, events: Vec<Event>) -> Ingested {
        block_on(a.ingest(P, events))
            .expect("answered")
            .expect("stored")
    }

    /// What a reader sees: sizes, names, persons with their ids and a
    /// funnel that needs each person's events in order.
    fn answers(a: &dyn Analytics) -> String {
        let s = a.stats(P).expect("stats");
        let funnel = a
            .funnel(
                P,
                &super::super::FunnelQuery {
                    persons: None,
                    steps: vec![vec!["view".into()], vec!["buy".into()]],
                    window_ms: DAY,
                    order: FunnelOrder::Ordered,
                    exclusions: Vec::new(),
                    from_ms: T0,
                    to_ms: T0 + 10 * DAY,
                    breakdown: None,
                    dropoff_after: None,
                    converted: false,
                },
            )
            .expect("funnel");
        format!(
            "{} {} {} {}\n{:?}\n{:?}\n{:?}",
            s.events,
            s.persons,
            s.distinct_ids,
            s.event_names,
            a.event_names(P).expect("names"),
            a.persons(P, None, 100).expect("persons"),
            funnel.steps.iter().map(|s| s.count).collect::<Vec<_>>()
        )
    }

    /// Property math from the column kept in memory answers exactly as the
    /// SQL does: when the column is first filled, after later events are
    /// appended to it, for a cohort, and after a person is deleted.
    #[test]
    fn column_trends_answer_as_the_sql_does() {
        use super::super::Members;
        use liveops_core::analytics::Interval;
        use liveops_core::analytics::math::SeriesMath;
        let conn = Connection::open_in_memory().expect("duckdb");
        let a = DuckAnalytics::open(&conn, &crate::Options::default(), None).expect("open");
        let order = |uuid: &str, who: &str, at: i64, props: &str| Event {
            properties: props.into(),
            ..event(uuid, "order", who, at)
        };
        ingest(
            &a,
            vec![
                order("1", "ann", 0, r#"{"amount": 10}"#),
                order("2", "ann", 1000, r#"{"amount": "20.5"}"#),
                order("3", "bob", 2000, r#"{"amount": "n/a"}"#),
                order("4", "cat", DAY + 5, r#"{"amount": 7}"#),
                order("5", "cat", DAY + 6, r#"{}"#),
                event("6", "view", "bob", 3000),
            ],
        );
        let query = |math: &str, per_person: Option<&str>, persons: Option<Members>| TrendsQuery {
            persons,
            event: Some("order".into()),
            interval: Interval::Day,
            from_ms: T0,
            to_ms: T0 + 3 * DAY,
            filters: Vec::new(),
            breakdown: None,
            breakdown_limit: 25,
            math: SeriesMath::parse(math, per_person).expect("math"),
        };
        let same = |a: &DuckAnalytics, persons: Option<Members>| {
            for (math, per_person) in [
                ("sum:amount", None),
                ("avg:amount", None),
                ("p95:amount", None),
                ("min:amount", Some("avg")),
                ("sum:amount", Some("max")),
            ] {
                let q = query(math, per_person, persons.clone());
                // Interpolated percentiles may differ in the last bit.
                let rounded = |lines: Vec<TrendSeries>| -> Vec<(u64, u64, Option<f64>)> {
                    lines
                        .iter()
                        .flat_map(|l| &l.points)
                        .map(|p| {
                            (
                                p.events,
                                p.persons,
                                p.value.map(|v| (v * 1e9).round() / 1e9),
                            )
                        })
                        .collect()
                };
                let sql = rounded(super::super::duck_sql::trends(a, P, &q).expect("sql"));
                let kept = rounded(a.trends(P, &q).expect("column"));
                assert_eq!(kept, sql, "{math} per person {per_person:?}");
            }
        };
        same(&a, None);
        let bytes = a.stats(P).expect("stats").index_bytes;
        ingest(&a, vec![order("7", "bob", DAY + 9, r#"{"amount": 2.25}"#)]);
        assert!(
            a.stats(P).expect("stats").index_bytes > bytes,
            "a column is kept"
        );
        same(&a, None);
        let ann = a.person(P, "ann").expect("person").expect("known").id;
        same(&a, Some(Members::new(vec![ann])));
        a.delete_person(P, "cat").expect("deleted");
        same(&a, None);
        a.close();
    }

    /// A store opened again reads the layout its last close saved; after a
    /// crash (a layout older than the events) it folds in the rest; a
    /// layout that no longer matches the events, or does not read back, is
    /// rebuilt from them. Every time it answers as before.
    #[test]
    fn a_restart_reads_the_saved_layout_and_folds_in_later_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.duckdb");
        let layouts = crate::layouts_dir(&path);
        let file = layout::path_of(&layouts, P);
        let store = DuckDbStore::open(&path).expect("open");
        let a = store.analytics();
        ingest(
            a,
            vec![
                event("1", "view", "ann", 0),
                event("2", "buy", "ann", 1000),
                event("3", "view", "bob", 2000),
                event("4", "view", "cat", 3000),
                event("5", "buy", "cat", DAY + 5),
                event("a", "view", "anon-1", 3500),
            ],
        );
        let first = answers(a);
        store.close().expect("close");
        assert!(file.exists(), "closing saves the layout");
        let older = std::fs::read(&file).expect("layout");

        let store = DuckDbStore::open(&path).expect("reopen");
        let a = store.analytics();
        assert_eq!(answers(a), first, "read back from the layout");
        // Resent events are still known; new people and events join.
        assert_eq!(
            ingest(a, vec![event("2", "buy", "ann", 1000)]).duplicates,
            1
        );
        // New people, a property set and an anonymous visitor identified:
        // person rows and links written after the layout.
        let mut set = event("9", "view", "ann", 5000);
        set.set = Some(r#"{"plan":"pro"}"#.into());
        let mut identify = event("b", "buy", "erin", 6000);
        identify.merge_with = Some("anon-1".into());
        ingest(
            a,
            vec![
                event("6", "buy", "bob", 2500),
                event("7", "view", "dan", 4000),
                event("8", "buy", "dan", 4100),
                set,
                identify,
            ],
        );
        let second = answers(a);
        assert_ne!(second, first);
        assert!(second.contains(r#"\"plan\":\"pro\""#), "{second}");
        assert!(second.contains(r#"["anon-1", "erin"]"#), "{second}");
        store.close().expect("close");

        // As after a crash: the layout from before the last events, which
        // the database still holds, so it is used.
        std::fs::write(&file, &older).expect("older layout");
        let usable = |why: &str| {
            let conn = Connection::open(&path).expect("open the file");
            let used = saved_layout(&conn, &layouts, P).is_some();
            drop(conn);
            assert!(used, "{why}");
        };
        usable("an older layout still matches its events");
        let store = DuckDbStore::open(&path).expect("reopen");
        let a = store.analytics();
        assert_eq!(answers(a), second, "the later events folded in");
        assert_eq!(
            ingest(a, vec![event("7", "view", "dan", 4000)]).duplicates,
            1
        );
        assert_eq!(a.delete_person(P, "bob").expect("delete"), Some(2));
        let third = answers(a);
        store.close().expect("close");

        // A layout that holds events the database no longer has.
        usable("the close saved the deletion");
        std::fs::write(&file, &older).expect("older layout");
        let conn = Connection::open(&path).expect("open the file");
        assert!(
            saved_layout(&conn, &layouts, P).is_none(),
            "bob's events are gone"
        );
        drop(conn);
        let store = DuckDbStore::open(&path).expect("reopen");
        assert_eq!(answers(store.analytics()), third, "rebuilt: bob is gone");
        store.close().expect("close");

        // A damaged one.
        let mut bad = std::fs::read(&file).expect("layout");
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        std::fs::write(&file, &bad).expect("damaged");
        let store = DuckDbStore::open(&path).expect("reopen");
        assert_eq!(answers(store.analytics()), third, "rebuilt from the events");
        store.close().expect("close");
    }
}

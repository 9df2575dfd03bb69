//! Product analytics on ClickHouse. Nothing is kept in memory between
//! requests, so any number of liveops nodes can share one ClickHouse:
//!
//! - ingest goes through a writer thread that takes every request waiting
//!   and stores them with one insert per table, answering once ClickHouse
//!   has the rows. One query per project finds which of the batch's ids
//!   are stored already (within the batch's time range) and the persons of
//!   the distinct ids the rules need (see [`Linked`]); they are changed by
//!   the same rules as on DuckDB and written as new versions (the latest
//!   wins, as on DuckDB). A view fills the id table from the events insert
//!   itself;
//! - a behavioural query that looks at person properties or distinct ids
//!   reads the persons and, grouped per distinct id and name, the events it
//!   needs (its range, its names), lays them out per person as the DuckDB
//!   store keeps them, and runs the same query code; one that only counts
//!   persons has ClickHouse group the events per distinct id, join them to
//!   their persons and group them per person (per bucket and name, when
//!   the query looks only at buckets), and runs the same code on that;
//!   active users come back as a mask of active days per person, which
//!   the core's kernel counts;
//! - trends read the events of their range and apply the filters and
//!   breakdowns with the core's definitions.
//!
//! Versions are milliseconds since the epoch, kept rising by each writer.
//! Two nodes changing the same person in the same millisecond is a race
//! the later read settles arbitrarily.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use liveops_core::analytics::Interval;
use liveops_core::analytics::active::{ActiveUsers, Activity};
use liveops_core::analytics::event::Event;
use liveops_core::analytics::math::{self, SeriesMath};
use liveops_core::analytics::web::{self, PageView};
use serde::{Deserialize, Serialize};

use super::ClickHouse;
use super::client::quote;
use crate::analytics::persons::{PersonChanges, Persons};
use crate::analytics::writer::{Commit, Queue};
use crate::analytics::{
    ActiveQuery, ActiveSeries, Analytics, Ingested, Job, MAX_BREAKDOWN_LIMIT, Need, OTHER_VALUE,
    Project, ProjectStats, PropertyRow, RowsQuery, Source, StoredEvent, TrendPoint, TrendSeries,
    TrendsQuery, new_id, page_view, property_text, shared_queries,
};
use crate::{Result, TelemetryError};

/// Who sent an event, for questions that group by person: persons by
/// number, unlinked distinct ids by text. Only equality matters, as with
/// DuckDB's person ids.
fn who(p: &Project, distinct_id: &str) -> String {
    match p.persons.did(distinct_id) {
        Some(d) => format!("person {}", p.persons.person_of(d)),
        None => format!("id {distinct_id}"),
    }
}

/// Analytics over a ClickHouse installation.
pub struct ClickHouseAnalytics {
    ch: Arc<ClickHouse>,
    queue: Queue,
    linked: Arc<Mutex<Linked>>,
}

/// Distinct ids this node has stored as linked to a person, so that a
/// round whose events only name such ids and set nothing reads no persons:
/// an event is stored by its distinct id, and queries find the person
/// through the links, whoever merged what meanwhile.
///
/// Per node, and bounded: forgotten every minute and when it holds
/// [`Linked::MOST`] ids, and at once on a deletion made on this node. A
/// deletion made on another node can be missed for up to that minute;
/// events of the deleted ids stored meanwhile belong to nobody until the
/// next event after it makes the id a new person, who then owns them.
#[derive(Debug, Default)]
struct Linked {
    /// Distinct ids by project.
    ids: HashMap<String, HashSet<String>>,
    /// How many ids `ids` holds.
    held: usize,
    since: Option<std::time::Instant>,
}

impl Linked {
    const MOST: usize = 200_000;
    const FOR: std::time::Duration = std::time::Duration::from_secs(60);

    fn expire(&mut self) {
        if self.since.is_none_or(|t| t.elapsed() > Self::FOR) || self.held > Self::MOST {
            self.forget();
            self.since = Some(std::time::Instant::now());
        }
    }

    fn contains(&self, project: &str, did: &str) -> bool {
        self.ids.get(project).is_some_and(|ids| ids.contains(did))
    }

    fn add(&mut self, project: &str, did: &str) {
        if !self.contains(project, did) {
            self.ids
                .entry(project.to_owned())
                .or_default()
                .insert(did.to_owned());
            self.held += 1;
        }
    }

    fn forget(&mut self) {
        self.ids.clear();
        self.held = 0;
    }
}

impl std::fmt::Debug for ClickHouseAnalytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseAnalytics")
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct EventRow<'a> {
    project_id: &'a str,
    uuid: &'a str,
    event: &'a str,
    distinct_id: &'a str,
    ts: i64,
    properties: &'a str,
    inserted_at: i64,
}

#[derive(Serialize)]
struct PersonRow {
    project_id: String,
    person_id: String,
    properties: String,
    created_at: i64,
    version: i64,
    deleted: u8,
}

#[derive(Serialize)]
struct LinkRow {
    project_id: String,
    distinct_id: String,
    person_id: String,
    version: i64,
}

// Aliases differ from column names: ClickHouse would read a column name
// inside an aggregate as the alias and refuse the cycle.
#[derive(Deserialize)]
struct StoredPerson {
    person_id: String,
    #[serde(rename = "p_properties")]
    properties: String,
    #[serde(rename = "p_deleted")]
    deleted: u8,
    #[serde(rename = "p_created")]
    created_at: i64,
}

#[derive(Deserialize)]
struct Link {
    distinct_id: String,
    #[serde(rename = "owner")]
    person_id: String,
}

/// An event as read back.
#[derive(Deserialize)]
struct StoredRow {
    uuid: String,
    event: String,
    distinct_id: String,
    ts: i64,
    properties: String,
}

impl From<StoredRow> for StoredEvent {
    fn from(r: StoredRow) -> StoredEvent {
        StoredEvent {
            uuid: r.uuid,
            event: r.event,
            distinct_id: r.distinct_id,
            at_ms: r.ts,
            properties: r.properties,
        }
    }
}

/// The one number a `SELECT count() AS n …` answers.
fn count(client: &super::Client, sql: &str) -> Result<u64> {
    #[derive(Deserialize)]
    struct N {
        n: u64,
    }
    Ok(client.rows::<N>(sql)?.first().map_or(0, |n| n.n))
}

/// A list of strings as a ClickHouse tuple literal for `IN`.
fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let quoted: Vec<String> = items.into_iter().map(|s| quote(s.as_ref())).collect();
    if quoted.is_empty() {
        // `IN ()` is not valid; nothing equals NULL.
        "(NULL)".into()
    } else {
        format!("({})", quoted.join(", "))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The SQL that reads a project's live persons, oldest first.
fn persons_sql(project: &str, only: Option<&[String]>) -> String {
    let only = only.map_or(String::new(), |ids| {
        format!(" AND person_id IN {}", list(ids))
    });
    format!(
        "SELECT person_id, argMax(properties, version) AS p_properties, \
         argMax(deleted, version) AS p_deleted, min(created_at) AS p_created \
         FROM persons WHERE project_id = {}{only} GROUP BY person_id \
         ORDER BY p_created, person_id",
        quote(project)
    )
}

/// The SQL that reads which person each distinct id belongs to now.
fn links_sql(project: &str, filter: &str) -> String {
    format!(
        "SELECT distinct_id, argMax(person_id, version) AS owner FROM person_ids \
         WHERE project_id = {}{filter} GROUP BY distinct_id",
        quote(project)
    )
}

/// How long a deletion may take to be applied.
const MUTATION_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until the server has applied every deletion in the database.
fn wait_for_mutations(shard: &super::Client) -> Result<()> {
    let sql = format!(
        "SELECT count() AS n FROM system.mutations WHERE database = {} AND is_done = 0",
        quote(shard.endpoint().database())
    );
    let start = std::time::Instant::now();
    loop {
        if count(shard, &sql)? == 0 {
            return Ok(());
        }
        if start.elapsed() > MUTATION_WAIT {
            return Err(TelemetryError::ClickHouse(
                "ClickHouse has not finished deleting the person's rows yet; they will go".into(),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl ClickHouseAnalytics {
    /// Starts the writer; the schema must already be in place.
    pub fn open(ch: Arc<ClickHouse>) -> Result<ClickHouseAnalytics> {
        let linked = Arc::new(Mutex::new(Linked::default()));
        let queue = Queue::start(Writer {
            ch: ch.clone(),
            version: 0,
            linked: linked.clone(),
        })?;
        Ok(ClickHouseAnalytics { ch, queue, linked })
    }

    /// Stops the writer after it has stored everything queued.
    pub fn close(&self) {
        self.queue.close();
    }

    /// Reads `project`'s live persons and links into `p`; false when it has
    /// no persons at all.
    fn load_persons(&self, project: &str, p: &mut Project) -> Result<bool> {
        let client = self.ch.reader();
        let mut any = false;
        client.each_row(&persons_sql(project, None), |r: StoredPerson| {
            any = true;
            if r.deleted == 0 {
                p.persons
                    .load_person(r.person_id, r.properties, r.created_at);
            }
            Ok(())
        })?;
        client.each_row(&links_sql(project, ""), |l: Link| {
            p.persons.load_link(&l.distinct_id, &l.person_id);
            Ok(())
        })?;
        Ok(any)
    }

    /// Lays out, for a query that only counts persons by their events, the
    /// persons with events `need` names: ClickHouse joins each event to
    /// its person and groups them, so neither the persons' properties nor
    /// their distinct ids leave it. Each person is one distinct id named
    /// by the person's id. Names come as their place in `need.names`
    /// (from 1) when it lists them.
    fn read_counting<T>(
        &self,
        project: &str,
        need: &Need,
        f: impl FnOnce(&Project) -> T,
    ) -> Result<Option<T>> {
        #[derive(Deserialize)]
        struct Row {
            person: String,
            times: Vec<i64>,
            #[serde(default)]
            places: Vec<usize>,
            #[serde(default)]
            names: Vec<String>,
        }
        let p = quote(project);
        let listed = !need.names.is_empty();
        // Listed names come back as their place in the list.
        let (names_filter, name, alias) = if listed {
            let quoted: Vec<String> = need.names.iter().map(|n| quote(n)).collect();
            (
                format!(" AND event IN {}", list(&need.names)),
                format!("indexOf([{}], event)", quoted.join(", ")),
                "places",
            )
        } else {
            (String::new(), "event".to_owned(), "names")
        };
        let cluster = matches!(self.ch.layout, super::Layout::Cluster(_));
        let links = format!(
            "{}ALL INNER JOIN (SELECT distinct_id, argMax(person_id, version) AS person \
             FROM person_ids WHERE project_id = {p} GROUP BY distinct_id) AS l USING distinct_id",
            if cluster { "GLOBAL " } else { "" },
        );
        let range = Self::range(need.from, need.to);
        let bucket = need.grain.and_then(bucket_sql);
        let sql = match &bucket {
            // Each distinct id's buckets and names, once each, before the
            // join: far fewer rows than events meet the persons.
            // Then as two arrays per distinct id, so the join meets one row
            // per distinct id.
            Some(bucket) => format!(
                "SELECT person, groupArrayArray(bs) AS times, groupArrayArray(ns) AS {alias} FROM \
                 (SELECT distinct_id, groupArray(b) AS bs, groupArray(n) AS ns FROM \
                 (SELECT distinct_id, {bucket} AS b, {name} AS n FROM events \
                 WHERE project_id = {p}{range}{names_filter} GROUP BY distinct_id, b, n) \
                 GROUP BY distinct_id) AS e {links} GROUP BY person"
            ),
            // Each distinct id's events as two arrays before the join, so
            // the join meets one row per distinct id, not per event.
            None => format!(
                "SELECT person, groupArrayArray(t) AS times, groupArrayArray(n) AS {alias} FROM \
                 (SELECT distinct_id, groupArray(ts) AS t, groupArray({name}) AS n FROM events \
                 WHERE project_id = {p}{range}{names_filter} GROUP BY distinct_id) \
                 AS e {links} GROUP BY person"
            ),
        };
        // Buckets come back as their numbers; they go in at their start.
        let grain = need.grain.filter(|_| bucket.is_some());
        let mut out = Project::default();
        let ids: Vec<u32> = need.names.iter().map(|n| out.names.intern(n)).collect();
        let mut any = false;
        self.ch.reader().each_row(&sql, |r: Row| {
            any = true;
            out.persons.load_person(r.person.clone(), "{}".into(), 0);
            let Some(d) = out.persons.load_link(&r.person, &r.person) else {
                return Ok(());
            };
            let mut times = r.times;
            if let Some(interval) = grain {
                for t in &mut times {
                    *t = interval.bucket_start(*t);
                }
            }
            if listed {
                for (ts, place) in times.into_iter().zip(r.places) {
                    // `indexOf` counts from 1; 0 cannot come back, since
                    // only the listed names are read.
                    if let Some(&n) = place.checked_sub(1).and_then(|i| ids.get(i)) {
                        out.cols.push(d, ts, n);
                    }
                }
            } else {
                for (ts, name) in times.into_iter().zip(r.names) {
                    let n = out.names.intern(&name);
                    out.cols.push(d, ts, n);
                }
            }
            Ok(())
        })?;
        // No events in range: still an answer (of zeros), unless the
        // project has no persons at all, as the full read says.
        if !any
            && count(
                self.ch.reader(),
                &format!("SELECT count() AS n FROM persons WHERE project_id = {p}"),
            )? == 0
        {
            return Ok(None);
        }
        out.ready();
        Ok(Some(f(&out)))
    }

    /// DAU, WAU and MAU with ClickHouse doing the grouping: each person's
    /// active days, from the 29 days before the first on, come back as the
    /// bits of one number, grouped by that number, and the core's kernel
    /// counts the windows from them. `None` when the days do not fit in
    /// 64 bits; the layout path then answers.
    fn active_by_masks(&self, project: &str, q: &ActiveQuery) -> Result<Option<ActiveSeries>> {
        const DAY_MS: i64 = 86_400_000;
        let width = q.days as i64 + 29;
        if width > 64 {
            return Ok(None);
        }
        let base_day = q.from_day.saturating_sub(29);
        let from = base_day.saturating_mul(DAY_MS);
        let to = (q.from_day.saturating_add(q.days as i64)).saturating_mul(DAY_MS);
        #[derive(Deserialize)]
        struct Row {
            m: u64,
            n: u64,
        }
        let p = quote(project);
        let names = if q.events.is_empty() {
            String::new()
        } else {
            format!(" AND event IN {}", list(&q.events))
        };
        let cluster = matches!(self.ch.layout, super::Layout::Cluster(_));
        let sql = format!(
            "SELECT m, count() AS n FROM (SELECT person, groupBitOr(dm) AS m FROM \
             (SELECT distinct_id, groupBitOr(bitShiftLeft(toUInt64(1), \
             toUInt8(intDiv(ts - {from}, {DAY_MS})))) AS dm FROM events \
             WHERE project_id = {p} AND ts >= {from} AND ts < {to}{names} GROUP BY distinct_id) AS e \
             {}ALL INNER JOIN (SELECT distinct_id, argMax(person_id, version) AS person \
             FROM person_ids WHERE project_id = {p} GROUP BY distinct_id) AS l USING distinct_id \
             GROUP BY person) GROUP BY m",
            if cluster { "GLOBAL " } else { "" },
        );
        let kernel = ActiveUsers {
            activity: Activity::Any,
            first_day: q.from_day,
            days: q.days,
        };
        let mut tally = kernel.tally();
        let mut ts = Vec::with_capacity(64);
        self.ch.reader().each_row(&sql, |r: Row| {
            ts.clear();
            ts.extend(
                (0..width)
                    .filter(|b| (r.m >> b) & 1 == 1)
                    .map(|b| (base_day + b).saturating_mul(DAY_MS)),
            );
            // Any activity counts (the names were filtered in SQL).
            let names = &[0u32; 64][..ts.len()];
            for _ in 0..r.n {
                kernel.add(&ts, names, &mut tally);
            }
            Ok(())
        })?;
        let counts = tally.finish();
        Ok(Some(ActiveSeries {
            days: (0..width - 29)
                .map(|d| (q.from_day + d).saturating_mul(DAY_MS))
                .collect(),
            dau: counts.dau,
            wau: counts.wau,
            mau: counts.mau,
        }))
    }

    /// The condition on `ts` for `[from, to)`, open ends left out.
    fn range(from: i64, to: i64) -> String {
        let mut out = String::new();
        if from > i64::MIN {
            out.push_str(&format!(" AND ts >= {from}"));
        }
        if to < i64::MAX {
            out.push_str(&format!(" AND ts < {to}"));
        }
        out
    }
}

impl Source for ClickHouseAnalytics {
    fn read<T>(
        &self,
        project: &str,
        need: &Need,
        f: impl FnOnce(&Project) -> T,
    ) -> Result<Option<T>> {
        if !need.detail && !need.persons_only {
            return self.read_counting(project, need, f);
        }
        let mut p = Project::default();
        if !self.load_persons(project, &mut p)? {
            return Ok(None);
        }
        if !need.persons_only {
            let names = if need.names.is_empty() {
                String::new()
            } else {
                format!(" AND event IN {}", list(&need.names))
            };
            #[derive(Deserialize)]
            struct Run {
                distinct_id: String,
                event: String,
                #[serde(rename = "times")]
                ts: Vec<i64>,
            }
            let sql = format!(
                "SELECT distinct_id, event, groupArray(ts) AS times FROM events \
                 WHERE project_id = {}{}{names} GROUP BY distinct_id, event",
                quote(project),
                Self::range(need.from, need.to)
            );
            self.ch.reader().each_row(&sql, |r: Run| {
                let Some(d) = p.persons.did(&r.distinct_id) else {
                    return Ok(());
                };
                let n = p.names.intern(&r.event);
                for ts in r.ts {
                    p.cols.push(d, ts, n);
                }
                Ok(())
            })?;
        }
        p.ready();
        Ok(Some(f(&p)))
    }

    fn property_values(
        &self,
        project: &str,
        names: &[String],
        from: i64,
        to: i64,
        key: &str,
    ) -> Result<Vec<(String, i64, Option<String>)>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        #[derive(Deserialize)]
        struct Row {
            distinct_id: String,
            ts: i64,
            properties: String,
        }
        let sql = format!(
            "SELECT distinct_id, ts, properties FROM events WHERE project_id = {}{} \
             AND event IN {}",
            quote(project),
            Self::range(from, to),
            list(names)
        );
        let mut out = Vec::new();
        self.ch.reader().each_row(&sql, |r: Row| {
            out.push((r.distinct_id, r.ts, property_text(&r.properties, key)));
            Ok(())
        })?;
        Ok(out)
    }
}

impl Analytics for ClickHouseAnalytics {
    fn ingest(
        &self,
        project: &str,
        events: Vec<Event>,
    ) -> futures::channel::oneshot::Receiver<Result<Ingested>> {
        self.queue.send(project, events)
    }

    fn stats(&self, project: &str) -> Result<ProjectStats> {
        #[derive(Deserialize)]
        struct Counts {
            events: u64,
            event_names: u64,
        }
        let p = quote(project);
        let client = self.ch.reader();
        let counts: Vec<Counts> = client.rows(&format!(
            "SELECT count() AS events, uniqExact(event) AS event_names FROM events \
             WHERE project_id = {p}"
        ))?;
        let persons = count(
            client,
            &format!(
                "SELECT count() AS n FROM (SELECT argMax(deleted, version) AS d FROM persons \
                 WHERE project_id = {p} GROUP BY person_id) WHERE d = 0"
            ),
        )?;
        let distinct_ids = count(
            client,
            &format!("SELECT uniqExact(distinct_id) AS n FROM person_ids WHERE project_id = {p}"),
        )?;
        let first = counts.first();
        Ok(ProjectStats {
            events: first.map_or(0, |c| c.events) as usize,
            persons: persons as usize,
            distinct_ids: distinct_ids as usize,
            event_names: first.map_or(0, |c| c.event_names) as usize,
            index_bytes: 0,
        })
    }

    fn delete_person(&self, project: &str, distinct_id: &str) -> Result<Option<u64>> {
        self.linked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forget();
        let mut p = Project::default();
        if !self.load_persons(project, &mut p)? {
            return Ok(None);
        }
        let Some(d) = p.persons.did(distinct_id) else {
            return Ok(None);
        };
        let Some((person_id, dids, _, created)) = p.persons.person(p.persons.person_of(d)) else {
            return Ok(None);
        };
        let names: Vec<String> = dids
            .iter()
            .map(|d| p.persons.did_name(*d).to_owned())
            .collect();
        let client = self.ch.client();
        let counted = count(
            client,
            &format!(
                "SELECT count() AS n FROM events WHERE project_id = {} AND distinct_id IN {}",
                quote(project),
                list(&names)
            ),
        )?;
        // A tombstone hides the person at once; the deletions below take
        // the rows themselves away as ClickHouse applies them.
        client.insert(
            "persons",
            &[PersonRow {
                project_id: project.to_owned(),
                person_id: person_id.to_string(),
                properties: "{}".into(),
                created_at: created,
                version: now_ms().max(1),
                deleted: 1,
            }],
        )?;
        let layout = &self.ch.layout;
        for shard in &self.ch.shards {
            for (table, condition) in [
                (
                    &super::schema::EVENTS,
                    format!("distinct_id IN {}", list(&names)),
                ),
                (
                    &super::schema::PERSON_IDS,
                    format!("distinct_id IN {}", list(&names)),
                ),
                (
                    &super::schema::PERSONS,
                    format!("person_id = {}", quote(&person_id.text())),
                ),
            ] {
                shard.execute(&format!(
                    "ALTER TABLE {} DELETE WHERE project_id = {} AND {condition}",
                    table.storage_name(layout),
                    quote(project)
                ))?;
            }
        }
        // The deletion answers once it is done, as on DuckDB: ClickHouse
        // applies it in the background, so wait for that.
        for shard in &self.ch.shards {
            wait_for_mutations(shard)?;
        }
        Ok(Some(counted))
    }

    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64> {
        // Only whole days go: count what they hold first.
        let day = cutoff_ms.div_euclid(86_400_000) * 86_400_000;
        let n = count(
            self.ch.client(),
            &format!(
                "SELECT count() AS n FROM events WHERE project_id = {} AND ts < {day}",
                quote(project)
            ),
        )?;
        self.ch
            .drop_before(super::Kind::Events, project, cutoff_ms)?;
        Ok(n)
    }

    fn export_parquet(&self, project: &str, dest: &Path) -> Result<u64> {
        // ClickHouse 18.16 writes no Parquet: the rows go through an
        // in-memory DuckDB and out with the embedded store's own export.
        let conn = duckdb::Connection::open_in_memory()?;
        conn.execute_batch(crate::analytics::duck::SCHEMA)?;
        {
            let mut app = conn.appender("analytics_events")?;
            self.ch.client().each_row(
                &format!(
                    "SELECT uuid, event, distinct_id, ts, properties FROM events \
                     WHERE project_id = {}",
                    quote(project)
                ),
                |r: StoredRow| {
                    app.append_row(duckdb::params![
                        project,
                        r.uuid,
                        r.event,
                        r.distinct_id,
                        r.ts,
                        r.properties,
                        0i64
                    ])?;
                    Ok(())
                },
            )?;
            app.flush()?;
            let mut app = conn.appender("analytics_person_ids")?;
            self.ch
                .client()
                .each_row(&links_sql(project, ""), |l: Link| {
                    app.append_row(duckdb::params![project, l.distinct_id, l.person_id, 0i64])?;
                    Ok(())
                })?;
            app.flush()?;
        }
        crate::analytics::duck::export(&conn, project, dest)
    }

    fn trends(&self, project: &str, q: &TrendsQuery) -> Result<Vec<TrendSeries>> {
        let mut p = Project::default();
        self.load_persons(project, &mut p)?;
        let math = q.math.property();
        let needs_props = !q.filters.is_empty() || q.breakdown.is_some() || math.is_some();
        let event = q
            .event
            .as_ref()
            .map_or(String::new(), |e| format!(" AND event = {}", quote(e)));
        let sql = format!(
            "SELECT distinct_id, ts, {} AS props FROM events WHERE project_id = {}{}{event}",
            if needs_props { "properties" } else { "''" },
            quote(project),
            Self::range(q.from_ms, q.to_ms)
        );
        #[derive(Deserialize)]
        struct Row {
            distinct_id: String,
            ts: i64,
            #[serde(rename = "props")]
            properties: String,
        }
        // (value, bucket) → events, and people with the numbers their
        // events gave; people by person, or by distinct id for events
        // nobody is linked to.
        type Who = (bool, u32, String);
        let mut cells: HashMap<(Option<String>, i64), Tally<Who>> = HashMap::new();
        let mut per_value: HashMap<String, u64> = HashMap::new();
        self.ch.reader().each_row(&sql, |r: Row| {
            if !q.filters.iter().all(|f| {
                f.condition
                    .test(property_text(&r.properties, &f.key).as_deref())
            }) {
                return Ok(());
            }
            let value = q
                .breakdown
                .as_ref()
                .and_then(|k| property_text(&r.properties, k));
            if let Some(v) = &value {
                *per_value.entry(v.clone()).or_default() += 1;
            }
            let who: Who = match p.persons.did(&r.distinct_id) {
                Some(d) => (true, p.persons.person_of(d), String::new()),
                None => (false, 0, r.distinct_id),
            };
            if let Some(m) = &q.persons {
                let id = who.0.then(|| p.persons.person(who.1)).flatten();
                let id = id.map(|v| v.0.text());
                let name = match &id {
                    Some(v) => v.as_str(),
                    None if who.0 => "",
                    None => who.2.as_str(),
                };
                if !m.contains(name) {
                    return Ok(());
                }
            }
            let number = math.and_then(|m| {
                property_text(&r.properties, &m.property).and_then(|t| math::number(&t))
            });
            let cell = cells.entry((value, q.interval.bucket(r.ts))).or_default();
            cell.events += 1;
            let numbers = cell.people.entry(who).or_default();
            numbers.extend(number);
            Ok(())
        })?;
        Ok(trend_series(q, cells, per_value))
    }

    fn page_views(&self, project: &str, from_ms: i64, to_ms: i64) -> Result<Vec<PageView>> {
        let mut p = Project::default();
        self.load_persons(project, &mut p)?;
        let sql = format!(
            "SELECT distinct_id, ts, properties FROM events WHERE project_id = {} AND event = {}{}",
            quote(project),
            quote(web::PAGEVIEW),
            Self::range(from_ms, to_ms)
        );
        #[derive(Deserialize)]
        struct Row {
            distinct_id: String,
            ts: i64,
            properties: String,
        }
        let mut out = Vec::new();
        self.ch.reader().each_row(&sql, |r: Row| {
            out.push(page_view(who(&p, &r.distinct_id), r.ts, &r.properties));
            Ok(())
        })?;
        Ok(out)
    }

    fn property_rows(&self, project: &str, q: &RowsQuery) -> Result<Vec<PropertyRow>> {
        let mut any: Vec<String> = Vec::new();
        if !q.names.is_empty() {
            let names: Vec<String> = q.names.iter().map(|n| quote(n)).collect();
            any.push(format!("event IN ({})", names.join(", ")));
        }
        for needle in q.needles() {
            any.push(format!("position(properties, {}) > 0", quote(&needle)));
        }
        if any.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = Project::default();
        self.load_persons(project, &mut p)?;
        let sql = format!(
            "SELECT distinct_id, ts, event, properties FROM events WHERE project_id = {}{} \
             AND ({}) ORDER BY ts",
            quote(project),
            Self::range(q.from_ms, q.to_ms),
            any.join(" OR ")
        );
        #[derive(Deserialize)]
        struct Row {
            distinct_id: String,
            ts: i64,
            event: String,
            properties: String,
        }
        let mut out = Vec::new();
        self.ch.reader().each_row(&sql, |r: Row| {
            let who = who(&p, &r.distinct_id);
            out.extend(q.row((who, r.distinct_id), r.ts, r.event, &r.properties));
            Ok(())
        })?;
        Ok(out)
    }

    fn person_events(
        &self,
        project: &str,
        distinct_ids: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        if distinct_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<StoredRow> = self.ch.reader().rows(&format!(
            "SELECT uuid, event, distinct_id, ts, properties FROM events \
             WHERE project_id = {} AND distinct_id IN {} ORDER BY ts DESC LIMIT {limit}",
            quote(project),
            list(distinct_ids)
        ))?;
        Ok(rows.into_iter().map(StoredEvent::from).collect())
    }

    fn event_names(&self, project: &str) -> Result<Vec<(String, u64)>> {
        #[derive(Deserialize)]
        struct Row {
            event: String,
            n: u64,
        }
        let rows: Vec<Row> = self.ch.reader().rows(&format!(
            "SELECT event, count() AS n FROM events WHERE project_id = {} GROUP BY event \
             ORDER BY n DESC, event",
            quote(project)
        ))?;
        Ok(rows.into_iter().map(|r| (r.event, r.n)).collect())
    }

    fn active_users(&self, project: &str, q: &ActiveQuery) -> Result<ActiveSeries> {
        // A cohort is applied to the persons laid out in memory.
        if q.persons.is_some() {
            return crate::analytics::active_users(self, project, q);
        }
        match self.active_by_masks(project, q)? {
            Some(series) => Ok(series),
            None => crate::analytics::active_users(self, project, q),
        }
    }

    shared_queries!();
}

/// The SQL for the number of the bucket of `interval` an event's `ts`
/// falls in, as [`Interval::bucket`] counts them (floored, so times
/// before 1970 land as they do there); `None` for calendar months.
fn bucket_sql(interval: Interval) -> Option<String> {
    let day = "floor(ts / 86400000)";
    match interval {
        Interval::Hour => Some("toInt64(floor(ts / 3600000))".into()),
        Interval::Day => Some(format!("toInt64({day})")),
        // 1970-01-01 was a Thursday; the Monday before it is day -3.
        Interval::Week => Some(format!("toInt64(floor(({day} + 3) / 7))")),
        Interval::Month => None,
    }
}

/// Events and the people behind them.
/// One interval of one series: its events, and each person's numbers.
struct Tally<W> {
    events: u64,
    people: HashMap<W, Vec<f64>>,
}

impl<W> Default for Tally<W> {
    fn default() -> Self {
        Tally {
            events: 0,
            people: HashMap::new(),
        }
    }
}

impl<W: std::hash::Hash + Eq> Tally<W> {
    fn merge(&mut self, other: Tally<W>) {
        self.events += other.events;
        for (who, numbers) in other.people {
            self.people.entry(who).or_default().extend(numbers);
        }
    }

    /// The point's value under `math`, by the core's definitions.
    fn value(self, math: &SeriesMath) -> Option<f64> {
        match math {
            SeriesMath::Events => Some(self.events as f64),
            SeriesMath::Persons => Some(self.people.len() as f64),
            SeriesMath::Property(m) => match m.per_person {
                None => {
                    let mut all: Vec<f64> = self.people.into_values().flatten().collect();
                    m.aggregate.of(&mut all)
                }
                Some(outer) => {
                    let mut each: Vec<f64> = self
                        .people
                        .into_values()
                        .filter(|v| !v.is_empty())
                        .filter_map(|mut v| m.aggregate.of(&mut v))
                        .collect();
                    outer.of(&mut each)
                }
            },
        }
    }
}

/// Trend series from per-(value, bucket) tallies, in the order and shape
/// the DuckDB store gives: no value first, then values in order, then the
/// values past the limit as one series.
fn trend_series<W: std::hash::Hash + Eq + Clone>(
    q: &TrendsQuery,
    cells: HashMap<(Option<String>, i64), Tally<W>>,
    per_value: HashMap<String, u64>,
) -> Vec<TrendSeries> {
    let limit = q.breakdown_limit.clamp(1, MAX_BREAKDOWN_LIMIT);
    let mut ranked: Vec<(String, u64)> = per_value.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let top: HashSet<String> = ranked.into_iter().take(limit).map(|v| v.0).collect();
    // (shown value, other) → bucket → (events, people)
    let mut merged: HashMap<(Option<String>, bool), HashMap<i64, Tally<W>>> = HashMap::new();
    for ((value, bucket), tally) in cells {
        let key = match value {
            None => (None, false),
            Some(v) if top.contains(&v) => (Some(v), false),
            Some(_) => (Some(OTHER_VALUE.to_owned()), true),
        };
        merged
            .entry(key)
            .or_default()
            .entry(bucket)
            .or_default()
            .merge(tally);
    }
    let first = q.interval.bucket(q.from_ms);
    let last = q.interval.bucket(q.to_ms - 1);
    let empty = |interval: Interval| -> Vec<TrendPoint> {
        (first..=last)
            .map(|k| TrendPoint::empty(interval.bucket_start(k), &q.math))
            .collect()
    };
    let mut keys: Vec<(Option<String>, bool)> = merged.keys().cloned().collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut series: Vec<TrendSeries> = keys
        .into_iter()
        .map(|key| {
            let mut points = empty(q.interval);
            for (bucket, tally) in merged.remove(&key).unwrap_or_default() {
                if let Some(pt) = usize::try_from(bucket - first)
                    .ok()
                    .and_then(|i| points.get_mut(i))
                {
                    pt.events = tally.events;
                    pt.persons = tally.people.len() as u64;
                    pt.value = tally.value(&q.math);
                }
            }
            TrendSeries {
                value: key.0,
                other: key.1,
                points,
            }
        })
        .collect();
    if series.is_empty() {
        series.push(TrendSeries {
            value: None,
            other: false,
            points: empty(q.interval),
        });
    }
    series
}

/// What ClickHouse already holds of one project's batch, read in one
/// query: which of its event ids are stored, which person each of its
/// distinct ids belongs to, and those persons.
struct Known {
    uuids: HashSet<String>,
    links: Vec<Link>,
    persons: Vec<StoredPerson>,
}

impl Known {
    fn read<'a>(
        client: &super::Client,
        project: &str,
        (lo, hi): (i64, i64),
        uuids: impl Iterator<Item = &'a str>,
        dids: &[&str],
        cluster: bool,
    ) -> Result<Known> {
        // One row shape for the parts of the union: `k` says which part a
        // row is from.
        #[derive(Deserialize)]
        struct Row {
            k: u8,
            a: String,
            b: String,
            c: i64,
            d: u8,
        }
        let p = quote(project);
        // A client's retry resends an event with its time, so looking
        // within the batch's time range finds it.
        let mut sql = format!(
            "SELECT toUInt8(1) AS k, uuid AS a, '' AS b, toInt64(0) AS c, toUInt8(0) AS d \
             FROM event_ids WHERE project_id = {p} AND ts >= {lo} AND ts <= {hi} \
             AND uuid IN {}",
            list(uuids)
        );
        if !dids.is_empty() {
            let dids = list(dids);
            let owners = format!(
                "SELECT argMax(person_id, version) FROM person_ids WHERE project_id = {p} \
                 AND distinct_id IN {dids} GROUP BY distinct_id"
            );
            sql.push_str(&format!(
                " UNION ALL \
                 SELECT toUInt8(2) AS k, distinct_id AS a, argMax(person_id, version) AS b, \
                 toInt64(0) AS c, toUInt8(0) AS d FROM person_ids WHERE project_id = {p} \
                 AND distinct_id IN {dids} GROUP BY distinct_id \
                 UNION ALL \
                 SELECT toUInt8(3) AS k, person_id AS a, argMax(properties, version) AS b, \
                 min(created_at) AS c, argMax(deleted, version) AS d FROM persons \
                 WHERE project_id = {p} AND person_id {}IN ({owners}) GROUP BY person_id",
                if cluster { "GLOBAL " } else { "" },
            ));
        }
        let mut known = Known {
            uuids: HashSet::new(),
            links: Vec::new(),
            persons: Vec::new(),
        };
        client.each_row(&sql, |r: Row| {
            match r.k {
                1 => {
                    known.uuids.insert(r.a);
                }
                2 => known.links.push(Link {
                    distinct_id: r.a,
                    person_id: r.b,
                }),
                _ => known.persons.push(StoredPerson {
                    person_id: r.a,
                    properties: r.b,
                    deleted: r.d,
                    created_at: r.c,
                }),
            }
            Ok(())
        })?;
        Ok(known)
    }
}

struct Writer {
    ch: Arc<ClickHouse>,
    /// The last version written; versions are milliseconds, kept rising.
    version: i64,
    linked: Arc<Mutex<Linked>>,
}

/// What one batch writes.
#[derive(Default)]
struct Batch<'a> {
    events: Vec<EventRow<'a>>,
    persons: Vec<PersonRow>,
    links: Vec<LinkRow>,
    /// (project, distinct id) that are linked once the batch is stored.
    linked: Vec<(&'a str, &'a str)>,
}

impl Commit for Writer {
    fn commit(&mut self, jobs: &mut [Job]) -> Vec<Result<Ingested>> {
        let mut counts = vec![Ingested::default(); jobs.len()];
        match self.store(jobs, &mut counts) {
            Ok(()) => counts.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::error!(error = %e, "storing analytics in ClickHouse failed");
                let msg = e.to_string();
                jobs.iter()
                    .map(|_| Err(TelemetryError::Ingest(msg.clone())))
                    .collect()
            }
        }
    }
}

impl Writer {
    fn next_version(&mut self) -> i64 {
        self.version = now_ms().max(self.version + 1);
        self.version
    }

    /// Stores every job's events with one insert per table.
    fn store(&mut self, jobs: &[Job], counts: &mut [Ingested]) -> Result<()> {
        let now = now_ms();
        let mut batch = Batch::default();
        let mut projects: Vec<&str> = jobs.iter().map(|j| j.project.as_str()).collect();
        projects.sort_unstable();
        projects.dedup();
        for project in projects {
            self.prepare(project, jobs, counts, now, &mut batch)?;
        }
        // Persons before events: a failure in between leaves people
        // without events, which a retry fills, never events nobody owns.
        let client = self.ch.client();
        client.insert("persons", &batch.persons)?;
        client.insert("person_ids", &batch.links)?;
        // The ids go into `event_ids` with the events, by the view.
        client.insert("events", &batch.events)?;
        let mut linked = self.linked.lock().unwrap_or_else(|e| e.into_inner());
        for (project, did) in batch.linked {
            linked.add(project, did);
        }
        Ok(())
    }

    /// Works out one project's rows: new events, and the persons and links
    /// they change.
    fn prepare<'a>(
        &mut self,
        project: &'a str,
        jobs: &'a [Job],
        counts: &mut [Ingested],
        now: i64,
        batch: &mut Batch<'a>,
    ) -> Result<()> {
        let client = self.ch.client().clone();
        let mine: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].project == project)
            .collect();
        let all = || mine.iter().flat_map(|&i| jobs[i].events.iter());
        let (Some(lo), Some(hi)) = (all().map(|e| e.at_ms).min(), all().map(|e| e.at_ms).max())
        else {
            return Ok(());
        };
        // The distinct ids whose persons the rules need: those of events
        // that set or merge something, and those not known to be linked.
        let lookup: HashSet<&str> = {
            let mut linked = self.linked.lock().unwrap_or_else(|e| e.into_inner());
            linked.expire();
            all()
                .filter(|e| {
                    e.set.is_some()
                        || e.set_once.is_some()
                        || e.merge_with.is_some()
                        || !linked.contains(project, &e.distinct_id)
                })
                .flat_map(|e| {
                    std::iter::once(e.distinct_id.as_str()).chain(e.merge_with.as_deref())
                })
                .collect()
        };
        let mut dids: Vec<&str> = lookup.iter().copied().collect();
        dids.sort_unstable();
        let cluster = matches!(self.ch.layout, super::Layout::Cluster(_));
        let known = Known::read(
            &client,
            project,
            (lo, hi),
            all().map(|e| e.uuid.as_str()),
            &dids,
            cluster,
        )?;
        let mut seen = known.uuids;
        let owners = known.links;
        let mut persons = Persons::default();
        for r in known.persons {
            if r.deleted == 0 {
                persons.load_person(r.person_id, r.properties, r.created_at);
            }
        }
        // Only a merge moves a person's other distinct ids; without one the
        // links of the batch's own ids are all the rules need, and the
        // second look (a scan of the links by person) is skipped.
        let merging = all().any(|e| e.merge_with.is_some());
        let mut owner_ids: Vec<String> = owners.iter().map(|l| l.person_id.clone()).collect();
        owner_ids.sort_unstable();
        owner_ids.dedup();
        if !merging {
            for l in &owners {
                persons.load_link(&l.distinct_id, &l.person_id);
            }
        } else if !owner_ids.is_empty() {
            let filter = format!(
                " AND distinct_id {}IN (SELECT distinct_id FROM person_ids WHERE project_id = {} \
                 AND person_id IN {})",
                if cluster { "GLOBAL " } else { "" },
                quote(project),
                list(&owner_ids)
            );
            for l in client.rows::<Link>(&links_sql(project, &filter))? {
                persons.load_link(&l.distinct_id, &l.person_id);
            }
        }
        let mut changes = PersonChanges::default();
        for &i in &mine {
            for e in &jobs[i].events {
                if !seen.insert(e.uuid.clone()) {
                    counts[i].duplicates += 1;
                    continue;
                }
                if lookup.contains(e.distinct_id.as_str()) {
                    let d = persons.resolve(&e.distinct_id, now, &mut new_id, &mut changes);
                    if let Some(other) = &e.merge_with {
                        persons.merge(d, other, &mut changes);
                        batch.linked.push((project, other));
                    }
                    let person = persons.person_of(d);
                    if let Some(set) = &e.set {
                        persons.set_props(person, set, false, &mut changes);
                    }
                    if let Some(set) = &e.set_once {
                        persons.set_props(person, set, true, &mut changes);
                    }
                    batch.linked.push((project, &e.distinct_id));
                }
                batch.events.push(EventRow {
                    project_id: project,
                    uuid: &e.uuid,
                    event: &e.name,
                    distinct_id: &e.distinct_id,
                    ts: e.at_ms,
                    properties: &e.properties,
                    inserted_at: now,
                });
                counts[i].stored += 1;
            }
        }
        let mut touched = changes.touched;
        touched.sort_unstable();
        touched.dedup();
        for t in touched {
            if let Some((id, _, props, created)) = persons.person(t) {
                let (id, props) = (id.to_string(), props.to_owned());
                let version = self.next_version();
                batch.persons.push(PersonRow {
                    project_id: project.to_owned(),
                    person_id: id,
                    properties: props,
                    created_at: created,
                    version,
                    deleted: 0,
                });
            }
        }
        for gone in changes.merged_away {
            let version = self.next_version();
            batch.persons.push(PersonRow {
                project_id: project.to_owned(),
                person_id: gone,
                properties: "{}".into(),
                created_at: now,
                version,
                deleted: 1,
            });
        }
        for (did, person) in changes.links {
            let version = self.next_version();
            batch.links.push(LinkRow {
                project_id: project.to_owned(),
                distinct_id: did,
                person_id: person,
                version,
            });
        }
        Ok(())
    }
}

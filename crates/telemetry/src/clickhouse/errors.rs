//! Error events on ClickHouse: the same two tables as the embedded store
//! (events, and a row per tag), shared by every node, each insert
//! answered once ClickHouse has the rows. Nothing is kept in memory.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::client::quote;
use super::schema::{ERROR_EVENTS, ERROR_TAGS};
use super::{ClickHouse, retention};
use crate::Result;
use crate::errors::{
    ErrorEvent, Errors, TagCount, dense, event_id_list, fingerprint_list, top_per_key,
};

#[derive(Debug)]
pub struct ClickHouseErrors {
    ch: Arc<ClickHouse>,
}

impl ClickHouseErrors {
    pub fn open(ch: Arc<ClickHouse>) -> ClickHouseErrors {
        ClickHouseErrors { ch }
    }
}

#[derive(Serialize, Deserialize)]
struct EventRow {
    #[serde(default)]
    project_id: String,
    event_id: String,
    fingerprint: String,
    ts: i64,
    level: String,
    release: String,
    environment: String,
    user_key: String,
    distinct_id: String,
    payload: String,
}

#[derive(Serialize)]
struct TagRow<'a> {
    project_id: &'a str,
    fingerprint: &'a str,
    event_id: &'a str,
    ts: i64,
    key: &'a str,
    value: &'a str,
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

#[derive(Deserialize)]
struct Bucket {
    b: i64,
    n: u64,
}

#[derive(Deserialize)]
struct Tagged {
    key: String,
    value: String,
    n: u64,
}

#[derive(Deserialize)]
struct StoredId {
    event_id: String,
}

#[derive(Deserialize)]
struct PerPrint {
    fingerprint: String,
    n: u64,
}

#[derive(Deserialize)]
struct AffectedRow {
    user_key: String,
    did: String,
}

#[derive(Deserialize)]
struct TagOf {
    event_id: String,
    key: String,
    value: String,
}

const COLS: &str =
    "event_id, fingerprint, ts, level, release, environment, user_key, distinct_id, payload";

impl ClickHouseErrors {
    fn count(&self, sql: &str) -> Result<u64> {
        Ok(self
            .ch
            .reader()
            .rows::<Count>(sql)?
            .first()
            .map_or(0, |c| c.n))
    }

    fn events(&self, project: &str, rows: Vec<EventRow>) -> Result<Vec<ErrorEvent>> {
        let mut out: Vec<ErrorEvent> = rows
            .into_iter()
            .map(|r| ErrorEvent {
                event_id: r.event_id,
                fingerprint: r.fingerprint,
                ts_ms: r.ts,
                level: r.level,
                release: r.release,
                environment: r.environment,
                user: r.user_key,
                distinct_id: r.distinct_id,
                tags: Vec::new(),
                payload: r.payload,
            })
            .collect();
        if out.is_empty() {
            return Ok(out);
        }
        let ids: Vec<String> = out.iter().map(|e| quote(&e.event_id)).collect();
        let tags: Vec<TagOf> = self.ch.reader().rows(&format!(
            "SELECT event_id, key, value FROM error_tags WHERE project_id = {} \
             AND event_id IN ({}) ORDER BY key",
            quote(project),
            ids.join(", ")
        ))?;
        for t in tags {
            if let Some(e) = out.iter_mut().find(|e| e.event_id == t.event_id) {
                e.tags.push((t.key, t.value));
            }
        }
        Ok(out)
    }
}

impl Errors for ClickHouseErrors {
    fn ingest(&self, project: &str, events: &[ErrorEvent]) -> Result<usize> {
        let rows: Vec<EventRow> = events
            .iter()
            .map(|e| EventRow {
                project_id: project.to_owned(),
                event_id: e.event_id.clone(),
                fingerprint: e.fingerprint.clone(),
                ts: e.ts_ms,
                level: e.level.clone(),
                release: e.release.clone(),
                environment: e.environment.clone(),
                user_key: e.user.clone(),
                distinct_id: e.distinct_id.clone(),
                payload: e.payload.clone(),
            })
            .collect();
        let tags: Vec<TagRow<'_>> = events
            .iter()
            .flat_map(|e| {
                e.tags.iter().map(move |(k, v)| TagRow {
                    project_id: project,
                    fingerprint: &e.fingerprint,
                    event_id: &e.event_id,
                    ts: e.ts_ms,
                    key: k,
                    value: v,
                })
            })
            .collect();
        // Tags first: an event is only read once its own row is there, so a
        // failure between the two leaves no event without its tags.
        self.ch.client().insert(ERROR_TAGS.name, &tags)?;
        self.ch.client().insert(ERROR_EVENTS.name, &rows)?;
        Ok(events.len())
    }

    fn latest(
        &self,
        project: &str,
        fingerprints: &[String],
        limit: usize,
    ) -> Result<Vec<ErrorEvent>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<EventRow> = self.ch.reader().rows(&format!(
            "SELECT {COLS} FROM error_events WHERE project_id = {} AND fingerprint IN ({}) \
             ORDER BY ts DESC, event_id LIMIT {limit}",
            quote(project),
            fingerprint_list(fingerprints)?
        ))?;
        self.events(project, rows)
    }

    fn event(&self, project: &str, event_id: &str) -> Result<Option<ErrorEvent>> {
        let rows: Vec<EventRow> = self.ch.reader().rows(&format!(
            "SELECT {COLS} FROM error_events WHERE project_id = {} AND event_id = {} LIMIT 1",
            quote(project),
            quote(event_id)
        ))?;
        Ok(self.events(project, rows)?.pop())
    }

    fn stored(&self, project: &str, event_ids: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in event_ids.chunks(1000) {
            let rows: Vec<StoredId> = self.ch.reader().rows(&format!(
                "SELECT DISTINCT event_id FROM error_events WHERE project_id = {} \
                 AND event_id IN ({})",
                quote(project),
                event_id_list(chunk)?
            ))?;
            out.extend(rows.into_iter().map(|r| r.event_id));
        }
        Ok(out)
    }

    fn users(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64> {
        if fingerprints.is_empty() {
            return Ok(0);
        }
        self.count(&format!(
            "SELECT toUInt64(uniqExact(user_key)) AS n FROM error_events WHERE project_id = {} \
             AND fingerprint IN ({}) AND ts >= {since_ms} AND user_key != ''",
            quote(project),
            fingerprint_list(fingerprints)?
        ))
    }

    fn users_each(&self, project: &str, fingerprints: &[String]) -> Result<Vec<(String, u64)>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<PerPrint> = self.ch.reader().rows(&format!(
            "SELECT fingerprint, toUInt64(uniqExact(user_key)) AS n FROM error_events \
             WHERE project_id = {} AND fingerprint IN ({}) AND user_key != '' \
             GROUP BY fingerprint",
            quote(project),
            fingerprint_list(fingerprints)?
        ))?;
        Ok(rows.into_iter().map(|r| (r.fingerprint, r.n)).collect())
    }

    fn affected(
        &self,
        project: &str,
        fingerprints: &[String],
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        if fingerprints.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<AffectedRow> = self.ch.reader().rows(&format!(
            "SELECT user_key, did FROM (SELECT user_key, max(distinct_id) AS did, \
             min(ts) AS first FROM error_events WHERE project_id = {} AND fingerprint IN ({}) \
             AND user_key != '' GROUP BY user_key ORDER BY first, user_key LIMIT {limit})",
            quote(project),
            fingerprint_list(fingerprints)?
        ))?;
        Ok(rows.into_iter().map(|r| (r.user_key, r.did)).collect())
    }

    fn count_since(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64> {
        if fingerprints.is_empty() {
            return Ok(0);
        }
        self.count(&format!(
            "SELECT toUInt64(count()) AS n FROM error_events WHERE project_id = {} \
             AND fingerprint IN ({}) AND ts >= {since_ms}",
            quote(project),
            fingerprint_list(fingerprints)?
        ))
    }

    fn tags(
        &self,
        project: &str,
        fingerprints: &[String],
        per_key: usize,
    ) -> Result<Vec<TagCount>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Tagged> = self.ch.reader().rows(&format!(
            "SELECT key, value, toUInt64(count()) AS n FROM error_tags WHERE project_id = {} \
             AND fingerprint IN ({}) GROUP BY key, value ORDER BY n DESC, key, value",
            quote(project),
            fingerprint_list(fingerprints)?
        ))?;
        Ok(top_per_key(
            rows.into_iter()
                .map(|r| TagCount {
                    key: r.key,
                    value: r.value,
                    events: r.n,
                })
                .collect(),
            per_key,
        ))
    }

    fn series(
        &self,
        project: &str,
        fingerprints: &[String],
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<(i64, u64)>> {
        let step = step_ms.max(1);
        if fingerprints.is_empty() {
            return Ok(dense(Vec::new(), from_ms, to_ms, step));
        }
        let rows: Vec<Bucket> = self.ch.reader().rows(&format!(
            "SELECT toInt64(intDiv(ts - {from_ms}, {step})) AS b, toUInt64(count()) AS n \
             FROM error_events WHERE project_id = {} AND fingerprint IN ({}) \
             AND ts >= {from_ms} AND ts < {to_ms} GROUP BY b",
            quote(project),
            fingerprint_list(fingerprints)?
        ))?;
        Ok(dense(
            rows.into_iter().map(|r| (r.b, r.n)).collect(),
            from_ms,
            to_ms,
            step,
        ))
    }

    fn fingerprints_tagged(&self, project: &str, key: &str, value: &str) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Print {
            fingerprint: String,
        }
        let rows: Vec<Print> = self.ch.reader().rows(&format!(
            "SELECT DISTINCT fingerprint FROM error_tags WHERE project_id = {} \
             AND key = {} AND value = {} ORDER BY fingerprint",
            quote(project),
            quote(key),
            quote(value)
        ))?;
        Ok(rows.into_iter().map(|r| r.fingerprint).collect())
    }

    fn fingerprint_people(&self, project: &str) -> Result<Vec<(String, String)>> {
        #[derive(Deserialize)]
        struct Pair {
            fingerprint: String,
            distinct_id: String,
        }
        let rows: Vec<Pair> = self.ch.reader().rows(&format!(
            "SELECT DISTINCT fingerprint, distinct_id FROM error_events WHERE project_id = {} \
             AND distinct_id != '' ORDER BY fingerprint, distinct_id",
            quote(project)
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.fingerprint, r.distinct_id))
            .collect())
    }

    /// Drops whole days, by partition, as every ClickHouse retention does.
    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64> {
        let mut n = 0;
        for table in [&ERROR_EVENTS, &ERROR_TAGS] {
            n += retention::drop_before(
                &self.ch.shards,
                &self.ch.layout,
                table,
                project,
                cutoff_ms,
            )?;
        }
        Ok(n)
    }
}

//! Error events in the embedded DuckDB file.

use duckdb::Connection;

use super::digest::Digests;
use super::{ErrorEvent, Errors, TagCount, dense, fingerprint_list, top_per_key};
use crate::Result;
use crate::duck::{DuckDbStore, in_transaction};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS error_events (
project_id VARCHAR NOT NULL, event_id VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
ts BIGINT NOT NULL, level VARCHAR NOT NULL, release VARCHAR NOT NULL,
environment VARCHAR NOT NULL, user_key VARCHAR NOT NULL, distinct_id VARCHAR NOT NULL,
payload VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS error_tags (
project_id VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, event_id VARCHAR NOT NULL,
ts BIGINT NOT NULL, key VARCHAR NOT NULL, value VARCHAR NOT NULL);
ALTER TABLE error_events ADD COLUMN IF NOT EXISTS tag_list VARCHAR DEFAULT '';
ALTER TABLE error_events ADD COLUMN IF NOT EXISTS body VARCHAR DEFAULT '' USING COMPRESSION zstd;
";

/// The payload is in `body` (compressed with zstd) since that column
/// came; in `payload` (DuckDB's choice of compression, which spent more
/// time in FSST than the rest of the intake) before it.
const COLS: &str = "event_id, fingerprint, ts, level, release, environment, user_key, \
     distinct_id, if(body = '', payload, body), tag_list";

/// A tag list as DuckDB reads it: a list of `[key, value]` lists.
const PAIRS: &str = "from_json(tag_list, '[[\"VARCHAR\"]]')";

/// Folds the tags of events stored before their list (the
/// `error_tags` rows of events whose `tag_list` is empty) into the
/// list, then empties `error_tags`: each event's tags are then in one
/// place, read with the event, and counted from its row. Runs once per
/// file, recorded in `telemetry_meta`.
pub(crate) fn fold_tags(c: &Connection) -> Result<()> {
    let done: i64 = c.query_row(
        "SELECT count(*) FROM telemetry_meta WHERE key = 'error_tags_folded'",
        [],
        |r| r.get(0),
    )?;
    if done > 0 {
        return Ok(());
    }
    in_transaction(c, || {
        c.execute_batch(
            "UPDATE error_events SET tag_list = t.list FROM \
             (SELECT project_id, event_id, fingerprint, \
              to_json(list([key, value] ORDER BY key, value))::VARCHAR AS list \
              FROM error_tags GROUP BY project_id, event_id, fingerprint) t \
             WHERE error_events.tag_list = '' AND error_events.project_id = t.project_id \
             AND error_events.event_id = t.event_id AND error_events.fingerprint = t.fingerprint; \
             DELETE FROM error_tags; \
             INSERT INTO telemetry_meta VALUES ('error_tags_folded', '1');",
        )?;
        Ok(())
    })
}

/// Events without their tags.
fn rows_of(c: &Connection, sql: &str, params: &[&dyn duckdb::ToSql]) -> Result<Vec<ErrorEvent>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(params, |r| {
        // The tags as a JSON list of pairs, so that an event is read in
        // one row (events stored before the list have had theirs folded
        // in, `fold_tags`). In key order.
        let mut tags: Vec<(String, String)> =
            serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default();
        tags.sort();
        Ok(ErrorEvent {
            event_id: r.get(0)?,
            fingerprint: r.get(1)?,
            ts_ms: r.get(2)?,
            level: r.get(3)?,
            release: r.get(4)?,
            environment: r.get(5)?,
            user: r.get(6)?,
            distinct_id: r.get(7)?,
            tags,
            payload: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// What digests of `fingerprints` are made of: each of their events, with
/// only the fields a digest counts (one scan of the table); `None` when
/// they have more than `max` events.
fn digest_rows(
    c: &Connection,
    project: &str,
    fingerprints: &[String],
    max: usize,
) -> Result<Option<Vec<ErrorEvent>>> {
    let list = fingerprint_list(fingerprints)?;
    let limit = max.saturating_add(1);
    let mut stmt = c.prepare(&format!(
        "SELECT fingerprint, user_key, ts, event_id, tag_list FROM error_events \
         WHERE project_id = ? AND fingerprint IN ({list}) LIMIT {limit}"
    ))?;
    let rows = stmt.query_map([project], |r| {
        Ok(ErrorEvent {
            fingerprint: r.get(0)?,
            user: r.get(1)?,
            ts_ms: r.get(2)?,
            event_id: r.get(3)?,
            // As `rows_of` reads them.
            tags: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
            level: String::new(),
            release: String::new(),
            environment: String::new(),
            distinct_id: String::new(),
            payload: String::new(),
        })
    })?;
    let rows = rows.collect::<Result<Vec<_>, _>>()?;
    Ok((rows.len() <= max).then_some(rows))
}

impl DuckDbStore {
    fn digests(&self) -> std::sync::MutexGuard<'_, Digests> {
        // The digests are whole after every change, so a poisoned lock
        // is still usable.
        self.error_digests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers from the fingerprints' digests, first filling those not
    /// held from the table; `None` when the digests cannot answer (a
    /// digest too big to hold, or a question they do not keep).
    fn digested<T>(
        &self,
        project: &str,
        fingerprints: &[String],
        answer: impl Fn(&mut Digests) -> Option<T>,
    ) -> Result<Option<T>> {
        {
            let mut d = self.digests();
            if let Some(v) = answer(&mut d) {
                return Ok(Some(v));
            }
            if d.missing(project, fingerprints).is_empty() {
                // Held or refused, and still no answer: not one to keep.
                return Ok(None);
            }
        }
        // Under the write lock, so that no batch is stored between the
        // table's answer and the digest's first note.
        self.writing(|c| {
            let missing = self.digests().missing(project, fingerprints);
            if !missing.is_empty() {
                let max = self.digests().max_fill();
                match digest_rows(c, project, &missing, max)? {
                    Some(rows) => self.digests().fill(project, &missing, &rows),
                    None => self.digests().refuse(project, &missing),
                }
            }
            Ok(answer(&mut self.digests()))
        })
    }
}

fn scalar(c: &Connection, sql: &str, params: &[&dyn duckdb::ToSql]) -> Result<u64> {
    let n: i64 = c.query_row(sql, params, |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Error events are written on the file's connection, whose lock also
/// keeps them out while a snapshot copies the file, and read on the
/// read connections, under the query time limit and side by side.
impl Errors for DuckDbStore {
    fn ingest(&self, project: &str, events: &[ErrorEvent]) -> Result<usize> {
        self.writing(|c| {
            let stored = in_transaction(c, || {
                let mut app = c.appender("error_events")?;
                for e in events {
                    let tag_list = serde_json::to_string(&e.tags)
                        .map_err(|x| crate::TelemetryError::Query(x.to_string()))?;
                    app.append_row(duckdb::params![
                        project,
                        e.event_id,
                        e.fingerprint,
                        e.ts_ms,
                        e.level,
                        e.release,
                        e.environment,
                        e.user,
                        e.distinct_id,
                        "",
                        tag_list,
                        e.payload
                    ])?;
                }
                app.flush()?;
                Ok(events.len())
            })?;
            self.digests().note(project, events);
            Ok(stored)
        })
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
        if limit == 1 {
            // The newest event, as its fingerprints' digests know it, read
            // by its time (which the row groups' bounds narrow) and id.
            let newest =
                self.digested(project, fingerprints, |d| d.newest(project, fingerprints))?;
            match newest {
                Some(None) => return Ok(Vec::new()),
                Some(Some((ts, id))) => {
                    let got = self.reading(|c| {
                        rows_of(
                            c,
                            &format!(
                                "SELECT {COLS} FROM error_events WHERE project_id = ? \
                                 AND ts = {ts} AND event_id = ? LIMIT 1"
                            ),
                            duckdb::params![project, id],
                        )
                    })?;
                    if !got.is_empty() {
                        return Ok(got);
                    }
                }
                None => {}
            }
        }
        let list = fingerprint_list(fingerprints)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // The newest are found without their payloads, then each is
        // read by its row: reading the payload column for a few rows
        // scattered over the table would otherwise read all of it.
        self.reading(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT rowid, event_id FROM error_events WHERE project_id = ? \
                 AND fingerprint IN ({list}) ORDER BY ts DESC, event_id LIMIT ?"
            ))?;
            let heads = stmt
                .query_map(duckdb::params![project, limit], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(heads.len());
            for (row, id) in heads {
                let mut got = rows_of(
                    c,
                    &format!("SELECT {COLS} FROM error_events WHERE rowid = ? AND event_id = ?"),
                    duckdb::params![row, id],
                )?;
                if got.is_empty() {
                    // Not where it was found: read it by its id.
                    got = rows_of(
                        c,
                        &format!(
                            "SELECT {COLS} FROM error_events \
                             WHERE project_id = ? AND event_id = ? LIMIT 1"
                        ),
                        duckdb::params![project, id],
                    )?;
                }
                out.extend(got);
            }
            Ok(out)
        })
    }

    fn event(&self, project: &str, event_id: &str) -> Result<Option<ErrorEvent>> {
        self.reading(|c| {
            Ok(rows_of(
                c,
                &format!(
                    "SELECT {COLS} FROM error_events WHERE project_id = ? AND event_id = ? LIMIT 1"
                ),
                duckdb::params![project, event_id],
            )?
            .pop())
        })
    }

    fn first_events(&self, project: &str, events: &[ErrorEvent]) {
        // Under the write lock, as a fill from the table is.
        let started = self.writing(|_| {
            self.digests().start(project, events);
            Ok(())
        });
        if let Err(e) = started {
            tracing::warn!(error = %e, "digests could not be started");
        }
    }

    fn stored(&self, project: &str, event_ids: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in event_ids.chunks(1000) {
            let list = super::event_id_list(chunk)?;
            let found = self.reading(|c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT DISTINCT event_id FROM error_events WHERE project_id = ? \
                     AND event_id IN ({list})"
                ))?;
                let ids = stmt
                    .query_map(duckdb::params![project], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ids)
            })?;
            out.extend(found);
        }
        Ok(out)
    }

    fn users(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64> {
        if fingerprints.is_empty() {
            return Ok(0);
        }
        // Digests count users over all of a fingerprint's events (as the
        // issue list and page ask); a later start is asked of the table.
        if since_ms <= 0
            && let Some(n) = self.digested(project, fingerprints, |d| {
                d.users(project, fingerprints, since_ms)
            })?
        {
            return Ok(n);
        }
        let list = fingerprint_list(fingerprints)?;
        self.reading(|c| {
            scalar(
                c,
                &format!(
                    "SELECT count(DISTINCT user_key) FROM error_events WHERE project_id = ? \
                     AND fingerprint IN ({list}) AND ts >= ? AND user_key <> ''"
                ),
                duckdb::params![project, since_ms],
            )
        })
    }

    fn users_each(&self, project: &str, fingerprints: &[String]) -> Result<Vec<(String, u64)>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let list = fingerprint_list(fingerprints)?;
        self.reading(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT fingerprint, count(DISTINCT user_key) FROM error_events \
                 WHERE project_id = ? AND fingerprint IN ({list}) AND user_key <> '' \
                 GROUP BY fingerprint"
            ))?;
            let rows = stmt.query_map(duckdb::params![project], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            Ok(rows
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|(f, n)| (f, u64::try_from(n).unwrap_or(0)))
                .collect())
        })
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
        let list = fingerprint_list(fingerprints)?;
        self.reading(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT user_key, max(distinct_id) FROM error_events \
                 WHERE project_id = ? AND fingerprint IN ({list}) AND user_key <> '' \
                 GROUP BY user_key ORDER BY min(ts), user_key LIMIT {limit}"
            ))?;
            let rows = stmt.query_map(duckdb::params![project], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn count_since(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64> {
        if fingerprints.is_empty() {
            return Ok(0);
        }
        let list = fingerprint_list(fingerprints)?;
        self.reading(|c| {
            scalar(
                c,
                &format!(
                    "SELECT count(*) FROM error_events WHERE project_id = ? \
                     AND fingerprint IN ({list}) AND ts >= ?"
                ),
                duckdb::params![project, since_ms],
            )
        })
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
        if let Some(rows) =
            self.digested(project, fingerprints, |d| d.tags(project, fingerprints))?
        {
            return Ok(top_per_key(rows, per_key));
        }
        let list = fingerprint_list(fingerprints)?;
        let rows = self.reading(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT p[1] AS key, p[2] AS value, count(*) AS n FROM \
                 (SELECT unnest({PAIRS}) AS p FROM error_events WHERE project_id = ? \
                  AND fingerprint IN ({list}) AND tag_list <> '') \
                 GROUP BY key, value ORDER BY n DESC, key, value"
            ))?;
            let rows = stmt.query_map(duckdb::params![project], |r| {
                Ok(TagCount {
                    key: r.get(0)?,
                    value: r.get(1)?,
                    events: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        Ok(top_per_key(rows, per_key))
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
        if Digests::keeps_series(from_ms, to_ms, step)
            && let Some(rows) = self.digested(project, fingerprints, |d| {
                d.series(project, fingerprints, from_ms, to_ms, step)
            })?
        {
            return Ok(dense(rows, from_ms, to_ms, step));
        }
        let list = fingerprint_list(fingerprints)?;
        let rows = self.reading(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT (ts - ?) // ? AS b, count(*) FROM error_events WHERE project_id = ? \
                 AND fingerprint IN ({list}) AND ts >= ? AND ts < ? GROUP BY b"
            ))?;
            let rows = stmt.query_map(
                duckdb::params![from_ms, step, project, from_ms, to_ms],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        Ok(dense(
            rows.into_iter()
                .map(|(b, n)| (b, u64::try_from(n).unwrap_or(0)))
                .collect(),
            from_ms,
            to_ms,
            step,
        ))
    }

    fn fingerprints_tagged(&self, project: &str, key: &str, value: &str) -> Result<Vec<String>> {
        self.reading(|c| {
            // The list test is the exact one. A value that JSON writes
            // as it is is first looked for in the text, which skips most
            // rows before any is parsed.
            let plain = |s: &str| {
                s.chars()
                    .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\')
            };
            let (text, needle) = if plain(value) {
                ("contains(tag_list, ?)", format!("\"{value}\""))
            } else {
                ("? <> ''", "-".to_owned())
            };
            let mut stmt = c.prepare(&format!(
                "SELECT DISTINCT fingerprint FROM error_events WHERE project_id = ? \
                 AND {text} AND list_contains({PAIRS}, [?, ?]) ORDER BY fingerprint"
            ))?;
            let rows =
                stmt.query_map(duckdb::params![project, needle, key, value], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
    }

    fn fingerprint_people(&self, project: &str) -> Result<Vec<(String, String)>> {
        self.reading(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT fingerprint, distinct_id FROM error_events \
                 WHERE project_id = ? AND distinct_id <> '' ORDER BY fingerprint, distinct_id",
            )?;
            let rows = stmt.query_map([project], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<(String, String)>, _>>()?)
        })
    }

    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64> {
        self.writing(|c| {
            let gone = c.execute(
                "DELETE FROM error_events WHERE project_id = ? AND ts < ?",
                duckdb::params![project, cutoff_ms],
            )? as u64;
            if gone > 0 {
                self.digests().forget(project);
            }
            Ok(gone)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::digest::DAY_MS;
    use super::*;
    use crate::TelemetryStore;

    fn event(id: &str, tags: &[(&str, &str)]) -> ErrorEvent {
        ErrorEvent {
            event_id: id.into(),
            fingerprint: "aa".into(),
            ts_ms: 5,
            level: "error".into(),
            release: "1.0".into(),
            environment: "production".into(),
            user: "u".into(),
            distinct_id: "u".into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            payload: "{}".into(),
        }
    }

    type Answers = (u64, Vec<TagCount>, Vec<(i64, u64)>, Vec<String>, u64);

    /// The page's questions about fingerprints aa and bb, then the
    /// users of aa alone, once from the digests and once from the table
    /// (with a bound that holds none).
    fn both_ways(f: &DuckDbStore) -> (Answers, Answers) {
        let fps = ["aa".to_owned(), "bb".to_owned()];
        let ask = || -> Answers {
            (
                f.users("p", &fps, 0).expect("users"),
                f.tags("p", &fps, 2).expect("tags"),
                f.series("p", &fps, 0, 4 * DAY_MS, DAY_MS).expect("series"),
                f.latest("p", &fps, 1)
                    .expect("latest")
                    .into_iter()
                    .map(|e| e.event_id)
                    .collect(),
                f.users("p", &fps[..1], 0).expect("users"),
            )
        };
        let digested = ask();
        let held = std::mem::replace(&mut *f.digests(), Digests::with_bounds(0, 0));
        let table = ask();
        *f.digests() = held;
        (digested, table)
    }

    /// Event `id` of fingerprint `fp` at `ts`, to `user`.
    fn at(id: &str, fp: &str, ts: i64, user: &str, tags: &[(&str, &str)]) -> ErrorEvent {
        ErrorEvent {
            fingerprint: fp.into(),
            ts_ms: ts,
            user: user.into(),
            ..event(id, tags)
        }
    }

    #[test]
    fn fingerprints_started_from_their_first_events_are_counted_from_them() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DuckDbStore::open(&dir.path().join("t.duckdb")).expect("open");
        let first = [
            at("e1", "aa", 10, "u1", &[("os", "linux")]),
            at("e2", "bb", DAY_MS + 3, "u2", &[("os", "mac")]),
        ];
        f.ingest("p", &first).expect("ingest");
        f.first_events("p", &first);
        assert_eq!(f.digests().held(), 2, "held without a fill");
        f.ingest("p", &[at("e3", "aa", 2 * DAY_MS, "u3", &[("os", "win")])])
            .expect("ingest");
        // Answered from the digests, counted as the batches came, and the
        // same as the table's answers.
        let (digested, table) = both_ways(&f);
        assert_eq!(digested, table);
        assert_eq!(table.0, 3);
        assert_eq!(table.3, ["e3"]);
        // A fingerprint held already is not started again.
        f.first_events("p", &first[..1]);
        assert_eq!(f.users("p", &["aa".to_owned()], 0).expect("users"), 2);
        // More first events than one fill may read: asked of the table.
        *f.digests() = Digests::with_bounds(1_000, 1);
        let flood = [at("e4", "cc", 10, "u1", &[]), at("e5", "cc", 11, "u2", &[])];
        f.ingest("p", &flood).expect("ingest");
        f.first_events("p", &flood);
        assert_eq!(f.digests().held(), 0);
        assert_eq!(f.users("p", &["cc".to_owned()], 0).expect("users"), 2);
    }

    #[test]
    fn digests_answer_as_the_table_does() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DuckDbStore::open(&dir.path().join("t.duckdb")).expect("open");
        f.ingest(
            "p",
            &[
                at("e1", "aa", 10, "u1", &[("os", "linux"), ("browser", "x")]),
                at("e2", "aa", DAY_MS + 3, "u2", &[("os", "linux")]),
                at("e3", "bb", DAY_MS + 9, "u1", &[("os", "mac")]),
                at("e4", "bb", DAY_MS + 9, "", &[("os", "win")]),
                at("e5", "cc", 3 * DAY_MS, "u7", &[("os", "bsd")]),
            ],
        )
        .expect("ingest");
        f.ingest("q", &[at("e6", "aa", 2 * DAY_MS, "u9", &[])])
            .expect("ingest");
        let (digested, table) = both_ways(&f);
        assert_eq!(digested, table);
        assert_eq!(table.0, 2);
        assert_eq!(table.3, ["e3"], "the newest, the lowest id of a tie");
        assert_eq!(f.digests().held(), 2, "filled by the first question");

        // Stored after the fill: counted into the digests held.
        f.ingest(
            "p",
            &[
                at("e0", "bb", DAY_MS + 9, "u3", &[("os", "mac")]),
                at(
                    "e8",
                    "aa",
                    2 * DAY_MS,
                    "u2",
                    &[("os", "win"), ("browser", "y")],
                ),
                at("e9", "aa", 9 * DAY_MS, "u4", &[]),
            ],
        )
        .expect("ingest");
        let (digested, table) = both_ways(&f);
        assert_eq!(digested, table);
        assert_eq!((table.0, table.4), (4, 3));
        assert_eq!(table.3, ["e9"]);
        assert_eq!(
            table.2.iter().map(|(_, n)| n).sum::<u64>(),
            6,
            "{:?}",
            table.2
        );

        // Deleted events take the project's digests with them.
        assert!(f.drop_before("p", DAY_MS).expect("drop") > 0);
        assert_eq!(f.digests().held(), 0);
        let (digested, table) = both_ways(&f);
        assert_eq!(digested, table);
        assert_eq!(table.4, 2);

        // A fingerprint with more events than a fill may read is asked of
        // the table, then and later.
        *f.digests() = Digests::with_bounds(1_000, 2);
        assert_eq!(f.users("p", &["aa".to_owned()], 0).expect("users"), 2);
        assert_eq!(f.digests().held(), 0);
        assert!(f.digests().missing("p", &["aa".to_owned()]).is_empty());
        assert_eq!(f.users("p", &["cc".to_owned()], 0).expect("users"), 1);
        assert_eq!(f.digests().held(), 1, "cc has one event");
    }

    #[test]
    fn payloads_are_kept_with_zstd_and_older_rows_still_read() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.duckdb");
        let f = DuckDbStore::open(&path).expect("open");
        let mut old = event("e1", &[]);
        old.payload = r#"{"old":true}"#.into();
        // A row as stored before `body`: its payload in `payload`.
        f.writing(|c| {
            c.execute(
                "INSERT INTO error_events (project_id, event_id, fingerprint, ts, level, \
                 release, environment, user_key, distinct_id, payload, tag_list) \
                 VALUES ('p', 'e1', 'aa', 5, 'error', '1.0', 'production', 'u', 'u', ?, '[]')",
                [&old.payload],
            )?;
            Ok(())
        })
        .expect("old row");
        let mut new = event("e2", &[]);
        new.payload = format!(r#"{{"new":"{}"}}"#, "x".repeat(5000));
        f.ingest("p", std::slice::from_ref(&new)).expect("ingest");
        f.writing(|c| {
            c.execute_batch("CHECKPOINT")?;
            Ok(())
        })
        .expect("checkpoint");
        assert_eq!(
            f.event("p", "e1").expect("e1").expect("found").payload,
            old.payload
        );
        assert_eq!(
            f.event("p", "e2").expect("e2").expect("found").payload,
            new.payload
        );
        let latest = f.latest("p", &["aa".into()], 2).expect("latest");
        assert_eq!(latest.len(), 2);
        assert!(latest.iter().any(|e| e.payload == new.payload));
        let compression: Vec<String> = f
            .writing(|c| {
                let mut stmt = c.prepare(
                    "SELECT DISTINCT compression FROM pragma_storage_info('error_events') \
                     WHERE column_name = 'body' AND compression <> 'Constant'",
                )?;
                let rows = stmt
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .expect("storage info");
        assert_eq!(compression, ["ZSTD"]);
    }

    #[test]
    fn tags_stored_before_the_list_are_folded_into_it_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.duckdb");
        let f = DuckDbStore::open(&path).expect("open");
        // As stored before the tag list (e1: an empty list, tags in the
        // table), and while both were written (e3: in both).
        f.writing(|c| {
            c.execute_batch(
                "DELETE FROM telemetry_meta WHERE key = 'error_tags_folded'; \
                 INSERT INTO error_events (project_id, event_id, fingerprint, ts, level, \
                 release, environment, user_key, distinct_id, payload, tag_list) VALUES \
                 ('p', 'e1', 'aa', 4, 'error', '1.0', 'production', 'u', 'u', '{}', ''), \
                 ('p', 'e3', 'aa', 6, 'error', '1.0', 'production', 'u', 'u', '{}', \
                  '[[\"release\",\"1.0\"]]'); \
                 INSERT INTO error_tags VALUES ('p', 'aa', 'e1', 4, 'release', '1.0'), \
                 ('p', 'aa', 'e1', 4, 'browser', 'Fire\"fox'), \
                 ('p', 'aa', 'e3', 6, 'release', '1.0');",
            )?;
            Ok(())
        })
        .expect("old rows");
        f.close().expect("close");
        let f = DuckDbStore::open(&path).expect("reopen");
        f.ingest("p", &[event("e2", &[("release", "1.0"), ("os", "Linux")])])
            .expect("ingest");
        let pairs = |x: &[(&str, &str)]| -> Vec<(String, String)> {
            x.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let one = f.event("p", "e1").expect("event").expect("found");
        // Its payload is read from where rows kept it before `body`.
        assert_eq!(one.payload, "{}");
        assert_eq!(
            one.tags,
            pairs(&[("browser", "Fire\"fox"), ("release", "1.0")])
        );
        let latest = f.latest("p", &["aa".into()], 5).expect("latest");
        assert_eq!(latest[0].event_id, "e3");
        assert_eq!(latest[0].tags, pairs(&[("release", "1.0")]));
        // Counted once each, from the events' rows.
        let tags: Vec<(String, String, u64)> = f
            .tags("p", &["aa".into()], 10)
            .expect("tags")
            .into_iter()
            .map(|t| (t.key, t.value, t.events))
            .collect();
        assert!(
            tags.contains(&("release".into(), "1.0".into(), 3)),
            "{tags:?}"
        );
        assert!(
            tags.contains(&("browser".into(), "Fire\"fox".into(), 1)),
            "{tags:?}"
        );
        assert!(tags.contains(&("os".into(), "Linux".into(), 1)), "{tags:?}");
        for (k, v, want) in [
            ("os", "Linux", vec!["aa".to_owned()]),
            ("browser", "Fire\"fox", vec!["aa".to_owned()]),
            ("os", "Lin", vec![]),
            ("Linux", "os", vec![]),
        ] {
            assert_eq!(
                f.fingerprints_tagged("p", k, v).expect("tagged"),
                want,
                "{k}={v}"
            );
        }
        let left: i64 = f
            .writing(|c| Ok(c.query_row("SELECT count(*) FROM error_tags", [], |r| r.get(0))?))
            .expect("count");
        assert_eq!(left, 0, "the old table is emptied");
    }
}

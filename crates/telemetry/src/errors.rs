//! Error events: each one as the SDK sent it, with the fingerprint it
//! grouped under and the tags issues break down by. The issues themselves
//! (states, counts) live in the state store; here are the raw events and
//! the questions only they answer: who was affected, the tag breakdown,
//! events over time, and sample events. Both backends keep two tables, the
//! events and one row per tag, and answer with the same SQL shapes.

use crate::{Result, TelemetryError};

/// One error event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEvent {
    /// 32 hex digits, the SDK's own id.
    pub event_id: String,
    /// The group it belongs to (see [`check_fingerprint`]).
    pub fingerprint: String,
    /// When it happened (ms).
    pub ts_ms: i64,
    pub level: String,
    /// Empty when the SDK sent none.
    pub release: String,
    pub environment: String,
    /// Who it happened to: the user's id, e-mail or IP address; empty when
    /// nobody is known.
    pub user: String,
    /// The analytics person's distinct id, when the SDK named the user.
    pub distinct_id: String,
    pub tags: Vec<(String, String)>,
    /// The event as the SDK sent it (JSON).
    pub payload: String,
}

/// How many events carried one value of a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub key: String,
    pub value: String,
    pub events: u64,
}

/// Error events, whichever store holds them. Methods block.
pub trait Errors: Send + Sync + std::fmt::Debug {
    /// Stores events durably (one transaction or insert).
    fn ingest(&self, project: &str, events: &[ErrorEvent]) -> Result<usize>;
    /// The newest events of the fingerprints, at most `limit`.
    fn latest(
        &self,
        project: &str,
        fingerprints: &[String],
        limit: usize,
    ) -> Result<Vec<ErrorEvent>>;
    /// One event by its id.
    fn event(&self, project: &str, event_id: &str) -> Result<Option<ErrorEvent>>;
    /// Distinct users the fingerprints' events since `since_ms` reached.
    fn users(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64>;
    /// Distinct users per fingerprint, for the issue list.
    fn users_each(&self, project: &str, fingerprints: &[String]) -> Result<Vec<(String, u64)>>;
    /// The users the fingerprints' events reached, the first reached
    /// first, at most `limit`: each user's key, and the analytics distinct
    /// id their events carried (empty when none did).
    fn affected(
        &self,
        project: &str,
        fingerprints: &[String],
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
    /// Events since `since_ms`.
    fn count_since(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64>;
    /// The most common values of every tag, at most `per_key` each.
    fn tags(&self, project: &str, fingerprints: &[String], per_key: usize)
    -> Result<Vec<TagCount>>;
    /// Events per `step_ms` bucket in `[from_ms, to_ms)`, every bucket
    /// present, oldest first.
    fn series(
        &self,
        project: &str,
        fingerprints: &[String],
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<(i64, u64)>>;
    /// The fingerprints with an event carrying `key = value`.
    fn fingerprints_tagged(&self, project: &str, key: &str, value: &str) -> Result<Vec<String>>;
    /// Each fingerprint with each analytics distinct id its events named,
    /// once per pair, in order.
    fn fingerprint_people(&self, project: &str) -> Result<Vec<(String, String)>>;
    /// Drops events (and their tags) that happened before `cutoff_ms`.
    fn drop_before(&self, project: &str, cutoff_ms: i64) -> Result<u64>;
}

/// A fingerprint as stores write it into SQL: 1 to 64 lower-case hex
/// digits, so a list of them is safe to spell out in a query.
pub fn check_fingerprint(f: &str) -> Result<&str> {
    if !f.is_empty()
        && f.len() <= 64
        && f.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(f)
    } else {
        Err(TelemetryError::Query(format!("`{f}` is not a fingerprint")))
    }
}

/// `'a', 'b'` for an `IN` list of checked fingerprints.
pub(crate) fn fingerprint_list(fingerprints: &[String]) -> Result<String> {
    let mut out = Vec::with_capacity(fingerprints.len());
    for f in fingerprints {
        out.push(format!("'{}'", check_fingerprint(f)?));
    }
    Ok(out.join(", "))
}

/// Fills the buckets a query left out with zero.
pub(crate) fn dense(
    rows: Vec<(i64, u64)>,
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
) -> Vec<(i64, u64)> {
    let step = step_ms.max(1);
    let buckets = ((to_ms - from_ms).max(0) + step - 1) / step;
    let mut out: Vec<(i64, u64)> = (0..buckets).map(|i| (from_ms + i * step, 0)).collect();
    for (i, n) in rows {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            slot.1 += n;
        }
    }
    out
}

/// Keeps each tag's `per_key` most common values (rows come most events
/// first).
pub(crate) fn top_per_key(rows: Vec<TagCount>, per_key: usize) -> Vec<TagCount> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for r in rows {
        let n = seen.entry(r.key.clone()).or_insert(0);
        if *n < per_key {
            *n += 1;
            out.push(r);
        }
    }
    out.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(b.events.cmp(&a.events))
            .then(a.value.cmp(&b.value))
    });
    out
}

pub(crate) mod duck {
    //! Error events in the embedded DuckDB file.

    use duckdb::Connection;

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
";

    const COLS: &str = "event_id, fingerprint, ts, level, release, environment, user_key, \
         distinct_id, payload, tag_list";

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
    fn rows_of(
        c: &Connection,
        sql: &str,
        params: &[&dyn duckdb::ToSql],
    ) -> Result<Vec<ErrorEvent>> {
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
                in_transaction(c, || {
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
                            e.payload,
                            tag_list
                        ])?;
                    }
                    app.flush()?;
                    Ok(events.len())
                })
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
                        &format!(
                            "SELECT {COLS} FROM error_events WHERE rowid = ? AND event_id = ?"
                        ),
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

        fn users(&self, project: &str, fingerprints: &[String], since_ms: i64) -> Result<u64> {
            if fingerprints.is_empty() {
                return Ok(0);
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

        fn count_since(
            &self,
            project: &str,
            fingerprints: &[String],
            since_ms: i64,
        ) -> Result<u64> {
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

        fn fingerprints_tagged(
            &self,
            project: &str,
            key: &str,
            value: &str,
        ) -> Result<Vec<String>> {
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
                Ok(c.execute(
                    "DELETE FROM error_events WHERE project_id = ? AND ts < ?",
                    duckdb::params![project, cutoff_ms],
                )? as u64)
            })
        }
    }

    #[cfg(test)]
    mod tests {
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
                     INSERT INTO error_events VALUES \
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_fingerprints_reach_sql() {
        assert!(check_fingerprint("0123abcdef").is_ok());
        for bad in ["", "ABC", "a'b", "x", &"a".repeat(65)] {
            assert!(check_fingerprint(bad).is_err(), "{bad}");
        }
        assert_eq!(
            fingerprint_list(&["ab".into(), "cd".into()]).ok(),
            Some("'ab', 'cd'".into())
        );
    }

    #[test]
    fn series_are_dense_and_tags_keep_the_top() {
        assert_eq!(
            dense(vec![(0, 2), (2, 5), (9, 1)], 1000, 1250, 100),
            vec![(1000, 2), (1100, 0), (1200, 5)]
        );
        let t = |k: &str, v: &str, n| TagCount {
            key: k.into(),
            value: v.into(),
            events: n,
        };
        let rows = vec![
            t("os", "linux", 9),
            t("release", "1.0", 7),
            t("os", "mac", 3),
            t("os", "win", 1),
        ];
        assert_eq!(
            top_per_key(rows, 2),
            vec![
                t("os", "linux", 9),
                t("os", "mac", 3),
                t("release", "1.0", 7)
            ]
        );
    }
}

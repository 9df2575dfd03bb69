//! Numeric event properties kept in memory beside the behavioural layout,
//! for trends with property math (`sum:amount` of `purchased` per day).
//!
//! A column holds, for every event of one name, its distinct id, time and
//! the property as a number (NaN where the event has none). It is filled
//! from the database the first time a trend asks for it, while commits are
//! paused, and from then on the writer appends each new event of that name
//! as it stores it. A deletion or a retention run forgets every column of
//! the project; the next trend fills it again. Columns are capped, so that
//! memory stays bounded: a project keeps at most [`MAX_COLUMNS`] of them,
//! and a name with more than [`MAX_ROWS`] events is answered by SQL.
//!
//! What a column answers is exactly what the SQL answers (the conformance
//! suite runs the same cases on both): a point counts every event of the
//! name in its interval, the distinct persons behind them, and the
//! aggregate of the numbers among them, or of each person's aggregate.

use liveops_core::analytics::math::{PropertyMath, number};

use super::{Members, Project, TrendPoint, TrendSeries, TrendsQuery};

/// The most columns a project keeps; a new one pushes out the oldest.
pub(crate) const MAX_COLUMNS: usize = 8;

/// The most events one column holds (20 bytes each).
pub(crate) const MAX_ROWS: usize = 5_000_000;

/// One property of one event name, per event.
#[derive(Debug, Default)]
pub(crate) struct PropColumn {
    pub(crate) did: Vec<u32>,
    pub(crate) ts: Vec<i64>,
    /// NaN where the event has no number.
    pub(crate) value: Vec<f64>,
}

impl PropColumn {
    pub(crate) fn push(&mut self, did: u32, ts: i64, value: Option<f64>) {
        self.did.push(did);
        self.ts.push(ts);
        self.value.push(value.unwrap_or(f64::NAN));
    }

    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }
}

/// A project's columns, by event name number and property, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PropColumns {
    cols: Vec<(u32, String, PropColumn)>,
}

impl PropColumns {
    pub(crate) fn get(&self, name: u32, property: &str) -> Option<&PropColumn> {
        self.cols
            .iter()
            .find(|(n, p, _)| *n == name && p == property)
            .map(|(_, _, c)| c)
    }

    /// Keeps a filled column, pushing out the oldest past the cap.
    pub(crate) fn insert(&mut self, name: u32, property: &str, col: PropColumn) {
        self.cols.retain(|(n, p, _)| !(*n == name && p == property));
        if self.cols.len() >= MAX_COLUMNS {
            self.cols.remove(0);
        }
        self.cols.push((name, property.to_owned(), col));
    }

    /// Appends a newly stored event to the columns of its name; the
    /// properties are read only when it has any.
    pub(crate) fn push_event(&mut self, name: u32, did: u32, ts: i64, properties: &str) {
        if !self.cols.iter().any(|(n, _, _)| *n == name) {
            return;
        }
        let doc: Option<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_str(properties).ok();
        let mut full = false;
        for (n, p, c) in self.cols.iter_mut() {
            if *n == name {
                c.push(
                    did,
                    ts,
                    doc.as_ref()
                        .and_then(|d| d.get(p.as_str()))
                        .and_then(value_of),
                );
                full |= c.len() > MAX_ROWS;
            }
        }
        if full {
            self.cols.retain(|(_, _, c)| c.len() <= MAX_ROWS);
        }
    }

    /// Forgets every column (after a deletion or retention).
    pub(crate) fn clear(&mut self) {
        self.cols.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.cols
            .iter()
            .map(|(_, p, c)| {
                p.len() + c.did.capacity() * 4 + c.ts.capacity() * 8 + c.value.capacity() * 8
            })
            .sum()
    }
}

/// A property's JSON value as a number: a finite number, or a string that
/// holds one (as the SQL's `TRY_CAST` of the extracted text reads it).
pub(crate) fn value_of(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        serde_json::Value::String(s) => number(s),
        _ => None,
    }
}

/// Whether a trend can be answered from a column: one event name, property
/// math, no property filters and no breakdown.
pub(crate) fn answerable(q: &TrendsQuery) -> Option<(&str, &PropertyMath)> {
    if q.breakdown.is_some() || !q.filters.is_empty() {
        return None;
    }
    Some((q.event.as_deref()?, q.math.property()?))
}

/// The trend of one column over the query's range, as one series.
pub(crate) fn trend(
    p: &Project,
    col: &PropColumn,
    math: &PropertyMath,
    q: &TrendsQuery,
) -> Vec<TrendSeries> {
    let first = q.interval.bucket(q.from_ms);
    let last = q.interval.bucket(q.to_ms - 1);
    let slots = usize::try_from(last - first + 1).unwrap_or(0);
    let kept = q.persons.as_ref().map(|m| kept_slots(p, m));
    // Per interval: (person slot, value) of each event in it.
    let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); slots];
    for i in 0..col.len() {
        let ts = col.ts[i];
        if ts < q.from_ms || ts >= q.to_ms {
            continue;
        }
        let person = p.persons.person_of(col.did[i]);
        if p.persons.person(person).is_none() {
            continue;
        }
        if let Some(k) = &kept
            && !k.get(person as usize).copied().unwrap_or(false)
        {
            continue;
        }
        let b = q.interval.bucket(ts) - first;
        if let Some(r) = usize::try_from(b).ok().and_then(|b| rows.get_mut(b)) {
            r.push((person, col.value[i]));
        }
    }
    let points = rows
        .into_iter()
        .enumerate()
        .map(|(k, mut r)| {
            let start = q.interval.bucket_start(first + k as i64);
            if r.is_empty() {
                return TrendPoint::empty(start, &q.math);
            }
            r.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            point(start, &r, math)
        })
        .collect();
    vec![TrendSeries {
        value: None,
        other: false,
        points,
    }]
}

/// Which person slots a cohort keeps.
fn kept_slots(p: &Project, m: &Members) -> Vec<bool> {
    (0..p.persons.person_slots() as u32)
        .map(|slot| {
            p.persons
                .person(slot)
                .is_some_and(|v| m.contains(&v.0.text()))
        })
        .collect()
}

/// One interval's point from its events, sorted by person: the events,
/// the distinct persons and the aggregate.
fn point(start_ms: i64, rows: &[(u32, f64)], math: &PropertyMath) -> TrendPoint {
    let numbers =
        |r: &[(u32, f64)]| -> Vec<f64> { r.iter().map(|x| x.1).filter(|v| !v.is_nan()).collect() };
    let mut persons = 0u64;
    let mut per_person = Vec::new();
    for run in rows.chunk_by(|a, b| a.0 == b.0) {
        persons += 1;
        if math.per_person.is_some() {
            let mut theirs = numbers(run);
            // A person without a number has no aggregate of their own.
            if !theirs.is_empty()
                && let Some(v) = math.aggregate.of(&mut theirs)
            {
                per_person.push(v);
            }
        }
    }
    let value = match math.per_person {
        Some(outer) => outer.of(&mut per_person),
        None => math.aggregate.of(&mut numbers(rows)),
    };
    TrendPoint {
        start_ms,
        events: rows.len() as u64,
        persons,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_the_sql_reads_them() {
        let v = |s: &str| value_of(&serde_json::from_str(s).expect("json"));
        assert_eq!(v("10"), Some(10.0));
        assert_eq!(v("\" 7.5 \""), Some(7.5));
        assert_eq!(v("\"n/a\""), None);
        assert_eq!(v("true"), None);
        assert_eq!(v("null"), None);
        assert_eq!(v("{\"a\": 1}"), None);
    }

    #[test]
    fn a_point_aggregates_events_or_each_persons_aggregate() {
        let math = |m: &str, pp: Option<&str>| {
            liveops_core::analytics::math::SeriesMath::parse(m, pp)
                .ok()
                .and_then(|s| s.property().cloned())
                .expect("math")
        };
        // Person 1: 10 and 20; person 2: 30; person 3: no number.
        let rows = [(1, 10.0), (1, 20.0), (2, 30.0), (3, f64::NAN)];
        let p = point(0, &rows, &math("sum:amount", None));
        assert_eq!((p.events, p.persons, p.value), (4, 3, Some(60.0)));
        let p = point(0, &rows, &math("sum:amount", Some("avg")));
        assert_eq!(p.value, Some(30.0));
        let p = point(0, &rows, &math("p90:amount", None));
        assert_eq!(p.value.map(|v| (v * 1e6).round() / 1e6), Some(28.0));
        let none = [(3, f64::NAN)];
        assert_eq!(point(0, &none, &math("avg:amount", None)).value, None);
        assert_eq!(point(0, &none, &math("sum:amount", None)).value, Some(0.0));
        assert_eq!(
            point(0, &none, &math("max:amount", Some("sum"))).value,
            Some(0.0)
        );
    }
}

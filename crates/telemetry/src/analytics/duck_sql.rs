//! The DuckDB backend's SQL: trends with property filters and breakdowns,
//! breakdown values, and a person's events.

use duckdb::types::Value as DuckValue;
use liveops_core::analytics::filter::{Condition, PropertyFilter};

use super::duck::DuckAnalytics;
use liveops_core::analytics::Interval;

use super::{MAX_BREAKDOWN_LIMIT, OTHER_VALUE, StoredEvent, TrendPoint, TrendSeries, TrendsQuery};
use crate::Result;

/// Event counts and unique people per interval, filtered and broken
/// down by event properties, computed by DuckDB.
pub(super) fn trends(
    a: &DuckAnalytics,
    project: &str,
    q: &TrendsQuery,
) -> Result<Vec<TrendSeries>> {
    let bucket = match q.interval {
        Interval::Hour => "e.ts // 3600000".to_owned(),
        Interval::Day => "e.ts // 86400000".to_owned(),
        Interval::Week => "((e.ts // 86400000) + 3) // 7".to_owned(),
        Interval::Month => {
            "year(make_timestamp(e.ts * 1000)) * 12 + month(make_timestamp(e.ts * 1000)) - 1"
                .to_owned()
        }
    };
    let mut args: Vec<DuckValue> = vec![
        DuckValue::Text(project.to_owned()),
        DuckValue::Text(project.to_owned()),
        DuckValue::BigInt(q.from_ms),
        DuckValue::BigInt(q.to_ms),
    ];
    let mut filter = String::new();
    if let Some(e) = &q.event {
        filter.push_str(" AND e.event = ?");
        args.push(DuckValue::Text(e.clone()));
    }
    for f in &q.filters {
        filter.push_str(" AND ");
        filter.push_str(&filter_sql(f, &mut args));
    }
    let limit = q.breakdown_limit.clamp(1, MAX_BREAKDOWN_LIMIT);
    let sql = match &q.breakdown {
        Some(k) => {
            // Bound in text order: the CTE's project id, then this path.
            args.insert(1, DuckValue::Text(json_path(k)));
            args.push(DuckValue::BigInt(limit as i64));
            // Only the top values by events keep their own series; the
            // rest become one, so a property with a value per event
            // costs one series, not one per value.
            format!(
                "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
                 FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id), \
                 base AS (SELECT json_extract_string(e.properties, ?) AS value, {bucket} AS bucket, \
                 coalesce(ids.person_id, e.distinct_id) AS who \
                 FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
                 WHERE e.project_id = ? AND e.ts >= ? AND e.ts < ?{filter}), \
                 top AS (SELECT value FROM base WHERE value IS NOT NULL GROUP BY value \
                 ORDER BY count(*) DESC, value LIMIT ?) \
                 SELECT CASE WHEN value IS NULL THEN NULL \
                 WHEN value IN (SELECT value FROM top) THEN value ELSE '{OTHER_VALUE}' END AS shown, \
                 value IS NOT NULL AND value NOT IN (SELECT value FROM top) AS is_other, \
                 bucket, count(*) AS events, count(DISTINCT who) AS persons \
                 FROM base GROUP BY shown, is_other, bucket \
                 ORDER BY is_other, shown NULLS FIRST, bucket"
            )
        }
        None => format!(
            "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
             FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id) \
             SELECT NULL::VARCHAR AS shown, false AS is_other, {bucket} AS bucket, count(*) AS events, \
             count(DISTINCT coalesce(ids.person_id, e.distinct_id)) AS persons \
             FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
             WHERE e.project_id = ? AND e.ts >= ? AND e.ts < ?{filter} \
             GROUP BY ALL ORDER BY bucket"
        ),
    };
    let rows: Vec<(Option<String>, bool, i64, i64, i64)> = a.with_read_conn(|c| {
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt
            .query_map(duckdb::params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    })?;
    let first = q.interval.bucket(q.from_ms);
    let last = q.interval.bucket(q.to_ms - 1);
    let mut series: Vec<TrendSeries> = Vec::new();
    for (value, other, b, events, persons) in rows {
        if series
            .last()
            .is_none_or(|s| s.value != value || s.other != other)
        {
            series.push(TrendSeries {
                value: value.clone(),
                other,
                points: (first..=last)
                    .map(|k| TrendPoint {
                        start_ms: q.interval.bucket_start(k),
                        events: 0,
                        persons: 0,
                    })
                    .collect(),
            });
        }
        if let Some(pt) = series.last_mut().and_then(|s| {
            usize::try_from(b - first)
                .ok()
                .and_then(|i| s.points.get_mut(i))
        }) {
            pt.events = events as u64;
            pt.persons = persons as u64;
        }
    }
    if series.is_empty() {
        series.push(TrendSeries {
            value: None,
            other: false,
            points: (first..=last)
                .map(|k| TrendPoint {
                    start_ms: q.interval.bucket_start(k),
                    events: 0,
                    persons: 0,
                })
                .collect(),
        });
    }
    Ok(series)
}

/// Every event named one of `names` in `[from, to)`, with the text of its
/// property `key`: (distinct id, time, value).
pub(super) fn property_values(
    a: &DuckAnalytics,
    project: &str,
    names: &[String],
    from: i64,
    to: i64,
    key: &str,
) -> Result<Vec<(String, i64, Option<String>)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; names.len()].join(", ");
    let sql = format!(
        "SELECT distinct_id, ts, json_extract_string(properties, ?) FROM analytics_events \
         WHERE project_id = ? AND ts >= ? AND ts < ? AND event IN ({marks})"
    );
    let mut args = vec![
        DuckValue::Text(json_path(key)),
        DuckValue::Text(project.to_owned()),
        DuckValue::BigInt(from),
        DuckValue::BigInt(to),
    ];
    args.extend(names.iter().map(|e| DuckValue::Text(e.clone())));
    a.with_read_conn(|c| {
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt
            .query_map(duckdb::params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    })
}

/// Some distinct ids' latest events, newest first.
pub(super) fn person_events(
    a: &DuckAnalytics,
    project: &str,
    distinct_ids: &[String],
    limit: usize,
) -> Result<Vec<StoredEvent>> {
    if distinct_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; distinct_ids.len()].join(", ");
    let sql = format!(
        "SELECT uuid, event, distinct_id, ts, properties FROM analytics_events \
         WHERE project_id = ? AND distinct_id IN ({marks}) ORDER BY ts DESC LIMIT {limit}"
    );
    let mut args = vec![DuckValue::Text(project.to_owned())];
    args.extend(distinct_ids.iter().map(|d| DuckValue::Text(d.clone())));
    a.with_read_conn(|c| {
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt
            .query_map(duckdb::params_from_iter(args.iter()), |r| {
                Ok(StoredEvent {
                    uuid: r.get(0)?,
                    event: r.get(1)?,
                    distinct_id: r.get(2)?,
                    at_ms: r.get(3)?,
                    properties: r.get(4)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    })
}

fn json_path(prop: &str) -> String {
    format!("$.\"{}\"", prop.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A property filter as a DuckDB condition on the event row `e`, with its
/// parameters appended to `args` in order. Negative operators keep events
/// without the property, as [`Condition::test`] defines.
fn filter_sql(f: &PropertyFilter, args: &mut Vec<DuckValue>) -> String {
    args.push(DuckValue::Text(json_path(&f.key)));
    let x = "json_extract_string(e.properties, ?)";
    let mut text = |v: &str| args.push(DuckValue::Text(v.to_owned()));
    match &f.condition {
        Condition::Equals(v) => {
            text(v);
            format!("{x} = ?")
        }
        Condition::NotEquals(v) => {
            text(v);
            format!("coalesce({x} <> ?, true)")
        }
        Condition::Contains(v) => {
            text(v);
            format!("coalesce(contains(lower({x}), lower(?)), false)")
        }
        Condition::NotContains(v) => {
            text(v);
            format!("coalesce(NOT contains(lower({x}), lower(?)), true)")
        }
        Condition::Matches(p) => {
            text(p);
            format!("coalesce(regexp_matches({x}, ?), false)")
        }
        Condition::NotMatches(p) => {
            text(p);
            format!("coalesce(NOT regexp_matches({x}, ?), true)")
        }
        Condition::IsSet => format!("{x} IS NOT NULL"),
        Condition::IsNotSet => format!("{x} IS NULL"),
        Condition::Greater(n)
        | Condition::GreaterOrEqual(n)
        | Condition::Less(n)
        | Condition::LessOrEqual(n) => {
            let op = match f.condition {
                Condition::Greater(_) => ">",
                Condition::GreaterOrEqual(_) => ">=",
                Condition::Less(_) => "<",
                _ => "<=",
            };
            args.push(DuckValue::Double(*n));
            format!("coalesce(TRY_CAST(trim({x}) AS DOUBLE) {op} ?, false)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::property_text;
    use liveops_core::analytics::filter::parse_filters;

    /// Each filter selects in DuckDB exactly the rows that the core's
    /// definition of the filter accepts.
    #[test]
    fn filter_sql_agrees_with_the_core_definition() {
        let rows = [
            r#"{"plan": "pro", "n": 12, "url": "https://x.io/Checkout?a=1"}"#,
            r#"{"plan": "free", "n": "7.5", "url": "/docs/start"}"#,
            r#"{"plan": null, "n": "ten", "flag": true}"#,
            r#"{"n": 10, "url": "/DOCS"}"#,
            r#"{}"#,
        ];
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        conn.execute_batch("CREATE TABLE ev (id INTEGER, properties VARCHAR)")
            .expect("table");
        for (i, r) in rows.iter().enumerate() {
            conn.execute("INSERT INTO ev VALUES (?, ?)", duckdb::params![i as i32, r])
                .expect("row");
        }
        let filters = "plan=pro;plan!=pro;url~checkout;url!~checkout;url=~^/docs;url!=~^/d;\
                       n>10;n>=10;n<10;n<=7.5;plan?;plan!?;flag=true;n=12";
        for f in parse_filters(filters).expect("filters") {
            let mut args = Vec::new();
            let cond = filter_sql(&f, &mut args);
            let sql = format!("SELECT id FROM ev e WHERE {cond} ORDER BY id");
            let mut stmt = conn.prepare(&sql).expect("prepare");
            let got: Vec<i32> = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| r.get(0))
                .expect("query")
                .collect::<std::result::Result<_, _>>()
                .expect("rows");
            let want: Vec<i32> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| f.condition.test(property_text(r, &f.key).as_deref()))
                .map(|(i, _)| i as i32)
                .collect();
            assert_eq!(got, want, "filter {f}");
        }
    }
}

//! The DuckDB backend's SQL: trends with property filters and breakdowns,
//! breakdown values, and a person's events.

use duckdb::arrow::array::{Array, Int64Array, StringArray};
use duckdb::types::Value as DuckValue;
use liveops_core::analytics::filter::{Condition, PropertyFilter};
use liveops_core::analytics::math::{Aggregate, SeriesMath};
use liveops_core::analytics::web::{self, PageView};

use super::duck::DuckAnalytics;
use liveops_core::analytics::Interval;

use super::{
    MAX_BREAKDOWN_LIMIT, OTHER_VALUE, PropertyRow, RowsQuery, StoredEvent, TrendPoint, TrendSeries,
    TrendsQuery, page_view,
};
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
    if let Some(m) = &q.persons {
        // One parameter, a JSON list, whatever the ids hold.
        filter.push_str(
            " AND coalesce(ids.person_id, e.distinct_id) IN \
             (SELECT unnest(from_json(?::JSON, '[\"VARCHAR\"]')))",
        );
        let list: Vec<&str> = m.iter().collect();
        args.push(DuckValue::Text(
            serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()),
        ));
    }
    let limit = q.breakdown_limit.clamp(1, MAX_BREAKDOWN_LIMIT);
    // Bound in text order: the ids CTE's project, the breakdown's path,
    // the number's path, then the filters already in `args`.
    let mut head = Vec::new();
    let value = match &q.breakdown {
        Some(k) => {
            head.push(DuckValue::Text(json_path(k)));
            "json_extract_string(e.properties, ?)"
        }
        None => "NULL::VARCHAR",
    };
    let math = q.math.property();
    let number = match math {
        Some(m) => {
            head.push(DuckValue::Text(json_path(&m.property)));
            NUMBER.to_owned()
        }
        None => "NULL::DOUBLE".to_owned(),
    };
    args.splice(1..1, head);
    // Only the top values by events keep their own series; the rest
    // become one, so a property with a value per event costs one series,
    // not one per value.
    let labelled = if q.breakdown.is_some() {
        args.push(DuckValue::BigInt(limit as i64));
        format!(
            "top AS (SELECT value FROM base WHERE value IS NOT NULL GROUP BY value \
             ORDER BY count(*) DESC, value LIMIT ?), \
             labelled AS (SELECT CASE WHEN value IS NULL THEN NULL \
             WHEN value IN (SELECT value FROM top) THEN value ELSE '{OTHER_VALUE}' END AS shown, \
             value IS NOT NULL AND value NOT IN (SELECT value FROM top) AS is_other, \
             bucket, who, CASE WHEN isfinite(raw) THEN raw END AS num FROM base)"
        )
    } else {
        "labelled AS (SELECT value AS shown, false AS is_other, bucket, who, \
         CASE WHEN isfinite(raw) THEN raw END AS num FROM base)"
            .to_owned()
    };
    let totals = match math {
        None => "SELECT shown, is_other, bucket, count(*) AS events, \
                 count(DISTINCT who) AS persons, NULL::DOUBLE AS v \
                 FROM labelled GROUP BY shown, is_other, bucket"
            .to_owned(),
        Some(m) => match m.per_person {
            None => format!(
                "SELECT shown, is_other, bucket, count(*) AS events, \
                 count(DISTINCT who) AS persons, {} AS v \
                 FROM labelled GROUP BY shown, is_other, bucket",
                aggregate_sql(m.aggregate, "num", true)
            ),
            // Each person's aggregate first (none without a number), then
            // the aggregate of those.
            Some(outer) => format!(
                "SELECT shown, is_other, bucket, sum(n)::BIGINT AS events, \
                 count(*) AS persons, {} AS v FROM \
                 (SELECT shown, is_other, bucket, who, count(*) AS n, {} AS pv \
                 FROM labelled GROUP BY shown, is_other, bucket, who) \
                 GROUP BY shown, is_other, bucket",
                aggregate_sql(outer, "pv", true),
                aggregate_sql(m.aggregate, "num", false)
            ),
        },
    };
    let sql = format!(
        "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
         FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id), \
         base AS (SELECT {value} AS value, {bucket} AS bucket, \
         coalesce(ids.person_id, e.distinct_id) AS who, {number} AS raw \
         FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
         WHERE e.project_id = ? AND e.ts >= ? AND e.ts < ?{filter}), \
         {labelled} \
         {totals} ORDER BY is_other, shown NULLS FIRST, bucket"
    );
    type Row = (Option<String>, bool, i64, i64, i64, Option<f64>);
    let rows: Vec<Row> = a.with_read_conn(|c| {
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt
            .query_map(duckdb::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    })?;
    let first = q.interval.bucket(q.from_ms);
    let last = q.interval.bucket(q.to_ms - 1);
    let mut series: Vec<TrendSeries> = Vec::new();
    for (value, other, b, events, persons, v) in rows {
        if series
            .last()
            .is_none_or(|s| s.value != value || s.other != other)
        {
            series.push(TrendSeries {
                value: value.clone(),
                other,
                points: (first..=last)
                    .map(|k| TrendPoint::empty(q.interval.bucket_start(k), &q.math))
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
            pt.value = match q.math {
                SeriesMath::Events => Some(pt.events as f64),
                SeriesMath::Persons => Some(pt.persons as f64),
                SeriesMath::Property(_) => v,
            };
        }
    }
    if series.is_empty() {
        series.push(TrendSeries {
            value: None,
            other: false,
            points: (first..=last)
                .map(|k| TrendPoint::empty(q.interval.bucket_start(k), &q.math))
                .collect(),
        });
    }
    Ok(series)
}

/// Every page view in `[from, to)`, by person (or distinct id).
pub(super) fn page_views(
    a: &DuckAnalytics,
    project: &str,
    from: i64,
    to: i64,
) -> Result<Vec<PageView>> {
    let sql = "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
               FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id) \
               SELECT coalesce(ids.person_id, e.distinct_id), e.ts, e.properties \
               FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
               WHERE e.project_id = ? AND e.event = ? AND e.ts >= ? AND e.ts < ?";
    // Read as Arrow batches: far cheaper than a value at a time.
    a.with_read_conn(|c| {
        let mut stmt = c.prepare(sql)?;
        let mut out = Vec::new();
        for batch in stmt.query_arrow(duckdb::params![project, project, web::PAGEVIEW, from, to])? {
            let col = |i: usize| batch.column(i).as_any();
            let (Some(who), Some(ts), Some(props)) = (
                col(0).downcast_ref::<StringArray>(),
                col(1).downcast_ref::<Int64Array>(),
                col(2).downcast_ref::<StringArray>(),
            ) else {
                return Err(crate::TelemetryError::Query(
                    "page views: unexpected column types".into(),
                ));
            };
            out.reserve(batch.num_rows());
            for i in 0..batch.num_rows() {
                out.push(page_view(
                    who.value(i).to_owned(),
                    ts.value(i),
                    props.value(i),
                ));
            }
        }
        Ok(out)
    })
}

/// Events in range that are named or carry a property, as
/// [`RowsQuery`] says, by person (or distinct id).
pub(super) fn property_rows(
    a: &DuckAnalytics,
    project: &str,
    q: &RowsQuery,
) -> Result<Vec<PropertyRow>> {
    let mut args = vec![
        DuckValue::Text(project.to_owned()),
        DuckValue::Text(project.to_owned()),
        DuckValue::BigInt(q.from_ms),
        DuckValue::BigInt(q.to_ms),
    ];
    let mut any = Vec::new();
    if !q.names.is_empty() {
        any.push(format!(
            "e.event IN ({})",
            vec!["?"; q.names.len()].join(", ")
        ));
        args.extend(q.names.iter().cloned().map(DuckValue::Text));
    }
    for needle in q.needles() {
        any.push("strpos(e.properties, ?) > 0".to_owned());
        args.push(DuckValue::Text(needle));
    }
    if any.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH ids AS (SELECT distinct_id, arg_max(person_id, version) AS person_id \
         FROM analytics_person_ids WHERE project_id = ? GROUP BY distinct_id) \
         SELECT coalesce(ids.person_id, e.distinct_id), e.ts, e.event, e.properties, \
         e.distinct_id FROM analytics_events e LEFT JOIN ids USING (distinct_id) \
         WHERE e.project_id = ? AND e.ts >= ? AND e.ts < ? AND ({}) ORDER BY e.ts",
        any.join(" OR ")
    );
    a.with_read_conn(|c| {
        let mut stmt = c.prepare(&sql)?;
        let mut out = Vec::new();
        let mut rows = stmt.query(duckdb::params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let props: String = r.get(3)?;
            out.extend(q.row((r.get(0)?, r.get(4)?), r.get(1)?, r.get(2)?, &props));
        }
        Ok(out)
    })
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

/// A property's number, by the core's `math::number`: its text as a
/// finite double.
/// (`labelled` keeps the finite ones.)
const NUMBER: &str = "TRY_CAST(trim(json_extract_string(e.properties, ?)) AS DOUBLE)";

/// `a` over the column `x`; with `outer`, a sum of nothing is 0, as the
/// core defines it.
fn aggregate_sql(a: Aggregate, x: &str, outer: bool) -> String {
    match a {
        Aggregate::Sum if outer => format!("coalesce(sum({x}), 0)"),
        Aggregate::Sum => format!("sum({x})"),
        Aggregate::Avg => format!("avg({x})"),
        Aggregate::Min => format!("min({x})"),
        Aggregate::Max => format!("max({x})"),
        Aggregate::Median | Aggregate::P90 | Aggregate::P95 | Aggregate::P99 => {
            format!("quantile_cont({x}, {})", a.quantile().unwrap_or(0.5))
        }
    }
}

pub(super) fn json_path(prop: &str) -> String {
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
    use liveops_core::analytics::math;

    /// DuckDB reads the same number from a property as the core does.
    #[test]
    fn numbers_agree_with_the_core_definition() {
        let rows = [
            r#"{"n": 12}"#,
            r#"{"n": "7.5"}"#,
            r#"{"n": " 3 "}"#,
            r#"{"n": "ten"}"#,
            r#"{"n": true}"#,
            r#"{"n": null}"#,
            r#"{"n": "1e3"}"#,
            r#"{"n": -0.25}"#,
            r#"{"n": "inf"}"#,
            r#"{"n": "NaN"}"#,
            r#"{"n": {"a": 1}}"#,
            r#"{}"#,
        ];
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        for r in rows {
            let got: Option<f64> = conn
                .query_row(
                    &format!(
                        "SELECT CASE WHEN isfinite(raw) THEN raw END FROM \
                         (SELECT {NUMBER} AS raw FROM (SELECT ?::VARCHAR AS properties) e)"
                    ),
                    duckdb::params![json_path("n"), r],
                    |row| row.get(0),
                )
                .expect("query");
            let want = property_text(r, "n").and_then(|t| math::number(&t));
            assert_eq!(got, want, "{r}");
        }
    }

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

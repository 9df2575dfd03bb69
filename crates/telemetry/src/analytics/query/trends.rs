//! Trends: event counts over time, filtered by properties and broken down, in SQL.

use super::*;

impl Analytics {
    /// Event counts and unique people per interval, filtered and broken
    /// down by event properties, computed by DuckDB.
    pub fn trends(&self, project: &str, q: &TrendsQuery) -> Result<Vec<TrendSeries>> {
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
        let rows: Vec<(Option<String>, bool, i64, i64, i64)> = self.with_read_conn(|c| {
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
}

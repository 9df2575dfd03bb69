//! Retention on ClickHouse: a project's rows older than its retention go
//! by dropping whole partitions (one per project and day), never by row
//! deletes, so ingest into today's partitions goes on untouched. A day is
//! dropped once all of it is past the cutoff; the cutoff's own day stays
//! until the next run after midnight.

use serde::Deserialize;

use super::client::{Client, quote};
use super::schema::{Layout, Table};
use crate::Result;

/// The query that lists a project's days with rows before the cutoff day.
pub fn old_days_query(table: &Table, layout: &Layout, project: &str, cutoff_ms: i64) -> String {
    let (col, per_ms) = table.time;
    let cutoff_day_start = cutoff_ms.div_euclid(86_400_000) * 86_400_000;
    format!(
        "SELECT DISTINCT {} AS day FROM {} WHERE project_id = {} AND {col} < {} ORDER BY day",
        table.day,
        table.storage_name(layout),
        quote(project),
        cutoff_day_start.saturating_mul(per_ms)
    )
}

/// The statement that drops one project's day.
pub fn drop_day(table: &Table, layout: &Layout, project: &str, day: u32) -> String {
    format!(
        "ALTER TABLE {} DROP PARTITION ({}, {day})",
        table.storage_name(layout),
        quote(project)
    )
}

/// Drops `project`'s partitions of `table` whose whole day lies before
/// `cutoff_ms`, on every shard; returns how many partitions went.
pub fn drop_before(
    shards: &[Client],
    layout: &Layout,
    table: &Table,
    project: &str,
    cutoff_ms: i64,
) -> Result<u64> {
    #[derive(Deserialize)]
    struct Day {
        day: u32,
    }
    let mut dropped = 0;
    for shard in shards {
        let days: Vec<Day> = shard.rows(&old_days_query(table, layout, project, cutoff_ms))?;
        for Day { day } in days {
            shard.execute(&drop_day(table, layout, project, day))?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::schema::{EVENTS, SPANS};

    #[test]
    fn only_days_wholly_past_the_cutoff_are_listed() {
        // 2023-11-14 22:13:20 UTC: the 14th itself stays.
        let sql = old_days_query(&EVENTS, &Layout::Single, "shop", 1_700_000_000_000);
        assert!(sql.contains("ts < 1699920000000"), "{sql}");
        let sql = old_days_query(
            &SPANS,
            &Layout::Cluster("c".into()),
            "it's",
            1_700_000_000_000,
        );
        assert!(sql.contains("FROM spans_local"), "{sql}");
        assert!(sql.contains(r"project_id = 'it\'s'"), "{sql}");
        assert!(sql.contains("start_ns < 1699920000000000000"), "{sql}");
        assert_eq!(
            drop_day(&EVENTS, &Layout::Single, "shop", 20_231_113),
            "ALTER TABLE events DROP PARTITION ('shop', 20231113)"
        );
    }
}

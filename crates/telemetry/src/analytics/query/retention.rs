//! Retention: how many of each cohort come back in later periods.

use super::*;

pub(crate) fn retention(
    s: &impl Source,
    project: &str,
    q: &RetentionQuery,
) -> Result<Vec<RetentionCohort>> {
    if q.periods == 0 || q.periods > 64 {
        return Err(TelemetryError::Query(
            "retention covers 1 to 64 periods".into(),
        ));
    }
    let first = q.interval.bucket(q.from_ms);
    let end = q.interval.bucket_start(first + q.periods as i64);
    // First-time cohorts need what came before; "on or after" needs
    // nothing after the last period beyond knowing it.
    let to = match q.mode {
        ReturnMode::On => end,
        ReturnMode::OnOrAfter => i64::MAX,
    };
    let names: Vec<String> = if q.start.is_empty() || q.returning.is_empty() {
        Vec::new()
    } else {
        q.start.iter().chain(&q.returning).cloned().collect()
    };
    let table = s
        .read(
            project,
            &Need::events(&names, i64::MIN, to).by(q.interval),
            |p| -> Result<RetentionTable> {
                let kernel = Retention {
                    masks: NameMasks::new(&[ids(&p.names, &q.start), ids(&p.names, &q.returning)]),
                    interval: q.interval,
                    first,
                    periods: q.periods,
                    cohort: q.cohort,
                    mode: q.mode,
                };
                // First-time cohorts need what came before; "on or after"
                // needs nothing after the last period beyond knowing it.
                let to = match q.mode {
                    ReturnMode::On => end,
                    ReturnMode::OnOrAfter => i64::MAX,
                };
                let parts = scan(
                    p,
                    i64::MIN,
                    to,
                    q.persons.as_ref(),
                    || RetentionTable::new(q.periods),
                    |acc, _, ts, names| kernel.add(ts, names, acc),
                )?;
                let mut total = RetentionTable::new(q.periods);
                for part in &parts {
                    total.merge(part);
                }
                Ok(total)
            },
        )?
        .transpose()?
        .unwrap_or_else(|| RetentionTable::new(q.periods));
    Ok(table
        .counts
        .into_iter()
        .enumerate()
        .map(|(c, counts)| RetentionCohort {
            start_ms: q.interval.bucket_start(first + c as i64),
            counts: counts.into_iter().take(q.periods - c).collect(),
        })
        .collect())
}

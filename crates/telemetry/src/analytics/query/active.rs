//! Active users, stickiness and lifecycle: who was active in each period.

use super::*;

pub(crate) fn active_users(
    s: &impl Source,
    project: &str,
    q: &ActiveQuery,
) -> Result<ActiveSeries> {
    let days: Vec<i64> = (0..q.days as i64)
        .map(|d| (q.from_day + d) * DAY_MS)
        .collect();
    let empty = || ActiveSeries {
        days: days.clone(),
        dau: vec![0; q.days],
        wau: vec![0; q.days],
        mau: vec![0; q.days],
    };
    // The 30-day window reaches 29 days before the first day.
    let need = Need::events(
        &q.events,
        (q.from_day - 29) * DAY_MS,
        (q.from_day + q.days as i64) * DAY_MS,
    )
    .by(Interval::Day);
    let Some(out) = s.read(project, &need, |p| -> Result<ActiveSeries> {
        let kernel = ActiveUsers {
            activity: activity(&p.names, &q.events),
            first_day: q.from_day,
            days: q.days,
        };
        // The 30-day window reaches 29 days before the first day.
        let from = (q.from_day - 29) * DAY_MS;
        let to = (q.from_day + q.days as i64) * DAY_MS;
        let parts = scan(
            p,
            from,
            to,
            q.persons.as_ref(),
            || kernel.tally(),
            |acc, _, ts, names| kernel.add(ts, names, acc),
        )?;
        let mut total: Option<ActiveTally> = None;
        for part in parts {
            match &mut total {
                Some(t) => t.merge(&part),
                None => total = Some(part),
            }
        }
        let c = total.unwrap_or_else(|| kernel.tally()).finish();
        Ok(ActiveSeries {
            days: days.clone(),
            dau: c.dau,
            wau: c.wau,
            mau: c.mau,
        })
    })?
    else {
        return Ok(empty());
    };
    out
}

/// Persons by how many days of the range they were active: `[k]` is
/// those active on exactly k + 1 days.
pub(crate) fn stickiness(s: &impl Source, project: &str, q: &ActiveQuery) -> Result<Vec<u64>> {
    let need = Need::events(
        &q.events,
        q.from_day * DAY_MS,
        (q.from_day + q.days as i64) * DAY_MS,
    )
    .by(Interval::Day);
    let Some(out) = s.read(project, &need, |p| -> Result<Vec<u64>> {
        let act = activity(&p.names, &q.events);
        let from = q.from_day * DAY_MS;
        let to = (q.from_day + q.days as i64) * DAY_MS;
        let parts = scan(
            p,
            from,
            to,
            q.persons.as_ref(),
            || vec![0u64; q.days],
            |acc, _, ts, names| {
                if let Some(n) = active_days(&act, ts, names, q.from_day, q.days) {
                    acc[n - 1] += 1;
                }
            },
        )?;
        let mut total = vec![0u64; q.days];
        for part in parts {
            for (a, b) in total.iter_mut().zip(part) {
                *a += b;
            }
        }
        Ok(total)
    })?
    else {
        return Ok(vec![0; q.days]);
    };
    out
}

pub(crate) fn lifecycles(
    s: &impl Source,
    project: &str,
    q: &LifecycleQuery,
) -> Result<Vec<(i64, Lifecycle)>> {
    let first = q.interval.bucket(q.from_ms);
    let starts: Vec<i64> = (0..q.periods as i64)
        .map(|k| q.interval.bucket_start(first + k))
        .collect();
    let end = q.interval.bucket_start(first + q.periods as i64);
    let counts = s
        .read(
            project,
            &Need::events(&q.events, i64::MIN, end).by(q.interval),
            |p| -> Result<Vec<Lifecycle>> {
                let act = activity(&p.names, &q.events);
                let parts = scan(
                    p,
                    i64::MIN,
                    end,
                    q.persons.as_ref(),
                    || vec![Lifecycle::default(); q.periods],
                    |acc, _, ts, names| lifecycle(&act, q.interval, first, ts, names, acc),
                )?;
                let mut total = vec![Lifecycle::default(); q.periods];
                for part in parts {
                    for (a, b) in total.iter_mut().zip(part) {
                        a.new += b.new;
                        a.returning += b.returning;
                        a.resurrecting += b.resurrecting;
                        a.dormant += b.dormant;
                    }
                }
                Ok(total)
            },
        )?
        .transpose()?
        .unwrap_or_else(|| vec![Lifecycle::default(); q.periods]);
    Ok(starts.into_iter().zip(counts).collect())
}

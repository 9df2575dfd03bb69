//! Active users: DAU and the sliding WAU and MAU, stickiness (how many days
//! people were active) and lifecycle (new, returning, resurrecting, dormant).

use super::{DAY_MS, Interval, NameMasks};

/// Which events make a person active: any, or those in masks bit 0.
#[derive(Debug, Clone)]
pub enum Activity {
    Any,
    Events(NameMasks),
}

impl Activity {
    #[inline]
    fn counts(&self, name: u32) -> bool {
        match self {
            Activity::Any => true,
            Activity::Events(m) => m.of(name) & 1 != 0,
        }
    }
}

/// Daily, weekly (7-day) and monthly (30-day) active people for each day
/// of `[first_day, first_day + days)`, day numbers counted from the epoch.
#[derive(Debug, Clone)]
pub struct ActiveUsers {
    pub activity: Activity,
    pub first_day: i64,
    pub days: usize,
}

/// Running totals; windows are kept as difference arrays until `finish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveTally {
    dau: Vec<u64>,
    wau: Vec<i64>,
    mau: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCounts {
    pub dau: Vec<u64>,
    pub wau: Vec<u64>,
    pub mau: Vec<u64>,
}

impl ActiveTally {
    pub fn merge(&mut self, other: &ActiveTally) {
        for (a, b) in self.dau.iter_mut().zip(&other.dau) {
            *a += b;
        }
        for (a, b) in self.wau.iter_mut().zip(&other.wau) {
            *a += b;
        }
        for (a, b) in self.mau.iter_mut().zip(&other.mau) {
            *a += b;
        }
    }

    pub fn finish(self) -> ActiveCounts {
        let sum = |diff: Vec<i64>, n: usize| -> Vec<u64> {
            let mut run = 0i64;
            diff.into_iter()
                .take(n)
                .map(|d| {
                    run += d;
                    run.max(0) as u64
                })
                .collect()
        };
        let n = self.dau.len();
        ActiveCounts {
            wau: sum(self.wau, n),
            mau: sum(self.mau, n),
            dau: self.dau,
        }
    }
}

impl ActiveUsers {
    pub fn tally(&self) -> ActiveTally {
        ActiveTally {
            dau: vec![0; self.days],
            wau: vec![0; self.days + 1],
            mau: vec![0; self.days + 1],
        }
    }

    /// Adds one person's time-sorted events.
    pub fn add(&self, ts: &[i64], names: &[u32], tally: &mut ActiveTally) {
        let days = self.days as i64;
        // The last day each window already counts this person for.
        let (mut week_until, mut month_until) = (i64::MIN, i64::MIN);
        let mut last = i64::MIN;
        for (&t, &name) in ts.iter().zip(names) {
            let day = t.div_euclid(DAY_MS) - self.first_day;
            if day == last || !self.activity.counts(name) {
                continue;
            }
            last = day;
            if day >= days {
                break;
            }
            if day >= 0 {
                tally.dau[day as usize] += 1;
            }
            cover(&mut tally.wau, &mut week_until, day, 7, days);
            cover(&mut tally.mau, &mut month_until, day, 30, days);
        }
    }
}

/// Counts a person in the windows ending on days `day ..= day + width - 1`,
/// skipping days an earlier active day already covered.
fn cover(diff: &mut [i64], until: &mut i64, day: i64, width: i64, days: i64) {
    let from = day.max(until.saturating_add(1)).max(0);
    let to = (day + width - 1).min(days - 1);
    if from <= to {
        diff[from as usize] += 1;
        diff[to as usize + 1] -= 1;
    }
    *until = (*until).max(day + width - 1);
}

/// How many distinct days of `[first_day, first_day + days)` a person was
/// active on, or `None` when never.
pub fn active_days(
    activity: &Activity,
    ts: &[i64],
    names: &[u32],
    first_day: i64,
    days: usize,
) -> Option<usize> {
    let mut count = 0;
    let mut last = i64::MIN;
    for (&t, &name) in ts.iter().zip(names) {
        let day = t.div_euclid(DAY_MS) - first_day;
        if day < 0 || day == last || !activity.counts(name) {
            continue;
        }
        if day >= days as i64 {
            break;
        }
        last = day;
        count += 1;
    }
    (count > 0).then_some(count)
}

/// Lifecycle counts of one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// Active for the first time ever.
    pub new: u64,
    /// Active now and in the interval before.
    pub returning: u64,
    /// Active now, not in the interval before, but at some time earlier.
    pub resurrecting: u64,
    /// Active in the interval before, not now.
    pub dormant: u64,
}

/// The most intervals a lifecycle query covers.
pub const MAX_LIFECYCLE_PERIODS: usize = 120;

/// Adds one person's time-sorted events to `out`, one entry per interval
/// from bucket `first`.
pub fn lifecycle(
    activity: &Activity,
    interval: Interval,
    first: i64,
    ts: &[i64],
    names: &[u32],
    out: &mut [Lifecycle],
) {
    let periods = out.len().min(MAX_LIFECYCLE_PERIODS) as i64;
    // Bit (rel + 1): active in bucket first + rel, for rel in -1 .. periods.
    let mut active: u128 = 0;
    let mut first_ever = None;
    let mut last_t = i64::MIN;
    let mut rel = 0;
    for (&t, &name) in ts.iter().zip(names) {
        if !activity.counts(name) {
            continue;
        }
        if t != last_t {
            rel = interval.bucket(t) - first;
            last_t = t;
        }
        first_ever.get_or_insert(rel);
        if rel >= periods {
            break;
        }
        if rel >= -1 {
            active |= 1 << (rel + 1);
        }
    }
    let Some(first_ever) = first_ever else {
        return;
    };
    for (k, slot) in out.iter_mut().enumerate().take(periods as usize) {
        let now = active & (1 << (k + 1)) != 0;
        let before = active & (1 << k) != 0;
        if now {
            if first_ever == k as i64 {
                slot.new += 1;
            } else if before {
                slot.returning += 1;
            } else {
                slot.resurrecting += 1;
            }
        } else if before {
            slot.dormant += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: i64) -> i64 {
        d * DAY_MS + 5
    }

    #[test]
    fn windows_slide_and_count_each_person_once() {
        let q = ActiveUsers {
            activity: Activity::Any,
            first_day: 100,
            days: 10,
        };
        let mut tally = q.tally();
        // Active on day 95 (before the range), 100 twice, and 103.
        let ts = [day(95), day(100), day(100) + 1, day(103)];
        q.add(&ts, &[0; 4], &mut tally);
        let other = [day(109)];
        q.add(&other, &[0], &mut tally);
        let c = tally.finish();
        assert_eq!(c.dau, vec![1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        // WAU on day 100+k: first person active in [k-6, k].
        assert_eq!(c.wau, vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
        assert_eq!(c.mau, vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
        let q2 = ActiveUsers {
            activity: Activity::Events(NameMasks::new(&[vec![7]])),
            first_day: 100,
            days: 3,
        };
        let mut t2 = q2.tally();
        q2.add(&[day(100), day(101)], &[1, 7], &mut t2);
        assert_eq!(t2.finish().dau, vec![0, 1, 0]);
    }

    #[test]
    fn stickiness_and_lifecycle() {
        let ts = [day(1), day(1) + 9, day(2), day(4)];
        assert_eq!(active_days(&Activity::Any, &ts, &[0; 4], 0, 5), Some(3));
        assert_eq!(active_days(&Activity::Any, &ts, &[0; 4], 5, 5), None);
        let mut out = [Lifecycle::default(); 5];
        // Days 1, 2, 4: new on 1, returning on 2, dormant on 3, resurrecting on 4.
        lifecycle(&Activity::Any, Interval::Day, 0, &ts, &[0; 4], &mut out);
        assert_eq!(out[0], Lifecycle::default());
        assert_eq!(out[1].new, 1);
        assert_eq!(out[2].returning, 1);
        assert_eq!(out[3].dormant, 1);
        assert_eq!(out[4].resurrecting, 1);
    }
}

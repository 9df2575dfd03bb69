//! Retention: of the people who did the start event in a period (their
//! cohort), how many did the return event N periods later.

use super::{Interval, NameMasks, UnknownValue};

/// Who belongs to a cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cohort {
    /// Only the period of a person's first-ever start event.
    FirstTime,
    /// Every period in which the person did the start event.
    Recurring,
}

/// What counts as returning in period N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnMode {
    /// A return event in exactly period N.
    On,
    /// A return event in period N or any later one.
    OnOrAfter,
}

impl Cohort {
    pub fn as_str(self) -> &'static str {
        match self {
            Cohort::FirstTime => "first_time",
            Cohort::Recurring => "recurring",
        }
    }
}

impl ReturnMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnMode::On => "on",
            ReturnMode::OnOrAfter => "on_or_after",
        }
    }
}

impl std::str::FromStr for Cohort {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Cohort::FirstTime, Cohort::Recurring]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "cohort",
                value: s.to_owned(),
                expected: "first_time, recurring",
            })
    }
}

impl std::str::FromStr for ReturnMode {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ReturnMode::On, ReturnMode::OnOrAfter]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "retention mode",
                value: s.to_owned(),
                expected: "on, on_or_after",
            })
    }
}

/// A retention query ready to run. Masks bit 0 is the start event set, bit 1
/// the return event set.
#[derive(Debug, Clone)]
pub struct Retention {
    pub masks: NameMasks,
    pub interval: Interval,
    /// The first cohort's bucket number.
    pub first: i64,
    /// Cohorts, and periods after each (period 0 is the cohort itself).
    pub periods: usize,
    pub cohort: Cohort,
    pub mode: ReturnMode,
}

/// `counts[c][k]`: people of cohort `c` who returned in period `k`; `[c][0]`
/// is the cohort's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionTable {
    pub counts: Vec<Vec<u64>>,
}

impl RetentionTable {
    pub fn new(periods: usize) -> RetentionTable {
        RetentionTable {
            counts: vec![vec![0; periods]; periods],
        }
    }

    pub fn merge(&mut self, other: &RetentionTable) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

impl Retention {
    /// Adds one person, whose events are sorted by time, to `table`.
    pub fn add(&self, ts: &[i64], names: &[u32], table: &mut RetentionTable) {
        let p = self.periods;
        if p == 0 || p > 64 {
            return;
        }
        // Bit k of `starts`/`returns`: the person did it in bucket first + k.
        let mut starts = 0u64;
        let mut returns = 0u64;
        // Returns after the last cohort still count for "on or after".
        let mut returns_after = false;
        let mut seen_start = false;
        let mut last_bucket = i64::MIN;
        let mut rel = 0i64;
        for (&t, &name) in ts.iter().zip(names) {
            let m = self.masks.of(name);
            if m == 0 {
                continue;
            }
            if t != last_bucket {
                // Buckets only grow with time; compute once per new time.
                rel = self.interval.bucket(t) - self.first;
                last_bucket = t;
            }
            if m & 1 != 0 {
                let counts = match self.cohort {
                    Cohort::Recurring => true,
                    Cohort::FirstTime => !seen_start,
                };
                seen_start = true;
                if counts && (0..p as i64).contains(&rel) {
                    starts |= 1 << rel;
                }
            }
            if m & 2 != 0 {
                if (0..p as i64).contains(&rel) {
                    returns |= 1 << rel;
                } else if rel >= p as i64 {
                    returns_after = true;
                }
            }
        }
        while starts != 0 {
            let c = starts.trailing_zeros() as usize;
            starts &= starts - 1;
            let row = &mut table.counts[c];
            row[0] += 1;
            for (k, slot) in row.iter_mut().enumerate().take(p - c).skip(1) {
                let at = c + k;
                let returned = match self.mode {
                    ReturnMode::On => returns & (1 << at) != 0,
                    ReturnMode::OnOrAfter => returns >> at != 0 || returns_after,
                };
                if returned {
                    *slot += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn retention(cohort: Cohort, mode: ReturnMode) -> Retention {
        Retention {
            masks: NameMasks::new(&[vec![0], vec![1]]),
            interval: Interval::Day,
            first: 10,
            periods: 4,
            cohort,
            mode,
        }
    }

    fn table(r: &Retention, people: &[&[(i64, u32)]]) -> Vec<Vec<u64>> {
        let mut t = RetentionTable::new(r.periods);
        for events in people {
            let ts: Vec<i64> = events.iter().map(|e| e.0 * DAY + 1).collect();
            let names: Vec<u32> = events.iter().map(|e| e.1).collect();
            r.add(&ts, &names, &mut t);
        }
        t.counts
    }

    #[test]
    fn first_time_cohorts_count_returns_per_period() {
        let r = retention(Cohort::FirstTime, ReturnMode::On);
        let got = table(
            &r,
            &[
                &[(10, 0), (11, 1), (13, 1)],
                &[(10, 0), (12, 1)],
                // Started before the range: not in any cohort.
                &[(5, 0), (11, 0), (12, 1)],
                &[(12, 0), (12, 1), (13, 1)],
            ],
        );
        assert_eq!(
            got,
            vec![
                vec![2, 1, 1, 1],
                vec![0, 0, 0, 0],
                vec![1, 1, 0, 0],
                vec![0, 0, 0, 0]
            ]
        );
    }

    #[test]
    fn recurring_and_on_or_after() {
        let r = retention(Cohort::Recurring, ReturnMode::OnOrAfter);
        let got = table(&r, &[&[(10, 0), (11, 0), (13, 1)], &[(10, 0), (20, 1)]]);
        assert_eq!(
            got,
            vec![
                vec![2, 2, 2, 2],
                vec![1, 1, 1, 0],
                vec![0, 0, 0, 0],
                vec![0, 0, 0, 0]
            ]
        );
    }
}

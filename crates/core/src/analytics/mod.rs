//! Usage analytics: the kernels behind trends, active users, funnels and
//! retention, over one person's events at a time as plain sorted slices.
//!
//! Times are milliseconds since the Unix epoch, in UTC. Event names arrive
//! as small integers (a dictionary the caller keeps), so a step or a filter
//! is a lookup in a dense table rather than a string compare.

pub mod active;
pub mod cohort;
pub mod event;
pub mod filter;
pub mod funnel;
pub mod insight;
pub mod math;
pub mod range;
pub mod retention;
pub mod revenue;
pub mod web;

use crate::support::incident::UnknownValue;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The width of the buckets a query counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    Hour,
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl Interval {
    pub const ALL: [Interval; 4] = [
        Interval::Hour,
        Interval::Day,
        Interval::Week,
        Interval::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// The bucket number of a time: hours, days, Monday-weeks or months
    /// since the epoch. Consecutive buckets have consecutive numbers.
    pub fn bucket(self, ms: i64) -> i64 {
        match self {
            Interval::Hour => ms.div_euclid(HOUR_MS),
            Interval::Day => ms.div_euclid(DAY_MS),
            // 1970-01-01 was a Thursday; the Monday before it is day -3.
            Interval::Week => (ms.div_euclid(DAY_MS) + 3).div_euclid(7),
            Interval::Month => {
                let (y, m, _) = civil_from_days(ms.div_euclid(DAY_MS));
                y * 12 + (m as i64 - 1)
            }
        }
    }

    /// The first millisecond of bucket `b`.
    pub fn bucket_start(self, b: i64) -> i64 {
        match self {
            Interval::Hour => b * HOUR_MS,
            Interval::Day => b * DAY_MS,
            Interval::Week => (b * 7 - 3) * DAY_MS,
            Interval::Month => {
                let (y, m) = (b.div_euclid(12), b.rem_euclid(12) as u32 + 1);
                days_from_civil(y, m, 1) * DAY_MS
            }
        }
    }
}

impl std::str::FromStr for Interval {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Interval::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "interval",
                value: s.to_owned(),
                expected: "hour, day, week, month",
            })
    }
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01),
/// after Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Which of a query's event sets each event name belongs to, as a bit mask
/// per name id: bit `i` set when name `n` matches set `i`. Up to 64 sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMasks {
    masks: Vec<u64>,
}

impl NameMasks {
    /// `sets[i]` lists the name ids of set `i`.
    pub fn new(sets: &[Vec<u32>]) -> NameMasks {
        let len = sets
            .iter()
            .flatten()
            .map(|&n| n as usize + 1)
            .max()
            .unwrap_or(0);
        let mut masks = vec![0u64; len];
        for (i, set) in sets.iter().enumerate().take(64) {
            for &n in set {
                masks[n as usize] |= 1 << i;
            }
        }
        NameMasks { masks }
    }

    #[inline]
    pub fn of(&self, name: u32) -> u64 {
        self.masks.get(name as usize).copied().unwrap_or(0)
    }
}

/// Median and mean of durations in milliseconds, `None` when empty.
pub fn median_mean(values: &mut [i64]) -> Option<(i64, f64)> {
    if values.is_empty() {
        return None;
    }
    // Selection, not a sort: a funnel's steps can hold a value per person.
    let n = values.len();
    let (below, &mut upper, _) = values.select_nth_unstable(n / 2);
    let median = if n % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().max().unwrap_or(upper);
        (lower + upper) / 2
    };
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    Some((median, mean))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn buckets_follow_the_calendar() {
        let t = ms("2026-03-04T13:45:00Z"); // a Wednesday
        assert_eq!(
            Interval::Day.bucket_start(Interval::Day.bucket(t)),
            ms("2026-03-04T00:00:00Z")
        );
        assert_eq!(
            Interval::Week.bucket_start(Interval::Week.bucket(t)),
            ms("2026-03-02T00:00:00Z")
        );
        assert_eq!(
            Interval::Month.bucket_start(Interval::Month.bucket(t)),
            ms("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            Interval::Hour.bucket_start(Interval::Hour.bucket(t)),
            ms("2026-03-04T13:00:00Z")
        );
        // Consecutive months across a year end, and a leap day.
        let dec = Interval::Month.bucket(ms("2025-12-31T23:59:59Z"));
        assert_eq!(Interval::Month.bucket(ms("2026-01-01T00:00:00Z")), dec + 1);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        // A Sunday belongs to the week that began the Monday before.
        assert_eq!(
            Interval::Week.bucket(ms("2026-03-08T23:00:00Z")),
            Interval::Week.bucket(t)
        );
        assert_eq!(
            Interval::Week.bucket(ms("2026-03-09T00:00:00Z")),
            Interval::Week.bucket(t) + 1
        );
        // Before the epoch too.
        assert_eq!(
            Interval::Day.bucket_start(Interval::Day.bucket(ms("1969-12-31T12:00:00Z"))),
            ms("1969-12-31T00:00:00Z")
        );
    }

    #[test]
    fn masks_and_medians() {
        let m = NameMasks::new(&[vec![1, 3], vec![3]]);
        assert_eq!(m.of(1), 0b01);
        assert_eq!(m.of(3), 0b11);
        assert_eq!(m.of(2), 0);
        assert_eq!(m.of(99), 0);
        assert_eq!(median_mean(&mut [5, 1, 3]), Some((3, 3.0)));
        assert_eq!(median_mean(&mut [4, 1, 3, 2]), Some((2, 2.5)));
        assert_eq!(median_mean(&mut []), None);
    }
}

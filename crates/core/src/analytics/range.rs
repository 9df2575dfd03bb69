//! The time range a query covers, checked once, the same way for the API
//! and the pages: a range that is empty, longer than ten years, or cut into
//! more buckets than anyone can read is refused before any work is done.

use super::Interval;

/// The longest range any query covers, in days.
pub const MAX_DAYS: i64 = 3660;
/// The most buckets a query is cut into (hours, days, weeks or months).
pub const MAX_BUCKETS: i64 = 1000;

const DAY_MS: i64 = 86_400_000;

/// `[from_ms, to_ms)`, valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    from_ms: i64,
    to_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("`from` must be before `to`")]
    Empty,
    #[error("a range may cover at most {MAX_DAYS} days")]
    TooLong,
    #[error(
        "{buckets} {unit} buckets are too many (at most {MAX_BUCKETS}): pick a shorter range or a wider interval"
    )]
    TooManyBuckets { buckets: i64, unit: &'static str },
}

impl TimeRange {
    /// Checks a range, and its bucket count when it is cut by `interval`.
    pub fn new(
        from_ms: i64,
        to_ms: i64,
        interval: Option<Interval>,
    ) -> Result<TimeRange, RangeError> {
        if from_ms >= to_ms {
            return Err(RangeError::Empty);
        }
        if to_ms - from_ms > MAX_DAYS * DAY_MS {
            return Err(RangeError::TooLong);
        }
        if let Some(i) = interval {
            let buckets = i.bucket(to_ms - 1) - i.bucket(from_ms) + 1;
            if buckets > MAX_BUCKETS {
                return Err(RangeError::TooManyBuckets {
                    buckets,
                    unit: i.as_str(),
                });
            }
        }
        Ok(TimeRange { from_ms, to_ms })
    }

    pub fn from_ms(self) -> i64 {
        self.from_ms
    }

    pub fn to_ms(self) -> i64 {
        self.to_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_for_length_and_buckets() {
        let day = DAY_MS;
        assert!(TimeRange::new(0, day, Some(Interval::Hour)).is_ok());
        assert_eq!(TimeRange::new(day, day, None), Err(RangeError::Empty));
        assert_eq!(
            TimeRange::new(0, 3661 * day, None),
            Err(RangeError::TooLong)
        );
        // 41 days of hours is 984 buckets; 42 is 1008.
        assert!(TimeRange::new(0, 41 * day, Some(Interval::Hour)).is_ok());
        assert_eq!(
            TimeRange::new(0, 42 * day, Some(Interval::Hour)),
            Err(RangeError::TooManyBuckets {
                buckets: 1008,
                unit: "hour"
            })
        );
        // Hourly buckets over 400 days: the case the pages let through.
        assert!(matches!(
            TimeRange::new(0, 400 * day, Some(Interval::Hour)),
            Err(RangeError::TooManyBuckets { .. })
        ));
        // Ten years of weeks or months is fine.
        assert!(TimeRange::new(0, 3660 * day, Some(Interval::Week)).is_ok());
        assert!(TimeRange::new(0, 3660 * day, Some(Interval::Month)).is_ok());
        let r = TimeRange::new(5, 10, None).unwrap_or(TimeRange {
            from_ms: 0,
            to_ms: 0,
        });
        assert_eq!((r.from_ms(), r.to_ms()), (5, 10));
    }
}

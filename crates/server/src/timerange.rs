//! Times and ranges as requests give them, for every area: a date or an
//! RFC 3339 time, and a query's `[from, to)` checked by the core's one
//! range rule, so the API and the pages accept and refuse the same ranges.

use jiff::Timestamp;
use liveops_core::analytics::Interval;
use liveops_core::analytics::range::TimeRange;

use crate::error::{ApiError, ApiResult};

const DAY_MS: i64 = 86_400_000;

/// An RFC 3339 time, or a date (midnight UTC).
pub fn parse_when(field: &str, s: &str) -> ApiResult<i64> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    Err(ApiError::unprocessable(format!(
        "`{field}` must be a date like 2026-11-01 or an RFC 3339 time"
    )))
}

/// A query's `[from, to)`: `to` defaults to the end of today, `from` to
/// `default_days` before it. At most `max_days` long (never more than the
/// core's limit), and cut into no more buckets of `interval` than it allows.
pub fn query_range(
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
    max_days: i64,
    interval: Option<Interval>,
    now: i64,
) -> ApiResult<TimeRange> {
    let to = match to.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => parse_when("to", t)?,
        None => (now.div_euclid(DAY_MS) + 1) * DAY_MS,
    };
    let from = match from.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => parse_when("from", f)?,
        None => to.saturating_sub(default_days * DAY_MS),
    };
    if from < to && to - from > max_days * DAY_MS {
        return Err(ApiError::unprocessable(format!(
            "a range may cover at most {max_days} days"
        )));
    }
    TimeRange::new(from, to, interval).map_err(|e| ApiError::unprocessable(e.to_string()))
}

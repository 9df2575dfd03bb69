//! How long a project keeps each kind of telemetry, in whole days. Events
//! are kept until a project says otherwise; spans and metrics, which come
//! in far greater numbers, have limits by default, and the hourly request
//! rollups outlive the spans they summarise.

use std::fmt;
use std::str::FromStr;

/// A kind of telemetry with a retention of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Events,
    Spans,
    Metrics,
    /// The hourly request rollups: route percentiles, error rates and
    /// Apdex long after the spans have gone.
    Rollups,
}

/// The longest retention that can be set: ten years.
pub const MAX_DAYS: i64 = 3650;

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Events, Kind::Spans, Kind::Metrics, Kind::Rollups];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Spans => "spans",
            Kind::Metrics => "metrics",
            Kind::Rollups => "rollups",
        }
    }

    /// The days kept when a project has set nothing; `None` keeps all.
    /// Spans (with the detections found in them) go after 30 days, metrics
    /// after 90: the detectors and forecasts read no further back. Hourly
    /// rollups stay 400 days, for a year-on-year look at every route.
    pub fn default_days(self) -> Option<i64> {
        match self {
            Kind::Events => None,
            Kind::Spans => Some(30),
            Kind::Metrics => Some(90),
            Kind::Rollups => Some(400),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a retention was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("`{0}` is not a kind of telemetry: say events, spans, metrics or rollups")]
    Kind(String),
    #[error("a retention is 1 to {MAX_DAYS} days, or none to keep everything; {0} is neither")]
    Days(i64),
}

impl FromStr for Kind {
    type Err = RetentionError;
    fn from_str(s: &str) -> Result<Kind, RetentionError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| RetentionError::Kind(s.to_owned()))
    }
}

/// A retention as asked for: days from 1 to [`MAX_DAYS`], or `None` to
/// keep everything.
pub fn days(asked: Option<i64>) -> Result<Option<i64>, RetentionError> {
    match asked {
        Some(d) if !(1..=MAX_DAYS).contains(&d) => Err(RetentionError::Days(d)),
        other => Ok(other),
    }
}

/// Minute rollups are kept this long (whatever the retention of the hourly
/// ones); ranges further back read whole hours.
pub const MINUTE_ROLLUP_DAYS: i64 = 2;

/// The first moment kept under a retention of `days` at `now_ms`.
pub fn cutoff_ms(now_ms: i64, days: i64) -> i64 {
    now_ms.saturating_sub(days.saturating_mul(86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_unknown_ones_are_named() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
        }
        let err = "logs".parse::<Kind>().expect_err("unknown").to_string();
        assert!(err.contains("`logs`"), "{err}");
    }

    #[test]
    fn days_are_whole_and_bounded() {
        assert_eq!(days(None), Ok(None));
        assert_eq!(days(Some(1)), Ok(Some(1)));
        assert_eq!(days(Some(MAX_DAYS)), Ok(Some(MAX_DAYS)));
        assert_eq!(days(Some(0)), Err(RetentionError::Days(0)));
        assert_eq!(days(Some(-3)), Err(RetentionError::Days(-3)));
        assert_eq!(
            days(Some(MAX_DAYS + 1)),
            Err(RetentionError::Days(MAX_DAYS + 1))
        );
        assert_eq!(cutoff_ms(10 * 86_400_000, 3), 7 * 86_400_000);
    }
}

//! Human durations such as `30d` or `12h`, used for token lifetimes and time ranges.

use std::fmt;
use std::str::FromStr;

/// A positive length of time written as a number and a unit: `90s`, `15m`,
/// `12h`, `30d` or `2w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeSpan {
    seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration: write a positive number and a unit s, m, h, d or w, like `30d`")]
pub struct TimeSpanError(String);

impl TimeSpan {
    pub fn from_seconds(seconds: i64) -> Option<TimeSpan> {
        (seconds > 0).then_some(TimeSpan { seconds })
    }

    pub fn seconds(self) -> i64 {
        self.seconds
    }

    pub fn millis(self) -> i64 {
        self.seconds.saturating_mul(1000)
    }
}

impl FromStr for TimeSpan {
    type Err = TimeSpanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimeSpanError(s.to_owned());
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let n: i64 = num.parse().map_err(|_| err())?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(err()),
        };
        // Ten years is far beyond any sensible token lifetime or range.
        let seconds = n
            .checked_mul(mult)
            .filter(|s| *s <= 3650 * 86_400)
            .ok_or_else(err)?;
        TimeSpan::from_seconds(seconds).ok_or_else(err)
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        for (unit, len) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
            if s % len == 0 {
                return write!(f, "{}{unit}", s / len);
            }
        }
        write!(f, "{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let cases = [
            ("90s", 90),
            ("15m", 900),
            ("12h", 43_200),
            ("30d", 2_592_000),
            ("2w", 1_209_600),
        ];
        for (input, secs) in cases {
            assert_eq!(
                input.parse::<TimeSpan>().map(TimeSpan::seconds),
                Ok(secs),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "d",
            "0d",
            "-1d",
            "3x",
            "1.5d",
            "99999999999999999999d",
            "4000d",
        ] {
            assert!(bad.parse::<TimeSpan>().is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_largest_whole_unit() {
        assert_eq!(
            "14d".parse::<TimeSpan>().map(|t| t.to_string()),
            Ok("2w".into())
        );
        assert_eq!(
            "61s".parse::<TimeSpan>().map(|t| t.to_string()),
            Ok("61s".into())
        );
    }
}

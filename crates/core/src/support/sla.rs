//! Ticket service levels: targets per priority, due times, warnings and
//! breaches; and response-time statistics (MTTA, MTTR, SLA attainment).

use jiff::{SignedDuration, Timestamp};

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Urgent,
    High,
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim().to_ascii_lowercase())
    }

    /// Default targets (first response, resolution), in the spirit of
    /// Zendesk's defaults: one hour and a day for urgent, down to a day and a
    /// week and a half for low.
    pub fn default_targets(self) -> Targets {
        let h = SignedDuration::from_hours;
        match self {
            Priority::Urgent => Targets {
                first_response: h(1),
                resolution: h(24),
            },
            Priority::High => Targets {
                first_response: h(4),
                resolution: h(48),
            },
            Priority::Normal => Targets {
                first_response: h(8),
                resolution: h(120),
            },
            Priority::Low => Targets {
                first_response: h(24),
                resolution: h(240),
            },
        }
    }
}

/// How long a ticket may wait for its first response and its resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response: SignedDuration,
    pub resolution: SignedDuration,
}

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Done in time.
    Met,
    /// Done late, or not done and past due.
    Breached,
    /// Not done, due soon: 80% or more of the allowed time has gone.
    AtRisk,
    /// Not done, time left.
    OnTrack,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::Breached => "breached",
            Standing::AtRisk => "at_risk",
            Standing::OnTrack => "on_track",
        }
    }
}

/// The standing of a target that was due at `due`, set at `start`, and
/// reached at `done` (if it was), seen at `now`.
pub fn standing(
    start: Timestamp,
    due: Timestamp,
    done: Option<Timestamp>,
    now: Timestamp,
) -> Standing {
    match done {
        Some(d) if d <= due => Standing::Met,
        Some(_) => Standing::Breached,
        None if now > due => Standing::Breached,
        None => {
            let allowed = due.as_millisecond() - start.as_millisecond();
            let used = now.as_millisecond() - start.as_millisecond();
            if allowed > 0 && used * 5 >= allowed * 4 {
                Standing::AtRisk
            } else {
                Standing::OnTrack
            }
        }
    }
}

/// Mean and median of durations, `None` when there are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationStats {
    pub count: usize,
    pub mean: SignedDuration,
    pub median: SignedDuration,
}

pub fn duration_stats(mut values: Vec<SignedDuration>) -> Option<DurationStats> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let count = values.len();
    let total: i128 = values.iter().map(|d| d.as_millis()).sum();
    let mean = i64::try_from(total / count as i128).unwrap_or(i64::MAX);
    let median = if count % 2 == 1 {
        values[count / 2]
    } else {
        let a = values[count / 2 - 1].as_millis();
        let b = values[count / 2].as_millis();
        SignedDuration::from_millis(i64::try_from((a + b) / 2).unwrap_or(i64::MAX))
    };
    Some(DurationStats {
        count,
        mean: SignedDuration::from_millis(mean),
        median,
    })
}

/// The share of decided targets (met or breached) that were met; `None` when none are decided.
pub fn attainment(standings: &[Standing]) -> Option<f64> {
    let met = standings.iter().filter(|s| **s == Standing::Met).count();
    let breached = standings
        .iter()
        .filter(|s| **s == Standing::Breached)
        .count();
    let decided = met + breached;
    (decided > 0).then(|| met as f64 / decided as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn standings() {
        let (start, due) = (t(0), t(100));
        assert_eq!(standing(start, due, Some(t(100)), t(500)), Standing::Met);
        assert_eq!(
            standing(start, due, Some(t(101)), t(500)),
            Standing::Breached
        );
        assert_eq!(standing(start, due, None, t(101)), Standing::Breached);
        assert_eq!(standing(start, due, None, t(80)), Standing::AtRisk);
        assert_eq!(standing(start, due, None, t(79)), Standing::OnTrack);
    }

    #[test]
    fn stats_and_attainment() {
        let m = SignedDuration::from_mins;
        let s = duration_stats(vec![m(10), m(2), m(6), m(30)]).expect("stats");
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, SignedDuration::from_secs(720));
        assert_eq!(s.median, m(8));
        assert_eq!(duration_stats(vec![]), None);
        use Standing::*;
        assert_eq!(
            attainment(&[Met, Met, Breached, OnTrack, AtRisk]),
            Some(2.0 / 3.0)
        );
        assert_eq!(attainment(&[OnTrack]), None);
    }

    #[test]
    fn priorities() {
        assert_eq!(Priority::parse("URGENT"), Some(Priority::Urgent));
        assert_eq!(Priority::parse("meh"), None);
        assert!(
            Priority::Urgent.default_targets().first_response
                < Priority::Low.default_targets().first_response
        );
    }
}

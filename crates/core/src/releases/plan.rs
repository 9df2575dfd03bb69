//! Release planning: trains that leave on a cadence with a code freeze before
//! each, releases that move from planned through frozen to shipped, the
//! version each type of release calls for, and the capacity check.

use jiff::ToSpan;
use jiff::civil::Date;
use semver::Version;

/// How often a release train leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Weekly,
    Biweekly,
    Monthly,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Weekly => "weekly",
            Cadence::Biweekly => "biweekly",
            Cadence::Monthly => "monthly",
        }
    }

    pub fn parse(s: &str) -> Option<Cadence> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "weekly" => Some(Cadence::Weekly),
            "biweekly" | "fortnightly" => Some(Cadence::Biweekly),
            "monthly" => Some(Cadence::Monthly),
            _ => None,
        }
    }
}

/// A release train: the first release day, the cadence after it, and how
/// many days before each release the code freezes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Train {
    pub cadence: Cadence,
    pub first: Date,
    pub freeze_days: u8,
}

/// One departure of a train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departure {
    pub release: Date,
    pub freeze: Date,
}

/// Why a train was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadTrain(pub String);

impl Train {
    pub fn new(cadence: Cadence, first: Date, freeze_days: u8) -> Result<Train, BadTrain> {
        let period = match cadence {
            Cadence::Weekly => 7,
            Cadence::Biweekly => 14,
            Cadence::Monthly => 28,
        };
        if freeze_days >= period {
            return Err(BadTrain(format!(
                "a {} train can freeze at most {} days before release",
                cadence.as_str(),
                period - 1
            )));
        }
        Ok(Train {
            cadence,
            first,
            freeze_days,
        })
    }

    /// The n-th release day (0 is the first). Monthly trains keep the first
    /// release's day of the month, or the month's last day when shorter.
    pub fn release_day(&self, n: u32) -> Option<Date> {
        let n = i64::from(n);
        let span = match self.cadence {
            Cadence::Weekly => (n * 7).days(),
            Cadence::Biweekly => (n * 14).days(),
            Cadence::Monthly => n.months(),
        };
        self.first.checked_add(span).ok()
    }

    fn departure(&self, n: u32) -> Option<Departure> {
        let release = self.release_day(n)?;
        let freeze = release
            .checked_sub(i64::from(self.freeze_days).days())
            .ok()?;
        Some(Departure { release, freeze })
    }

    /// The next `count` departures whose release day is on or after `from`.
    pub fn calendar(&self, from: Date, count: usize) -> Vec<Departure> {
        let mut out = Vec::with_capacity(count);
        let mut n = 0u32;
        // Skip ahead roughly, then walk.
        if from > self.first {
            let days = (from - self.first).get_days().max(0) as u32;
            n = match self.cadence {
                Cadence::Weekly => days / 7,
                Cadence::Biweekly => days / 14,
                Cadence::Monthly => days / 31,
            }
            .saturating_sub(1);
        }
        while out.len() < count && n < 100_000 {
            let Some(d) = self.departure(n) else { break };
            if d.release >= from {
                out.push(d);
            }
            n += 1;
        }
        out
    }
}

/// What kind of release it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseKind {
    Major,
    Minor,
    Patch,
    Hotfix,
}

impl ReleaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::Major => "major",
            ReleaseKind::Minor => "minor",
            ReleaseKind::Patch => "patch",
            ReleaseKind::Hotfix => "hotfix",
        }
    }

    pub fn parse(s: &str) -> Option<ReleaseKind> {
        match s {
            "major" => Some(ReleaseKind::Major),
            "minor" => Some(ReleaseKind::Minor),
            "patch" => Some(ReleaseKind::Patch),
            "hotfix" => Some(ReleaseKind::Hotfix),
            _ => None,
        }
    }

    /// The version this kind of release follows `previous` with.
    pub fn next_version(self, previous: &Version) -> Version {
        match self {
            ReleaseKind::Major => Version::new(previous.major + 1, 0, 0),
            ReleaseKind::Minor => Version::new(previous.major, previous.minor + 1, 0),
            ReleaseKind::Patch | ReleaseKind::Hotfix => {
                Version::new(previous.major, previous.minor, previous.patch + 1)
            }
        }
    }

    /// Checks that `version` is the kind of step from `previous` this kind
    /// names: a major release raises the major number, and so on.
    pub fn check_version(self, previous: &Version, version: &Version) -> Result<(), String> {
        if version <= previous {
            return Err(format!(
                "version {version} must be higher than the last release, {previous}"
            ));
        }
        let ok = match self {
            ReleaseKind::Major => version.major > previous.major,
            ReleaseKind::Minor => version.major == previous.major && version.minor > previous.minor,
            ReleaseKind::Patch | ReleaseKind::Hotfix => {
                version.major == previous.major
                    && version.minor == previous.minor
                    && version.patch > previous.patch
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "a {} release after {previous} is numbered like {}, not {version}",
                self.as_str(),
                self.next_version(previous)
            ))
        }
    }
}

/// The lifecycle: planned, then frozen (only fixes may join), then shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseState {
    Planned,
    Frozen,
    Shipped,
}

impl ReleaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Planned => "planned",
            ReleaseState::Frozen => "frozen",
            ReleaseState::Shipped => "shipped",
        }
    }

    pub fn parse(s: &str) -> Option<ReleaseState> {
        match s {
            "planned" => Some(ReleaseState::Planned),
            "frozen" => Some(ReleaseState::Frozen),
            "shipped" => Some(ReleaseState::Shipped),
            _ => None,
        }
    }

    /// Releases move forward only, and may skip the freeze; a frozen one may
    /// be thawed back to planned.
    pub fn can_move_to(self, to: ReleaseState) -> bool {
        use ReleaseState::*;
        matches!(
            (self, to),
            (Planned, Frozen) | (Planned, Shipped) | (Frozen, Shipped) | (Frozen, Planned)
        )
    }
}

/// A warning that a release holds more work than the team can do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverCapacity {
    pub planned: f64,
    pub capacity: f64,
    /// Items scheduled with no effort estimate, not counted in `planned`.
    pub unestimated: usize,
}

/// Sums the open items' effort against the release's capacity; `Some` when
/// it goes over.
pub fn capacity_check(capacity: Option<f64>, efforts: &[Option<f64>]) -> Option<OverCapacity> {
    let capacity = capacity?;
    let planned: f64 = efforts.iter().flatten().sum();
    let unestimated = efforts.iter().filter(|e| e.is_none()).count();
    (planned > capacity).then_some(OverCapacity {
        planned,
        capacity,
        unestimated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_biweekly_train_leaves_every_other_week_with_its_freeze() {
        let t = Train::new(Cadence::Biweekly, date(2026, 11, 4), 2).expect("valid");
        let c = t.calendar(date(2026, 11, 28), 3);
        assert_eq!(
            c,
            vec![
                Departure {
                    release: date(2026, 12, 2),
                    freeze: date(2026, 11, 30)
                },
                Departure {
                    release: date(2026, 12, 16),
                    freeze: date(2026, 12, 14)
                },
                Departure {
                    release: date(2026, 12, 30),
                    freeze: date(2026, 12, 28)
                },
            ]
        );
        // Before the first departure, the calendar starts with it.
        let c = t.calendar(date(2026, 1, 1), 1);
        assert_eq!(c[0].release, date(2026, 11, 4));
    }

    #[test]
    fn monthly_trains_keep_the_day_or_the_months_end() {
        let t = Train::new(Cadence::Monthly, date(2027, 1, 31), 3).expect("valid");
        let c = t.calendar(date(2027, 1, 1), 3);
        let days: Vec<Date> = c.iter().map(|d| d.release).collect();
        assert_eq!(
            days,
            vec![date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]
        );
        assert_eq!(c[1].freeze, date(2027, 2, 25));
        let w = Train::new(Cadence::Weekly, date(2026, 11, 2), 1).expect("valid");
        assert_eq!(
            w.calendar(date(2026, 11, 10), 1)[0].release,
            date(2026, 11, 16)
        );
        assert!(Train::new(Cadence::Weekly, date(2026, 11, 2), 7).is_err());
    }

    #[test]
    fn each_kind_of_release_steps_the_version_its_way() {
        let v = |s: &str| Version::parse(s).expect("version");
        let prev = v("1.4.2");
        assert_eq!(ReleaseKind::Hotfix.next_version(&prev), v("1.4.3"));
        assert_eq!(ReleaseKind::Minor.next_version(&prev), v("1.5.0"));
        assert_eq!(ReleaseKind::Major.next_version(&prev), v("2.0.0"));
        assert!(ReleaseKind::Minor.check_version(&prev, &v("1.5.0")).is_ok());
        assert!(
            ReleaseKind::Minor
                .check_version(&prev, &v("1.5.0-rc.1"))
                .is_ok()
        );
        assert!(
            ReleaseKind::Hotfix
                .check_version(&prev, &v("1.4.3"))
                .is_ok()
        );
        let e = ReleaseKind::Hotfix
            .check_version(&prev, &v("1.5.0"))
            .expect_err("not a patch");
        assert!(e.contains("1.4.3"), "{e}");
        assert!(
            ReleaseKind::Major
                .check_version(&prev, &v("1.5.0"))
                .is_err()
        );
        assert!(
            ReleaseKind::Minor
                .check_version(&prev, &v("1.4.2"))
                .is_err()
        );
    }

    #[test]
    fn releases_move_forward_and_warn_when_overfull() {
        use ReleaseState::*;
        assert!(Planned.can_move_to(Frozen));
        assert!(Frozen.can_move_to(Shipped));
        assert!(Frozen.can_move_to(Planned));
        assert!(!Shipped.can_move_to(Planned));
        assert!(!Shipped.can_move_to(Frozen));
        assert_eq!(capacity_check(None, &[Some(50.0)]), None);
        assert_eq!(capacity_check(Some(10.0), &[Some(4.0), Some(6.0)]), None);
        assert_eq!(
            capacity_check(Some(10.0), &[Some(4.0), Some(7.0), None]),
            Some(OverCapacity {
                planned: 11.0,
                capacity: 10.0,
                unestimated: 1
            })
        );
    }
}

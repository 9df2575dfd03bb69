//! Escalation policies and support tiers: who is notified at each step, and
//! when the next step falls due.

use jiff::{SignedDuration, Timestamp};

/// The support tiers: L1 answers first and triages, L2 are product
/// specialists, L3 the engineers who own the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    L1,
    L2,
    L3,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::L1, Tier::L2, Tier::L3];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::L1 => "l1",
            Tier::L2 => "l2",
            Tier::L3 => "l3",
        }
    }

    /// The tier above, if any.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::L1 => Some(Tier::L2),
            Tier::L2 => Some(Tier::L3),
            Tier::L3 => None,
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Whom a level notifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    User(String),
    /// Whoever is on call in this schedule at the time.
    Schedule(String),
    /// Whoever is on call for this tier (its schedule), else all its members.
    Tier(Tier),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub targets: Vec<Target>,
    /// How long to wait for an acknowledgement before the next level.
    pub delay: SignedDuration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("an escalation policy needs at least one level")]
    NoLevels,
    #[error("level {0} has no one to notify")]
    NoTargets(usize),
    #[error("level {0} has a negative or over-long delay (at most a week)")]
    Delay(usize),
    #[error("a policy may repeat at most 9 times")]
    Repeat,
}

/// Ordered levels, run one after another, the whole list `repeat` more times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    levels: Vec<Level>,
    repeat: u32,
}

impl Policy {
    pub fn new(levels: Vec<Level>, repeat: u32) -> Result<Policy, PolicyError> {
        if levels.is_empty() {
            return Err(PolicyError::NoLevels);
        }
        for (i, l) in levels.iter().enumerate() {
            if l.targets.is_empty() {
                return Err(PolicyError::NoTargets(i + 1));
            }
            if l.delay.is_negative() || l.delay > SignedDuration::from_hours(24 * 7) {
                return Err(PolicyError::Delay(i + 1));
            }
        }
        if repeat > 9 {
            return Err(PolicyError::Repeat);
        }
        Ok(Policy { levels, repeat })
    }

    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    pub fn repeat(&self) -> u32 {
        self.repeat
    }

    /// How many steps a full escalation has.
    pub fn total_steps(&self) -> usize {
        self.levels.len() * (self.repeat as usize + 1)
    }

    /// The level that step `n` (0-based) runs, or `None` when the policy is exhausted.
    pub fn step(&self, n: usize) -> Option<&Level> {
        (n < self.total_steps()).then(|| &self.levels[n % self.levels.len()])
    }

    /// When the step after `n` falls due, if step `n` ran at `ran_at`.
    pub fn next_due(&self, n: usize, ran_at: Timestamp) -> Option<Timestamp> {
        let level = self.step(n)?;
        if n + 1 >= self.total_steps() {
            return None;
        }
        ran_at.checked_add(level.delay).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(user: &str, minutes: i64) -> Level {
        Level {
            targets: vec![Target::User(user.into())],
            delay: SignedDuration::from_mins(minutes),
        }
    }

    #[test]
    fn steps_loop_and_then_stop() -> Result<(), PolicyError> {
        let p = Policy::new(vec![level("l1", 5), level("l2", 10)], 1)?;
        assert_eq!(p.total_steps(), 4);
        let who = |n| match p.step(n).map(|l| &l.targets[0]) {
            Some(Target::User(u)) => Some(u.clone()),
            _ => None,
        };
        assert_eq!(
            [who(0), who(1), who(2), who(3), who(4)],
            [
                Some("l1".into()),
                Some("l2".into()),
                Some("l1".into()),
                Some("l2".into()),
                None
            ]
        );
        let t0 = Timestamp::from_second(1_000_000).map_err(|_| PolicyError::NoLevels)?;
        assert_eq!(p.next_due(0, t0), Some(t0 + SignedDuration::from_mins(5)));
        assert_eq!(p.next_due(1, t0), Some(t0 + SignedDuration::from_mins(10)));
        assert_eq!(p.next_due(3, t0), None, "the last step has no successor");
        Ok(())
    }

    #[test]
    fn bad_policies_are_refused() {
        assert_eq!(Policy::new(vec![], 0), Err(PolicyError::NoLevels));
        let empty = Level {
            targets: vec![],
            delay: SignedDuration::ZERO,
        };
        assert_eq!(
            Policy::new(vec![level("a", 1), empty], 0),
            Err(PolicyError::NoTargets(2))
        );
        assert_eq!(
            Policy::new(vec![level("a", -1)], 0),
            Err(PolicyError::Delay(1))
        );
        assert_eq!(
            Policy::new(vec![level("a", 1)], 10),
            Err(PolicyError::Repeat)
        );
    }

    #[test]
    fn tiers_climb() {
        assert_eq!(Tier::L1.next(), Some(Tier::L2));
        assert_eq!(Tier::L3.next(), None);
        assert_eq!(Tier::parse("L2"), Some(Tier::L2));
    }
}

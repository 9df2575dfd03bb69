//! Saved insights: a question asked of the analytics (a trend, a funnel,
//! retention, stickiness, lifecycle, active users, the web overview or
//! revenue), kept under a name so that anyone in the project can open it
//! again by its link and see it answered for today; and the goal a team
//! sets on an insight's headline number, with how far it is attained.

use std::fmt;
use std::str::FromStr;

/// The longest name an insight may have, in characters.
pub const MAX_NAME: usize = 120;

/// What kind of question an insight asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsightKind {
    Trends,
    Funnel,
    Retention,
    Stickiness,
    Lifecycle,
    Active,
    Web,
    Revenue,
}

impl InsightKind {
    pub const ALL: [InsightKind; 8] = [
        InsightKind::Trends,
        InsightKind::Funnel,
        InsightKind::Retention,
        InsightKind::Stickiness,
        InsightKind::Lifecycle,
        InsightKind::Active,
        InsightKind::Web,
        InsightKind::Revenue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InsightKind::Trends => "trends",
            InsightKind::Funnel => "funnel",
            InsightKind::Retention => "retention",
            InsightKind::Stickiness => "stickiness",
            InsightKind::Lifecycle => "lifecycle",
            InsightKind::Active => "active",
            InsightKind::Web => "web",
            InsightKind::Revenue => "revenue",
        }
    }
}

impl fmt::Display for InsightKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An insight kind that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an insight kind: trends, funnel, retention, stickiness, lifecycle, active, web or revenue"
)]
pub struct UnknownKind(pub String);

impl FromStr for InsightKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        InsightKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| UnknownKind(s.trim().to_owned()))
    }
}

/// Checks an insight's name: trimmed, 1 to [`MAX_NAME`] printable
/// characters.
pub fn insight_name(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

/// Which way a goal points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalOp {
    /// The value should be at least the target.
    AtLeast,
    /// The value should be at most the target.
    AtMost,
}

impl GoalOp {
    pub fn as_str(self) -> &'static str {
        match self {
            GoalOp::AtLeast => ">=",
            GoalOp::AtMost => "<=",
        }
    }

    pub fn parse(s: &str) -> Option<GoalOp> {
        match s.trim() {
            ">=" | "at_least" => Some(GoalOp::AtLeast),
            "<=" | "at_most" => Some(GoalOp::AtMost),
            _ => None,
        }
    }
}

/// A goal on an insight's headline number: "weekly revenue >= 50000",
/// "checkout conversion >= 35" (per cent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goal {
    pub op: GoalOp,
    pub target: f64,
}

/// How far a value is towards its goal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attainment {
    /// Value ÷ target for "at least"; target ÷ value for "at most"; 1
    /// where the target and the value are both 0. `None` when it has no
    /// meaning (a target of 0 to reach from below, a value of 0 to stay
    /// under).
    pub ratio: Option<f64>,
    pub met: bool,
}

impl Goal {
    /// A goal with a finite target.
    pub fn new(op: GoalOp, target: f64) -> Option<Goal> {
        target.is_finite().then_some(Goal { op, target })
    }

    pub fn attainment(&self, value: f64) -> Attainment {
        let met = match self.op {
            GoalOp::AtLeast => value >= self.target,
            GoalOp::AtMost => value <= self.target,
        };
        let (num, den) = match self.op {
            GoalOp::AtLeast => (value, self.target),
            GoalOp::AtMost => (self.target, value),
        };
        let ratio = if num == 0.0 && den == 0.0 {
            Some(1.0)
        } else if den == 0.0 {
            None
        } else {
            Some(num / den)
        };
        Attainment { ratio, met }
    }
}

/// When an insight alerts, by its headline number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlertRule {
    /// Above the value.
    Above(f64),
    /// Below the value.
    Below(f64),
    /// Moved by at least this many per cent, up or down, against the
    /// period before.
    Change(f64),
}

impl AlertRule {
    /// A rule from its condition's name and value; `None` for an unknown
    /// condition, a value that is not finite, or a change that is not
    /// positive.
    pub fn parse(condition: &str, value: f64) -> Option<AlertRule> {
        if !value.is_finite() {
            return None;
        }
        match condition.trim() {
            "above" => Some(AlertRule::Above(value)),
            "below" => Some(AlertRule::Below(value)),
            "change" if value > 0.0 => Some(AlertRule::Change(value)),
            _ => None,
        }
    }

    pub fn condition(&self) -> &'static str {
        match self {
            AlertRule::Above(_) => "above",
            AlertRule::Below(_) => "below",
            AlertRule::Change(_) => "change",
        }
    }

    pub fn value(&self) -> f64 {
        match self {
            AlertRule::Above(v) | AlertRule::Below(v) | AlertRule::Change(v) => *v,
        }
    }

    /// Whether `value` (with the period before's, for a change) breaks
    /// the rule. A change from 0 is unmeasured, never a breach.
    pub fn breached(&self, value: f64, previous: Option<f64>) -> bool {
        match self {
            AlertRule::Above(t) => value > *t,
            AlertRule::Below(t) => value < *t,
            AlertRule::Change(p) => previous
                .filter(|prev| *prev != 0.0)
                .is_some_and(|prev| ((value - prev) / prev).abs() * 100.0 >= *p),
        }
    }

    /// The rule in words.
    pub fn describe(&self) -> String {
        match self {
            AlertRule::Above(t) => format!("above {t}"),
            AlertRule::Below(t) => format!("below {t}"),
            AlertRule::Change(p) => format!("moves {p}% against the period before"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_they_print() {
        for k in InsightKind::ALL {
            assert_eq!(k.as_str().parse::<InsightKind>(), Ok(k));
        }
        assert_eq!(
            "paths".parse::<InsightKind>(),
            Err(UnknownKind("paths".into()))
        );
        assert_eq!(
            insight_name("  Weekly revenue "),
            Some("Weekly revenue".into())
        );
        assert_eq!(insight_name(" "), None);
        assert_eq!(insight_name("a\nb"), None);
    }

    #[test]
    fn goals_say_how_far_a_value_is() {
        let at_least = Goal::new(GoalOp::AtLeast, 50.0).expect("goal");
        assert_eq!(
            at_least.attainment(40.0),
            Attainment {
                ratio: Some(0.8),
                met: false
            }
        );
        assert!(at_least.attainment(50.0).met);
        let at_most = Goal::new(GoalOp::AtMost, 2.0).expect("goal");
        assert_eq!(
            at_most.attainment(4.0),
            Attainment {
                ratio: Some(0.5),
                met: false
            }
        );
        assert!(at_most.attainment(0.0).met && at_most.attainment(0.0).ratio.is_none());
        let zero = Goal::new(GoalOp::AtLeast, 0.0).expect("goal");
        assert_eq!(zero.attainment(0.0).ratio, Some(1.0));
        assert!(Goal::new(GoalOp::AtLeast, f64::NAN).is_none());
        assert_eq!(GoalOp::parse(">="), Some(GoalOp::AtLeast));
        assert_eq!(GoalOp::parse("at_most"), Some(GoalOp::AtMost));
        assert_eq!(GoalOp::parse("="), None);
    }

    #[test]
    fn alert_rules_say_when_they_break() {
        let above = AlertRule::parse("above", 50.0).expect("rule");
        assert!(above.breached(51.0, None) && !above.breached(50.0, None));
        let below = AlertRule::parse("below", 10.0).expect("rule");
        assert!(below.breached(9.0, None) && !below.breached(10.0, None));
        let change = AlertRule::parse("change", 20.0).expect("rule");
        assert!(change.breached(80.0, Some(100.0)));
        assert!(change.breached(120.0, Some(100.0)));
        assert!(!change.breached(110.0, Some(100.0)));
        assert!(!change.breached(5.0, Some(0.0)) && !change.breached(5.0, None));
        assert_eq!(AlertRule::parse("change", 0.0), None);
        assert_eq!(AlertRule::parse("above", f64::INFINITY), None);
        assert_eq!(AlertRule::parse("equals", 1.0), None);
        assert_eq!(change.describe(), "moves 20% against the period before");
    }
}

//! The product backlog: items, the status workflow they move through, and
//! RICE or ICE scores to rank them by.

/// What a backlog item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    Enhancement,
    Bug,
    TechDebt,
    Security,
}

impl ItemKind {
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Enhancement,
        ItemKind::Bug,
        ItemKind::TechDebt,
        ItemKind::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Enhancement => "enhancement",
            ItemKind::Bug => "bug",
            ItemKind::TechDebt => "tech_debt",
            ItemKind::Security => "security",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        match s {
            "enhancement" => Some(ItemKind::Enhancement),
            "bug" => Some(ItemKind::Bug),
            "tech_debt" => Some(ItemKind::TechDebt),
            "security" => Some(ItemKind::Security),
            _ => None,
        }
    }

    /// Bugs and security items may still join a frozen release; new work may not.
    pub fn allowed_after_freeze(self) -> bool {
        matches!(self, ItemKind::Bug | ItemKind::Security)
    }
}

/// The workflow: triage → planned → in progress → done → released, with
/// "won't do" and "merged" as the ways out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    Triage,
    Planned,
    InProgress,
    Done,
    Released,
    WontDo,
    Merged,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 7] = [
        ItemStatus::Triage,
        ItemStatus::Planned,
        ItemStatus::InProgress,
        ItemStatus::Done,
        ItemStatus::Released,
        ItemStatus::WontDo,
        ItemStatus::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Triage => "triage",
            ItemStatus::Planned => "planned",
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Done => "done",
            ItemStatus::Released => "released",
            ItemStatus::WontDo => "wont_do",
            ItemStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Still to be built: counts against a release's capacity.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ItemStatus::Triage | ItemStatus::Planned | ItemStatus::InProgress
        )
    }

    /// Whether a person may move an item from `self` to `to`. Released and
    /// merged are reached only by shipping a release and merging.
    pub fn can_move_to(self, to: ItemStatus) -> bool {
        use ItemStatus::*;
        if self == to {
            return true;
        }
        match (self, to) {
            (_, Released | Merged) => false,
            (Released | Merged, _) => false,
            (
                Triage | Planned | InProgress | Done | WontDo,
                Triage | Planned | InProgress | Done,
            ) => true,
            (Triage | Planned | InProgress | Done, WontDo) => true,
            _ => false,
        }
    }
}

/// A prioritisation score with its inputs, which people edit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// Reach (people per period) × impact (0.25, 0.5, 1, 2 or 3) ×
    /// confidence (0 to 100 %) ÷ effort (person-weeks).
    Rice {
        reach: f64,
        impact: f64,
        confidence: f64,
        effort: f64,
    },
    /// Impact × confidence × ease, each 1 to 10.
    Ice {
        impact: f64,
        confidence: f64,
        ease: f64,
    },
}

/// Why score inputs were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadScore(pub String);

/// RICE's impact scale.
pub const RICE_IMPACTS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 3.0];

impl Score {
    /// RICE inputs, checked against the method's scales.
    pub fn rice(reach: f64, impact: f64, confidence: f64, effort: f64) -> Result<Score, BadScore> {
        if !reach.is_finite() || reach < 0.0 {
            return Err(BadScore("RICE reach must be zero or more".into()));
        }
        if !RICE_IMPACTS.contains(&impact) {
            return Err(BadScore(
                "RICE impact must be 0.25 (minimal), 0.5 (low), 1 (medium), 2 (high) or 3 (massive)"
                    .into(),
            ));
        }
        if !(0.0..=100.0).contains(&confidence) {
            return Err(BadScore("RICE confidence is a percentage, 0 to 100".into()));
        }
        if !effort.is_finite() || effort <= 0.0 {
            return Err(BadScore(
                "RICE effort must be more than zero person-weeks".into(),
            ));
        }
        Ok(Score::Rice {
            reach,
            impact,
            confidence,
            effort,
        })
    }

    /// ICE inputs, each 1 to 10.
    pub fn ice(impact: f64, confidence: f64, ease: f64) -> Result<Score, BadScore> {
        for (name, v) in [
            ("impact", impact),
            ("confidence", confidence),
            ("ease", ease),
        ] {
            if !(1.0..=10.0).contains(&v) {
                return Err(BadScore(format!("ICE {name} must be 1 to 10")));
            }
        }
        Ok(Score::Ice {
            impact,
            confidence,
            ease,
        })
    }

    pub fn method(&self) -> &'static str {
        match self {
            Score::Rice { .. } => "rice",
            Score::Ice { .. } => "ice",
        }
    }

    /// The number items are ranked by, higher first.
    pub fn value(&self) -> f64 {
        match *self {
            Score::Rice {
                reach,
                impact,
                confidence,
                effort,
            } => reach * impact * (confidence / 100.0) / effort,
            Score::Ice {
                impact,
                confidence,
                ease,
            } => impact * confidence * ease,
        }
    }

    /// The effort in person-weeks, when the method has one (RICE).
    pub fn effort(&self) -> Option<f64> {
        match *self {
            Score::Rice { effort, .. } => Some(effort),
            Score::Ice { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rice_follows_intercoms_formula() {
        // 2,000 people a quarter, high impact, 80 % sure, 4 person-weeks.
        let s = Score::rice(2000.0, 2.0, 80.0, 4.0).expect("valid");
        assert!((s.value() - 800.0).abs() < 1e-9);
        assert_eq!(s.effort(), Some(4.0));
        assert!(Score::rice(10.0, 1.5, 50.0, 1.0).is_err());
        assert!(Score::rice(10.0, 1.0, 150.0, 1.0).is_err());
        assert!(Score::rice(10.0, 1.0, 50.0, 0.0).is_err());
        assert!(Score::rice(-1.0, 1.0, 50.0, 1.0).is_err());
    }

    #[test]
    fn ice_multiplies_its_three_inputs() {
        let s = Score::ice(8.0, 5.0, 3.0).expect("valid");
        assert_eq!(s.value(), 120.0);
        assert_eq!(s.method(), "ice");
        assert!(Score::ice(0.0, 5.0, 3.0).is_err());
        assert!(Score::ice(5.0, 11.0, 3.0).is_err());
    }

    #[test]
    fn the_workflow_keeps_released_and_merged_for_the_system() {
        use ItemStatus::*;
        assert!(Triage.can_move_to(Planned));
        assert!(Done.can_move_to(InProgress));
        assert!(Planned.can_move_to(WontDo));
        assert!(WontDo.can_move_to(Triage));
        assert!(!Planned.can_move_to(Released));
        assert!(!Triage.can_move_to(Merged));
        assert!(!Released.can_move_to(Planned));
        assert!(!Merged.can_move_to(Triage));
        for s in ItemStatus::ALL {
            assert_eq!(ItemStatus::parse(s.as_str()), Some(s));
        }
        assert!(ItemKind::Bug.allowed_after_freeze());
        assert!(!ItemKind::Enhancement.allowed_after_freeze());
    }
}

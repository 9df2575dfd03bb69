//! The public status page: component states, maintenance stages, and uptime
//! computed from a component's history.

use jiff::{SignedDuration, Timestamp};

use super::incident::UnknownValue;

/// A component's state, as Atlassian Statuspage names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::UnderMaintenance,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }

    /// How much of the time in this state counts as down: a major outage
    /// fully, a partial outage 30%, as Statuspage weighs them.
    fn downtime_weight(self) -> f64 {
        match self {
            ComponentStatus::MajorOutage => 1.0,
            ComponentStatus::PartialOutage => 0.3,
            _ => 0.0,
        }
    }
}

impl std::str::FromStr for ComponentStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ComponentStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "component status",
                value: s.to_owned(),
                expected: "operational, under_maintenance, degraded_performance, partial_outage, major_outage",
            })
    }
}

/// A maintenance window's stage, as Statuspage names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MaintenanceState {
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl MaintenanceState {
    pub const ALL: [MaintenanceState; 4] = [
        MaintenanceState::Scheduled,
        MaintenanceState::InProgress,
        MaintenanceState::Verifying,
        MaintenanceState::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceState::Scheduled => "scheduled",
            MaintenanceState::InProgress => "in_progress",
            MaintenanceState::Verifying => "verifying",
            MaintenanceState::Completed => "completed",
        }
    }

    /// Whether the window's components are under maintenance in this stage.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            MaintenanceState::InProgress | MaintenanceState::Verifying
        )
    }

    /// Stages only move forward; a scheduled window may also be completed
    /// (called off) before it starts.
    pub fn can_move_to(self, to: MaintenanceState) -> bool {
        to > self
    }

    /// The stage the clock moves a window to at `now`, if any: it starts at
    /// `starts_at` and completes at `ends_at`, unless people moved it first.
    pub fn due(self, starts_at: Timestamp, ends_at: Timestamp, now: Timestamp) -> Option<Self> {
        match self {
            MaintenanceState::Completed => None,
            _ if now >= ends_at => Some(MaintenanceState::Completed),
            MaintenanceState::Scheduled if now >= starts_at => Some(MaintenanceState::InProgress),
            _ => None,
        }
    }
}

impl std::str::FromStr for MaintenanceState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MaintenanceState::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "maintenance state",
                value: s.to_owned(),
                expected: "scheduled, in_progress, verifying, completed",
            })
    }
}

/// One day of a component's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayUptime {
    pub start: Timestamp,
    /// 0.0 to 1.0.
    pub uptime: f64,
    /// The worst state the component was in that day.
    pub worst: ComponentStatus,
}

/// Per-day uptime for `days` whole days starting at `from`, given the status
/// in force at `from` and the changes after it (sorted by time). Days are
/// 24-hour stretches from `from`.
pub fn daily_uptime(
    initial: ComponentStatus,
    changes: &[(Timestamp, ComponentStatus)],
    from: Timestamp,
    days: usize,
) -> Vec<DayUptime> {
    let day = SignedDuration::from_hours(24);
    let mut out = Vec::with_capacity(days);
    let mut status = initial;
    let mut next = 0;
    let mut cursor = from;
    for _ in 0..days {
        let Ok(end) = cursor.checked_add(day) else {
            break;
        };
        let (start, mut t) = (cursor, cursor);
        let mut down = 0.0;
        while next < changes.len() && changes[next].0 <= t {
            status = changes[next].1;
            next += 1;
        }
        let mut worst = status;
        while next < changes.len() && changes[next].0 < end {
            let (at, s) = changes[next];
            down += (at.as_millisecond() - t.as_millisecond()) as f64 * status.downtime_weight();
            t = at;
            status = s;
            worst = worst.max(status);
            next += 1;
        }
        down += (end.as_millisecond() - t.as_millisecond()) as f64 * status.downtime_weight();
        let total = (end.as_millisecond() - start.as_millisecond()) as f64;
        out.push(DayUptime {
            start,
            uptime: 1.0 - down / total,
            worst,
        });
        cursor = end;
    }
    out
}

/// The average of daily uptimes.
pub fn overall_uptime(days: &[DayUptime]) -> Option<f64> {
    (!days.is_empty()).then(|| days.iter().map(|d| d.uptime).sum::<f64>() / days.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    fn h(hours: i64) -> Timestamp {
        Timestamp::from_second(hours * 3600).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn outages_are_weighted_per_day() {
        // Day 0: 6h major outage. Day 1: 10h partial outage spanning into day 2 by 4h.
        let changes = [
            (h(6), MajorOutage),
            (h(12), Operational),
            (h(38), PartialOutage),
            (h(52), Operational),
        ];
        let days = daily_uptime(Operational, &changes, h(0), 3);
        assert_eq!(days.len(), 3);
        assert!((days[0].uptime - 0.75).abs() < 1e-9);
        assert_eq!(days[0].worst, MajorOutage);
        assert!((days[1].uptime - (1.0 - 10.0 * 0.3 / 24.0)).abs() < 1e-9);
        assert!((days[2].uptime - (1.0 - 4.0 * 0.3 / 24.0)).abs() < 1e-9);
        assert_eq!(days[2].worst, PartialOutage);
        assert!(overall_uptime(&days).is_some_and(|u| u < 1.0));
    }

    #[test]
    fn a_state_from_before_the_window_counts() {
        let days = daily_uptime(MajorOutage, &[(h(12), Operational)], h(0), 2);
        assert!((days[0].uptime - 0.5).abs() < 1e-9);
        assert!((days[1].uptime - 1.0).abs() < 1e-9);
        assert_eq!(days[1].worst, Operational);
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(
            "partial_outage".parse::<ComponentStatus>(),
            Ok(PartialOutage)
        );
        assert!("down".parse::<ComponentStatus>().is_err());
        assert!(MajorOutage > DegradedPerformance);
    }

    #[test]
    fn maintenance_moves_forward_with_the_clock() {
        use MaintenanceState::*;
        let (start, end) = (h(10), h(12));
        assert_eq!(Scheduled.due(start, end, h(9)), None);
        assert_eq!(Scheduled.due(start, end, h(10)), Some(InProgress));
        assert_eq!(InProgress.due(start, end, h(11)), None);
        assert_eq!(Verifying.due(start, end, h(12)), Some(Completed));
        // A window nobody started before it ended still completes.
        assert_eq!(Scheduled.due(start, end, h(13)), Some(Completed));
        assert_eq!(Completed.due(start, end, h(13)), None);
        assert!(Scheduled.can_move_to(Verifying));
        assert!(!Completed.can_move_to(InProgress));
        assert!(!InProgress.can_move_to(InProgress));
        assert!(InProgress.is_active() && Verifying.is_active());
        assert!(!Scheduled.is_active() && !Completed.is_active());
        assert_eq!("verifying".parse::<MaintenanceState>(), Ok(Verifying));
        assert!("done".parse::<MaintenanceState>().is_err());
    }
}

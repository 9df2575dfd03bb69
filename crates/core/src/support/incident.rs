//! Incidents: severity, the triggered → acknowledged → resolved state machine,
//! and the public status stages.

use std::fmt;
use std::str::FromStr;

/// How bad an incident is; SEV1 is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Sev1,
        Severity::Sev2,
        Severity::Sev3,
        Severity::Sev4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "sev1",
            Severity::Sev2 => "sev2",
            Severity::Sev3 => "sev3",
            Severity::Sev4 => "sev4",
        }
    }

    /// Maps the severity words monitoring tools use (`critical`, `warning`,
    /// `info`, `page`, …) onto SEV levels; unknown words are SEV3.
    pub fn from_label(label: &str) -> Severity {
        match label.trim().to_ascii_lowercase().as_str() {
            "sev1" | "1" | "critical" | "crit" | "page" | "fatal" | "emergency" | "p1" => {
                Severity::Sev1
            }
            "sev2" | "2" | "error" | "high" | "major" | "p2" => Severity::Sev2,
            "sev4" | "4" | "info" | "low" | "minor" | "none" | "p4" | "p5" => Severity::Sev4,
            _ => Severity::Sev3,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`: expected one of {expected}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for Severity {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownValue {
                what: "severity",
                value: s.to_owned(),
                expected: "sev1, sev2, sev3, sev4",
            })
    }
}

/// Where an incident stands for the responders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentState {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Triggered => "triggered",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != IncidentState::Resolved
    }
}

impl FromStr for IncidentState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            IncidentState::Triggered,
            IncidentState::Acknowledged,
            IncidentState::Resolved,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| UnknownValue {
            what: "incident state",
            value: s.to_owned(),
            expected: "triggered, acknowledged, resolved",
        })
    }
}

/// Something that happens to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentEvent {
    Acknowledge,
    /// An acknowledgement ran out without a resolution.
    AckTimeout,
    Resolve,
    /// A new alert for a resolved incident's key; per PagerDuty this opens a
    /// new incident, so it is refused here.
    Retrigger,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an incident that is {from} cannot be {event}")]
pub struct InvalidTransition {
    pub from: &'static str,
    pub event: &'static str,
}

impl IncidentState {
    /// The state after `event`, or why it cannot happen.
    pub fn apply(self, event: IncidentEvent) -> Result<IncidentState, InvalidTransition> {
        use IncidentEvent as E;
        use IncidentState as S;
        let bad = |event: &'static str| InvalidTransition {
            from: self.as_str(),
            event,
        };
        match (self, event) {
            (S::Triggered, E::Acknowledge) => Ok(S::Acknowledged),
            (S::Acknowledged, E::AckTimeout) => Ok(S::Triggered),
            (S::Triggered | S::Acknowledged, E::Resolve) => Ok(S::Resolved),
            (S::Acknowledged, E::Acknowledge) => Err(bad("acknowledged again")),
            (S::Resolved, E::Acknowledge) => Err(bad("acknowledged")),
            (S::Resolved, E::Resolve) => Err(bad("resolved again")),
            (_, E::AckTimeout) => Err(bad("timed out")),
            (_, E::Retrigger) => Err(bad("re-triggered; a new incident opens instead")),
        }
    }
}

/// What the public status page says about an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusStage {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl StatusStage {
    pub const ALL: [StatusStage; 4] = [
        StatusStage::Investigating,
        StatusStage::Identified,
        StatusStage::Monitoring,
        StatusStage::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusStage::Investigating => "investigating",
            StatusStage::Identified => "identified",
            StatusStage::Monitoring => "monitoring",
            StatusStage::Resolved => "resolved",
        }
    }
}

impl FromStr for StatusStage {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatusStage::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue {
                what: "status stage",
                value: s.to_owned(),
                expected: "investigating, identified, monitoring, resolved",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentEvent as E;
    use IncidentState as S;

    #[test]
    fn state_machine() {
        let ok = [
            (S::Triggered, E::Acknowledge, S::Acknowledged),
            (S::Acknowledged, E::AckTimeout, S::Triggered),
            (S::Triggered, E::Resolve, S::Resolved),
            (S::Acknowledged, E::Resolve, S::Resolved),
        ];
        for (from, event, to) in ok {
            assert_eq!(from.apply(event), Ok(to), "{from:?} {event:?}");
        }
        let refused = [
            (S::Acknowledged, E::Acknowledge),
            (S::Resolved, E::Acknowledge),
            (S::Resolved, E::Resolve),
            (S::Triggered, E::AckTimeout),
            (S::Resolved, E::Retrigger),
        ];
        for (from, event) in refused {
            assert!(from.apply(event).is_err(), "{from:?} {event:?}");
        }
    }

    #[test]
    fn severities_from_monitoring_labels() {
        assert_eq!(Severity::from_label("critical"), Severity::Sev1);
        assert_eq!(Severity::from_label("Warning"), Severity::Sev3);
        assert_eq!(Severity::from_label("error"), Severity::Sev2);
        assert_eq!(Severity::from_label("info"), Severity::Sev4);
        assert_eq!("SEV2".parse::<Severity>(), Ok(Severity::Sev2));
        assert!("sev5".parse::<Severity>().is_err());
    }
}

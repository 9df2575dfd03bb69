//! Alerts as liveops sees them once a monitoring tool's payload is parsed.

use jiff::Timestamp;

use super::incident::Severity;

/// One alert from a monitoring tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identifies the alert within its group across repeats.
    pub fingerprint: String,
    pub firing: bool,
    pub summary: String,
    /// The severity the tool gave, if any.
    pub severity: Option<Severity>,
    pub labels: Vec<(String, String)>,
    pub starts_at: Option<Timestamp>,
}

/// Alerts that belong to one incident: the tool's group (Alertmanager's
/// `groupKey`, or a generic webhook's dedup key).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    pub key: String,
    /// A title for an incident opened from this group.
    pub title: String,
    pub alerts: Vec<Alert>,
}

impl AlertGroup {
    /// The most severe severity among firing alerts.
    pub fn severity(&self) -> Option<Severity> {
        self.alerts
            .iter()
            .filter(|a| a.firing)
            .filter_map(|a| a.severity)
            .min()
    }

    pub fn any_firing(&self) -> bool {
        self.alerts.iter().any(|a| a.firing)
    }
}

//! Production support: incidents, escalation through support tiers, on-call
//! schedules, and ticket e-mail threading.

pub mod alert;
pub mod errors;
pub mod escalation;
pub mod incident;
pub mod issue_alerts;
pub mod issues;
pub mod mail;
pub mod schedule;
pub mod sla;
pub mod status;

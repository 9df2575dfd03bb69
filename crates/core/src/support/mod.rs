//! Production support: incidents, escalation through support tiers, on-call
//! schedules.

pub mod alert;
pub mod escalation;
pub mod incident;
pub mod schedule;
pub mod sla;
pub mod status;

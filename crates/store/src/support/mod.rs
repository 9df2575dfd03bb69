//! Production support state: on-call (schedules, tiers, escalation policies),
//! alert integrations, incidents and their timelines, notifications, tickets
//! and the status page.

pub mod errors;
pub mod incidents;
pub mod intake;
pub mod notify;
pub mod oncall;
pub mod release_files;
pub mod status;
pub mod tickets;

use crate::StoreError;

/// Parses a stored enum value, or reports the stored data as corrupt.
pub(crate) fn parse_stored<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Other(format!("stored {what} `{s}` is not valid")))
}

//! Production support in the server: alert intake, incident actions, the
//! escalation, SLA, maintenance and delivery jobs, the signed links pages
//! carry, and the public status page.

pub mod deliver;
pub mod errors;
pub mod integrations;
pub mod links;
pub mod mail;
pub mod maildir;
pub mod maintenance;
pub mod notice;
pub mod overrides;
pub mod rules;
pub mod sender;
pub mod service;
pub mod stats;
pub mod tickets;

crate::area_error!(
    /// What went wrong in production support.
    SupportError
);

pub type Result<T, E = SupportError> = std::result::Result<T, E>;

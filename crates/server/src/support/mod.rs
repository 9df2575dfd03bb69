//! Production support in the server: alert intake, incident actions, the
//! escalation, SLA, maintenance and delivery jobs, and the public status page.

pub mod deliver;
pub mod maintenance;
pub mod public;
pub mod service;
pub mod tickets;

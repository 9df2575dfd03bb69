//! Production support in the server: alert intake, incident actions, the
//! escalation and delivery jobs, and the public status page.

pub mod deliver;
pub mod public;
pub mod service;

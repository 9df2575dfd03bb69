//! Post-production reviews: postmortems drafted from an incident's data and
//! post-launch reviews of a release or a period.

pub mod launch;
pub mod postmortem;

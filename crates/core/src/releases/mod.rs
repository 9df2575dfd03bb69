//! Release planning: trains, releases and their capacity, Conventional
//! Commits read from history, the semver bump they call for, and Keep a
//! Changelog sections to write them up in; and what a commit message says
//! it fixes or reverts.

pub mod changelog;
pub mod commits;
pub mod plan;
pub mod references;

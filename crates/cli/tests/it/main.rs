//! Integration tests: real servers on port 0, real HTTP, real clients.

mod helpers;

mod access;
mod action_links;
mod alertmanager;
mod analytics;
mod api_fuzz;
mod audit_walk;
mod backup;
mod browser;
mod browser_errors;
mod cli;
mod configuration;
mod docs;
mod error_tracking;
mod errors;
mod feedback;
mod first_run;
mod githooks;
mod hardening;
mod improvement;
mod nodes;
mod oncall_cli;
mod performance;
mod releases;
mod report;
mod restart;
mod reviews;
mod scaling;
mod security;
mod security_boundaries;
mod smtp;
mod support;
mod system;
mod tidy;
mod ui;

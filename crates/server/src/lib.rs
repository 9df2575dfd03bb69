//! The liveops server: HTTP API, web UI, background jobs and the admin actions
//! the CLI shares with them.

pub mod access;
pub mod aliases;
pub mod analytics;
pub mod api;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod configuration;
pub mod contract;
pub mod control;
pub mod docs;
pub mod error;
pub mod fault;
pub mod feedback;
pub mod improvement;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod outbound;
pub mod overview;
pub mod performance;
pub mod releases;
pub mod reviews;
pub mod scaling;
pub mod sealed;
pub mod security;
pub mod signing;
pub mod startup;
pub mod state;
pub mod support;
mod system;
pub mod timerange;
pub mod ui;
pub mod work;

pub use config::{Config, ConfigFlags};
pub use startup::Application;

//! The API contract: request bodies, query parameters and answers as JSON,
//! with how they are read and made, shared by the API, the pages (which show
//! the same views) and the CLI (which reads them back). One module per area.

pub mod access;
pub mod analytics;
pub mod answers;
pub mod cohorts;
pub mod configuration;
pub mod dashboards;
pub mod docs;
pub mod errors;
pub mod feedback;
pub mod improvement;
pub mod insights;
pub mod performance;
pub mod releases;
pub mod revenue;
pub mod reviews;
pub mod scaling;
pub mod security;
pub mod support;

//! Wire formats: external payloads parsed into core types, and core types
//! written out in the formats other tools read.
//!
//! Parsers take bytes and return either a core value or an error a person can
//! act on. They never panic on any input.

pub mod alerts;
pub mod analytics;
pub mod feedback;
pub mod git;
pub mod githooks;
pub mod ical;
pub mod lockfile;
pub mod openapi;
pub mod osv;
pub mod otlp;
pub mod rates;
pub mod sarif;
pub mod sentry;
pub mod slack;
pub mod sourcemaps;
pub mod x509;

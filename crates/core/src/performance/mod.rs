//! Performance: request spans and database calls from OpenTelemetry, the
//! per-minute rollups behind route latency and errors, SQL fingerprints, the
//! detectors that turn spans into findings, and SLO burn-rate maths.
//!
//! Times are nanoseconds since the Unix epoch, as OTLP sends them; latency
//! figures are milliseconds.

pub mod detect;
pub mod metric;
pub mod regression;
pub mod rollup;
pub mod rule;
pub mod slo;
pub mod span;
pub mod sql;

pub use rollup::{APDEX_T_MS, LatencySketch, Rollup};
pub use span::{DbCall, HttpCall, Span, SpanKind};

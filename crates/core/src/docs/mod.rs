//! Documentation sync: keeping what a product documents in step with what it
//! ships, from change detection between two versions of an API on.

pub mod adr;
pub mod api_diff;
pub mod openapi;
pub mod stale;

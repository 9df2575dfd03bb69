//! The pure core of liveops: domain types, rules and calculations, free of IO.
//!
//! Nothing here knows about HTTP, SQL, JSON wire formats, async runtimes or the
//! file system. Every value that exists is valid: constructors parse.

pub mod access;
pub mod analytics;
pub mod area;
pub mod docs;
pub mod feedback;
pub mod improvement;
pub mod performance;
pub mod releases;
pub mod reviews;
pub mod scaling;
pub mod security;
pub mod span;
pub mod support;
pub mod tenancy;

pub use access::{Permission, Role, Scope, Scopes};
pub use area::Area;
pub use span::TimeSpan;
pub use tenancy::{Email, ProjectName, Slug};

//! liveops state: SQLite by default, PostgreSQL when configured, through one code path.
//!
//! Every query is written once, with `$n` placeholders that both engines accept,
//! and runs through sqlx's `Any` driver. The schema uses only portable types:
//! TEXT ids, BIGINT unix milliseconds and BIGINT 0/1 flags. Where the dialects
//! truly differ, a migration carries a per-backend variant (see [`migrate`]).

pub mod access;
pub mod analytics;
pub mod audit;
pub mod backup;
mod db;
pub mod docs;
pub mod feedback;
pub mod feeds;
pub mod improvement;
pub mod migrate;
pub mod nodes;
pub mod performance;
pub mod projects;
pub mod releases;
pub mod reviews;
pub mod scaling;
pub mod security;
pub mod support;

pub use db::{Backend, Db};

/// Errors from the state store. Callers mostly care whether a thing was
/// missing, already there, or something else went wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("invalid database url: {0}")]
    BadUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`] naming `what`.
    pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |e| match e.as_database_error() {
            Some(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(e),
        }
    }
}

/// A new time-ordered id: 32 lower-case hex digits.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Whether `s` has the shape of an id made by [`new_id`]. Checked before a
/// lookup so that arbitrary input never reaches the database.
pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

//! Append-only schema migrations, embedded in the binary.
//!
//! Each migration is one portable SQL file. Where SQLite and PostgreSQL need
//! different SQL, the entry names a per-backend file instead. sqlx's migrator
//! applies them, records checksums (so an edited migration is refused) and, on
//! PostgreSQL, takes an advisory lock so that several instances can start at once.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::{Backend, Db, Result};

struct Entry {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Portable migrations list the same file twice.
macro_rules! portable {
    ($version:literal, $name:literal, $file:literal) => {
        Entry {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/", $file)),
            postgres: include_str!(concat!("../migrations/", $file)),
        }
    };
}

/// Append only: never edit or reorder an entry that has shipped.
const MIGRATIONS: &[Entry] = &[
    portable!(1, "foundation", "0001_foundation.sql"),
    portable!(2, "support", "0002_support.sql"),
    portable!(3, "support_tickets", "0003_support_tickets.sql"),
    portable!(4, "analytics", "0004_analytics.sql"),
    portable!(5, "performance", "0005_performance.sql"),
    portable!(6, "performance_rules", "0006_performance_rules.sql"),
    portable!(7, "deployments", "0007_deployments.sql"),
    portable!(8, "feedback_releases", "0008_feedback_releases.sql"),
    portable!(9, "security", "0009_security.sql"),
    portable!(10, "reviews", "0010_reviews.sql"),
    portable!(11, "report_delivery", "0011_report_delivery.sql"),
    portable!(12, "data_tasks", "0012_data_tasks.sql"),
    Entry {
        version: 13,
        name: "security_boundaries",
        sqlite: include_str!("../migrations/0013_security_boundaries.sqlite.sql"),
        postgres: include_str!("../migrations/0013_security_boundaries.postgres.sql"),
    },
    portable!(14, "security_state", "0014_security_state.sql"),
    portable!(15, "nodes", "0015_nodes.sql"),
    portable!(16, "retention", "0016_retention.sql"),
    portable!(17, "git_hooks", "0017_git_hooks.sql"),
    portable!(18, "action_links", "0018_action_links.sql"),
    portable!(19, "ticket_mail", "0019_ticket_mail.sql"),
    portable!(
        20,
        "integration_addresses",
        "0020_integration_addresses.sql"
    ),
    portable!(21, "errors", "0021_errors.sql"),
    portable!(22, "release_files", "0022_release_files.sql"),
    portable!(23, "error_alerts", "0023_error_alerts.sql"),
    portable!(24, "revenue", "0024_revenue.sql"),
    portable!(25, "cohorts", "0025_cohorts.sql"),
    portable!(26, "insights", "0026_insights.sql"),
    portable!(27, "dashboards", "0027_dashboards.sql"),
    portable!(28, "insight_alerts", "0028_insight_alerts.sql"),
    portable!(29, "spool_positions", "0029_spool_positions.sql"),
];

#[derive(Debug)]
struct Embedded(Backend);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, std::result::Result<Vec<Migration>, BoxDynError>> {
        let backend = self.0;
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|m| {
                    let sql = match backend {
                        Backend::Sqlite => m.sqlite,
                        Backend::Postgres => m.postgres,
                    };
                    Migration::new(
                        m.version,
                        Cow::Borrowed(m.name),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn run(db: &Db) -> Result<()> {
    let migrator = Migrator::new(Embedded(db.backend())).await?;
    migrator.run(db.pool()).await?;
    Ok(())
}

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_listed_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        files.sort();
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<i64> = (1..=MIGRATIONS.len() as i64).collect();
        assert_eq!(versions, expected, "versions must be 1, 2, 3, … in order");
        for file in files {
            let version: i64 = file
                .split('_')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("migration file {file} must start with its version"));
            assert!(
                versions.contains(&version),
                "{file} is not listed in MIGRATIONS"
            );
        }
    }
}

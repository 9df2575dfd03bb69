//! Consistent snapshots of the state database while liveops keeps running.
//!
//! SQLite copies itself with `VACUUM INTO`, which reads one transaction's view
//! of the database. PostgreSQL is dumped with its own `pg_dump`, which does the
//! same from a repeatable-read snapshot; restore uses `pg_restore`.

use std::path::Path;

use crate::{Backend, Db, Result, StoreError};

/// Writes a snapshot of the state to `dest`, a file that must not exist yet.
pub async fn snapshot(db: &Db, database_url: &str, dest: &Path) -> Result<()> {
    match db.backend() {
        Backend::Sqlite => {
            let path = dest
                .to_str()
                .ok_or_else(|| StoreError::Other("backup path is not valid UTF-8".into()))?;
            sqlx::query("VACUUM INTO $1")
                .bind(path)
                .execute(db.pool())
                .await?;
            Ok(())
        }
        Backend::Postgres => {
            run_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    &dest.display().to_string(),
                    "--dbname",
                    database_url,
                ],
            )
            .await
        }
    }
}

/// Loads a `pg_dump` snapshot into the (empty or older) database at `database_url`.
pub async fn pg_restore(database_url: &str, src: &Path) -> Result<()> {
    run_tool(
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            database_url,
            &src.display().to_string(),
        ],
    )
    .await
}

async fn run_tool(tool: &str, args: &[&str]) -> Result<()> {
    let out = tokio::process::Command::new(tool)
        .args(args)
        .output()
        .await
        .map_err(|e| StoreError::Other(format!("could not run {tool}: {e}")))?;
    if !out.status.success() {
        return Err(StoreError::Other(format!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

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
            let (url, password) = split_password(database_url)?;
            run_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    &dest.display().to_string(),
                    "--dbname",
                    &url,
                ],
                password.as_deref(),
            )
            .await
        }
    }
}

/// Loads a `pg_dump` snapshot into the (empty or older) database at `database_url`.
pub async fn pg_restore(database_url: &str, src: &Path) -> Result<()> {
    let (url, password) = split_password(database_url)?;
    run_tool(
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            &url,
            &src.display().to_string(),
        ],
        password.as_deref(),
    )
    .await
}

/// The database URL without its password, and the password. Anyone on the
/// machine can read a process's command line, so the password travels in
/// the child's environment (`PGPASSWORD`) instead.
fn split_password(database_url: &str) -> Result<(String, Option<String>)> {
    let mut url = url::Url::parse(database_url)
        .map_err(|e| StoreError::BadUrl(format!("the database URL: {e}")))?;
    let mut password = url.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    if password.is_some() {
        url.set_password(None)
            .map_err(|()| StoreError::BadUrl("the database URL has no host".into()))?;
    }
    // libpq also reads `?password=`; it moves too.
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in url.query_pairs() {
        if k == "password" {
            password = Some(v.into_owned());
        } else {
            kept.push((k.into_owned(), v.into_owned()));
        }
    }
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((url.to_string(), password))
}

async fn run_tool(tool: &str, args: &[&str], password: Option<&str>) -> Result<()> {
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_command_line() -> Result<()> {
        let (url, pw) = split_password("postgres://ops:s%40cret@db:5432/liveops?sslmode=require")?;
        assert_eq!(url, "postgres://ops@db:5432/liveops?sslmode=require");
        assert_eq!(pw.as_deref(), Some("s@cret"));
        let (url, pw) =
            split_password("postgres://db/liveops?password=hunter2&application_name=x")?;
        assert_eq!(url, "postgres://db/liveops?application_name=x");
        assert_eq!(pw.as_deref(), Some("hunter2"));
        let (url, pw) = split_password("postgres://postgres@127.0.0.1:5432/x")?;
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(pw, None);
        Ok(())
    }
}

//! Files uploaded for a release (source maps and the minified scripts they
//! map), by the name the browser loads them under. Reads that list a
//! release leave the content out; a node fetches a file's text only when
//! its cache does not hold that digest yet.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result};

/// A file to keep for a release.
#[derive(Debug, Clone)]
pub struct NewReleaseFile<'a> {
    pub project_id: &'a str,
    pub release: &'a str,
    pub name: &'a str,
    /// `map` or `source`.
    pub kind: &'a str,
    pub sha256: &'a str,
    pub content: &'a str,
    pub at: i64,
    pub by: &'a str,
}

/// A kept file, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFileRow {
    pub release: String,
    pub name: String,
    pub kind: String,
    pub sha256: String,
    pub size: i64,
    pub uploaded_at: i64,
    pub uploaded_by: String,
}

/// A release that has files, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFilesSummary {
    pub release: String,
    pub files: i64,
    pub bytes: i64,
    pub last_upload: i64,
}

const COLS: &str = "release, name, kind, sha256, size, uploaded_at, uploaded_by";

fn row(r: &AnyRow) -> Result<ReleaseFileRow> {
    Ok(ReleaseFileRow {
        release: r.try_get("release")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        uploaded_at: r.try_get("uploaded_at")?,
        uploaded_by: r.try_get("uploaded_by")?,
    })
}

/// Keeps a file, replacing one of the same name in the release. Says
/// whether it replaced one.
pub async fn put(conn: &mut AnyConnection, f: &NewReleaseFile<'_>) -> Result<bool> {
    let existed = sqlx::query(
        "SELECT 1 FROM error_release_files WHERE project_id = $1 AND release = $2 AND name = $3",
    )
    .bind(f.project_id)
    .bind(f.release)
    .bind(f.name)
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    sqlx::query(
        "INSERT INTO error_release_files \
         (project_id, release, name, kind, sha256, size, content, uploaded_at, uploaded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (project_id, release, name) DO UPDATE SET kind = excluded.kind, \
         sha256 = excluded.sha256, size = excluded.size, content = excluded.content, \
         uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by",
    )
    .bind(f.project_id)
    .bind(f.release)
    .bind(f.name)
    .bind(f.kind)
    .bind(f.sha256)
    .bind(f.content.len() as i64)
    .bind(f.content)
    .bind(f.at)
    .bind(f.by)
    .execute(&mut *conn)
    .await?;
    Ok(existed)
}

/// Deletes one file of a release, or all of them; says how many went.
pub async fn delete(
    conn: &mut AnyConnection,
    project_id: &str,
    release: &str,
    name: Option<&str>,
) -> Result<u64> {
    let done = match name {
        Some(n) => sqlx::query(
            "DELETE FROM error_release_files \
             WHERE project_id = $1 AND release = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(release)
        .bind(n),
        None => {
            sqlx::query("DELETE FROM error_release_files WHERE project_id = $1 AND release = $2")
                .bind(project_id)
                .bind(release)
        }
    }
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

impl Db {
    /// A release's files, by name, without their content.
    pub async fn release_files(
        &self,
        project_id: &str,
        release: &str,
    ) -> Result<Vec<ReleaseFileRow>> {
        sqlx::query(&format!(
            "SELECT {COLS} FROM error_release_files \
             WHERE project_id = $1 AND release = $2 ORDER BY name"
        ))
        .bind(project_id)
        .bind(release)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(row)
        .collect()
    }

    /// The text of one file, with its digest (`None` when there is none).
    pub async fn release_file_content(
        &self,
        project_id: &str,
        release: &str,
        name: &str,
    ) -> Result<Option<(String, String)>> {
        let found = sqlx::query(
            "SELECT sha256, content FROM error_release_files \
             WHERE project_id = $1 AND release = $2 AND name = $3",
        )
        .bind(project_id)
        .bind(release)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        found
            .map(|r| Ok((r.try_get("sha256")?, r.try_get("content")?)))
            .transpose()
    }

    /// The releases of a project that have files, newest upload first.
    pub async fn releases_with_files(&self, project_id: &str) -> Result<Vec<ReleaseFilesSummary>> {
        sqlx::query(
            "SELECT release, COUNT(*) AS files, CAST(SUM(size) AS BIGINT) AS bytes, MAX(uploaded_at) AS last_upload \
             FROM error_release_files WHERE project_id = $1 \
             GROUP BY release ORDER BY last_upload DESC, release LIMIT 100",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(ReleaseFilesSummary {
                release: r.try_get("release")?,
                files: r.try_get("files")?,
                bytes: r.try_get("bytes")?,
                last_upload: r.try_get("last_upload")?,
            })
        })
        .collect()
    }
}

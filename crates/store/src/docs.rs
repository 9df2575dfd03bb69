//! Documentation sync in the state store: architecture decision records
//! imported from a project's repository.

use sqlx::AnyConnection;
use sqlx::Row;

use crate::{Db, Result, new_id};

/// An architecture decision record, as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdrRow {
    pub number: i64,
    pub title: String,
    pub status: String,
    /// `YYYY-MM-DD`.
    pub decided_on: Option<String>,
    pub decision: Option<String>,
    pub path: String,
    pub imported_at: i64,
}

/// Adds or refreshes decision records by number.
pub async fn upsert_adrs(
    conn: &mut AnyConnection,
    project_id: &str,
    adrs: &[AdrRow],
) -> Result<u64> {
    let mut n = 0;
    for a in adrs {
        n += sqlx::query(
            "INSERT INTO adrs (id, project_id, number, title, status, decided_on, decision, path, \
             imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (project_id, number) DO UPDATE SET title = excluded.title, \
             status = excluded.status, decided_on = excluded.decided_on, \
             decision = excluded.decision, path = excluded.path, imported_at = excluded.imported_at",
        )
        .bind(new_id())
        .bind(project_id)
        .bind(a.number)
        .bind(&a.title)
        .bind(&a.status)
        .bind(&a.decided_on)
        .bind(&a.decision)
        .bind(&a.path)
        .bind(a.imported_at)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(n)
}

impl Db {
    pub async fn adrs(&self, project_id: &str) -> Result<Vec<AdrRow>> {
        let rows = sqlx::query(
            "SELECT number, title, status, decided_on, decision, path, imported_at FROM adrs \
             WHERE project_id = $1 ORDER BY number",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AdrRow {
                    number: r.try_get("number")?,
                    title: r.try_get("title")?,
                    status: r.try_get("status")?,
                    decided_on: r.try_get("decided_on")?,
                    decision: r.try_get("decision")?,
                    path: r.try_get("path")?,
                    imported_at: r.try_get("imported_at")?,
                })
            })
            .collect()
    }
}

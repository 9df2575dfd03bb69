//! Saved insights in the state store: a project's named questions, each
//! with its kind and its request as JSON.

use liveops_core::analytics::insight::InsightKind;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

/// A saved insight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightRow {
    pub id: String,
    pub name: String,
    pub kind: InsightKind,
    /// The request, as JSON text.
    pub query: String,
    /// Who saved it (an e-mail address or a token's name).
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

fn row(r: &sqlx::any::AnyRow) -> Result<InsightRow> {
    let kind: String = r.try_get("kind")?;
    Ok(InsightRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: kind
            .parse()
            .map_err(|e: liveops_core::analytics::insight::UnknownKind| {
                StoreError::Other(e.to_string())
            })?,
        query: r.try_get("query")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, name, kind, query, created_by, created_at, updated_at";

impl Db {
    /// A project's saved insights, by name.
    pub async fn insights(&self, project_id: &str) -> Result<Vec<InsightRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM saved_insights WHERE project_id = $1 ORDER BY name"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// One saved insight, by id or by name.
    pub async fn insight(&self, project_id: &str, id_or_name: &str) -> Result<InsightRow> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM saved_insights WHERE project_id = $1 AND (id = $2 OR name = $2) \
             ORDER BY id = $2 DESC LIMIT 1"
        ))
        .bind(project_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        row(&r)
    }
}

/// Saves an insight; a conflict when the project has one by that name.
pub async fn insert_insight(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    kind: InsightKind,
    query: &str,
    created_by: &str,
    now: i64,
) -> Result<InsightRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO saved_insights (id, project_id, name, kind, query, created_by, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(kind.as_str())
    .bind(query)
    .bind(created_by)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("an insight with this name"))?;
    Ok(InsightRow {
        id,
        name: name.to_owned(),
        kind,
        query: query.to_owned(),
        created_by: created_by.to_owned(),
        created_at: now,
        updated_at: now,
    })
}

/// Gives a saved insight a new question, in place (its id, which
/// dashboards hold, stays).
pub async fn update_insight(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    kind: InsightKind,
    query: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE saved_insights SET kind = $3, query = $4, updated_at = $5 \
         WHERE project_id = $1 AND id = $2",
    )
    .bind(project_id)
    .bind(id)
    .bind(kind.as_str())
    .bind(query)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A saved insight's id by its name, read in the open change.
pub async fn insight_id(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM saved_insights WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Removes a saved insight; false when there was none.
pub async fn delete_insight(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM saved_insights WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

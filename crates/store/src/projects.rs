//! Projects, the tenants of liveops, and their SDK ingest keys.

use liveops_core::{ProjectName, Role, Slug};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// The first characters of the ingest key, to recognise it by.
    pub ingest_key_hint: String,
    pub created_at: i64,
}

const COLS: &str = "id, slug, name, ingest_key_hint, created_at";

fn project_from(row: &AnyRow) -> Result<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        ingest_key_hint: row.try_get("ingest_key_hint")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert_project(
    conn: &mut AnyConnection,
    slug: &Slug,
    name: &ProjectName,
    ingest_key_hash: &str,
    ingest_key_hint: &str,
    now: i64,
) -> Result<Project> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO projects (id, slug, name, ingest_key_hash, ingest_key_hint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(slug.as_str())
    .bind(name.as_str())
    .bind(ingest_key_hash)
    .bind(ingest_key_hint)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a project with this slug"))?;
    Ok(Project {
        id,
        slug: slug.to_string(),
        name: name.as_str().to_owned(),
        ingest_key_hint: ingest_key_hint.to_owned(),
        created_at: now,
    })
}

pub async fn set_ingest_key(
    conn: &mut AnyConnection,
    project_id: &str,
    hash: &str,
    hint: &str,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE projects SET ingest_key_hash = $1, ingest_key_hint = $2 WHERE id = $3")
            .bind(hash)
            .bind(hint)
            .bind(project_id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Db {
    pub async fn project_by_slug(&self, slug: &str) -> Result<Project> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM projects WHERE slug = $1"))
            .bind(slug)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }

    pub async fn project_by_id(&self, id: &str) -> Result<Project> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM projects WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }

    /// The project an SDK ingest key belongs to, by the key's hash.
    pub async fn project_by_ingest_hash(&self, hash: &str) -> Result<Project> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM projects WHERE ingest_key_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }

    pub async fn all_projects(&self) -> Result<Vec<Project>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM projects ORDER BY slug"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(project_from).collect()
    }

    /// The projects a user is a member of, with their role in each.
    pub async fn projects_of(&self, user_id: &str) -> Result<Vec<(Project, Role)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.slug, p.name, p.ingest_key_hint, p.created_at, m.role \
             FROM projects p JOIN memberships m ON m.project_id = p.id \
             WHERE m.user_id = $1 ORDER BY p.slug",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                let role = role
                    .parse()
                    .map_err(|e: liveops_core::access::UnknownRole| {
                        StoreError::Other(e.to_string())
                    })?;
                Ok((project_from(r)?, role))
            })
            .collect()
    }
}

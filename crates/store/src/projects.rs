//! Projects, the tenants of liveops: their keys (the public browser key,
//! and keys for a purpose: the OTLP server key and the inbound-mail secret)
//! and which of their pages are public.

use liveops_core::{ProjectName, Role, Slug};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// The first characters of the public browser key, to recognise it by.
    pub ingest_key_hint: String,
    pub created_at: i64,
    /// The public status page is on.
    pub status_page_public: bool,
    /// The public changelog is on.
    pub changelog_public: bool,
}

const COLS: &str =
    "id, slug, name, ingest_key_hint, created_at, status_page_public, changelog_public";

fn project_from(row: &AnyRow) -> Result<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        ingest_key_hint: row.try_get("ingest_key_hint")?,
        created_at: row.try_get("created_at")?,
        status_page_public: row.try_get::<i64, _>("status_page_public")? != 0,
        changelog_public: row.try_get::<i64, _>("changelog_public")? != 0,
    })
}

/// What a project key is for. The public browser key (in web pages and
/// apps, so anyone can read it) only sends analytics, feedback and error
/// events; OTLP needs the server key, inbound mail its own secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    Browser,
    Server,
    Mail,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 3] = [KeyPurpose::Browser, KeyPurpose::Server, KeyPurpose::Mail];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Browser => "browser",
            KeyPurpose::Server => "server",
            KeyPurpose::Mail => "mail",
        }
    }
}

impl std::str::FromStr for KeyPurpose {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "browser" | "ingest" | "public" => Ok(KeyPurpose::Browser),
            "server" | "otlp" => Ok(KeyPurpose::Server),
            "mail" | "email" => Ok(KeyPurpose::Mail),
            other => Err(format!(
                "no key purpose `{other}`: use browser, server or mail"
            )),
        }
    }
}

/// Stores a new key for `purpose`, replacing the one before.
pub async fn set_key(
    conn: &mut AnyConnection,
    project_id: &str,
    purpose: KeyPurpose,
    hash: &str,
    hint: &str,
    now: i64,
) -> Result<()> {
    if purpose == KeyPurpose::Browser {
        return set_ingest_key(conn, project_id, hash, hint).await;
    }
    sqlx::query(
        "INSERT INTO project_keys (project_id, purpose, key_hash, hint, created_at)          VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, purpose)          DO UPDATE SET key_hash = excluded.key_hash, hint = excluded.hint, created_at = excluded.created_at",
    )
    .bind(project_id)
    .bind(purpose.as_str())
    .bind(hash)
    .bind(hint)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Turns the public status page and changelog on or off.
pub async fn set_public_pages(
    conn: &mut AnyConnection,
    project_id: &str,
    status_page: bool,
    changelog: bool,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE projects SET status_page_public = $1, changelog_public = $2 WHERE id = $3",
    )
    .bind(i64::from(status_page))
    .bind(i64::from(changelog))
    .bind(project_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Sets (sealed) or clears the Mailgun webhook signing key inbound mail is
/// checked against.
pub async fn set_mail_signing_key(
    conn: &mut AnyConnection,
    project_id: &str,
    sealed: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE projects SET mail_signing_key = $1 WHERE id = $2")
        .bind(sealed)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores (or clears) a project's sealed Slack signing secret.
pub async fn set_slack_signing_secret(
    conn: &mut AnyConnection,
    project_id: &str,
    sealed: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE projects SET slack_signing_secret = $1 WHERE id = $2")
        .bind(sealed)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
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
        status_page_public: false,
        changelog_public: false,
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

    /// The project a key of `purpose` belongs to, by the key's hash.
    pub async fn project_by_key(&self, purpose: KeyPurpose, hash: &str) -> Result<Project> {
        if purpose == KeyPurpose::Browser {
            return self.project_by_ingest_hash(hash).await;
        }
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM projects WHERE id = \
             (SELECT project_id FROM project_keys WHERE purpose = $1 AND key_hash = $2)"
        ))
        .bind(purpose.as_str())
        .bind(hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }

    /// The hints of a project's keys, by purpose; a purpose without a key
    /// is left out.
    pub async fn key_hints(&self, project_id: &str) -> Result<Vec<(KeyPurpose, String)>> {
        let mut out = Vec::new();
        let browser: Option<String> =
            sqlx::query_scalar("SELECT ingest_key_hint FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(self.pool())
                .await?;
        if let Some(h) = browser {
            out.push((KeyPurpose::Browser, h));
        }
        let rows = sqlx::query(
            "SELECT purpose, hint FROM project_keys WHERE project_id = $1 ORDER BY purpose",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            let purpose: String = r.try_get("purpose")?;
            if let Ok(p) = purpose.parse() {
                out.push((p, r.try_get("hint")?));
            }
        }
        Ok(out)
    }

    /// The sealed Mailgun webhook signing key, if one is set.
    /// The project's sealed Slack signing secret, when it has one.
    pub async fn slack_signing_secret(&self, project_id: &str) -> Result<Option<String>> {
        let key: Option<Option<String>> =
            sqlx::query_scalar("SELECT slack_signing_secret FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(key.flatten())
    }

    pub async fn mail_signing_key(&self, project_id: &str) -> Result<Option<String>> {
        let key: Option<Option<String>> =
            sqlx::query_scalar("SELECT mail_signing_key FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(key.flatten())
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
            "SELECT p.id, p.slug, p.name, p.ingest_key_hint, p.created_at, \
             p.status_page_public, p.changelog_public, m.role \
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

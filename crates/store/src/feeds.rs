//! Calendar feeds: a secret URL per feed, so calendar apps (which fetch a
//! URL and send no headers) never hold an API token. Each feed shows one
//! thing (a schedule, a person's shifts, a release train) of one project,
//! on behalf of the person who made it.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub id: String,
    pub user_id: String,
    pub project_id: String,
    /// `schedule`, `oncall` or `train`.
    pub kind: String,
    /// The schedule id, the person's user id or the train name.
    pub target: Option<String>,
    pub hint: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const COLS: &str = "id, user_id, project_id, kind, target, hint, created_at, revoked_at";

fn feed_from(r: &AnyRow) -> Result<Feed> {
    Ok(Feed {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        project_id: r.try_get("project_id")?,
        kind: r.try_get("kind")?,
        target: r.try_get("target")?,
        hint: r.try_get("hint")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

/// What a new feed shows and whose it is; only the secret's hash is kept.
#[derive(Debug)]
pub struct NewFeed<'a> {
    pub user_id: &'a str,
    pub project_id: &'a str,
    pub kind: &'a str,
    pub target: Option<&'a str>,
    pub secret_hash: &'a str,
    pub hint: &'a str,
}

pub async fn insert_feed(conn: &mut AnyConnection, f: &NewFeed<'_>, now: i64) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO calendar_feeds (id, user_id, project_id, kind, target, secret_hash, hint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(f.user_id)
    .bind(f.project_id)
    .bind(f.kind)
    .bind(f.target)
    .bind(f.secret_hash)
    .bind(f.hint)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a feed with this secret"))?;
    Ok(id)
}

/// Revokes one of a user's feeds in a project (an administrator's `None`
/// revokes anyone's).
pub async fn revoke_feed(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = $1 WHERE project_id = $2 AND id = $3 \
         AND ($4 IS NULL OR user_id = $4) AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(project_id)
    .bind(id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Db {
    /// The live feed whose secret hashes to `hash`.
    pub async fn feed_by_hash(&self, hash: &str) -> Result<Feed> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM calendar_feeds WHERE secret_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        feed_from(&row)
    }

    /// A project's feeds, optionally one user's, newest first.
    pub async fn feeds(&self, project_id: &str, user_id: Option<&str>) -> Result<Vec<Feed>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM calendar_feeds WHERE project_id = $1 AND ($2 IS NULL OR user_id = $2) \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(project_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(feed_from).collect()
    }
}
